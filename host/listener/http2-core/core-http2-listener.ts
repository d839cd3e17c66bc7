// The HTTP/2 listener kind on the core codec (issue 15): the connections the HTTP/1.1 listener
// hands over — a plaintext connection that began with the HTTP/2 preface (h2c with prior
// knowledge, protocol-sniff.ts), or a TLS connection that negotiated `h2` by ALPN — each served
// by a CoreH2Connection (frames and HPACK in the core, core-h2-connection.ts) whose streams are
// CoreHttp2Downstreams handed to the connection manager. The same seam and options as the
// node:http2 listener (http2/http2-listener.ts); ProxyServerOptions.http2Codec chooses.
//
// Timeouts: one sweep timer for every connection (a quarter of the shortest timeout, 10 ms to
// 1 s): a stream with no byte either way for streamIdleTimeoutMs is answered 408 or reset; a
// connection without streams for idleTimeoutMs is closed with GOAWAY.
import type { Socket } from 'node:net';
import type { Core } from '../../core/wasm.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { RequestHandler } from '../listener.js';
import type { Http2ConnectionListener } from '../http2-listener-kind.js';
import type { ConnectionReader } from '../transport/downstream-transport.js';
import { CoreH2Connection, type CoreH2ListenerContext } from './core-h2-connection.js';
import { DEFAULT_CORE_HTTP2_OPTIONS, type CoreHttp2Options } from './core-http2-options.js';

export class CoreHttp2Listener implements Http2ConnectionListener {
  readonly #ctx: CoreH2ListenerContext;
  readonly #connections = new Set<CoreH2Connection>();
  readonly #stats: StatScope<DownstreamStat>;
  #sweep: NodeJS.Timeout | null = null;
  #draining = false;

  constructor(core: Core, stats: StatScope<DownstreamStat>, onRequest: RequestHandler, options: Partial<CoreHttp2Options> = {}, serverName: string | null = 'wasmesh') {
    const o: CoreHttp2Options = { ...DEFAULT_CORE_HTTP2_OPTIONS, ...options };
    this.#stats = stats;
    this.#ctx = {
      core, options: o, stats, onRequest, serverName,
      connectionClosed: (c) => {
        if (this.#connections.delete(c)) stats.dec('downstream_cx_active');
        if (this.#connections.size === 0) this.#stopSweep();
      },
    };
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  get options(): Readonly<CoreHttp2Options> {
    return this.#ctx.options;
  }

  take(socket: Socket, remoteAddress: string, security: ConnectionSecurity | null, first?: Uint8Array, originalDestination: { readonly address: string; readonly port: number } | null = null): ConnectionReader | null {
    if (this.#draining) {
      socket.destroy();
      return null;
    }
    const conn = new CoreH2Connection(this.#ctx, socket, remoteAddress, security, originalDestination);
    this.#connections.add(conn);
    this.#stats.inc('downstream_cx_http2_total');
    this.#stats.inc('downstream_cx_active');
    this.#armSweep();
    if (first !== undefined && first.length > 0) conn.onRead(first);
    return conn;
  }

  stopAccepting(): void {
    this.#draining = true;
    for (const c of this.#connections) if (c.drain()) this.#stats.inc('downstream_cx_drain_close');
  }

  closeAll(): void {
    this.#draining = true;
    this.#stopSweep();
    for (const c of [...this.#connections]) c.destroy();
  }

  #armSweep(): void {
    if (this.#sweep !== null) return;
    const o = this.#ctx.options;
    const shortest = Math.min(...[o.idleTimeoutMs, o.streamIdleTimeoutMs].filter((t) => t > 0));
    if (!Number.isFinite(shortest)) return;
    const every = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.#sweep = setInterval(() => this.#sweepOnce(), every);
    this.#sweep.unref();
  }

  #stopSweep(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }

  #sweepOnce(): void {
    const o = this.#ctx.options;
    const now = performance.now();
    for (const c of [...this.#connections]) {
      if (o.streamIdleTimeoutMs > 0) {
        for (const ds of c.idleStreams(now - o.streamIdleTimeoutMs)) {
          this.#stats.inc('downstream_rq_idle_timeout');
          ds.idleTimeout();
        }
      }
      const since = c.idleSince;
      if (o.idleTimeoutMs > 0 && since >= 0 && now - since >= o.idleTimeoutMs && c.drain()) this.#stats.inc('downstream_cx_idle_timeout');
    }
  }
}
