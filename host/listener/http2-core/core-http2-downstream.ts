// One HTTP/2 stream of the core codec's listener as the HTTP layer sees it (a Downstream), with
// the node:http2 listener's behaviour (http2/http2-downstream.ts) over the core connection:
// the request head read by readH2RequestHead (shared), its DATA as the request body (paused →
// the stream's window is not given back → the client stops: flow control is the backpressure),
// the response as HEADERS, DATA and, for a client that said `te: trailers` (gRPC), a trailing
// HEADERS frame. abort() resets this stream alone (RST_STREAM INTERNAL_ERROR).
//
// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT reads as the HTTP/1.1 upgrade (GET,
// Downstream.upgrade); the upstream's 101 goes out as `:status 200` and the stream's DATA frames,
// both ways, are the tunnel (this stream is its downstream TunnelEnd).
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../downstream.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { TunnelEnd, TunnelSink } from '../../common/tunnel-end.js';
import type { HeaderField, HpackDecoder, HpackEncoder } from '../../core/h2/hpack.js';
import type { RequestView, RequestViewError } from '../../core/request-view.js';
import { readH2RequestHead } from '../http2/h2-request-head.js';
import { H2Stream, type H2StreamEvents } from './h2-stream.js';
import { TrailerBlock, trailerStrings, type Trailers } from '../../common/trailer-block.js';

const enum State { Open, Streaming, Ended, Aborted, Tunnel }
/** Where request DATA goes: held (no reader yet, or paused), to the handler, dropped, to the tunnel. */
const enum Reader { Held, Body, Drop, Tunnel }

const H2_INTERNAL_ERROR = 0x2;
const H2_CANCEL = 0x8;
const NO_HANDLER: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };
const EMPTY = new Uint8Array(0);
/** The empty #held of every adapter with nothing held (never pushed to: an adapter makes its own first). */
const NOTHING_HELD: Buffer[] = [];
/**
 * What an adapter writes to once its stream was given back to the connection's pool (and maybe
 * reused for another request): a stream closed both ways, so that every call of a late writer is
 * the no-op it is on a closed stream (h2-stream-pool.ts). Never in a connection's table.
 */
const RETIRED: H2Stream = (() => {
  const st = new H2Stream(0, 0, 0, 0);
  st.retire();
  st.endQueued = true;
  return st;
})();

/** Connection-specific fields (RFC 9113 §8.2.2) never go out, nor the framing fields the listener owns. */
const NOT_ON_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'content-length']);

/** Whether a field of `t` is one NOT_ON_H2 names (compared as bytes, by length first: gRPC's grpc-status and grpc-message never are). */
function hasFieldNotOnH2(t: TrailerBlock): boolean {
  for (let i = 0, n = t.count; i < n; i++) {
    const len = t.nameEnd(i) - t.nameStart(i);
    if (len !== 2 && len !== 7 && len !== 10 && len !== 14 && len !== 16 && len !== 17) continue;
    for (const name of NOT_ON_H2) if (t.nameIs(i, name)) return true;
  }
  return false;
}

const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));

/** Collects a response head as HPACK fields; bound methods (the router passes them on as functions). */
class FieldSink implements HeadSink {
  readonly fields: HeaderField[];
  constructor(status: number) {
    this.fields = [[':status', String(status)]];
  }
  readonly status = (): void => {};
  readonly header = (name: string | Uint8Array, value: string | Uint8Array): void => {
    const n = text(name).toLowerCase();
    if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58 /* ':' */) return;
    this.fields.push([n, text(value)]);
  };
}

/** NOT_ON_H2's names as bytes, by length. */
const NOT_ON_H2_BYTES: Map<number, Uint8Array[]> = (() => {
  const m = new Map<number, Uint8Array[]>();
  for (const n of NOT_ON_H2) m.set(n.length, [...(m.get(n.length) ?? []), Buffer.from(n, 'latin1')]);
  return m;
})();

/** Whether `name` may not go out on HTTP/2 (NOT_ON_H2, or a pseudo-header), read as bytes without a string. */
function notOnH2(name: string | Uint8Array): boolean {
  if (typeof name === 'string') return NOT_ON_H2.has(name.toLowerCase()) || name.charCodeAt(0) === 58;
  const n = name.length;
  if (n === 0) return false;
  if (name[0] === 58) return true;
  const candidates = NOT_ON_H2_BYTES.get(n);
  if (candidates === undefined) return false;
  next: for (const c of candidates) {
    for (let i = 0; i < n; i++) if ((name[i]! | (name[i]! >= 0x41 && name[i]! <= 0x5a ? 0x20 : 0)) !== c[i]) continue next;
    return true;
  }
  return false;
}

/** notOnH2 for a name that is `mem[start, end)` (no view made). */
function spanNotOnH2(mem: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (n === 0) return false;
  if (mem[start] === 58) return true;
  const candidates = NOT_ON_H2_BYTES.get(n);
  if (candidates === undefined) return false;
  next: for (const c of candidates) {
    for (let i = 0; i < n; i++) {
      const b = mem[start + i]!;
      if ((b | (b >= 0x41 && b <= 0x5a ? 0x20 : 0)) !== c[i]) continue next;
    }
    return true;
  }
  return false;
}

/**
 * Adds a response head's fields to the connection's header block (HpackEncoder.addField): names
 * and values go into the encoder's region as bytes, views into Wasm memory read by address, so
 * no JS string is made per field (FieldSink, for the local replies, collects strings).
 */
export class BlockSink implements HeadSink {
  readonly #encoder: HpackEncoder;
  /** A field past the block's MAX_FIELDS (the head is refused). */
  overflow = false;
  constructor(encoder: HpackEncoder) {
    this.#encoder = encoder;
  }
  begin(status: number): void {
    this.overflow = false;
    this.#encoder.beginBlock();
    this.own(':status', STATUS_TEXT[status] ?? String(status));
  }
  readonly status = (): void => {};
  readonly header = (name: string | Uint8Array, value: string | Uint8Array): void => {
    if (!notOnH2(name)) this.own(name, value);
  };
  /** A field as spans of `mem` (the core's filtered upstream head): encoded from in place. */
  readonly headerBytes = (mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void => {
    if (spanNotOnH2(mem, nameStart, nameEnd)) return;
    if (!this.#encoder.addFieldSpan(mem, nameStart, nameEnd, valueStart, valueEnd)) this.overflow = true;
  };
  /** A field the listener itself adds (content-length): not filtered. */
  own(name: string | Uint8Array, value: string | Uint8Array): void {
    if (!this.#encoder.addField(name, value)) this.overflow = true;
  }
}

/** Status codes as text, made once. */
const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));

/** What a stream needs of its connection (CoreH2Connection). */
export interface CoreH2StreamOwner {
  readonly remoteAddress: string;
  readonly localAddress: string | undefined;
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  readonly security: ConnectionSecurity | null;
  readonly serverName: string | null;
  /** `n` request bytes were taken (or dropped): window goes back to the client. */
  consumed(st: H2Stream, n: number): void;
  sendHeaders(st: H2Stream, fields: HeaderField[], endStream: boolean): void;
  /** The connection's sink for a response head given field by field (begun with `begin`). */
  readonly blockSink: BlockSink;
  /** Sends the block the sink holds (unless the stream can send no more: then it is dropped unencoded). */
  sendBlock(st: H2Stream, endStream: boolean): void;
  /** Sends DATA as the windows allow and keeps a copy of the rest (`chunk` may be reused once this returns); false: wait for onWritable. */
  sendData(st: H2Stream, chunk: Uint8Array): boolean;
  /** END_STREAM after the queued DATA, with trailers when given (and not empty). */
  endStream(st: H2Stream, trailers: HeaderField[] | TrailerBlock | null): void;
  resetStream(st: H2Stream, code: number): void;
}

export class CoreHttp2Downstream implements Downstream, H2StreamEvents {
  readonly protocol = 'HTTP/2';
  readonly method: string;
  path: string;
  readonly authority: string;
  readonly headers: string[];
  readonly headBytes: number;
  readonly startTime = Date.now();
  bytesSent = 0;
  bytesReceived = 0;
  status = 0;
  readonly bodyFraming: 'none' | 'length' | 'chunked';
  readonly bodyLength: number;
  readonly protocolError: { readonly status: number; readonly code: string } | null;
  readonly upgrade: string | null;
  /** The request's content-length (-1 absent), checked against its DATA by the connection. */
  readonly contentLength: number;
  /** The stream, while its generation is #generationOfStream (read through #stream). */
  readonly #st: H2Stream;
  readonly #generationOfStream: number;
  readonly #streamId: number;
  readonly #conn: CoreH2StreamOwner;
  readonly #trailers: boolean;
  #handler: DownstreamHandler = NO_HANDLER;
  #state = State.Open;
  #reader = Reader.Held;
  #paused = false;
  /** Request DATA not yet taken (NOTHING_HELD, shared, until a first chunk waits: most requests have none). */
  #held: Buffer[] = NOTHING_HELD;
  #heldEnd = false;
  #delivering = false;
  #length = 0;
  #tunnelSink: TunnelSink | null = null;

  /** The decoder whose list holds this request (while its generation is #generation), when `headers` is that list one for one. */
  readonly #decoder: HpackDecoder | null;
  readonly #generation: number;
  /** The list's first regular field (the pseudo-headers come first, §8.3). */
  readonly #firstField: number;

  constructor(st: H2Stream, conn: CoreH2StreamOwner, raw: readonly string[], endStream: boolean, maxHeaders: number, forced: { status: number; code: string } | null, decoder: HpackDecoder | null = null) {
    this.#st = st;
    this.#conn = conn;
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
    this.contentLength = head.contentLength >= 0 ? head.contentLength : -1;
    this.protocolError = forced ?? head.protocolError;
    st.events = this;
    this.#generationOfStream = st.generation;
    this.#streamId = st.id;
    let first = 0;
    while (first < raw.length && raw[first]!.charCodeAt(0) === 58) first += 2;
    this.#firstField = first >>> 1;
    this.#decoder = decoder !== null && head.direct && raw.length === 2 * decoder.count ? decoder : null;
    this.#generation = decoder?.generation ?? -1;
  }

  /**
   * The request view filled from the decoded list's bytes: `host` (the authority) first, then
   * the regular fields in their order, as `headers` holds them (head.direct), so that a request
   * routed in the turn it arrived in is never read out of its strings. False once another block
   * was decoded on the connection (a stream that waited) or when `headers` is not the list.
   */
  fillRequestView(view: RequestView, count: number): RequestViewError | null | false {
    const d = this.#decoder;
    if (d === null || d.generation !== this.#generation || count < 1) return false;
    const first = this.#firstField;
    // headers = host + the fields from `first` on: `count` of them is host + count - 1 fields.
    if (count - 1 > d.count - first) return false;
    let err = view.header('host', this.authority);
    for (let i = 0; err === null && i < count - 1; i++) err = view.headerFromEntry(d.fieldEntry(first + i));
    return err;
  }

  // The connection's, read through it (four fields fewer on every stream's adapter).
  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  get localAddress(): string | undefined {
    return this.#conn.localAddress;
  }

  get originalDestination(): { readonly address: string; readonly port: number } | null {
    return this.#conn.originalDestination;
  }

  get security(): ConnectionSecurity | null {
    return this.#conn.security;
  }

  get open(): boolean {
    return this.#state === State.Open || this.#state === State.Streaming || this.#state === State.Tunnel;
  }

  get headSent(): boolean {
    return this.#state !== State.Open && this.status !== 0;
  }

  /** This request's stream; RETIRED once the connection took it back (a late call is a no-op). */
  get #stream(): H2Stream {
    return this.#st.generation === this.#generationOfStream ? this.#st : RETIRED;
  }

  /** The HTTP/2 stream id. */
  get streamId(): number {
    return this.#streamId;
  }

  attach(handler: DownstreamHandler, expectBody: boolean): void {
    this.#handler = handler;
    // An upgrade's DATA frames wait, unread (no window given back), for the tunnel.
    if (this.upgrade !== null) return;
    this.#reader = !expectBody || this.bodyFraming === 'none' ? Reader.Drop : Reader.Body;
    this.#deliverHeld();
  }

  pauseBody(): void {
    if (this.#reader === Reader.Body) this.#paused = true;
  }

  resumeBody(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#deliverHeld();
  }

  // ── H2StreamEvents (the connection) ─────────────────────────────────────────────────────
  onData(chunk: Buffer | null, end: boolean): void {
    if (this.#held.length > 0 || this.#heldEnd || this.#paused || this.#reader === Reader.Held || (this.#reader === Reader.Tunnel && this.#paused)) {
      if (chunk !== null) {
        if (this.#held === NOTHING_HELD) this.#held = [];
        this.#held.push(chunk);
      }
      if (end) this.#heldEnd = true;
      return;
    }
    this.#take(chunk, end);
  }

  onWritable(): void {
    if (this.#state === State.Streaming) this.#handler.onWritable();
    else if (this.#state === State.Tunnel) this.#tunnelSink?.onDrain();
  }

  onClosed(reset: boolean, code: number): void {
    this.#held = NOTHING_HELD;
    if (this.#state === State.Tunnel) {
      // The tunnel hears it first, and ends the exchange through end() when the close was in order.
      const sink = this.#tunnelSink;
      sink?.onClose(reset && code !== 0);
      if (sink === null) {
        this.#state = State.Aborted;
        this.#handler.onAborted();
        return;
      }
    }
    // Closed in order: this side's END_STREAM went out (reply, end, a complete length-framed
    // body), which reports the completion itself, right after.
    if (!reset) return;
    const wasOpen = this.open;
    this.#state = State.Aborted;
    if (wasOpen) this.#handler.onAborted();
  }

  /** Hands one piece of request DATA to its reader. */
  #take(chunk: Buffer | null, end: boolean): void {
    const n = chunk === null ? 0 : chunk.length;
    switch (this.#reader) {
      case Reader.Body:
        if (this.#state === State.Aborted) {
          this.#conn.consumed(this.#stream, n);
          return;
        }
        this.bytesReceived += n;
        if (n > 0) this.#handler.onBodyData(chunk!, false);
        this.#conn.consumed(this.#stream, n);
        if (end) this.#handler.onBodyData(EMPTY, true);
        return;
      case Reader.Tunnel:
        this.bytesReceived += n;
        if (n > 0) this.#tunnelSink?.onData(chunk!);
        this.#conn.consumed(this.#stream, n);
        if (end) this.#tunnelSink?.onEnd();
        return;
      default:
        this.#conn.consumed(this.#stream, n);
    }
  }

  #deliverHeld(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (!this.#paused && this.#reader !== Reader.Held) {
        if (this.#held.length > 0) {
          const chunk = this.#held.shift()!;
          this.#take(chunk, this.#held.length === 0 && this.#heldEnd);
          if (this.#held.length === 0) this.#heldEnd = false;
          continue;
        }
        if (this.#heldEnd) {
          this.#heldEnd = false;
          this.#take(null, true);
        }
        break;
      }
    } finally {
      this.#delivering = false;
    }
  }

  // ── the response ────────────────────────────────────────────────────────────────────────
  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void {
    if (this.#state !== State.Open || this.#stream.localClosed) return;
    const code = parseInt(status, 10);
    this.status = code;
    this.#state = State.Ended;
    const sink = new FieldSink(code);
    let server = false;
    for (const [n, v] of headers) {
      sink.header(n, v);
      if (n.toLowerCase() === 'server') server = true;
    }
    const bytes = Buffer.from(body, 'utf8');
    const hasBody = bytes.length > 0 && this.method !== 'HEAD' && code !== 204 && code !== 304;
    if (body && !sink.fields.some((f) => f[0] === 'content-type')) sink.fields.push(['content-type', 'text/plain']);
    if (this.#conn.serverName !== null && !server) sink.fields.push(['server', this.#conn.serverName]);
    sink.fields.push(['content-length', String(bytes.length)]);
    this.bytesSent = hasBody ? bytes.length : 0;
    this.#conn.sendHeaders(this.#stream, sink.fields, !hasBody);
    if (hasBody) {
      this.#conn.sendData(this.#stream, bytes);
      this.#conn.endStream(this.#stream, null);
    }
    this.#complete();
  }

  writeHead(status: number, source: HeadSource, mode: BodyMode, length = 0): void {
    if (this.#state !== State.Open || this.#stream.localClosed) return;
    if (mode === BodyMode.Upgrade) {
      this.#writeUpgrade(source, status);
      return;
    }
    this.status = status;
    this.#state = State.Streaming;
    const sink = this.#conn.blockSink;
    sink.begin(status);
    source.emitHead(sink);
    if (mode === BodyMode.Length) {
      sink.own('content-length', String(length));
      this.#length = length;
    }
    if (sink.overflow) {
      // More fields than a header block holds: no head can go out, the stream is reset.
      this.#state = State.Ended;
      this.#conn.resetStream(this.#stream, H2_INTERNAL_ERROR);
      return;
    }
    const endStream = mode === BodyMode.None || (mode === BodyMode.Length && length === 0);
    this.#conn.sendBlock(this.#stream, endStream);
    if (endStream) this.#complete();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#state !== State.Streaming) return true;
    this.bytesSent += chunk.length;
    // Framed into the connection's write now, or copied by the connection for later.
    const ok = this.#conn.sendData(this.#stream, chunk);
    if (this.#length > 0 && this.bytesSent >= this.#length) {
      this.#conn.endStream(this.#stream, null);
      this.#complete();
      return true;
    }
    return ok;
  }

  end(t?: Trailers): void {
    if (this.#state === State.Tunnel) {
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
    if (this.#trailers && t instanceof TrailerBlock && !hasFieldNotOnH2(t)) {
      // As bytes, from the upstream's decoder to this connection's encoder (gRPC: no string per call).
      this.#conn.endStream(this.#st, t);
      this.#complete();
      return;
    }
    const trailers = trailerStrings(t);
    let fields: HeaderField[] | null = null;
    if (this.#trailers && trailers !== undefined) {
      // Sized once for every pair, cut to those kept (push onto [] makes room for 16).
      fields = new Array<HeaderField>(trailers.length >>> 1);
      let k = 0;
      for (let i = 0; i + 1 < trailers.length; i += 2) {
        const n = trailers[i]!.toLowerCase();
        if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58) continue;
        fields[k++] = [n, trailers[i + 1]!];
      }
      fields.length = k;
    }
    this.#conn.endStream(this.#stream, fields);
    this.#complete();
  }

  abort(): void {
    if (!this.open) return;
    this.#state = State.Ended; // our own reset must not be reported as a client abort
    this.#conn.resetStream(this.#stream, H2_INTERNAL_ERROR);
  }

  /** @internal (listener) no byte moved either way for the stream idle timeout. */
  idleTimeout(): void {
    if (!this.open) {
      // Answered, but the client neither reads the rest nor ends its side: let it go.
      this.#conn.resetStream(this.#stream, H2_CANCEL);
      return;
    }
    if (this.#handler.onIdleTimeout) this.#handler.onIdleTimeout();
    else this.abort();
  }

  #complete(): void {
    const wasTunnel = this.#state === State.Tunnel;
    this.#state = State.Ended;
    // An upgrade answered without a tunnel: what the client still sends is read and dropped.
    if (this.upgrade !== null && !wasTunnel) {
      this.#reader = Reader.Drop;
      this.#deliverHeld();
    }
    this.#handler.onResponseComplete();
  }

  // ── WebSocket over HTTP/2 (RFC 8441) ──────────────────────────────────────────────────
  #writeUpgrade(source: HeadSource, status: number): void {
    if (this.upgrade === null || status !== 101) throw new Error('wasmesh: BodyMode.Upgrade for a request that asked no upgrade, or not with 101');
    const sink = new FieldSink(200);
    source.emitHead(sink);
    this.status = 200;
    this.#state = State.Tunnel;
    const st = this.#stream;
    if (st !== RETIRED) st.tunnel = true;
    this.#conn.sendHeaders(st, sink.fields, false);
  }

  tunnel(): TunnelEnd | null {
    if (this.#state !== State.Tunnel) return null;
    return (this.#tunnelEnd ??= this.#makeTunnelEnd());
  }

  /** Made for the tunnel only (not a closure set per request). */
  #tunnelEnd: TunnelEnd | null = null;

  #makeTunnelEnd(): TunnelEnd {
    return {
      attach: (sink: TunnelSink): void => {
        this.#tunnelSink = sink;
        this.#reader = Reader.Tunnel;
        this.#deliverHeld();
      },
      write: (bytes: Uint8Array): boolean => {
        if (this.#stream.localClosed || this.#stream.endQueued) return true;
        this.bytesSent += bytes.length;
        return this.#conn.sendData(this.#stream, bytes);
      },
      pause: (): void => {
        this.#paused = true;
      },
      resume: (): void => {
        this.#paused = false;
        this.#deliverHeld();
      },
      shutdown: (): void => {
        this.#conn.endStream(this.#stream, null);
      },
      reset: (): void => {
        this.#conn.resetStream(this.#stream, H2_CANCEL);
      },
    };
  }
}
