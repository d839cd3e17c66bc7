// The access log of a proxied TCP connection (Envoy's tcp_proxy access log): one record per
// connection when it ends — proxied, refused (UO, UH, UF) or without a route (NR) — written
// through the same sinks as HTTP requests: the CLI's `--access-log` line (Envoy's default format,
// where a TCP connection prints `"- - -" 0` and `-` for every HTTP field, as Envoy's does) and the
// Telemetry API / meshConfig logs (MeshConfig.accessLogs, their formats compiled once per config
// version). Envoy's `access_log_flush_interval` (intermediate lines while a connection is open)
// is not served: one line per connection, at its end, which is Envoy's and Istio's default.
import type { AccessLogEntry } from './access-log.js';
import { passesFilter, type AccessLogTarget, type ResponseCodeFilter } from '../model/access-logging.js';
import { compileJson, compileText, renderJson, renderText, type AccessLogRecord, type CompiledJson, type CompiledText } from '../common/access-log-format.js';
import { formatSocketAddress } from '../common/host-port.js';

/** What is known of one TCP connection when it ends. */
export interface TcpConnectionLog {
  /** Accept time, ms since the epoch. */
  readonly startTime: number;
  readonly durationMs: number;
  /** Bytes read from the downstream (Envoy's %BYTES_RECEIVED%). */
  readonly bytesReceived: number;
  /** Bytes written to the downstream (%BYTES_SENT%). */
  readonly bytesSent: number;
  /** Envoy's response flag (`-`, UF, UH, UO, NR, UC). */
  readonly flags: string;
  /** `address:port` of the upstream endpoint, or '' when none was picked. */
  readonly upstreamHost: string;
  /** `address:port` of the upstream connection's local end, or '' when not connected. */
  readonly upstreamLocalAddress: string;
  /** The cluster, or '' when none. */
  readonly upstreamCluster: string;
  /** The `tcp:` / `tls:` route's name, or '' (the CLI entry's route; %ROUTE_NAME% prints `-`, as Envoy's tcp_proxy). */
  readonly route: string;
  /** `address:port` of the client. */
  readonly downstreamRemoteAddress: string;
  /** `address:port` the client connected to (the original destination on a sidecar). */
  readonly downstreamLocalAddress: string;
  /** The ClientHello's SNI on a TLS passthrough port, or ''. */
  readonly requestedServerName: string;
  /** Envoy's connection termination details (`rbac_access_denied_matched_policy[…]`), or ''. */
  readonly terminationDetails?: string;
}

/** `address:port`, IPv6 bracketed, as Envoy prints addresses; '' without an address. */
export function addressWithPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined || address === '') return '';
  return formatSocketAddress(address, port ?? 0);
}

/** The record the Telemetry formats read: every HTTP field empty (`-`), response code 0, as Envoy's tcp_proxy logs. */
class TcpRecord implements AccessLogRecord {
  constructor(readonly c: TcpConnectionLog) {}
  get startTime(): number { return this.c.startTime; }
  readonly method = '';
  readonly path = '';
  readonly authority = '';
  readonly protocol = '';
  readonly code = 0;
  get flags(): string { return this.c.flags; }
  get bytesReceived(): number { return this.c.bytesReceived; }
  get bytesSent(): number { return this.c.bytesSent; }
  get durationMs(): number { return this.c.durationMs; }
  readonly upstreamServiceTimeMs = -1;
  get upstreamHost(): string { return this.c.upstreamHost; }
  get upstreamLocalAddress(): string { return this.c.upstreamLocalAddress; }
  get upstreamCluster(): string { return this.c.upstreamCluster; }
  // Envoy's tcp_proxy sets no route: %ROUTE_NAME% prints `-` there, and so does wasmesh (the
  // `tcp:` route's name is in the CLI entry and the stats prefix).
  readonly route = '';
  readonly requestId = '';
  readonly forwardedFor = undefined;
  get downstreamRemoteAddress(): string { return this.c.downstreamRemoteAddress; }
  get downstreamLocalAddress(): string { return this.c.downstreamLocalAddress; }
  get requestedServerName(): string { return this.c.requestedServerName; }
  get connectionTerminationDetails(): string { return this.c.terminationDetails ?? ''; }
  readonly attempts = 0;
  readonly grpc = false;
  readonly grpcStatus = -1;
  requestHeader(): string | null { return null; }
}

/** The CLI access log's entry of a TCP connection (envoyAccessLogLine prints `"- - -" 0 <flags> …`). */
export function tcpAccessLogEntry(c: TcpConnectionLog, version: number): AccessLogEntry {
  return {
    startTime: c.startTime,
    method: '-',
    path: '-',
    protocol: '-',
    code: 0,
    flags: c.flags,
    bytesReceived: c.bytesReceived,
    bytesSent: c.bytesSent,
    durationMs: c.durationMs,
    upstreamServiceTimeMs: -1,
    requestId: '',
    authority: '',
    upstreamHost: c.upstreamHost === '' ? '-' : c.upstreamHost,
    upstreamCluster: c.upstreamCluster,
    route: c.route === '' ? '-' : c.route,
    version,
  };
}

interface Compiled {
  readonly write: (line: string) => void;
  readonly text: CompiledText | null;
  readonly json: CompiledJson | null;
  readonly filter: ResponseCodeFilter | undefined;
}

/** One config version's Telemetry / meshConfig access logs for TCP connections. */
export class TcpAccessLogs {
  readonly #logs: readonly Compiled[];

  /** `writer` gives a path's line writer (host/telemetry/access-log-files.ts). Formats were checked by the translation. */
  constructor(targets: readonly AccessLogTarget[], writer: (path: string) => (line: string) => void) {
    this.#logs = targets.map((t) => ({
      write: writer(t.path),
      text: t.encoding === 'TEXT' ? compileText(t.format ?? '') : null,
      json: t.encoding === 'JSON' ? compileJson(t.labels ?? {}) : null,
      filter: t.filter,
    }));
  }

  /**
   * Writes `c` to every log whose filter passes. A `response.code` filter sees 0, as Istio's CEL
   * sees a TCP connection (`response.code >= 400` leaves TCP out, `response.code == 0` keeps it only).
   */
  write(c: TcpConnectionLog): void {
    if (this.#logs.length === 0) return;
    const record = new TcpRecord(c);
    for (const l of this.#logs) {
      if (!passesFilter(l.filter, 0)) continue;
      l.write(l.text !== null ? renderText(l.text, record) : renderJson(l.json!, record));
    }
  }
}
