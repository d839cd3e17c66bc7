// One pooled keep-alive HTTP/1.1 connection to an endpoint, carrying one exchange at a time (so
// it is its own UpstreamStream): writes the request (head as given, body raw or chunk-encoded),
// reads the response head across reads, frames the body (length, chunked, close) and decides
// whether it may be reused. A `101 Switching Protocols` to an upgrade request hands the socket
// over as a raw byte stream (upgrade(), upstream-tunnel-end.ts): the connection is then never reused.
import type { Socket } from 'node:net';
import type { ExchangeHandler, StreamStart, UpstreamFailure, UpstreamStream } from '../conn-pool.js';
import type { ChunkedDecoder, Http1Codec, Http1ResponseHead } from './http1-codec.js';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { TunnelEnd } from '../../../common/tunnel-end.js';
import { UpstreamTunnelEnd } from './upstream-tunnel-end.js';

/** What a connection reports back to its endpoint pool. */
export interface ConnectionOwner {
  release(conn: Http1Connection, reusable: boolean): void;
  closed(conn: Http1Connection, byRemote: boolean): void;
}

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const EMPTY = new Uint8Array(0);

export class Http1Connection implements UpstreamStream {
  readonly socket: Socket;
  /** Exchanges completed on this connection; > 0 means the connection is being reused. */
  exchanges = 0;
  /** When it last went idle (performance.now(), set by its endpoint pool for the idle timeout). */
  idleSince = 0;
  readonly #codec: Http1Codec;
  readonly #owner: ConnectionOwner;
  readonly #stats: ClusterStats;
  #handler: ExchangeHandler | null = null;
  #closed = false;
  // Per-exchange state.
  #isHead = false;
  #chunkedRequest = false;
  #requestDone = false;
  #head: Http1ResponseHead | null = null;
  #headBuf: Uint8Array = EMPTY;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #responseDone = false;
  #gotBytes = false;
  #reusable = true;
  #paused = false;
  #pushing = false;
  /** Bytes that followed a 101 head (the upgraded protocol's first bytes). */
  #afterUpgrade: Uint8Array = EMPTY;
  /** Set once a 101 handed the socket over (upgrade()). */
  #tunnel: UpstreamTunnelEnd | null = null;

  constructor(socket: Socket, codec: Http1Codec, owner: ConnectionOwner, stats: ClusterStats) {
    this.socket = socket;
    this.#codec = codec;
    this.#owner = owner;
    this.#stats = stats;
    socket.on('drain', () => (this.#tunnel !== null ? this.#tunnel.onDrain() : this.#handler?.onRequestDrain()));
    socket.on('end', () => (this.#tunnel !== null ? this.#tunnel.onEnd() : this.#onClose(true)));
    socket.on('close', (hadError: boolean) => this.#onClose(true, hadError));
    socket.on('error', () => this.#onClose(true, true));
  }

  get busy(): boolean {
    return this.#handler !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts an exchange: writes the request head; the body follows with writeBody/endRequest. */
  start(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void {
    this.#handler = handler;
    this.#isHead = opts.isHead;
    this.#chunkedRequest = opts.chunked;
    this.#requestDone = !opts.hasBody;
    this.#head = null;
    this.#headBuf = EMPTY;
    this.#responseDone = false;
    this.#gotBytes = false;
    this.#reusable = true;
    this.#paused = false;
    this.#stats.inc('upstream_cx_tx_bytes_total', head.length);
    this.socket.write(head);
  }

  /** Writes request body bytes; false means the socket is backed up (wait for onRequestDrain). */
  writeBody(chunk: Uint8Array): boolean {
    if (this.#closed || chunk.length === 0) return true;
    this.#stats.inc('upstream_cx_tx_bytes_total', chunk.length);
    if (!this.#chunkedRequest) return this.socket.write(chunk);
    // Re-encode as chunked: the downstream's own framing is gone (uWS decoded it).
    this.socket.cork();
    this.socket.write(chunk.length.toString(16) + '\r\n');
    this.socket.write(chunk);
    const ok = this.socket.write(CRLF);
    this.socket.uncork();
    return ok;
  }

  /** The request body is complete. */
  endRequest(): void {
    if (this.#closed || this.#requestDone) return;
    if (this.#chunkedRequest) this.socket.write(LAST_CHUNK);
    this.#requestDone = true;
    if (this.#responseDone) this.#finish();
  }

  pauseResponse(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  resumeResponse(): void {
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /**
   * The exchange's 101 is taken as an upgrade: the socket becomes a byte stream for a tunnel
   * (what followed the head first). The pool keeps counting the connection as active until it
   * closes, and never reuses it. Null when the response is no 101 (or the connection is gone).
   */
  upgrade(): TunnelEnd | null {
    if (this.#closed || this.#head === null || this.#head.code !== 101 || this.#tunnel !== null) return null;
    this.#handler = null;
    this.#reusable = false;
    this.resumeResponse();
    const early = this.#afterUpgrade;
    this.#afterUpgrade = EMPTY;
    return (this.#tunnel = new UpstreamTunnelEnd(this.socket, this.#stats, early));
  }

  /** Cancels the exchange (client went away, timeout): the socket is destroyed, no callbacks follow. */
  abort(): void {
    this.#handler = null;
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stats.inc('upstream_cx_destroy_local');
    this.socket.destroy();
    this.#release();
    this.#owner.closed(this, false);
    this.#tunnel?.onClose(true);
  }

  /** Frees the decoder's Wasm memory once the connection is gone. */
  #release(): void {
    // Not while the decoder is mid-push (a callback may destroy the connection).
    if (this.#pushing) return;
    this.#chunked?.dispose();
    this.#chunked = null;
  }

  /**
   * Bytes read from the socket. `buf` is a view into the read buffer every upstream socket of
   * this thread shares (net's `onread`, see http1-conn-pool.ts): valid only during this call, so
   * whatever outlives it is copied (an incomplete head here, a body chunk uWS cannot take now in
   * Downstream.write).
   */
  onRead(buf: Uint8Array): void {
    this.#stats.inc('upstream_cx_rx_bytes_total', buf.length);
    if (this.#tunnel !== null) {
      this.#tunnel.onRead(buf);
      return;
    }
    const h = this.#handler;
    if (!h) {
      // Bytes on an idle connection are a protocol violation; it cannot be reused.
      this.destroy();
      return;
    }
    this.#gotBytes = true;
    let bytes: Uint8Array = buf;
    if (!this.#head) {
      if (this.#headBuf.length > 0) {
        const joined = new Uint8Array(this.#headBuf.length + buf.length);
        joined.set(this.#headBuf);
        joined.set(buf, this.#headBuf.length);
        bytes = joined;
      }
      for (;;) {
        const r = this.#codec.parseResponseHead(bytes, this.#isHead);
        if (r.status === 'incomplete') {
          this.#headBuf = bytes === buf ? Uint8Array.prototype.slice.call(buf) : bytes; // a copy (Buffer#slice is a view)
          return;
        }
        if (r.status === 'error') {
          this.#fail('protocol_error');
          return;
        }
        bytes = bytes.subarray(r.head.headLength);
        // 1xx informational heads (100 Continue, 103 Early Hints) precede the real one.
        if (r.head.code >= 100 && r.head.code < 200 && r.head.code !== 101) {
          if (bytes.length === 0) {
            this.#headBuf = EMPTY;
            return;
          }
          continue;
        }
        this.#head = r.head;
        this.#headBuf = EMPTY;
        break;
      }
      const head = this.#head;
      if (!head.keepAlive) this.#reusable = false;
      // An upgrade's first bytes may share the read with the 101 head: kept for upgrade().
      if (head.code === 101 && bytes.length > 0) this.#afterUpgrade = Uint8Array.prototype.slice.call(bytes);
      if (head.framing === 'length') this.#remaining = head.contentLength;
      else if (head.framing === 'chunked') {
        // One decoder per connection, reset per message (it holds Wasm memory).
        if (this.#chunked) this.#chunked.reset();
        else this.#chunked = this.#codec.chunkedDecoder();
      }
      h.onResponseHead(head);
      if (this.#handler !== h) return; // aborted from inside the callback
      // `content-length: 0` ends the message with the head, like a bodiless status.
      if (head.framing === 'none' || (head.framing === 'length' && head.contentLength === 0)) {
        if (bytes.length > 0) this.#reusable = false;
        this.#responseComplete();
        return;
      }
    }
    if (bytes.length > 0) this.#body(bytes, h);
  }

  #body(bytes: Uint8Array, h: ExchangeHandler): void {
    const head = this.#head!;
    let more = true;
    switch (head.framing) {
      case 'length': {
        const take = Math.min(bytes.length, this.#remaining);
        if (take < bytes.length) this.#reusable = false; // bytes beyond the message
        this.#remaining -= take;
        if (take > 0) more = h.onResponseData(take === bytes.length ? bytes : bytes.subarray(0, take));
        if (this.#handler !== h) return;
        if (this.#remaining === 0) {
          this.#responseComplete();
          return;
        }
        break;
      }
      case 'chunked': {
        this.#pushing = true;
        const r = this.#chunked!.push(bytes, (data) => {
          if (this.#handler === h && !h.onResponseData(data)) more = false;
        });
        this.#pushing = false;
        if (this.#closed) this.#release();
        if (this.#handler !== h) return;
        if (r.error) {
          this.#fail('protocol_error');
          return;
        }
        if (r.done) {
          if (r.consumed < bytes.length) this.#reusable = false;
          this.#responseComplete();
          return;
        }
        break;
      }
      case 'close':
        more = h.onResponseData(bytes);
        if (this.#handler !== h) return;
        break;
      case 'none':
        break;
    }
    if (!more) this.pauseResponse();
  }

  #responseComplete(): void {
    this.#responseDone = true;
    const h = this.#handler;
    if (!this.#requestDone) {
      // The upstream answered before reading the whole request: the connection's request
      // stream is in an unknown state, so it is never reused.
      this.#reusable = false;
    }
    if (this.#requestDone) this.#finish();
    else {
      this.#handler = null;
      this.destroy();
    }
    h?.onResponseEnd();
  }

  #finish(): void {
    this.#handler = null;
    this.exchanges++;
    this.resumeResponse();
    this.#owner.release(this, this.#reusable);
  }

  #fail(failure: 'protocol_error'): void {
    const h = this.#handler;
    this.#handler = null;
    this.#stats.inc('upstream_cx_protocol_error');
    this.destroy();
    h?.onUpstreamFailure(failure, false);
  }

  #onClose(_remote: boolean, error = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stats.inc('upstream_cx_destroy_remote');
    this.socket.destroy();
    this.#release();
    if (this.#tunnel !== null) {
      this.#owner.closed(this, true);
      this.#tunnel.onClose(error);
      return;
    }
    const h = this.#handler;
    this.#handler = null;
    this.#owner.closed(this, true);
    if (!h) return;
    const head = this.#head;
    if (head && head.framing === 'close') {
      // A close-delimited body ends when the upstream closes.
      this.#responseDone = true;
      h.onResponseEnd();
      return;
    }
    const stale = this.exchanges > 0 && !this.#gotBytes;
    h.onUpstreamFailure(head ? 'reset_mid_response' : 'reset_before_head', stale);
  }
}
