// One request on a core-framed HTTP/1.1 connection, as the HTTP layer sees it (a Downstream):
// its head as parsed, its body as the connection frames it, and its response written with
// HTTP/1.1 framing — content-length, chunked, or close-delimited for an HTTP/1.0 client —
// the head in the same write as the first body bytes when they follow in the same turn.
//
// Body views handed to write() may point into memory the caller reuses (the upstream read
// buffer); a socket may keep what it could not send yet by reference, so every write is of
// bytes this object owns.
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSource } from '../downstream.js';
import type { Socket } from 'node:net';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { TunnelEnd } from '../../common/tunnel-end.js';
import { enqueueMicrotask } from '../../common/microtask.js';
import { beginHead, dropParked, finishHead, headStatus, HEAD_SINK, parkHead, takeParked, WireFraming, type HeadOwner } from './response-head.js';
import type { Trailers } from '../../common/trailer-block.js';
import type { PropagationBytes } from '../../common/propagation-bytes.js';

/**
 * What a request needs of its connection (Http1Connection implements it). Declared here, not
 * imported: the connection creates its requests, so importing it back closed an import cycle.
 */
export interface Http1DownstreamConnection {
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly security: ConnectionSecurity | null;
  readonly serverName: string | null;
  /** The original destination of a connection a TPROXY capture handed over; null otherwise. */
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  lastActivity: number;
  pauseBody(): void;
  resumeBody(): void;
  /** This request's response went out whole: the connection reads the next request. */
  responseDone(ds: Http1Downstream): void;
  destroy(): void;
  /** This request's 101 went out: the connection as a byte stream. */
  tunnel(ds: Http1Downstream): TunnelEnd;
  /** The tunnel is over: the connection ends. */
  tunnelDone(ds: Http1Downstream): void;
}

const enum State { Open, Streaming, Ended, Aborted, Tunnel }

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const NO_HANDLER: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };

// Heads written but not yet sent: flushed by one microtask per turn unless body bytes take them.
// Two lists used in turn, so that a flush allocates none.
let unflushed: Http1Downstream[] = [];
let flushing: Http1Downstream[] = [];
let flushQueued = false;

function flushHeads(): void {
  flushQueued = false;
  const list = unflushed;
  unflushed = flushing;
  flushing = list;
  for (let i = 0; i < list.length; i++) list[i]!.flushHead();
  list.length = 0;
}

export class Http1Downstream implements Downstream, HeadOwner {
  readonly method: string;
  path: string;
  readonly authority: string;
  readonly headers: string[];
  readonly remoteAddress: string;
  readonly security: ConnectionSecurity | null;
  readonly headBytes: number;
  readonly startTime = Date.now();

  get originalDestination(): { readonly address: string; readonly port: number } | null {
    return this.#conn.originalDestination;
  }

  /** The connection's local address (read from the socket only when asked: authorization). */
  get localAddress(): string | undefined {
    return this.#conn.socket.localAddress;
  }
  bytesSent = 0;
  bytesReceived = 0;
  status = 0;
  /** Keep the connection after this response (the request's and the limits' verdict). */
  keepAlive: boolean;
  /** The whole request body has been read (set by the connection). */
  requestComplete = false;
  protocolError: { readonly status: number; readonly code: string } | null = null;
  bodyFraming: 'none' | 'length' | 'chunked' = 'none';
  bodyLength = 0;
  /** The trace context fields, taken out of `headers` as bytes (set by the connection), or null. */
  propagation: PropagationBytes | null = null;
  /** A WebSocket upgrade request (set by the connection): the protocol as the client named it. */
  upgrade: string | null = null;
  #tunnelEnd: TunnelEnd | null = null;
  readonly #conn: Http1DownstreamConnection;
  /** 0 for an HTTP/1.0 request, 1 for HTTP/1.1. */
  readonly #minor: number;
  #handler: DownstreamHandler = NO_HANDLER;
  #state = State.Open;
  #framing = WireFraming.None;
  #length = 0;
  /**
   * A head written and not yet sent (it goes out with the first body bytes): parked in the
   * thread's head buffer (#parked), or a copy of it once another head needed that buffer.
   */
  #parked = false;
  #head: Buffer | null = null;
  #writable = true;

  constructor(conn: Http1DownstreamConnection, method: string, path: string, authority: string, headers: string[], headBytes: number, minor: number, keepAlive: boolean) {
    this.#conn = conn;
    this.method = method;
    this.path = path;
    this.authority = authority;
    this.headers = headers;
    this.headBytes = headBytes;
    this.remoteAddress = conn.remoteAddress;
    this.security = conn.security;
    this.#minor = minor;
    this.keepAlive = keepAlive;
  }

  get open(): boolean {
    return this.#state === State.Open || this.#state === State.Streaming || this.#state === State.Tunnel;
  }

  get headSent(): boolean {
    return this.#state !== State.Open && this.status !== 0;
  }

  attach(handler: DownstreamHandler): void {
    this.#handler = handler;
  }

  /** @internal (connection) a piece of the request body, owned by the handler from here. */
  deliverBody(chunk: Uint8Array, last: boolean): void {
    this.bytesReceived += chunk.length;
    if (this.#state !== State.Aborted) this.#handler.onBodyData(chunk, last);
  }

  pauseBody(): void {
    this.#conn.pauseBody();
  }

  resumeBody(): void {
    this.#conn.resumeBody();
  }

  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void {
    if (this.#state !== State.Open) return;
    this.status = parseInt(status, 10);
    this.#state = State.Ended;
    const bytes = Buffer.from(body, 'utf8');
    this.bytesSent = bytes.length;
    beginHead();
    headStatus(status);
    for (const [n, v] of headers) HEAD_SINK.header(n, v);
    if (body) HEAD_SINK.header('content-type', 'text/plain');
    const head = finishHead(WireFraming.Length, bytes.length, !this.keepAlive, this.#conn.serverName, this.#keepAliveField());
    this.#send(bytes.length > 0 && this.method !== 'HEAD' ? Buffer.concat([head, bytes]) : head);
    this.#complete();
  }

  writeHead(status: number, source: HeadSource, mode: BodyMode, length = 0): void {
    if (this.#state !== State.Open) return;
    this.status = status;
    if (mode === BodyMode.Upgrade) {
      this.#writeUpgrade(source);
      return;
    }
    this.#state = State.Streaming;
    if (mode === BodyMode.Length) this.#framing = WireFraming.Length;
    else if (mode === BodyMode.None) this.#framing = WireFraming.None;
    else if (this.#minor === 1) this.#framing = WireFraming.Chunked;
    else {
      // An HTTP/1.0 client reads an unknown length until the connection closes.
      this.#framing = WireFraming.Close;
      this.keepAlive = false;
    }
    this.#length = length;
    beginHead();
    source.emitHead(HEAD_SINK);
    if (this.#framing === WireFraming.None || (this.#framing === WireFraming.Length && length === 0)) {
      this.#send(finishHead(this.#framing, length, !this.keepAlive, null, this.#keepAliveField()));
      this.#complete();
      return;
    }
    parkHead(this, this.#framing, length, !this.keepAlive, this.#keepAliveField());
    this.#parked = true;
    unflushed.push(this);
    if (!flushQueued) {
      flushQueued = true;
      enqueueMicrotask(flushHeads);
    }
  }

  /** The 101 head: the source's fields, the listener's `connection: upgrade` and `upgrade`. */
  #writeUpgrade(source: HeadSource): void {
    if (this.upgrade === null || this.status !== 101) throw new Error('wasmesh: BodyMode.Upgrade for a request that asked no upgrade, or not with 101');
    this.#state = State.Tunnel;
    this.keepAlive = false;
    beginHead();
    source.emitHead(HEAD_SINK);
    HEAD_SINK.header('connection', 'upgrade');
    HEAD_SINK.header('upgrade', this.upgrade);
    this.#send(finishHead(WireFraming.None, 0, false, null, false));
  }

  tunnel(): TunnelEnd | null {
    if (this.#state !== State.Tunnel) return null;
    return (this.#tunnelEnd ??= this.#conn.tunnel(this));
  }

  /** The connection ends after this response: its head (when not written yet) says `connection: close`. */
  closeAfterResponse(): void {
    if (this.#state === State.Open) this.keepAlive = false;
  }

  /** HTTP/1.0 clients keep a connection only when told so. */
  #keepAliveField(): boolean {
    return this.keepAlive && this.#minor === 0;
  }

  /** @internal (response-head) another head needs the buffer this one is parked in. */
  headEvicted(copy: Buffer): void {
    this.#parked = false;
    this.#head = copy;
  }

  /** The pending head followed by `parts`, as one buffer (null when no head is pending). */
  #withHead(...parts: Uint8Array[]): Buffer | null {
    if (this.#parked) {
      this.#parked = false;
      const out = takeParked(this, ...parts);
      if (out !== null) return out;
    }
    const head = this.#head;
    if (head === null) return null;
    this.#head = null;
    return Buffer.concat([head, ...parts]);
  }

  /** @internal (flushHeads) sends a head that no body byte followed in its turn. */
  flushHead(): void {
    if (this.#state !== State.Streaming) return;
    const head = this.#withHead();
    if (head !== null) this.#send(head);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#state !== State.Streaming) return true;
    const n = chunk.length;
    this.bytesSent += n;
    let out: Buffer;
    if (this.#framing === WireFraming.Chunked) {
      if (n === 0) return this.#writable;
      const size = Buffer.from(`${n.toString(16)}\r\n`, 'latin1');
      out = this.#withHead(size, chunk, CRLF) ?? Buffer.concat([size, chunk, CRLF]);
    } else {
      // A copy in any case: `chunk` may be a view into memory the caller reuses.
      out = this.#withHead(chunk) ?? Buffer.from(chunk);
    }
    const ok = this.#send(out);
    if (this.#framing === WireFraming.Length && this.bytesSent >= this.#length) {
      this.#complete();
      return true;
    }
    return ok;
  }

  /** Trailers are dropped: HTTP/1.1 downstreams get none (Envoy's default, enable_trailers off). */
  end(_trailers?: Trailers): void {
    if (this.#state === State.Tunnel) {
      // The tunnel closed: the exchange is complete (logged as 101), the connection goes.
      this.#state = State.Ended;
      this.#handler.onResponseComplete();
      this.#conn.tunnelDone(this);
      return;
    }
    if (this.#state !== State.Streaming) return;
    if (this.#framing === WireFraming.Length) {
      // Fewer bytes than announced: the client must not take a partial body for a whole one.
      if (this.bytesSent < this.#length) this.abort();
      return;
    }
    if (this.#framing === WireFraming.Chunked) this.#send(this.#withHead(LAST_CHUNK) ?? LAST_CHUNK);
    else {
      const head = this.#withHead();
      if (head) this.#send(head);
    }
    // A close-delimited body ends with the connection (keepAlive is false for it).
    this.#complete();
  }

  abort(): void {
    if (!this.open) return;
    this.#state = State.Ended; // our own close must not be reported as a client abort
    this.#head = null;
    if (this.#parked) dropParked(this);
    this.#parked = false;
    this.#conn.destroy();
  }

  #send(bytes: Uint8Array): boolean {
    this.#conn.lastActivity = performance.now();
    this.#writable = this.#conn.socket.write(bytes);
    return this.#writable;
  }

  #complete(): void {
    this.#state = State.Ended;
    this.#handler.onResponseComplete();
    this.#conn.responseDone(this);
  }

  /** @internal (connection) the socket drained: the handler may write again. */
  onDrain(): void {
    this.#writable = true;
    if (this.#state === State.Streaming) this.#handler.onWritable();
  }

  /** @internal (connection) the connection closed under the request. */
  connectionLost(): void {
    if (this.#parked) dropParked(this);
    this.#parked = false;
    if (this.#state === State.Ended || this.#state === State.Aborted) {
      this.#state = State.Aborted;
      return;
    }
    this.#state = State.Aborted;
    this.#handler.onAborted();
  }

  /** @internal (connection) the request body was malformed: the handler answers or resets. */
  failBody(status: number, code: string): void {
    this.keepAlive = false;
    if (this.#handler.onProtocolError) this.#handler.onProtocolError(status, code);
    else this.abort();
  }

  /** @internal (listener sweep) no byte moved either way for the stream idle timeout. */
  idleTimeout(): void {
    if (!this.open) return;
    if (this.#handler.onIdleTimeout) this.#handler.onIdleTimeout();
    else this.abort();
  }
}
