// The HTTP/1.1 listener whose requests the core parses (the default for gateways and sidecars):
// a net server whose accepted sockets go through the listener's downstream transport (raw: read
// through `onread` into one buffer per thread, no Buffer per read; TLS; or PERMISSIVE, either by
// the first bytes), one Http1Connection per socket once the transport starts it, and one timer
// per listener that sweeps the connections for the idle, stream idle and request headers
// timeouts (no timer per request).
//
// HTTP/2 (given an Http2Listener): a TLS connection that negotiated h2 by ALPN is handed to it
// at once; a plaintext one whose first bytes are the HTTP/2 preface (h2c with prior knowledge,
// ../protocol-sniff.ts) on its first read. Only that first read is looked at; every later read
// goes straight to the HTTP/1.1 connection.
import { createServer, type Socket, type Server } from 'node:net';
import type { Core } from '../../core/wasm.js';
import { HeadParser } from '../../core/codec/head-parser.js';
import { ChunkedDecoder } from '../../core/codec/chunked-decoder.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { Listener, RequestHandler, TcpHandle } from '../listener.js';
import { Http1Connection, type ConnectionContext } from './http1-connection.js';
import { DEFAULT_HTTP1_OPTIONS, type Http1ListenerOptions } from './listener-options.js';
import type { DownstreamTransport } from '../transport/downstream-transport.js';
import { RAW_DOWNSTREAM } from '../transport/raw.js';
import { SOCKET_TAKEN, type ConnectionReader } from '../transport/downstream-transport.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { Http2ConnectionListener } from '../http2-listener-kind.js';
import { isHttp2Alpn, sniffPlaintext, Sniffed } from '../protocol-sniff.js';
import { unmappedAddress } from '../../common/host-port.js';

/** listen(2)'s backlog: the kernel caps it at net.core.somaxconn. */
const LISTEN_BACKLOG = 65535;

export class Http1Listener implements Listener {
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #server: Server;
  readonly #connections = new Set<Http1Connection>();
  readonly #ctx: ConnectionContext;
  /**
   * Whether a request's trace context fields are handed over as bytes (Downstream.propagation)
   * rather than strings among its fields: the server's answer for the version current when the
   * head is read (it traces: its tracing filter reads them, or puts them back). Default: never.
   */
  takesPropagation: () => boolean = () => false;
  readonly #options: Http1ListenerOptions;
  readonly #stats: StatScope<DownstreamStat>;
  readonly #core: Core;
  readonly #transport: DownstreamTransport;
  #memory: Buffer;
  #port = 0;
  #sweep: NodeJS.Timeout | null = null;
  /** Where HTTP/2 connections go; null: HTTP/1.1 only (no sniffing). */
  readonly #http2: Http2ConnectionListener | null;
  /** drain() was called: responses close their connections. */
  #draining = false;
  /** Plaintext connections whose first bytes have not told HTTP/1.1 from HTTP/2 yet, with their accept time. */
  readonly #sniffing = new Map<Socket, number>();

  constructor(host: string, port: number, core: Core, stats: StatScope<DownstreamStat>, onRequest: RequestHandler, options: Partial<Http1ListenerOptions> = {}, transport: DownstreamTransport = RAW_DOWNSTREAM, http2: Http2ConnectionListener | null = null) {
    this.#http2 = http2;
    this.#host = host;
    this.#transport = transport;
    this.#requestedPort = port;
    this.#core = core;
    this.#stats = stats;
    this.#options = { ...DEFAULT_HTTP1_OPTIONS, ...options };
    this.#memory = Buffer.from(core.exports.memory.buffer);
    const parser = new HeadParser(core);
    this.#ctx = {
      parser,
      newChunkedDecoder: () => new ChunkedDecoder(core),
      options: this.#options,
      stats,
      onRequest,
      memory: () => {
        // Growing Wasm memory detaches the old buffer (byteLength 0): take a view of the new one.
        if (this.#memory.buffer.byteLength === 0 || this.#memory.length !== core.exports.memory.buffer.byteLength) {
          this.#memory = Buffer.from(core.exports.memory.buffer);
        }
        return this.#memory;
      },
      closed: (conn) => {
        if (this.#connections.delete(conn)) stats.dec('downstream_cx_active');
      },
      draining: () => this.#draining,
      takesPropagation: () => this.takesPropagation(),
    };
    // pauseOnConnect: the accepted socket must not read before the transport takes it (the raw
    // transport moves its handle to a socket that reads through `onread`).
    this.#server = createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.#accept(s));
  }

  get port(): number {
    return this.#port;
  }

  /** Open downstream connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The listening socket's handle (after listen()): worker threads accept on duplicates of it. */
  get handle(): TcpHandle {
    return (this.#server as unknown as { _handle: TcpHandle })._handle;
  }

  /**
   * Listens on host:port, or, given `fd`, accepts on that already listening socket (a worker
   * thread's duplicate of the main thread's, see host/server/listen-fds.ts).
   */
  listen(fd?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`wasmesh: cannot listen on ${fd === undefined ? `${this.#host}:${this.#requestedPort}` : `descriptor ${fd}`}: ${err.message} (LISTEN_FAILED)`));
      this.#server.once('error', onError);
      // The accept queue as long as the system allows, as Envoy's listeners (tcp_backlog_size
      // unset: net.core.somaxconn); Node's default of 511 drops the SYNs of a larger burst, and
      // each dropped connect waits out TCP's 1 s retransmission. Given on the worker threads'
      // descriptors too: listen(2) on a shared socket would otherwise set it back to 511.
      const args: [unknown, ...unknown[]] = fd === undefined
        ? [{ port: this.#requestedPort, host: this.#host, backlog: LISTEN_BACKLOG }]
        : [{ fd, backlog: LISTEN_BACKLOG }];
      (this.#server.listen as (...a: unknown[]) => void)(...args, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        this.#port = typeof addr === 'object' && addr !== null ? addr.port : 0;
        this.#armSweep();
        resolve();
      });
    });
  }

  /**
   * Serves only connections handed in by adopt() (no socket of its own): the timeouts' sweep runs
   * and `port` reads as the given port, the one the capturing listener serves.
   */
  serveAdopted(port: number): void {
    this.#port = port;
    this.#armSweep();
  }

  stopAccepting(): void {
    if (this.#server.listening) this.#server.close();
    this.#http2?.stopAccepting();
  }

  /**
   * Envoy's listener drain: stops accepting; idle HTTP/1.1 connections end now, busy ones after
   * their response (`connection: close`), HTTP/2 sessions get GOAWAY (streams under way finish).
   * Requests already on a connection are served, not refused.
   */
  drain(): void {
    this.#draining = true;
    this.stopAccepting();
    for (const c of [...this.#connections]) c.drain();
  }

  /** Open downstream connections, HTTP/2 sessions and connections still being sniffed included. */
  get activeConnections(): number {
    return this.#connections.size + this.#sniffing.size + (this.#http2?.connectionCount ?? 0);
  }

  closeAll(): void {
    this.#transport.close();
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
    for (const c of [...this.#connections]) c.destroy();
    for (const s of [...this.#sniffing.keys()]) s.destroy();
    this.#http2?.closeAll();
  }

  /**
   * A connection accepted by another listener on this one's behalf (a sidecar's outbound capture,
   * which looked at its original destination first), paused; `first`: bytes already read from it
   * (sniffed), handed to the connection before any other (a raw transport takes them directly,
   * TLS and PERMISSIVE read them back from the socket).
   */
  adopt(accepted: Socket, first?: Uint8Array, originalDestination: { readonly address: string; readonly port: number } | null = null): void {
    this.#accept(accepted, first, originalDestination);
  }

  /** Counts the connection and hands it to the transport, which starts it once it may be read. */
  #accept(accepted: Socket, first?: Uint8Array, originalDestination: { readonly address: string; readonly port: number } | null = null): void {
    const opts = this.#options;
    this.#stats.inc('downstream_cx_total');
    if (opts.maxConnections > 0 && this.#connections.size >= opts.maxConnections) {
      this.#stats.inc('downstream_cx_overflow');
      accepted.destroy();
      return;
    }
    const remote = accepted.remoteAddress ?? '';
    const address = unmappedAddress(remote);
    const h2 = this.#http2;
    const start = (socket: Socket, security: ConnectionSecurity | null): ConnectionReader => {
      if (h2 !== null) {
        if (security !== null && security.tls) {
          if (isHttp2Alpn(security.alpn)) {
            return h2.take(socket, address, security) ?? SOCKET_TAKEN;
          }
        } else {
          return this.#sniff(socket, address, security, h2, originalDestination);
        }
      }
      return this.#open(socket, address, security, originalDestination);
    };
    if (first === undefined || first.length === 0) this.#transport.accept(accepted, start);
    else if (this.#transport.kind === 'raw') RAW_DOWNSTREAM.acceptWith(accepted, start, null, first);
    else {
      // TLS or PERMISSIVE read the socket as a stream: the sniffed bytes go back into it.
      accepted.unshift(Buffer.from(first));
      this.#transport.accept(accepted, start);
    }
  }

  #open(socket: Socket, address: string, security: ConnectionSecurity | null, originalDestination: { readonly address: string; readonly port: number } | null = null): Http1Connection {
    const conn = new Http1Connection(socket, address, this.#ctx, security);
    conn.originalDestination = originalDestination;
    this.#connections.add(conn);
    this.#stats.inc('downstream_cx_active');
    return conn;
  }

  /**
   * A plaintext connection's reader until its first bytes decide: the HTTP/2 preface hands the
   * socket (and those bytes) to the HTTP/2 listener, anything else opens the HTTP/1.1 connection,
   * which then reads every byte after (one indirection per read).
   */
  #sniff(socket: Socket, address: string, security: ConnectionSecurity | null, h2: Http2ConnectionListener, originalDestination: { readonly address: string; readonly port: number } | null): ConnectionReader {
    this.#sniffing.set(socket, performance.now());
    // Active from accept, as every connection (the HTTP/1.1 or HTTP/2 side counts it from the decision on).
    this.#stats.inc('downstream_cx_active');
    const forget = (): void => {
      if (this.#sniffing.delete(socket)) this.#stats.dec('downstream_cx_active');
    };
    socket.once('close', forget);
    // A client that leaves before its first byte (half-open sockets: 'end' alone closes nothing).
    const leave = (): void => {
      socket.destroy();
    };
    socket.once('end', leave);
    socket.on('error', leave);
    let conn: Http1Connection | null = null;
    let http2: ConnectionReader | null = null;
    let held: Uint8Array | null = null;
    return {
      onRead: (bytes: Uint8Array): void => {
        if (conn !== null) {
          conn.onRead(bytes);
          return;
        }
        if (http2 !== null) {
          http2.onRead(bytes);
          return;
        }
        if (bytes.length === 0) return;
        const seen = held === null ? bytes : Buffer.concat([held, bytes]);
        const verdict = sniffPlaintext(seen);
        if (verdict === Sniffed.NeedMore) {
          held = Buffer.from(seen); // `bytes` is a view into the shared read buffer
          return;
        }
        held = null;
        forget();
        socket.off('close', forget);
        socket.off('end', leave);
        socket.off('error', leave);
        if (verdict === Sniffed.Http2) {
          http2 = h2.take(socket, address, security, seen, originalDestination);
          return;
        }
        conn = this.#open(socket, address, security, originalDestination);
        conn.onRead(seen);
      },
    };
  }

  /** One timer for every timeout of every connection, at a quarter of the shortest timeout (10 ms to 1 s). */
  #armSweep(): void {
    const o = this.#options;
    const shortest = Math.min(...[o.idleTimeoutMs, o.streamIdleTimeoutMs, o.requestHeadersTimeoutMs].filter((t) => t > 0));
    if (!Number.isFinite(shortest)) return;
    const every = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.#sweep = setInterval(() => this.#sweepOnce(), every);
    this.#sweep.unref();
  }

  #sweepOnce(): void {
    const o = this.#options;
    const now = performance.now();
    for (const c of this.#connections) {
      const quiet = now - c.lastActivity;
      if (c.current !== null) {
        if (o.streamIdleTimeoutMs > 0 && quiet >= o.streamIdleTimeoutMs) {
          this.#stats.inc('downstream_rq_idle_timeout');
          c.lastActivity = now;
          c.streamIdle();
        }
        continue;
      }
      const started = c.headStartedAt;
      if (started > 0) {
        // A head being read is a request already (Envoy's stream starts at its first byte).
        if (o.requestHeadersTimeoutMs > 0 && now - started >= o.requestHeadersTimeoutMs) {
          this.#stats.inc('downstream_rq_header_timeout');
          c.writeLocal(408, 'request_headers_timeout');
        } else if (o.streamIdleTimeoutMs > 0 && quiet >= o.streamIdleTimeoutMs) {
          this.#stats.inc('downstream_rq_idle_timeout');
          c.writeLocal(408, 'stream_idle_timeout');
        }
        continue;
      }
      if (c.idle && o.idleTimeoutMs > 0 && quiet >= o.idleTimeoutMs) {
        this.#stats.inc('downstream_cx_idle_timeout');
        c.close();
      }
    }
    // A connection that sent nothing (or a part of the HTTP/2 preface) is idle.
    for (const [s, since] of this.#sniffing) {
      if (o.idleTimeoutMs > 0 && now - since >= o.idleTimeoutMs) {
        this.#stats.inc('downstream_cx_idle_timeout');
        s.destroy(); // its close handler forgets it
      }
    }
  }
}
