// One downstream HTTP/1.1 connection read and framed by the core: request heads parsed by the
// core's strict RFC 9112 parser (assembly/codec), bodies framed by Content-Length or the core's
// chunked decoder, one request at a time with pipelined requests read ahead and answered in
// order, responses written with their framing, keep-alive as the request and the limits allow.
// A malformed message is answered 400 (413, 414, 431, 501, 505) with the reason and nothing of
// it is handed on; the connection then closes, since the byte stream cannot be trusted past it.
//
// Read phases: Head (a request head is being read) → Body (its body) → Hold (complete; what
// follows waits for the response) → Head …; Closed once the connection is going away. A
// WebSocket upgrade answered 101 leaves HTTP for good: Hold → Tunnel (raw bytes, http1-tunnel-end.ts).
import type { Socket } from 'node:net';
import type { HeadParser } from '../../core/codec/head-parser.js';
import type { ChunkedDecoder } from '../../core/codec/chunked-decoder.js';
import { FRAMING_CHUNKED, FRAMING_LENGTH, FRAMING_NONE, HEAD_FLAG_CONNECTION_UPGRADE } from '../../core/codec/head-parser.js';
import type { TunnelEnd } from '../../common/tunnel-end.js';
import { Http1TunnelEnd } from './http1-tunnel-end.js';
import { statusEntry, STATUS_INCOMPLETE, STATUS_OK } from '../../core/status.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { RequestHandler } from '../listener.js';
import type { Http1ListenerOptions } from './listener-options.js';
import { Http1Downstream, type Http1DownstreamConnection } from './http1-downstream.js';
import { beginHead, finishHead, headStatus, HEAD_SINK, WireFraming } from './response-head.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import { forwardClientCert } from '../../tls/forward-client-cert.js';
import { RepeatedValues } from '../../common/repeated-values.js';
import { FieldNames } from '../../common/field-strings.js';
import { PropagationBytes } from '../../common/propagation-bytes.js';

const enum Read { Head, Body, Hold, Closed, Tunnel }

/** What every connection of one listener shares (one thread: one parser, one decoder pool). */
export interface ConnectionContext {
  readonly parser: HeadParser;
  newChunkedDecoder(): ChunkedDecoder;
  readonly options: Http1ListenerOptions;
  readonly stats: StatScope<DownstreamStat>;
  readonly onRequest: RequestHandler;
  /** Wasm memory as a Buffer (latin1 slices of parsed spans); refreshed when memory grows. */
  memory(): Buffer;
  closed(conn: Http1Connection): void;
  /**
   * The listener is draining (Envoy's drain): every response from now on says `connection: close`
   * and its connection ends after it.
   */
  draining(): boolean;
  /** Whether the trace context fields of the head being read go to Downstream.propagation as bytes (http1-listener.ts). */
  takesPropagation(): boolean;
}

const EMPTY = new Uint8Array(0);
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const LF = 0x0a;
// Spans of one parsed head: [nameStart, nameEnd, valueStart, valueEnd] per field.
const SPANS = new Uint32Array(4 * 128);
/** Array slots kept free after a request's fields for the ones filters add (4 name/value pairs). */
const FIELD_ROOM = 8;
/** Istio's peer metadata fields (x-envoy-peer-metadata, -id): the same bytes on every request of a peer. */
const REPEATED = new RepeatedValues(['x-envoy-peer-metadata', 'x-envoy-peer-metadata-id']);
/** The listener's field names, one string per distinct name (host/common/field-strings.ts). */
const NAMES = new FieldNames();

export class Http1Connection implements Http1DownstreamConnection {
  readonly socket: Socket;
  readonly remoteAddress: string;
  /** What the connection's TLS established; null on a raw (plain TCP only) listener. */
  readonly security: ConnectionSecurity | null;
  readonly #ctx: ConnectionContext;
  #read = Read.Head;
  /** An incomplete head (its bytes so far), kept across reads. */
  #partial: Uint8Array = EMPTY;
  #headStartedAt = 0;
  /** Bytes read past the request being answered (pipelined requests), waiting for its response. */
  #held: Uint8Array = EMPTY;
  /** Reading is paused because pipelined bytes piled up, or because the request body is not taken. */
  #heldPause = false;
  #bodyPause = false;
  /** The request being read or answered (at most one). */
  #current: Http1Downstream | null = null;
  #bodyRemaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #chunkedBody = false;
  #requests = 0;
  /** The trace context fields of the current head, as bytes (made with the first head that hands them over). */
  #propagation: PropagationBytes | null = null;
  #processing = false;
  #again = false;
  /** The connection after a 101: a raw byte stream (Read.Tunnel). */
  #tunnel: Http1TunnelEnd | null = null;
  /** performance.now() of the last byte read or written (idle timeouts). */
  lastActivity = performance.now();
  /** Set by the listener for a connection a TPROXY capture handed over. */
  originalDestination: { readonly address: string; readonly port: number } | null = null;

  constructor(socket: Socket, remoteAddress: string, ctx: ConnectionContext, security: ConnectionSecurity | null = null) {
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.security = security;
    this.#ctx = ctx;
    socket.on('drain', () => (this.#tunnel !== null ? this.#tunnel.onDrain() : this.#current?.onDrain()));
    socket.on('end', () => (this.#tunnel !== null ? this.#tunnel.onEnd() : this.#onEnd()));
    socket.on('close', (hadError: boolean) => this.#onClose(hadError));
    socket.on('error', () => this.#onClose(true));
  }

  /** No request in flight and none being read (the idle timeout applies). */
  get idle(): boolean {
    return this.#current === null && this.#partial.length === 0 && this.#read !== Read.Closed;
  }

  /** performance.now() when the head being read started arriving; 0 when none is. */
  get headStartedAt(): number {
    return this.#partial.length > 0 ? this.#headStartedAt : 0;
  }

  get current(): Http1Downstream | null {
    return this.#current;
  }

  // ── Reading ───────────────────────────────────────────────────────────────────────────
  /**
   * Bytes read from the socket: a view into the thread's shared read buffer, valid only during
   * this call, so whatever outlives it is copied.
   */
  onRead(bytes: Uint8Array): void {
    this.lastActivity = performance.now();
    if (this.#read === Read.Tunnel) {
      this.#tunnel!.onRead(bytes);
      return;
    }
    if (this.#read === Read.Closed) return;
    if (this.#read === Read.Hold) {
      this.#hold(bytes);
      return;
    }
    this.#process(bytes);
  }

  /** Runs the read phases over `bytes`; re-entered work (a reply inside the loop) loops instead. */
  #process(bytes: Uint8Array): void {
    if (this.#processing) {
      // A response completed inside a callback of this loop: the outer loop picks up #held.
      this.#hold(bytes);
      this.#again = true;
      return;
    }
    this.#processing = true;
    try {
      for (;;) {
        while (bytes.length > 0 && this.#read !== Read.Closed && this.#read !== Read.Hold) {
          bytes = this.#read === Read.Head ? this.#readHead(bytes) : this.#readBody(bytes);
        }
        if (bytes.length > 0 && this.#read === Read.Hold) this.#hold(bytes);
        if (this.#read === Read.Head && this.#held.length > 0) {
          bytes = this.#held;
          this.#held = EMPTY;
          this.#resumeReading();
          continue;
        }
        if (!this.#again) break;
        this.#again = false;
        bytes = EMPTY;
      }
    } finally {
      this.#processing = false;
    }
  }

  /** Keeps bytes that follow the request being answered; reading pauses once they pile up. */
  #hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const held = new Uint8Array(this.#held.length + bytes.length);
    held.set(this.#held);
    held.set(bytes, this.#held.length);
    this.#held = held;
    if (held.length >= this.#ctx.options.pipelineBufferBytes && !this.#heldPause) {
      this.#heldPause = true;
      this.socket.pause();
    }
  }

  #resumeReading(): void {
    if (this.#heldPause) {
      this.#heldPause = false;
      if (!this.#bodyPause && this.#read !== Read.Closed) this.socket.resume();
    }
  }

  /** @internal (Http1Downstream) the request body is not being taken: stop reading. */
  pauseBody(): void {
    if (this.#bodyPause) return;
    this.#bodyPause = true;
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.#bodyPause) return;
    this.#bodyPause = false;
    if (!this.#heldPause && this.#read !== Read.Closed) this.socket.resume();
  }

  /** The `server` field of the listener's and the proxy's own answers. */
  get serverName(): string | null {
    return this.#ctx.options.serverName;
  }

  /** Parses a head from `#partial` + `bytes`; returns the bytes after it (or none). */
  #readHead(bytes: Uint8Array): Uint8Array {
    let input = bytes;
    if (this.#partial.length > 0) {
      input = new Uint8Array(this.#partial.length + bytes.length);
      input.set(this.#partial);
      input.set(bytes, this.#partial.length);
    } else {
      this.#headStartedAt = this.lastActivity;
    }
    // A head ends with an empty line: parse only once a line ended (no re-scan per byte of a
    // slowly sent head), or when the limit is passed anyway.
    const opts = this.#ctx.options;
    if (bytes.indexOf(LF) < 0 && input.length <= opts.maxRequestHeadBytes) {
      this.#keepPartial(input, bytes);
      return EMPTY;
    }
    const parser = this.#ctx.parser;
    const status = parser.parseRequest(input);
    if (status === STATUS_INCOMPLETE) {
      this.#keepPartial(input, bytes);
      return EMPTY;
    }
    this.#partial = EMPTY;
    if (status !== STATUS_OK) {
      this.#protocolError(statusEntry(status).httpStatus || 400, statusEntry(status).code);
      return EMPTY;
    }
    const headLength = parser.headLength;
    if (headLength > opts.maxRequestHeadBytes) {
      this.#protocolError(431, 'headers_too_large');
      return EMPTY;
    }
    if (parser.headerCount > opts.maxRequestHeaders) {
      this.#protocolError(431, 'too_many_headers');
      return EMPTY;
    }
    const rest = input.subarray(headLength);
    if (!this.#startRequest(headLength)) return EMPTY;
    // The rest may be a view into the read buffer: the body phase copies what it hands on.
    return rest;
  }

  #keepPartial(input: Uint8Array, bytes: Uint8Array): void {
    // `input` is either the fresh read (a view into the shared buffer: copy it) or already ours.
    this.#partial = input === bytes ? Uint8Array.prototype.slice.call(bytes) : input;
  }

  /** The parsed head becomes a request handed to the connection manager; false when refused. */
  #startRequest(headLength: number): boolean {
    const parser = this.#ctx.parser;
    const mem = this.#ctx.memory();
    const base = parser.inputBase;
    const method = mem.toString('latin1', base + parser.methodStart, base + parser.methodEnd);
    let target = mem.toString('latin1', base + parser.targetStart, base + parser.targetEnd);
    const n = parser.headerSpans(SPANS);
    // Sized for the head at once, with room for the few fields the filters add (x-forwarded-*,
    // x-request-id): grown by push, a head of ~20 fields (a mesh peer's, with its metadata and
    // trace context) outgrew the array's backing store and was copied into a bigger one.
    const fields: string[] = new Array<string>(2 * n + FIELD_ROOM);
    let w = 0;
    const underscores = this.#ctx.options.headersWithUnderscoresAction;
    // The trace context fields as bytes, when the version traces: one buffer per connection (one
    // head at a time), no string per field; the tracing filter reads them.
    const propagation = this.#ctx.takesPropagation() ? (this.#propagation ??= new PropagationBytes()) : null;
    propagation?.reset();
    let authority = '';
    let expectContinue = false;
    let contentLengths = 0;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      // Field names are case-insensitive; the proxy compares them lower-case (as uWS gave them).
      // A name seen before is the kept string (no allocation per field); an unkept one is decoded.
      const known = NAMES.lookup(mem, base + SPANS[j]!, base + SPANS[j + 1]!);
      const name = known !== undefined ? known.name : mem.toString('latin1', base + SPANS[j]!, base + SPANS[j + 1]!).toLowerCase();
      if (propagation !== null && known !== undefined && known.propagation >= 0) {
        propagation.put(known.propagation, mem, base + SPANS[j + 2]!, base + SPANS[j + 3]!);
        continue;
      }
      const underscore = known !== undefined ? known.underscore : name.includes('_');
      if (underscores !== 'ALLOW' && underscore) {
        if (underscores === 'REJECT_REQUEST') {
          this.#ctx.stats.inc('http1.requests_rejected_with_underscores_in_headers');
          this.#protocolError(400, 'header_name_with_underscores');
          return false;
        }
        this.#ctx.stats.inc('http1.dropped_headers_with_underscores');
        continue;
      }
      // Whatever the setting, the underscore spelling of a framing or connection field never
      // goes upstream: a backend that reads `_` as `-` would see a second Transfer-Encoding or
      // Content-Length beside the one the proxy writes (a smuggling vector).
      if (underscore && SHADOWED_FIELDS.has(name.replace(/_/g, '-'))) {
        this.#ctx.stats.inc('http1.dropped_headers_with_underscores');
        continue;
      }
      const slot = name.length >= 21 ? REPEATED.slotOf(name) : undefined;
      const value = slot === undefined
        ? mem.toString('latin1', base + SPANS[j + 2]!, base + SPANS[j + 3]!)
        : RepeatedValues.value(slot, mem, base + SPANS[j + 2]!, base + SPANS[j + 3]!);
      if (name === 'host') authority = value;
      else if (name === 'content-length') {
        // The core accepts a list of equal values (RFC 9110 §8.6 allows either); Envoy refuses
        // any repetition, and so does the proxy: one plain value or 400.
        if (++contentLengths > 1 || value.includes(',')) {
          this.#protocolError(400, 'content_length_repeated');
          return false;
        }
      } else if (name === 'expect') {
        // Envoy answers 100-continue itself and does not forward the expectation.
        if (value.toLowerCase() === '100-continue') {
          expectContinue = true;
          continue;
        }
      }
      fields[w++] = name;
      fields[w++] = value;
    }
    fields.length = w;
    // Request-target forms (RFC 9112 §3.2): origin-form is routed; absolute-form is taken apart
    // (its authority replaces Host, as the RFC requires of servers); the others are not served.
    if (method === 'CONNECT') {
      this.#protocolError(404, 'connect_not_served');
      return false;
    }
    if (target.charCodeAt(0) !== 0x2f /* / */) {
      const abs = /^https?:\/\/([^/?#]+)([^#]*)$/i.exec(target);
      if (abs === null) {
        this.#protocolError(400, target === '*' ? 'asterisk_form_not_served' : 'invalid_request_target_form');
        return false;
      }
      authority = abs[1]!;
      target = abs[2] === '' ? '/' : abs[2]!.startsWith('/') ? abs[2]! : `/${abs[2]}`;
      let replaced = false;
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i] === 'host') {
          fields[i + 1] = authority;
          replaced = true;
        }
      }
      if (!replaced) fields.unshift('host', authority);
    }
    const minor = parser.minorVersion;
    // A Host must name a host (RFC 3986 authority: reg-name or IP literal, optional port). The
    // core requires one Host on HTTP/1.1; an HTTP/1.0 request without one has nothing to route
    // on or send upstream.
    if (!VALID_AUTHORITY.test(authority)) {
      this.#protocolError(400, authority === '' ? 'missing_host' : 'invalid_host');
      return false;
    }
    // On a port that terminates TLS, XFCC is the proxy's to vouch for (raw listeners leave it).
    if (this.security !== null) forwardClientCert(fields, this.security.xfcc, this.security.xfccSanitize === true);
    const framing = parser.framing;
    this.#requests++;
    const opts = this.#ctx.options;
    const lastByLimit = opts.maxRequestsPerConnection > 0 && this.#requests >= opts.maxRequestsPerConnection;
    const ds = new Http1Downstream(this, method, target, authority, fields, headLength, minor, parser.keepAlive && !lastByLimit && !this.#ctx.draining());
    ds.propagation = propagation;
    if (minor === 1 && framing === FRAMING_NONE && method === 'GET' && (parser.flags & HEAD_FLAG_CONNECTION_UPGRADE) !== 0) ds.upgrade = websocketUpgrade(fields);
    this.#current = ds;
    if (framing === FRAMING_LENGTH) {
      this.#bodyRemaining = parser.contentLength;
      this.#chunkedBody = false;
      this.#read = this.#bodyRemaining > 0 ? Read.Body : Read.Hold;
      if (this.#bodyRemaining > 0) {
        ds.bodyFraming = 'length';
        ds.bodyLength = this.#bodyRemaining;
      }
    } else if (framing === FRAMING_CHUNKED) {
      ds.bodyFraming = 'chunked';
      this.#chunkedBody = true;
      if (this.#chunked) this.#chunked.reset();
      else this.#chunked = this.#ctx.newChunkedDecoder();
      this.#read = Read.Body;
    } else {
      // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3 item 7).
      this.#read = Read.Hold;
    }
    ds.requestComplete = this.#read === Read.Hold;
    if (expectContinue && this.#read === Read.Body && minor === 1) this.socket.write(CONTINUE);
    this.#ctx.onRequest(ds);
    return true;
  }

  /** Hands body bytes to the request; returns what follows the body. */
  #readBody(bytes: Uint8Array): Uint8Array {
    const ds = this.#current!;
    if (!this.#chunkedBody) {
      const take = Math.min(bytes.length, this.#bodyRemaining);
      this.#bodyRemaining -= take;
      const last = this.#bodyRemaining === 0;
      if (last) this.#requestDone();
      ds.deliverBody(Uint8Array.prototype.slice.call(bytes, 0, take), last);
      return bytes.subarray(take);
    }
    const d = this.#chunked!;
    let status = d.push(bytes);
    for (;;) {
      if (status !== STATUS_OK) {
        this.#bodyError(statusEntry(status).httpStatus || 400, statusEntry(status).code);
        return EMPTY;
      }
      // Spans are offsets into `bytes` (a view into the read buffer): each is copied out.
      const spans = d.spanCount;
      for (let i = 0; i < spans; i++) {
        const start = d.spanStart(i);
        const end = d.spanEnd(i);
        if (end > start) ds.deliverBody(Uint8Array.prototype.slice.call(bytes, start, end), false);
        if (this.#current !== ds || this.#read === Read.Closed) return EMPTY;
      }
      if (!d.pending) {
        if (!d.done) return EMPTY;
        this.#requestDone();
        ds.deliverBody(EMPTY, true);
        return bytes.subarray(d.consumed);
      }
      status = d.more();
    }
  }

  #requestDone(): void {
    this.#read = Read.Hold;
    this.#current!.requestComplete = true;
  }

  /** A framing error inside a request body: 400 if no response started, else the connection goes. */
  #bodyError(status: number, code: string): void {
    const ds = this.#current!;
    this.#ctx.stats.inc('downstream_cx_protocol_error');
    this.#read = Read.Closed;
    this.#held = EMPTY;
    ds.failBody(status, code);
  }

  // ── Responses ────────────────────────────────────────────────────────────────────────
  /** @internal (Http1Downstream) its response was written whole. */
  responseDone(ds: Http1Downstream): void {
    if (ds !== this.#current) return;
    this.#current = null;
    this.#bodyPause = false;
    if (!ds.keepAlive || !ds.requestComplete || this.#read === Read.Closed || this.#ctx.draining()) {
      // An unread body cannot be skipped safely (the next request would start inside it).
      this.close();
      return;
    }
    this.#read = Read.Head;
    if (this.#held.length > 0) {
      const held = this.#held;
      this.#held = EMPTY;
      this.#resumeReading();
      this.#process(held);
    } else {
      this.#resumeReading();
    }
  }

  /**
   * A malformed request head: handed on as a request that carries only the refusal, so the
   * connection manager answers, counts and logs it (flag DPE) and routes nothing; then the
   * connection closes, since the byte stream cannot be trusted past it.
   */
  #protocolError(status: number, code: string): void {
    this.#ctx.stats.inc('downstream_cx_protocol_error');
    this.#read = Read.Closed;
    this.#partial = EMPTY;
    this.#held = EMPTY;
    const ds = new Http1Downstream(this, '-', '-', '', [], 0, 1, false);
    ds.protocolError = { status, code };
    ds.requestComplete = true;
    this.#current = ds;
    this.#ctx.onRequest(ds);
  }

  /** A listener-made answer (`code` as the body) ending the connection. */
  writeLocal(status: number, code: string): void {
    beginHead();
    headStatus(`${status} ${REASON[status] ?? 'Error'}`);
    HEAD_SINK.header('content-type', 'text/plain');
    const body = Buffer.from(code, 'latin1');
    const head = finishHead(WireFraming.Length, body.length, true, this.#ctx.options.serverName);
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(body);
    this.socket.uncork();
    this.close();
  }

  /** Ends the connection once what was written is flushed. */
  close(): void {
    this.#read = Read.Closed;
    if (!this.socket.destroyed) this.socket.end();
    // A client that never reads its answer must not hold the socket: destroy after a grace.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.#read = Read.Closed;
    this.socket.destroy();
  }

  /**
   * The listener started draining: an idle connection ends now; a busy one answers its request
   * with `connection: close` (when its head is not written yet) and ends after it (responseDone).
   */
  drain(): void {
    if (this.idle) this.close();
    else this.#current?.closeAfterResponse();
  }

  #onEnd(): void {
    // The client closed its side: as Envoy, the connection is over (a request in flight is
    // cancelled, flag DC), even if the client might still read an answer.
    this.socket.destroy();
    this.#onClose();
  }

  #onClose(error = false): void {
    if (this.#read === Read.Closed && this.#current === null && this.socket.destroyed && this.#closedReported) return;
    this.#read = Read.Closed;
    // A tunnel hears of it first: it ends its stream in order (the request then is not lost).
    this.#tunnel?.onClose(error);
    const ds = this.#current;
    this.#current = null;
    ds?.connectionLost();
    this.#chunked?.dispose();
    this.#chunked = null;
    if (!this.#closedReported) {
      this.#closedReported = true;
      this.#ctx.closed(this);
    }
  }

  #closedReported = false;

  // ── Upgrades ─────────────────────────────────────────────────────────────────────────
  /**
   * @internal (Http1Downstream) its 101 went out: from here the socket is a raw byte stream.
   * What the client sent after the request head (held, as pipelined bytes are) comes first.
   */
  tunnel(ds: Http1Downstream): TunnelEnd {
    this.#read = Read.Tunnel;
    const early = this.#held;
    this.#held = EMPTY;
    this.#heldPause = false;
    this.#bodyPause = false;
    // Paused until the tunnel attaches its sink (attach resumes).
    this.socket.pause();
    return (this.#tunnel = new Http1TunnelEnd(this, ds, early));
  }

  /** @internal (Http1Downstream) the tunnel is over: the connection ends (never reused). */
  tunnelDone(ds: Http1Downstream): void {
    if (ds === this.#current) this.#current = null;
    this.close();
  }

  /** @internal (listener sweep) the stream idle timeout fired for the current request. */
  streamIdle(): void {
    this.#current?.idleTimeout();
  }
}

/**
 * The protocol a request asks to upgrade to, when the proxy carries it: `websocket` (the one
 * upgrade Istio enables, Envoy's upgrade_configs) named in Upgrade, with Connection: upgrade
 * (checked by the caller). Other upgrades stay plain requests (the fields are hop-by-hop).
 */
function websocketUpgrade(fields: readonly string[]): string | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'upgrade') continue;
    const v = fields[i + 1]!.trim();
    if (v.toLowerCase() === 'websocket') return v;
  }
  return null;
}

/** Fields whose underscore spelling is dropped (see #startRequest). */
const SHADOWED_FIELDS = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']);

/** RFC 3986 authority without userinfo: reg-name / IPv4 / [IPv6 or IPvFuture], then an optional port. */
const VALID_AUTHORITY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.vV\-._~!$&'()*+,;=]+\])(?::[0-9]*)?$/;

/** Reason phrases for the statuses the listener answers itself. */
const REASON: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};
