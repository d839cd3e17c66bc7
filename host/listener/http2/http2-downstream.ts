// One HTTP/2 stream as the HTTP layer sees it (a Downstream): its pseudo-headers as method, path
// and authority, its fields flat and lower-case, its DATA frames as the request body (paused
// stream → no WINDOW_UPDATE → the client stops: flow control is the backpressure), and the
// response as a HEADERS frame, DATA frames and, for a client that said `te: trailers` (gRPC),
// a trailing HEADERS frame. abort() resets this stream alone (RST_STREAM INTERNAL_ERROR); the
// connection and its other streams go on.
//
// WebSocket over HTTP/2 (RFC 8441, as Envoy maps it): an extended CONNECT (`:method CONNECT`,
// `:protocol websocket`) is presented as the HTTP/1.1 upgrade request it stands for (GET,
// Downstream.upgrade), so routing, filters and the router's upgrade to an HTTP/1.1 upstream are
// the WebSocket path unchanged; the upstream's 101 goes out as `:status 200`, and the stream's
// DATA frames, both ways, are the tunnel (this stream is its downstream TunnelEnd).
import { constants, type ServerHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../downstream.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { TunnelEnd, TunnelSink } from '../../common/tunnel-end.js';
import { readH2RequestHead } from './h2-request-head.js';
import { trailerStrings, type Trailers } from '../../common/trailer-block.js';

const enum State { Open, Streaming, Ended, Aborted, Tunnel }

const NO_HANDLER: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };
const EMPTY = new Uint8Array(0);
/** The reason of a reset this side makes (never thrown: the stream's 'error' listener takes it). */
const RESET = Object.assign(new Error('wasmesh: stream reset by the proxy'), { code: 'ERR_WASMESH_STREAM_RESET' });

/**
 * Connection-specific fields (RFC 9113 §8.2.2) never go out on HTTP/2 (node:http2 refuses them),
 * nor do the HTTP/1 framing fields the listener owns.
 */
const NOT_ON_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'content-length']);

const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));

/**
 * Collects a response head into node:http2's header object (repeated names as arrays). Its
 * methods are bound (arrow properties): a head source may pass `sink.status` and `sink.header`
 * on as plain functions (the router hands them to the core's field filter).
 */
class H2HeadSink implements HeadSink {
  headers: OutgoingHttpHeaders = {};
  readonly status = (): void => {};
  readonly header = (name: string | Uint8Array, value: string | Uint8Array): void => {
    const n = text(name).toLowerCase();
    if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58 /* ':' */) return;
    const v = text(value);
    const had = this.headers[n];
    if (had === undefined) this.headers[n] = v;
    else if (Array.isArray(had)) had.push(v);
    else this.headers[n] = [String(had), v];
  };
}

/** What a stream needs of its connection (Http2Listener's per-session record). */
export interface Http2DownstreamConnection {
  readonly remoteAddress: string;
  readonly localAddress: string | undefined;
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  readonly security: ConnectionSecurity | null;
  readonly serverName: string | null;
  streamEnded(ds: Http2Downstream): void;
}

export class Http2Downstream implements Downstream {
  readonly protocol = 'HTTP/2';
  readonly method: string;
  path: string;
  readonly authority: string;
  readonly headers: string[];
  readonly remoteAddress: string;
  readonly localAddress: string | undefined;
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  readonly security: ConnectionSecurity | null;
  readonly headBytes: number;
  readonly startTime = Date.now();
  bytesSent = 0;
  bytesReceived = 0;
  status = 0;
  readonly bodyFraming: 'none' | 'length' | 'chunked';
  readonly bodyLength: number;
  readonly protocolError: { readonly status: number; readonly code: string } | null;
  /** `websocket` for an extended CONNECT (RFC 8441) the proxy carries as an upgrade; null otherwise. */
  readonly upgrade: string | null;
  readonly #stream: ServerHttp2Stream;
  /** The tunnel reading this stream (after the 101 became a 200), once attached. */
  #tunnelSink: TunnelSink | null = null;
  readonly #conn: Http2DownstreamConnection;
  /** The client takes trailers (`te: trailers`, as every gRPC client sends). */
  readonly #trailers: boolean;
  #handler: DownstreamHandler = NO_HANDLER;
  #state = State.Open;
  #length = 0;
  #pendingTrailers: readonly string[] | undefined;
  #reading = false;

  constructor(stream: ServerHttp2Stream, conn: Http2DownstreamConnection, raw: string[], endStream: boolean, maxHeaders: number) {
    this.#stream = stream;
    this.#conn = conn;
    this.remoteAddress = conn.remoteAddress;
    this.localAddress = conn.localAddress;
    this.originalDestination = conn.originalDestination;
    this.security = conn.security;
    const head = readH2RequestHead(raw, endStream, maxHeaders);
    this.method = head.method;
    this.path = head.path;
    this.authority = head.authority;
    this.headers = head.headers;
    this.headBytes = head.headBytes;
    this.#trailers = head.trailers;
    this.upgrade = head.upgrade;
    this.bodyFraming = head.bodyFraming;
    this.bodyLength = head.bodyLength;
    this.protocolError = head.protocolError;
    stream.on('close', () => this.#onClose());
    stream.on('error', () => {});
    stream.on('drain', () => {
      if (this.#state === State.Streaming) this.#handler.onWritable();
      else if (this.#state === State.Tunnel) this.#tunnelSink?.onDrain();
    });
  }

  get open(): boolean {
    return this.#state === State.Open || this.#state === State.Streaming || this.#state === State.Tunnel;
  }

  get headSent(): boolean {
    return this.#state !== State.Open && this.status !== 0;
  }

  /** The stream object (timeouts set by the listener). */
  get stream(): ServerHttp2Stream {
    return this.#stream;
  }

  attach(handler: DownstreamHandler, expectBody: boolean): void {
    this.#handler = handler;
    // An upgrade's DATA frames wait, unread (no WINDOW_UPDATE), for the tunnel.
    if (this.upgrade !== null) return;
    if (!expectBody || this.bodyFraming === 'none') {
      // Whatever a bodiless request still sends is read and dropped, so its window moves on.
      if (!this.#stream.readableEnded) this.#stream.resume();
      return;
    }
    this.#reading = true;
    this.#stream.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      if (this.#state !== State.Aborted) this.#handler.onBodyData(chunk, false);
    });
    this.#stream.on('end', () => {
      if (this.#state !== State.Aborted) this.#handler.onBodyData(EMPTY, true);
    });
  }

  pauseBody(): void {
    if (this.#reading) this.#stream.pause();
  }

  resumeBody(): void {
    if (this.#reading) this.#stream.resume();
  }

  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void {
    if (this.#state !== State.Open || this.#stream.destroyed) return;
    const code = parseInt(status, 10);
    this.status = code;
    this.#state = State.Ended;
    const sink = new H2HeadSink();
    for (const [n, v] of headers) sink.header(n, v);
    const bytes = Buffer.from(body, 'utf8');
    const hasBody = bytes.length > 0 && this.method !== 'HEAD' && code !== 204 && code !== 304;
    if (body) sink.headers['content-type'] = 'text/plain';
    if (this.#conn.serverName !== null && sink.headers['server'] === undefined) sink.headers['server'] = this.#conn.serverName;
    sink.headers[':status'] = code;
    sink.headers['content-length'] = String(bytes.length);
    this.bytesSent = hasBody ? bytes.length : 0;
    try {
      this.#stream.respond(sink.headers, { endStream: !hasBody });
      if (hasBody) this.#stream.end(bytes);
    } catch {
      // The stream closed under us (client reset in the same turn): nothing to answer.
    }
    this.#complete();
  }

  writeHead(status: number, source: HeadSource, mode: BodyMode, length = 0): void {
    if (this.#state !== State.Open || this.#stream.destroyed) return;
    if (mode === BodyMode.Upgrade) {
      this.#writeUpgrade(source, status);
      return;
    }
    this.status = status;
    this.#state = State.Streaming;
    const sink = new H2HeadSink();
    source.emitHead(sink);
    const h = sink.headers;
    h[':status'] = status;
    if (mode === BodyMode.Length) {
      h['content-length'] = String(length);
      this.#length = length;
    }
    const endStream = mode === BodyMode.None || (mode === BodyMode.Length && length === 0);
    try {
      this.#stream.respond(h, { endStream, waitForTrailers: !endStream && this.#trailers });
    } catch {
      this.#state = State.Aborted;
      return;
    }
    if (!endStream && this.#trailers) {
      this.#stream.on('wantTrailers', () => this.#sendTrailers());
    }
    if (endStream) this.#complete();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#state !== State.Streaming) return true;
    this.bytesSent += chunk.length;
    // A copy: `chunk` may be a view into memory the caller reuses, and the stream keeps it until sent.
    const ok = this.#stream.write(Buffer.from(chunk));
    if (this.#length > 0 && this.bytesSent >= this.#length) {
      this.#stream.end();
      this.#complete();
      return true;
    }
    return ok;
  }

  end(t?: Trailers): void {
    const trailers = trailerStrings(t);
    if (this.#state === State.Tunnel) {
      // The tunnel closed (each side was ended or reset by it): the exchange is complete.
      this.#tunnelSink = null;
      this.#complete();
      return;
    }
    if (this.#state !== State.Streaming) return;
    if (this.#length > 0 && this.bytesSent < this.#length) {
      // Fewer bytes than announced: the client must not take a partial body for a whole one.
      this.abort();
      return;
    }
    this.#pendingTrailers = trailers;
    this.#stream.end();
    this.#complete();
  }

  #sendTrailers(): void {
    const t = this.#pendingTrailers;
    const out: OutgoingHttpHeaders = {};
    if (t !== undefined) {
      for (let i = 0; i + 1 < t.length; i += 2) {
        const n = t[i]!.toLowerCase();
        if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58) continue;
        const had = out[n];
        out[n] = had === undefined ? t[i + 1]! : [...(Array.isArray(had) ? had : [String(had)]), t[i + 1]!];
      }
    }
    try {
      this.#stream.sendTrailers(out);
    } catch {
      // Closed meanwhile.
    }
  }

  abort(): void {
    if (!this.open) return;
    this.#state = State.Ended; // our own reset must not be reported as a client abort
    // destroy(error) sends RST_STREAM INTERNAL_ERROR at once; close(code) would first end the
    // writable side (END_STREAM), passing a cut body off as complete to a client without content-length.
    if (!this.#stream.destroyed) this.#stream.destroy(RESET);
  }

  /** @internal (listener) no byte moved either way for the stream idle timeout. */
  idleTimeout(): void {
    if (!this.open) return;
    if (this.#handler.onIdleTimeout) this.#handler.onIdleTimeout();
    else this.abort();
  }

  #complete(): void {
    const wasTunnel = this.#state === State.Tunnel;
    this.#state = State.Ended;
    // An upgrade answered without a tunnel (refused, no route): what the client still sends is
    // read and dropped, as for any bodiless request, until it ends its side. (An RST_STREAM
    // NO_ERROR here could overtake the response's last DATA frames.)
    if (this.upgrade !== null && !wasTunnel && !this.#stream.destroyed) this.#stream.resume();
    this.#handler.onResponseComplete();
  }

  #onClose(): void {
    if (this.#state === State.Tunnel) {
      // The tunnel hears it first, and ends the exchange through end() when the close was in order.
      const sink = this.#tunnelSink;
      const code = this.#stream.rstCode;
      sink?.onClose(code !== undefined && code !== constants.NGHTTP2_NO_ERROR);
      if (sink === null) {
        // No tunnel attached yet: nothing else will end the stream.
        this.#state = State.Aborted;
        this.#conn.streamEnded(this);
        this.#handler.onAborted();
        return;
      }
    }
    const wasOpen = this.open;
    this.#state = State.Aborted;
    this.#conn.streamEnded(this);
    if (wasOpen) this.#handler.onAborted();
  }

  // ── WebSocket over HTTP/2 (RFC 8441) ──────────────────────────────────────────────────
  /** The upstream's 101 as this stream's `:status 200` (Envoy's transformUpgradeResponseFromH1toH2); the stream stays open both ways. */
  #writeUpgrade(source: HeadSource, status: number): void {
    if (this.upgrade === null || status !== 101) throw new Error('wasmesh: BodyMode.Upgrade for a request that asked no upgrade, or not with 101');
    const sink = new H2HeadSink();
    source.emitHead(sink);
    sink.headers[':status'] = 200;
    this.status = 200;
    this.#state = State.Tunnel;
    try {
      this.#stream.respond(sink.headers, { endStream: false });
    } catch {
      this.#state = State.Aborted;
    }
  }

  tunnel(): TunnelEnd | null {
    return this.#state === State.Tunnel ? this.#tunnelEnd : null;
  }

  /** This stream as the tunnel's downstream end: DATA in, DATA out, END_STREAM as FIN, RST_STREAM as reset. */
  readonly #tunnelEnd: TunnelEnd = {
    attach: (sink: TunnelSink): void => {
      this.#tunnelSink = sink;
      const stream = this.#stream;
      stream.on('data', (chunk: Buffer) => {
        this.bytesReceived += chunk.length;
        this.#tunnelSink?.onData(chunk);
      });
      stream.on('end', () => this.#tunnelSink?.onEnd());
      stream.resume();
    },
    write: (bytes: Uint8Array): boolean => {
      const stream = this.#stream;
      if (stream.destroyed || stream.writableEnded) return true;
      this.bytesSent += bytes.length;
      return stream.write(Buffer.from(bytes));
    },
    pause: (): void => {
      this.#stream.pause();
    },
    resume: (): void => {
      this.#stream.resume();
    },
    shutdown: (): void => {
      const stream = this.#stream;
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    },
    reset: (): void => {
      const stream = this.#stream;
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    },
  };
}
