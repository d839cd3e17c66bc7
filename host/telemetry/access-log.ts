// One access-log record per downstream request (the fields of Envoy's default format, rendered
// by host/telemetry/access-log-line.ts), and the buffer that batches the lines into few writes.

export interface AccessLogEntry {
  /** Request start, ms since the epoch. */
  startTime: number;
  method: string;
  /** Request-target as received (path + query). */
  path: string;
  /** Status sent downstream; 0 when no response head was sent (client went away first). */
  code: number;
  /** Envoy response flags ('-' when none), e.g. 'NR', 'UF', 'DC'. */
  flags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  /** Time from request start to the upstream response head; -1 when none arrived. */
  upstreamServiceTimeMs: number;
  requestId: string;
  authority: string;
  /** `address:port` of the endpoint used, or '-'. */
  upstreamHost: string;
  /** Cluster name, or '-'. */
  upstreamCluster: string;
  /** Route name, or '-'. */
  route: string;
  /** Config version the request ran on. */
  version: number;
  /** Downstream protocol as Envoy prints it. */
  protocol?: string;
  /** x-forwarded-for as sent upstream (client address appended). */
  forwardedFor?: string;
  userAgent?: string;
  /** Upstream attempts made (Envoy's %UPSTREAM_REQUEST_ATTEMPT_COUNT%); 0 when none. */
  attempts?: number;
  /** Istio's connection_security_policy: mutual_tls when the client presented a verified certificate, else none. */
  connectionSecurityPolicy?: 'mutual_tls' | 'none';
  /** The client certificate's SPIFFE ID (Envoy's %DOWNSTREAM_PEER_URI_SAN%), when mutual TLS. */
  downstreamPeerUriSan?: string;
}

/**
 * Batches access-log lines into few large writes, as Envoy's file access log does (it flushes
 * every second or when its buffer fills): one write per request would be one syscall per
 * request. Lines are flushed when `maxBytes` accumulate, `flushMs` after the first unflushed
 * line, and on flush()/close(). The timer is unref'd: it never keeps the process alive.
 */
export class AccessLogBuffer {
  readonly #sink: (chunk: string) => void;
  readonly #maxBytes: number;
  readonly #flushMs: number;
  #text = '';
  #timer: NodeJS.Timeout | null = null;

  /** `sink` receives whole lines, each ending in a newline. */
  constructor(sink: (chunk: string) => void, opts: { maxBytes?: number; flushMs?: number } = {}) {
    this.#sink = sink;
    this.#maxBytes = opts.maxBytes ?? 32 * 1024;
    this.#flushMs = opts.flushMs ?? 100;
  }

  /** Adds one line (without its newline). */
  push(line: string): void {
    this.#text += line + '\n';
    if (this.#text.length >= this.#maxBytes) this.flush();
    else if (this.#timer === null) {
      this.#timer = setTimeout(() => this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#text === '') return;
    const text = this.#text;
    this.#text = '';
    this.#sink(text);
  }
}
