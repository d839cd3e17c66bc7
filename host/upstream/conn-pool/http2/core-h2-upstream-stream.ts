// One exchange on an upstream HTTP/2 connection of the core codec (core-h2-upstream-connection.ts),
// the counterpart of http2-stream.ts on node:http2: the request head as a HEADERS frame (the
// core's HTTP/1.1 head bytes read into fields and encoded by the core's HPACK, hpack.ts
// encodeRequestHead: no JS string per field), body DATA sent as the stream and connection send
// windows allow (writeBody returns false past STREAM_BUFFER_LIMIT queued), response DATA handed
// on while the handler takes it and buffered, window withheld, while it is paused (flow control
// is the backpressure towards the server), the response head read from the decoder's list by
// the core (core-h2-response-head.ts), trailers passed on as bytes (common/trailer-block.ts), and the stream's end mapped to the
// seam's failures as the node:http2 stream maps them. An HTTP/1.1 upgrade (the router's
// StreamStart.upgrade, rare) goes as an extended CONNECT (RFC 8441, h2-extended-connect.ts) when
// the server's SETTINGS allow it, its head turned into fields in JS (h2-request-headers.ts); its
// 2xx becomes the router's 101 (parsed by the cluster's HTTP/1 codec) and the stream the
// tunnel's upstream end (core-h2-stream-tunnel.ts).
import type { IncomingHttpHeaders } from 'node:http2';
import type { ExchangeHandler, StreamStart, UpstreamFailure, UpstreamStream } from '../conn-pool.js';
import { SendWindow, RecvWindow } from '../../../core/h2/flow-window.js';
import { keepRest } from '../../../core/h2/frame-batch.js';
import type { HeaderField, HpackDecoder } from '../../../core/h2/hpack.js';
import { h2RequestHeaders, H2HeadError, type H2Upgrade } from './h2-request-headers.js';
import { toExtendedConnect, upgradeResponseHead } from './h2-extended-connect.js';
import { CoreH2StreamTunnelEnd } from './core-h2-stream-tunnel.js';
import type { TunnelEnd } from '../../../common/tunnel-end.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { CoreH2ResponseHeads } from './core-h2-response-head.js';
import type { Trailers } from '../../../common/trailer-block.js';

/** Request body bytes queued on one stream before writeBody reports backpressure (as the listener's). */
export const STREAM_BUFFER_LIMIT = 64 * 1024;

const H2_NO_ERROR = 0x0;
const H2_PROTOCOL_ERROR = 0x1;
const H2_REFUSED_STREAM = 0x7;
const H2_CANCEL = 0x8;

/** What a stream needs of its connection (declared here, so no import cycle). */
export interface CoreH2StreamOwner {
  readonly scheme: 'http' | 'https';
  readonly stats: ClusterStats;
  /** The connection's response head reader (the last head it read). */
  readonly responseHeads: CoreH2ResponseHeads;
  /** The server's SETTINGS_INITIAL_WINDOW_SIZE now. */
  readonly peerInitialWindow: number;
  /** The cluster's HTTP/1 codec (an upgrade's 101 is parsed by it). */
  readonly codec: Http1Codec;
  /** The server's SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441). */
  readonly peerEnableConnect: boolean;
  /**
   * Opens the stream: id assigned, the HTTP/1.1 request `head` encoded as HEADERS and queued;
   * 'refused' when the connection can take no stream, 'bad_head' when the head is not a request head.
   */
  openStream(stream: CoreH2UpstreamStream, head: Uint8Array, endStream: boolean): 'ok' | 'refused' | 'bad_head';
  /** As openStream, with the header `fields` given (an extended CONNECT, built in JS). */
  openStreamFields(stream: CoreH2UpstreamStream, fields: readonly HeaderField[], endStream: boolean): 'ok' | 'refused';
  /** Body bytes (or the end) were queued on `stream`: send what the windows allow. */
  wantSend(stream: CoreH2UpstreamStream): void;
  /** Consumed response bytes give window back. */
  consumed(stream: CoreH2UpstreamStream, n: number): void;
  /** RST_STREAM `code` for a stream this side ends early. */
  reset(stream: CoreH2UpstreamStream, code: number): void;
  /** The connection's socket is backed up. */
  readonly congested: boolean;
  streamDone(stream: CoreH2UpstreamStream): void;
}

export class CoreH2UpstreamStream implements UpstreamStream {
  readonly #conn: CoreH2StreamOwner;
  /**
   * Moves when the exchange ends (core-h2-upstream-stream-pool.ts): the stream object may then
   * serve another exchange, so a holder compares it with the one it was given, and the stream's
   * own code re-checks it after each callback into the handler.
   */
  generation = 0;
  /** Its stream id once started (0 before). */
  id = 0;
  /** What the server lets this side send on it. */
  readonly send: SendWindow;
  readonly recv: RecvWindow;
  /** Request body chunks (copies) not yet sent, and whether the request ends after them. */
  pending: Uint8Array[] = [];
  pendingBytes = 0;
  endQueued = false;
  /** Its index in the connection's list of streams waiting to send, -1 when not listed. */
  sendingSlot = -1;
  /** END_STREAM sent. */
  localClosed = false;
  /** END_STREAM or RST_STREAM received: no WINDOW_UPDATE for it any more. */
  remoteClosed = false;
  /** writeBody returned false: onRequestDrain is owed. */
  wantDrain = false;
  #handler: ExchangeHandler | null = null;
  #isHead = false;
  #gotHead = false;
  #trailers: Trailers | undefined;
  #paused = false;
  /** Response DATA held while paused (copies), and whether the response ended after it. */
  #held: Buffer[] = [];
  #heldEnd = false;
  #done = false;
  /** An upgrade sent as an extended CONNECT: its protocol and the client's Sec-WebSocket-Key. */
  #connect: { protocol: string; key: string | null } | null = null;
  /** Its 2xx came (the router was given a 101): upgrade() hands the stream over. */
  #upgraded = false;
  #tunnel: CoreH2StreamTunnelEnd | null = null;
  /** The tunnel's server side sent END_STREAM. */
  #remoteEnded = false;

  constructor(conn: CoreH2StreamOwner, recvWindow: number) {
    this.#conn = conn;
    this.send = new SendWindow(conn.peerInitialWindow);
    this.recv = new RecvWindow(recvWindow);
  }

  /** @internal (the pool) an ended stream made new for the next exchange: every field as the constructor leaves it. */
  reopen(sendWindow: number, recvWindow: number): void {
    this.id = 0;
    this.send.reset(sendWindow);
    this.recv.reset(recvWindow);
    if (this.pending.length > 0) this.pending = [];
    this.pendingBytes = 0;
    this.endQueued = false;
    this.sendingSlot = -1;
    this.localClosed = false;
    this.remoteClosed = false;
    this.wantDrain = false;
    this.#handler = null;
    this.#isHead = false;
    this.#gotHead = false;
    this.#trailers = undefined;
    this.#paused = false;
    if (this.#held.length > 0) this.#held = [];
    this.#heldEnd = false;
    this.#done = false;
    this.#connect = null;
    this.#upgraded = false;
    this.#tunnel = null;
    this.#remoteEnded = false;
  }

  /** Whether the pool may keep it once ended: not a stream that became a tunnel's (the tunnel holds it for good). */
  get reusable(): boolean {
    return this.#done && this.#connect === null && this.#tunnel === null;
  }

  get done(): boolean {
    return this.#done;
  }

  get gotHead(): boolean {
    return this.#gotHead;
  }

  start(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void {
    this.#handler = handler;
    this.#isHead = opts.isHead;
    const conn = this.#conn;
    if (opts.upgrade === true) return this.#startUpgrade(head, handler, opts);
    if (!opts.hasBody) this.localClosed = true;
    const opened = conn.openStream(this, head, !opts.hasBody);
    if (opened === 'ok') {
      conn.stats.inc('upstream_cx_tx_bytes_total', head.length);
      return;
    }
    // A head the core cannot read as a request (protocol_error), or the connection closed or
    // went away between the pool's hand-out and this call (refused_stream: retried elsewhere).
    this.#end();
    queueMicrotask(() => handler.onUpstreamFailure(opened === 'refused' ? 'refused_stream' : 'protocol_error', false));
  }

  /** An upgrade request: its head read in JS (rare), sent as an extended CONNECT. */
  #startUpgrade(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void {
    const conn = this.#conn;
    let headers;
    const upgrade: H2Upgrade = { protocol: null, key: null };
    try {
      headers = h2RequestHeaders(head, conn.scheme, upgrade);
    } catch (e) {
      if (!(e instanceof H2HeadError)) throw e;
      this.#end();
      queueMicrotask(() => handler.onUpstreamFailure('protocol_error', false));
      return;
    }
    conn.stats.inc('upstream_cx_tx_bytes_total', head.length);
    if (upgrade.protocol !== null) {
      // As the node:http2 stream: a server without SETTINGS_ENABLE_CONNECT_PROTOCOL would reset
      // the extended CONNECT (Envoy: 503 UR before any head); it is not sent.
      if (!conn.peerEnableConnect) {
        this.#end();
        queueMicrotask(() => handler.onUpstreamFailure('remote_reset', false));
        return;
      }
      toExtendedConnect(headers, upgrade.protocol);
      this.#connect = { protocol: upgrade.protocol, key: upgrade.key };
    }
    const fields: HeaderField[] = [];
    // Pseudo-headers first (§8.3), in the order h2RequestHeaders set them (:protocol, added last
    // to an extended CONNECT, moved up with them).
    const names = Object.keys(headers);
    if (this.#connect !== null) names.sort((a, b) => (b.charCodeAt(0) === 58 ? 1 : 0) - (a.charCodeAt(0) === 58 ? 1 : 0));
    for (const name of names) {
      const v = headers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) fields.push([name, String(x)]);
      else fields.push([name, String(v)]);
    }
    // A CONNECT's stream stays open this way: it is the tunnel.
    const endStream = !opts.hasBody && this.#connect === null;
    if (endStream) this.localClosed = true;
    if (conn.openStreamFields(this, fields, endStream) !== 'ok') {
      // The connection closed or went away between the pool's hand-out and this call.
      this.#end();
      queueMicrotask(() => handler.onUpstreamFailure('refused_stream', false));
    }
  }

  writeBody(chunk: Uint8Array): boolean {
    if (this.#done || this.id === 0 || this.endQueued || chunk.length === 0) return true;
    this.#conn.stats.inc('upstream_cx_tx_bytes_total', chunk.length);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const gen = this.generation;
    this.#conn.wantSend(this);
    if (this.generation !== gen) return true; // ended from a callback while sending
    // Framed into the connection's write as far as the windows allowed; the rest is copied (the
    // router may hand views of buffers that are reused once this returns).
    keepRest(this.pending, chunk);
    if (this.pendingBytes > STREAM_BUFFER_LIMIT || this.#conn.congested) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  endRequest(): void {
    if (this.#done || this.id === 0 || this.endQueued || this.localClosed) return;
    // An upgrade's request has no body: its end (the router's, right after the head) is not the
    // CONNECT stream's; only the tunnel half-closes it (shutdown()).
    if (this.#connect !== null && this.#tunnel === null) return;
    this.endQueued = true;
    this.#conn.wantSend(this);
  }

  pauseResponse(): void {
    this.#paused = true;
  }

  resumeResponse(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    const gen = this.generation;
    for (let i = 0; i < held.length; i++) {
      // Ended (and maybe another exchange's by now) from inside a callback: nothing more of this one.
      if (this.generation !== gen) return;
      if (this.#paused) {
        this.#held = held.slice(i).concat(this.#held);
        return;
      }
      this.#deliver(held[i]!);
    }
    if (this.generation === gen && this.#heldEnd && !this.#paused) this.#complete();
  }


  abort(): void {
    if (this.#done) return;
    this.#handler = null;
    // Reset before the end: once ended the object may be another exchange's (the pool).
    if (this.id !== 0) this.#conn.reset(this, H2_CANCEL);
    this.#end();
  }

  /** @internal (Http2ConnPool.release) a stream handed out and never started goes back. */
  releaseUnstarted(): void {
    if (this.id === 0 && this.#handler === null) this.#end();
  }

  /** The extended CONNECT's stream as the tunnel's upstream end, once answered with success; else null. */
  upgrade(): TunnelEnd | null {
    if (!this.#upgraded || this.#done || this.#tunnel !== null) return null;
    const t = new CoreH2StreamTunnelEnd(this);
    this.#tunnel = t;
    this.#handler = t;
    return t;
  }

  /** @internal (the connection) our END_STREAM was queued. */
  localEnded(): void {
    this.localClosed = true;
    if (this.#tunnel !== null && this.#remoteEnded) this.#finishTunnel();
  }

  #finishTunnel(): void {
    const t = this.#tunnel!;
    this.#end();
    t.closed(false);
  }

  /** Tells the router the body may flow again (the connection drained it). */
  drained(): void {
    if (!this.wantDrain || this.#done) return;
    this.wantDrain = false;
    this.#handler?.onRequestDrain();
  }

  // ── from the connection ─────────────────────────────────────────────────────────────────
  /** A response header block (the decoder's last list): the head (informational ones skipped), or the trailers. */
  onHeaders(decoder: HpackDecoder, endStream: boolean): void {
    const h = this.#handler;
    if (!h || this.#done) return;
    if (this.#gotHead) {
      // Trailers: END_STREAM required (§8.1); no pseudo-header in them (§8.1).
      if (!endStream) return this.#protocolError();
      // As bytes (gRPC's grpc-status and grpc-message: no string per field; common/trailer-block.ts).
      const trailers = decoder.trailerBlock();
      if (trailers === null) return this.#protocolError();
      this.#trailers = trailers;
      this.#onEndStream();
      return;
    }
    const r = this.#conn.responseHeads.read(decoder, endStream, this.#isHead);
    if ('error' in r) return this.#protocolError();
    if (r.code < 200) {
      if (endStream) return this.#protocolError();
      return; // 1xx: informational, the final head follows
    }
    const c = this.#connect;
    if (c !== null && !endStream && r.code >= 200 && r.code < 300) {
      // The extended CONNECT's 2xx: the 101 the router's upgrade path expects (rare: the
      // decoder's list as a headers object for h2-extended-connect.ts).
      const up = upgradeResponseHead(this.#conn.codec, decodedHeaders(decoder), c.protocol, c.key);
      if (up !== null) {
        if ('error' in up) return this.#protocolError();
        this.#gotHead = true;
        this.#upgraded = true;
        h.onResponseHead(up);
        return;
      }
    }
    this.#gotHead = true;
    const gen = this.generation;
    h.onResponseHead(r);
    if (endStream && this.generation === gen) this.#onEndStream();
  }

  /** Response DATA (a copy this stream may keep); `n`: the frame's flow-controlled length. */
  onData(data: Buffer, n: number, endStream: boolean): void {
    if (this.#done || !this.#gotHead) {
      this.#conn.consumed(this, n);
      if (!this.#done && !this.#gotHead) this.#protocolError();
      return;
    }
    this.#conn.stats.inc('upstream_cx_rx_bytes_total', data.length);
    const padding = n - data.length;
    if (padding > 0) this.#conn.consumed(this, padding);
    const gen = this.generation;
    if (this.#paused) {
      if (data.length > 0) this.#held.push(data);
    } else if (data.length > 0) this.#deliver(data);
    if (endStream && this.generation === gen) this.#onEndStream();
  }

  #deliver(data: Uint8Array): void {
    const h = this.#handler;
    if (!h) return;
    const gen = this.generation;
    const more = h.onResponseData(data);
    if (this.generation !== gen) return; // ended from the callback: its window went with it
    if (!more) this.#paused = true;
    this.#conn.consumed(this, data.length);
  }

  #onEndStream(): void {
    if (this.#paused) {
      this.#heldEnd = true;
      return;
    }
    this.#complete();
  }

  #complete(): void {
    const h = this.#handler;
    if (!h || this.#done) return;
    if (this.#tunnel !== null) {
      // The tunnel's server side half-closed; the stream ends once ours did too.
      if (this.#remoteEnded) return;
      this.#remoteEnded = true;
      this.#tunnel.onResponseEnd();
      if (this.localClosed) this.#finishTunnel();
      return;
    }
    const trailers = this.#trailers;
    // The response is complete before the request was: the server needs no more of it (§8.1).
    if (!this.localClosed) this.#conn.reset(this, H2_CANCEL);
    this.#end();
    h.onResponseEnd(trailers);
  }

  /** RST_STREAM from the server with `code`. */
  onReset(code: number): void {
    if (this.#done) return;
    // A server that answered in full and then reset with NO_ERROR (§8.1: stop sending) completed it.
    if (code === H2_NO_ERROR && (this.#heldEnd || this.#trailers !== undefined)) return this.#complete();
    let failure: UpstreamFailure;
    if (this.#gotHead) failure = 'reset_mid_response';
    else if (code === H2_REFUSED_STREAM) failure = 'refused_stream';
    else failure = 'remote_reset';
    if (failure === 'remote_reset' || (failure === 'reset_mid_response' && code !== H2_NO_ERROR)) this.#conn.stats.incDynamic('upstream_rq_rx_reset');
    this.fail(failure);
  }

  /** The stream ends with `failure` (connection lost, GOAWAY above its id, a reset). */
  fail(failure: UpstreamFailure): void {
    const h = this.#handler;
    if (this.#done) return;
    this.#end();
    h?.onUpstreamFailure(failure, false);
  }

  #protocolError(): void {
    this.#conn.stats.inc('upstream_cx_protocol_error');
    const h = this.#handler;
    // Reset before the end: once ended the object may be another exchange's (the pool).
    if (this.id !== 0) this.#conn.reset(this, H2_PROTOCOL_ERROR);
    this.#end();
    h?.onUpstreamFailure('protocol_error', false);
  }

  /**
   * The stream is over: a new generation (a holder's late call reaches nothing), its slot and the
   * object go back to the connection (once). Nothing of `this` may be used after it by the
   * caller: the connection may hand the object to a waiting exchange before #end returns.
   */
  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.generation++;
    this.#handler = null;
    // New lists only when there is something to drop (a list may be under iteration).
    if (this.#held.length > 0) this.#held = [];
    if (this.pending.length > 0) this.pending = [];
    this.pendingBytes = 0;
    this.#conn.streamDone(this);
  }
}

/** The decoder's last list as a headers object (repeated names as arrays): the upgrade path only. */
function decodedHeaders(decoder: HpackDecoder): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0, n = decoder.count; i < n; i++) {
    const name = decoder.name(i);
    const v = decoder.value(i);
    const prev = out[name];
    if (prev === undefined) out[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[name] = [prev, v];
  }
  return out as IncomingHttpHeaders;
}
