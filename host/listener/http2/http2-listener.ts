// The HTTP/2 listener kind, on node:http2 (nghttp2): not a port of its own but the sessions of
// connections a listener hands over — a plaintext connection whose first bytes are the HTTP/2
// preface (h2c with prior knowledge, protocol-sniff.ts), or a TLS connection that negotiated
// `h2` by ALPN. One http2 server that never listens serves them all (its 'connection' event,
// Node's documented way to serve sockets accepted elsewhere); each stream becomes one
// Http2Downstream handed to the connection manager.
//
// Limits (http2-options.ts): SETTINGS for concurrent streams, windows and the header list size;
// a per-stream idle timer (Node's stream timeout) answering 408 or resetting; the connection
// idle timeout closing a session without open streams; stopAccepting() drains every session with
// GOAWAY (streams under way finish), closeAll() destroys them.
import { createServer, constants, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { RequestHandler } from '../listener.js';
import { Http2Downstream, type Http2DownstreamConnection } from './http2-downstream.js';
import { DEFAULT_HTTP2_OPTIONS, type Http2ListenerOptions } from './http2-options.js';
import type { Http2ConnectionListener } from '../http2-listener-kind.js';

const CONNECTION = Symbol('wasmesh.h2connection');

interface TaggedSocket extends Socket {
  [CONNECTION]?: Http2Connection;
}

/** One HTTP/2 connection: what its streams share. */
class Http2Connection implements Http2DownstreamConnection {
  readonly streams = new Set<Http2Downstream>();
  session: ServerHttp2Session | null = null;
  requests = 0;
  #idle: NodeJS.Timeout | null = null;

  constructor(
    readonly remoteAddress: string,
    readonly localAddress: string | undefined,
    readonly security: ConnectionSecurity | null,
    readonly serverName: string | null,
    readonly idleTimeoutMs: number,
    /** Set for a connection a TPROXY capture handed over: where the client was connecting. */
    readonly originalDestination: { readonly address: string; readonly port: number } | null = null,
  ) {}

  streamEnded(ds: Http2Downstream): void {
    this.streams.delete(ds);
    if (this.streams.size === 0) this.armIdle();
  }

  /** Starts the idle timer (no stream open); a new stream stops it. */
  armIdle(): void {
    if (this.idleTimeoutMs <= 0 || this.session === null || this.#idle !== null) return;
    this.#idle = setTimeout(() => {
      this.#idle = null;
      if (this.streams.size === 0) this.onIdle?.();
    }, this.idleTimeoutMs);
    this.#idle.unref();
  }

  disarmIdle(): void {
    if (this.#idle !== null) clearTimeout(this.#idle);
    this.#idle = null;
  }

  onIdle: (() => void) | null = null;
}

export class Http2Listener implements Http2ConnectionListener {
  readonly #server: Http2Server;
  readonly #options: Http2ListenerOptions;
  readonly #stats: StatScope<DownstreamStat>;
  readonly #onRequest: RequestHandler;
  readonly #serverName: string | null;
  readonly #connections = new Set<Http2Connection>();
  #draining = false;

  constructor(stats: StatScope<DownstreamStat>, onRequest: RequestHandler, options: Partial<Http2ListenerOptions> = {}, serverName: string | null = 'wasmesh') {
    const o = (this.#options = { ...DEFAULT_HTTP2_OPTIONS, ...options });
    this.#stats = stats;
    this.#onRequest = onRequest;
    this.#serverName = serverName;
    this.#server = createServer({
      settings: {
        maxConcurrentStreams: o.maxConcurrentStreams,
        initialWindowSize: o.initialStreamWindowSize,
        maxHeaderListSize: o.maxHeaderListSize,
        enablePush: false,
        // RFC 8441: clients may open WebSockets with an extended CONNECT (:protocol websocket).
        enableConnectProtocol: true,
      },
      // Pseudo-headers and the joined host are counted by nghttp2 too; past this the stream is refused.
      maxHeaderListPairs: o.maxRequestHeaders + 8,
      // Node refuses new streams once a session holds more than this (MB): generous, the
      // windows bound what a client parks here.
      maxSessionMemory: 64,
    });
    this.#server.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    this.#server.on('stream', (stream: ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) => this.#onStream(stream, flags, raw));
    // A session error (protocol violation, socket error) ends that session; the server goes on.
    this.#server.on('sessionError', () => this.#stats.inc('downstream_cx_protocol_error'));
  }

  /** Open HTTP/2 connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  get options(): Readonly<Http2ListenerOptions> {
    return this.#options;
  }

  /**
   * Serves `socket` as an HTTP/2 connection. `first`: bytes already read from it (the sniffed
   * preface and what followed), given back to the session before any other.
   */
  take(socket: Socket, remoteAddress: string, security: ConnectionSecurity | null, first?: Uint8Array, originalDestination: { readonly address: string; readonly port: number } | null = null): null {
    if (this.#draining) {
      socket.destroy();
      return null;
    }
    const conn = new Http2Connection(remoteAddress, socket.localAddress, security, this.#serverName, this.#options.idleTimeoutMs, originalDestination);
    (socket as TaggedSocket)[CONNECTION] = conn;
    this.#connections.add(conn);
    this.#stats.inc('downstream_cx_http2_total');
    this.#stats.inc('downstream_cx_active');
    if (first !== undefined && first.length > 0) {
      // A socket reading in flowing mode would emit an unshifted chunk as 'data' with nobody
      // listening; paused, it stays in the buffer, where the session reads it first.
      socket.pause();
      socket.unshift(Buffer.from(first));
    }
    socket.once('close', () => {
      if (this.#connections.delete(conn)) this.#stats.dec('downstream_cx_active');
      conn.disarmIdle();
    });
    this.#server.emit('connection', socket);
    return null;
  }

  #onSession(session: ServerHttp2Session): void {
    const socket = session.socket as unknown as TaggedSocket;
    // TLS sockets reach the session wrapped; the tag is on the socket that was handed over.
    const conn = socket[CONNECTION] ?? ((socket as unknown as { _parent?: TaggedSocket })._parent?.[CONNECTION]);
    if (conn === undefined) {
      session.destroy();
      return;
    }
    conn.session = session;
    (session as unknown as { [CONNECTION]: Http2Connection })[CONNECTION] = conn;
    session.on('error', () => {});
    session.on('connect', () => {
      const win = this.#options.initialConnectionWindowSize;
      if (win > 65535) {
        try {
          session.setLocalWindowSize(win);
        } catch {
          // Session gone already.
        }
      }
    });
    conn.onIdle = () => {
      this.#stats.inc('downstream_cx_idle_timeout');
      session.close();
    };
    conn.armIdle();
  }

  #onStream(stream: ServerHttp2Stream, flags: number, raw: string[]): void {
    const conn = (stream.session as unknown as { [CONNECTION]?: Http2Connection } | undefined)?.[CONNECTION];
    if (conn === undefined) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    conn.disarmIdle();
    this.#stats.inc('downstream_rq_http2_total');
    const o = this.#options;
    const ds = new Http2Downstream(stream, conn, raw, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0, o.maxRequestHeaders);
    conn.streams.add(ds);
    if (o.streamIdleTimeoutMs > 0) {
      stream.setTimeout(o.streamIdleTimeoutMs, () => {
        this.#stats.inc('downstream_rq_idle_timeout');
        ds.idleTimeout();
      });
    }
    conn.requests++;
    if (o.maxRequestsPerConnection > 0 && conn.requests >= o.maxRequestsPerConnection) conn.session?.close();
    this.#onRequest(ds);
  }

  /** Drains every session: GOAWAY now, streams under way finish, new connections are refused. */
  stopAccepting(): void {
    this.#draining = true;
    for (const c of this.#connections) {
      if (c.session !== null && !c.session.closed) {
        this.#stats.inc('downstream_cx_drain_close');
        c.session.close();
      }
    }
  }

  /** Destroys every session at once. */
  closeAll(): void {
    this.#draining = true;
    for (const c of [...this.#connections]) {
      c.disarmIdle();
      c.session?.destroy();
    }
  }
}
