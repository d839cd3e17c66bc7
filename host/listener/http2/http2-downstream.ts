// One HTTP/2 stream as the HTTP layer sees it (a Downstream): its pseudo-headers as method, path
// and authority, its fields flat and lower-case, its DATA frames as the request body (paused
// stream → no WINDOW_UPDATE → the client stops: flow control is the backpressure), and the
// response as a HEADERS frame, DATA frames and, for a client that said `te: trailers` (gRPC),
// a trailing HEADERS frame. abort() resets this stream alone (RST_STREAM INTERNAL_ERROR); the
// connection and its other streams go on.
import { type ServerHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../downstream.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';

const enum State { Open, Streaming, Ended, Aborted }

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

/** Collects a response head into node:http2's header object (repeated names as arrays). */
class H2HeadSink implements HeadSink {
  headers: OutgoingHttpHeaders = {};
  status(): void {}
  header(name: string | Uint8Array, value: string | Uint8Array): void {
    const n = text(name).toLowerCase();
    if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58 /* ':' */) return;
    const v = text(value);
    const had = this.headers[n];
    if (had === undefined) this.headers[n] = v;
    else if (Array.isArray(had)) had.push(v);
    else this.headers[n] = [String(had), v];
  }
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
  protocolError: { readonly status: number; readonly code: string } | null = null;
  readonly #stream: ServerHttp2Stream;
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
    let method = '';
    let path = '';
    let authority = '';
    let scheme = '';
    let host = -1;
    let cookie: string | null = null;
    let size = 0;
    let trailers = false;
    let contentLength = -1;
    const headers: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      size += name.length + value.length + 32;
      if (name.charCodeAt(0) === 58) {
        if (name === ':method') method = value;
        else if (name === ':path') path = value;
        else if (name === ':authority') authority = value;
        else if (name === ':scheme') scheme = value;
        continue;
      }
      // Split cookie fields are joined into one (RFC 9113 §8.2.3) for an HTTP/1.1 upstream.
      if (name === 'cookie') {
        cookie = cookie === null ? value : `${cookie}; ${value}`;
        continue;
      }
      if (name === 'host') host = headers.length;
      else if (name === 'te') trailers = /(^|,)\s*trailers\s*(;|,|$)/i.test(value);
      else if (name === 'content-length') contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -2;
      headers.push(name, value);
    }
    if (cookie !== null) headers.push('cookie', cookie);
    // :authority is the Host of HTTP/1.1 (RFC 9113 §8.3.1): Host is set from it, first.
    if (authority === '' && host >= 0) authority = headers[host + 1]!;
    if (host >= 0) headers.splice(host, 2);
    if (authority !== '') headers.unshift('host', authority);
    this.method = method;
    this.path = path;
    this.authority = authority;
    this.headers = headers;
    this.headBytes = size;
    this.#trailers = trailers;
    if (endStream) {
      this.bodyFraming = 'none';
      this.bodyLength = 0;
    } else if (contentLength > 0) {
      this.bodyFraming = 'length';
      this.bodyLength = contentLength;
    } else {
      // DATA frames of unknown total: an HTTP/1.1 upstream gets them chunked.
      this.bodyFraming = contentLength === 0 ? 'none' : 'chunked';
      this.bodyLength = 0;
    }
    if (method === '' || path === '' || (method !== 'CONNECT' && scheme === '')) this.protocolError = { status: 400, code: 'missing_pseudo_header' };
    else if (contentLength === -2) this.protocolError = { status: 400, code: 'invalid_content_length' };
    else if (headers.length / 2 > maxHeaders + 1) this.protocolError = { status: 431, code: 'too_many_headers' };
    else if (method === 'CONNECT') this.protocolError = { status: 501, code: 'unsupported_method' };
    stream.on('close', () => this.#onClose());
    stream.on('error', () => {});
    stream.on('drain', () => {
      if (this.#state === State.Streaming) this.#handler.onWritable();
    });
  }

  get open(): boolean {
    return this.#state === State.Open || this.#state === State.Streaming;
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

  end(trailers?: readonly string[]): void {
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
    this.#state = State.Ended;
    this.#handler.onResponseComplete();
  }

  #onClose(): void {
    const wasOpen = this.open;
    this.#state = State.Aborted;
    this.#conn.streamEnded(this);
    if (wasOpen) this.#handler.onAborted();
  }
}
