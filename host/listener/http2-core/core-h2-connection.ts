// One HTTP/2 connection served by the core codec (RFC 9113): the connection state machine.
// Socket bytes go to the core's frame scanner (assembly/h2/frame-scanner.ts: frame checks of §6,
// the CONTINUATION sequence, the frame and header block limits), header blocks to the core's
// HPACK decoder, response heads through its encoder; this class keeps what the scanner cannot:
// - the preface is followed by the client's SETTINGS (§3.4); SETTINGS are applied and ACKed,
//   PING answered, the client's GOAWAY ends the connection once its streams are done;
// - streams (§5.1): client-opened odd ids, increasing; HEADERS on a new id opens one (REFUSED_STREAM
//   past SETTINGS_MAX_CONCURRENT_STREAMS), on an open one are the trailers (END_STREAM required);
//   frames on idle streams are connection errors, on closed ones STREAM_CLOSED;
// - flow control both ways (core/h2/flow-window.ts): the connection and each stream; DATA out waits for
//   window and for socket room (CONNECTION_BUFFER_LIMIT), request DATA gives window back only as
//   the stream's reader consumes it;
// - errors: a connection error sends GOAWAY with the last stream id and the RFC code and closes;
//   a stream error sends RST_STREAM and closes that stream alone;
// - drain(): GOAWAY NO_ERROR with the last stream id, streams under way finish, then the socket ends.
// Behind it, one concept each (host/core/h2/): Envoy's flood limits (h2-flood-guard.ts), PING
// keepalive (h2-keepalive.ts, off by default as in Envoy), the SETTINGS ACK timeout
// (h2-settings-timeout.ts).
// Frames out are queued and written once per read, or once per event-loop turn for frames queued
// outside a read (one socket write for many frames).
import type { Socket } from 'node:net';
import type { Core } from '../../core/wasm.js';
import {
  FrameScanner, FRAME_DATA, FRAME_HEADERS, FRAME_PRIORITY, FRAME_RST_STREAM, FRAME_SETTINGS, FRAME_PING, FRAME_GOAWAY,
  FRAME_WINDOW_UPDATE, FRAME_CONTINUATION, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
} from '../../core/h2/frame-scanner.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../core/h2/hpack.js';
import { MAX_FIELDS } from '../../core/h2/h2-layout.js';
import {
  H2_OK, H2_INCOMPLETE, H2_NO_ERROR, H2_PROTOCOL_ERROR, H2_INTERNAL_ERROR, H2_FLOW_CONTROL_ERROR, h2StatusEntry,
} from '../../core/h2/h2-status.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { ConnectionSecurity } from '../../tls/connection-security.js';
import type { RequestHandler } from '../listener.js';
import { SETTINGS_ACK, settingsFrame, ping, pingAck, windowUpdate, rstStream, goaway } from '../../core/h2/h2-frames.js';
import { FrameBatch, headerFrameCount, keepRest } from '../../core/h2/frame-batch.js';
import { H2FloodGuard, type FloodReason } from '../../core/h2/h2-flood-guard.js';
import { H2Keepalive, keepaliveOn } from '../../core/h2/h2-keepalive.js';
import { SettingsAckTimer } from '../../core/h2/h2-settings-timeout.js';
import { localSettings } from './h2-settings.js';
import { PeerSettings, DEFAULT_WINDOW } from '../../core/h2/h2-settings.js';
import { SendWindow, RecvWindow } from '../../core/h2/flow-window.js';
import type { H2Stream } from './h2-stream.js';
import { H2StreamPool } from './h2-stream-pool.js';
import { StreamTable } from '../../core/h2/stream-table.js';
import { malformedRequestFields } from './h2-request-fields.js';
import { BlockSink, CoreHttp2Downstream, type CoreH2StreamOwner } from './core-http2-downstream.js';
import { CONNECTION_BUFFER_LIMIT, STREAM_BUFFER_LIMIT, type CoreHttp2Options } from './core-http2-options.js';
import { TrailerBlock } from '../../common/trailer-block.js';

const H2_STREAM_CLOSED = 0x5;
const H2_REFUSED_STREAM = 0x7;
const H2_ENHANCE_YOUR_CALM = 0xb;
const H2_SETTINGS_TIMEOUT = 0x4;
/** How a queued buffer counts against the flood limits (core/h2/h2-flood-guard.ts). */
const enum Out { Frame, Control, Uncounted }
const EMPTY = new Uint8Array(0);
/**
 * Rapid reset (CVE-2023-44487), as Envoy's overload.premature_reset_* runtime defaults count it:
 * a stream the client resets within 1 s of opening it, before its response ended, is premature;
 * once a connection has opened 500 streams with at least half of them premature, it is closed.
 */
const PREMATURE_RESET_MS = 1000;
const PREMATURE_RESET_STREAMS = 500;
/** Ids of streams this side reset, kept so that frames the client sent before it knew are ignored. */
const RESET_MEMORY = 1024;
/** Encoder table: 4096 (the default) or less if the client asks (SETTINGS_HEADER_TABLE_SIZE). */
const ENCODER_TABLE = 4096;

/** What a connection needs of its listener. */
export interface CoreH2ListenerContext {
  readonly core: Core;
  readonly options: CoreHttp2Options;
  readonly stats: StatScope<DownstreamStat>;
  readonly onRequest: RequestHandler;
  readonly serverName: string | null;
  connectionClosed(conn: CoreH2Connection): void;
}

/** Read region an idle connection keeps; past it the region is freed once nothing is buffered. */
const READ_REGION_KEEP = 16 * 1024;

/** Also the socket's reader (ConnectionReader): the transport hands it every read after the sniffed ones. */
export class CoreH2Connection implements CoreH2StreamOwner {
  readonly #ctx: CoreH2ListenerContext;
  readonly #socket: Socket;
  readonly #scanner: FrameScanner;
  readonly #decoder: HpackDecoder;
  readonly #encoder: HpackEncoder;
  readonly blockSink: BlockSink;
  readonly #peer = new PeerSettings();
  readonly #connSend = new SendWindow(DEFAULT_WINDOW);
  readonly #connRecv: RecvWindow;
  readonly #streams = new StreamTable<H2Stream>();
  /** Closed streams' objects, reused for the next ones (h2-stream-pool.ts). */
  readonly #pool = new H2StreamPool();
  /** The decoded list as strings (#fields), refilled per header block: its readers copy what they keep. */
  readonly #raw: string[] = [];
  readonly #blocked = new Set<H2Stream>();
  /** Streams whose write() returned false: told onWritable once under the limits again. */
  readonly #wantWritable = new Set<H2Stream>();
  readonly #resetByUs = new Set<number>();
  readonly remoteAddress: string;
  readonly localAddress: string | undefined;
  readonly security: ConnectionSecurity | null;
  readonly serverName: string | null;
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  #preface = false;
  #settingsSeen = false;
  #lastStreamId = 0;
  #requests = 0;
  /** GOAWAY sent (drain or error): no new stream past #lastStreamId. */
  #goaway = false;
  #peerGoaway = false;
  #closed = false;
  /** The open header block (HEADERS without END_HEADERS, then CONTINUATION). */
  #block: Buffer[] | null = null;
  #blockFlags = 0;
  /** Frames queued in this turn, as bytes (one socket write). */
  readonly #out = new FrameBatch();
  #reading = false;
  #flushScheduled = false;
  /** Envoy's flood limits: frames queued since the socket last took everything, inbound frame counts. */
  readonly #flood: H2FloodGuard;
  readonly #keepalive: H2Keepalive | null;
  readonly #settingsTimer: SettingsAckTimer;
  #prematureResets = 0;
  /** When the last stream closed (connection idle timeout), or -1 while streams are open. */
  #idleSince: number;

  constructor(ctx: CoreH2ListenerContext, socket: Socket, remoteAddress: string, security: ConnectionSecurity | null, originalDestination: { readonly address: string; readonly port: number } | null) {
    this.#ctx = ctx;
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.localAddress = socket.localAddress;
    this.security = security;
    this.serverName = ctx.serverName;
    this.originalDestination = originalDestination;
    const o = ctx.options;
    this.#scanner = new FrameScanner(ctx.core);
    this.#decoder = new HpackDecoder(ctx.core, { maxListSize: o.maxHeaderListSize, maxHeaders: Math.min(MAX_FIELDS, o.maxRequestHeaders + 8) });
    this.#encoder = new HpackEncoder(ctx.core, { tableSize: ENCODER_TABLE });
    this.blockSink = new BlockSink(this.#encoder);
    this.#connRecv = new RecvWindow(Math.max(DEFAULT_WINDOW, o.initialConnectionWindowSize));
    this.#idleSince = performance.now();
    this.#flood = new H2FloodGuard(o.flood);
    this.#settingsTimer = new SettingsAckTimer(o.settingsTimeoutMs, () => {
      if (this.#closed) return;
      ctx.stats.incDynamic('http2.settings_timeout');
      this.#connectionError(H2_SETTINGS_TIMEOUT, 'settings_timeout');
    });
    this.#keepalive = keepaliveOn(o.keepalive) ? new H2Keepalive(o.keepalive, {
      sendPing: (opaque) => this.#queue(ping(opaque)),
      keepaliveTimeout: () => {
        // As Envoy: the peer does not answer, so no GOAWAY is written to it; the connection closes.
        if (this.#closed) return;
        ctx.stats.incDynamic('http2.keepalive_timeout');
        socket.destroy();
      },
    }) : null;
    // The server's preface: SETTINGS first (§3.4), then the connection window beyond 65535.
    this.#queue(settingsFrame(localSettings(o)));
    this.#settingsTimer.sent();
    if (o.initialConnectionWindowSize > DEFAULT_WINDOW) this.#queue(windowUpdate(0, o.initialConnectionWindowSize - DEFAULT_WINDOW));
    socket.setNoDelay(true);
    socket.on('drain', () => this.#onSocketDrain());
    socket.on('error', () => socket.destroy());
    socket.on('end', () => {
      // The client half-closed: no more frames will come; what is under way cannot finish.
      socket.destroy();
    });
    socket.once('close', () => this.#onSocketClose());
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ── reading ───────────────────────────────────────────────────────────────────────────────
  onRead(chunk: Uint8Array): void {
    if (this.#closed) return;
    const scanner = this.#scanner;
    // The last read's blocks (decoded in place) are about to be overwritten: a request still
    // waiting is read from its strings from now on (core-http2-downstream.ts fillRequestView).
    this.#decoder.invalidateSpans();
    scanner.push(chunk);
    this.#reading = true;
    try {
      if (!this.#preface) {
        const st = scanner.readPreface();
        if (st === H2_INCOMPLETE) return;
        if (st !== H2_OK) return this.#connectionError(H2_PROTOCOL_ERROR, 'bad_preface');
        this.#preface = true;
      }
      while (!this.#closed) {
        const st = scanner.next();
        if (st === H2_INCOMPLETE) break;
        if (st !== H2_OK) {
          this.#scanError(st);
          continue;
        }
        this.#onFrame();
      }
    } finally {
      this.#reading = false;
      this.#flush();
      this.#releaseReadRegion();
    }
  }

  /**
   * Idle after a large read (a request body in big reads): the read region goes back rather than
   * keep its room for a connection that may stay quiet (docs/http2.md, memory per connection).
   * Not while a read is being processed (its frames are read from the region).
   */
  #releaseReadRegion(): void {
    const scanner = this.#scanner;
    if (this.#reading || this.#closed || this.#streams.size !== 0 || scanner.capacity <= READ_REGION_KEEP || scanner.buffered !== 0) return;
    this.#decoder.invalidateSpans();
    scanner.release();
  }

  #scanError(st: number): void {
    const e = h2StatusEntry(st);
    const s = this.#scanner;
    const id = s.streamId;
    // Stream-scoped failures of frames that carry no header block (a zero WINDOW_UPDATE
    // increment, a PRIORITY of the wrong length or on itself): that stream alone is reset.
    if (e.scope === 'stream' && id !== 0 && s.type !== FRAME_HEADERS && s.type !== FRAME_CONTINUATION) {
      s.skip();
      const stream = this.#streams.get(id);
      if (stream !== undefined) this.#resetStream(stream, e.errorCode);
      else this.#queue(rstStream(id, e.errorCode), Out.Control);
      return;
    }
    this.#connectionError(e.errorCode, e.code);
  }

  #onFrame(): void {
    const s = this.#scanner;
    const type = s.type;
    if (!this.#settingsSeen) {
      // §3.4: the client's preface ends with a SETTINGS frame.
      if (type !== FRAME_SETTINGS || (s.flags & FLAG_ACK) !== 0) return this.#connectionError(H2_PROTOCOL_ERROR, 'preface_without_settings');
      this.#settingsSeen = true;
    }
    this.#keepalive?.received();
    // Empty DATA / HEADERS / CONTINUATION frames back to back, PRIORITY and WINDOW_UPDATE floods.
    const flood = this.#flood.inbound(type, s.flags, s.payloadLength);
    if (flood !== null) return this.#flooded(flood);
    switch (type) {
      case FRAME_DATA: return this.#onData();
      case FRAME_HEADERS:
        if ((s.flags & FLAG_END_HEADERS) !== 0) return this.#onHeaderBlock(s.streamId, s.flags, null);
        this.#block = [Buffer.from(s.payload())];
        this.#blockFlags = s.flags;
        return;
      case FRAME_CONTINUATION:
        this.#block!.push(Buffer.from(s.payload()));
        if ((s.flags & FLAG_END_HEADERS) !== 0) {
          const block = Buffer.concat(this.#block!);
          this.#block = null;
          this.#onHeaderBlock(s.streamId, this.#blockFlags, block);
        }
        return;
      case FRAME_PRIORITY: return; // advisory; the scanner checked it
      case FRAME_RST_STREAM: return this.#onRstStream(s.streamId);
      case FRAME_SETTINGS: return this.#onSettings();
      case FRAME_PING:
        if ((s.flags & FLAG_ACK) === 0) this.#queue(pingAck(Buffer.from(s.payload())), Out.Control);
        else this.#keepalive?.ack(s.payload());
        return;
      case FRAME_GOAWAY:
        this.#peerGoaway = true;
        if (this.#streams.size === 0) this.#endGracefully();
        return;
      case FRAME_WINDOW_UPDATE: return this.#onWindowUpdate(s.streamId, s.value0);
      default: return; // §5.5: unknown frame types are ignored
    }
  }

  #onSettings(): void {
    const s = this.#scanner;
    if ((s.flags & FLAG_ACK) !== 0) return this.#settingsTimer.acked();
    const before = this.#peer.headerTableSize;
    const delta = this.#peer.apply(s.settings());
    if (this.#peer.headerTableSize !== before) this.#encoder.setTableLimit(Math.min(ENCODER_TABLE, this.#peer.headerTableSize));
    if (delta !== 0) {
      // §6.9.2: every stream's send window moves by the change; past 2^31-1 is FLOW_CONTROL_ERROR.
      for (const st of this.#streams.values()) {
        if (!st.send.grow(delta)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'initial_window_overflow');
      }
    }
    this.#queue(SETTINGS_ACK, Out.Control);
    if (delta > 0) this.#flushBlocked();
  }

  #onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      if (!this.#connSend.grow(increment)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'window_overflow');
      this.#flushBlocked();
      return;
    }
    const st = this.#streams.get(id);
    if (st === undefined) {
      if (id > this.#lastStreamId) this.#connectionError(H2_PROTOCOL_ERROR, 'window_update_on_idle_stream');
      return; // closed: allowed for a while (§6.9)
    }
    if (!st.send.grow(increment)) return this.#resetStream(st, H2_FLOW_CONTROL_ERROR);
    this.#flushStream(st);
  }

  #onRstStream(id: number): void {
    const st = this.#streams.get(id);
    if (st === undefined) {
      if (id > this.#lastStreamId) this.#connectionError(H2_PROTOCOL_ERROR, 'rst_stream_on_idle_stream');
      return;
    }
    if (!st.localClosed && performance.now() - st.openedAt < PREMATURE_RESET_MS) this.#prematureResets++;
    this.#closeStream(st, true, this.#scanner.value0);
    if (this.#requests >= PREMATURE_RESET_STREAMS && this.#prematureResets * 2 >= this.#requests) {
      this.#ctx.stats.inc('downstream_rq_too_many_premature_resets');
      this.#connectionError(H2_ENHANCE_YOUR_CALM, 'too_many_premature_resets');
    }
  }

  #onData(): void {
    const s = this.#scanner;
    const id = s.streamId;
    const length = s.length; // padding included: it counts against the windows (§6.9.1)
    if (!this.#connRecv.receive(length)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'connection_window_exceeded');
    const st = this.#streams.get(id);
    if (st === undefined) {
      this.#consumeConnection(length);
      if (id > this.#lastStreamId) return this.#connectionError(H2_PROTOCOL_ERROR, 'data_on_idle_stream');
      if (!this.#resetByUs.has(id)) this.#queue(rstStream(id, H2_STREAM_CLOSED), Out.Control);
      return;
    }
    if (st.remoteClosed) {
      this.#consumeConnection(length);
      return this.#resetStream(st, H2_STREAM_CLOSED);
    }
    if (!st.recv.receive(length)) {
      this.#consumeConnection(length);
      return this.#resetStream(st, H2_FLOW_CONTROL_ERROR);
    }
    const n = s.payloadLength;
    // Padding is consumed at once; the payload when the reader takes it.
    if (length > n) this.consumed(st, length - n);
    st.received += n;
    const end = (s.flags & FLAG_END_STREAM) !== 0;
    // §8.1.1: DATA that disagrees with content-length makes the request malformed.
    if (st.contentLength >= 0 && (st.received > st.contentLength || (end && st.received !== st.contentLength))) {
      this.consumed(st, n);
      return this.#resetStream(st, H2_PROTOCOL_ERROR);
    }
    st.lastActivity = performance.now();
    if (end) st.remoteClosed = true;
    const chunk = n > 0 ? s.copyPayload() : null;
    st.events?.onData(chunk, end);
    if (end && st.localClosed) this.#closeStream(st, false, H2_NO_ERROR);
  }

  /** A complete header block on stream `id` (`block`: reassembled from CONTINUATION, else the frame's payload in place). */
  #onHeaderBlock(id: number, flags: number, block: Buffer | null): void {
    const dec = this.#decoder;
    // Decoded first, whatever happens to the stream: the HPACK table must stay in step (§4.3).
    const status = block === null ? dec.decodeAt(this.#scanner.payloadPtr, this.#scanner.payloadLength) : dec.decode(block);
    const entry = h2StatusEntry(status);
    if (status !== H2_OK && entry.scope === 'connection') return this.#connectionError(entry.errorCode, entry.code);
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      // Trailers: END_STREAM required (§8.1), no pseudo-header (§8.1).
      if (existing.remoteClosed) return this.#resetStream(existing, H2_STREAM_CLOSED);
      if (!endStream || status !== H2_OK || malformedRequestFields(this.#fields(), true) !== null) return this.#resetStream(existing, H2_PROTOCOL_ERROR);
      existing.remoteClosed = true;
      existing.lastActivity = performance.now();
      existing.events?.onData(null, true);
      if (existing.localClosed) this.#closeStream(existing, false, H2_NO_ERROR);
      return;
    }
    if ((id & 1) === 0) return this.#connectionError(H2_PROTOCOL_ERROR, 'even_stream_id');
    if (id <= this.#lastStreamId) {
      if (this.#resetByUs.has(id)) return;
      return this.#connectionError(H2_STREAM_CLOSED, 'headers_on_closed_stream');
    }
    this.#lastStreamId = id;
    this.#flood.streamOpened();
    // After GOAWAY, streams past its last id are ignored (§6.8).
    if (this.#goaway) return;
    const o = this.#ctx.options;
    if (this.#streams.size >= o.maxConcurrentStreams) {
      this.#rememberReset(id);
      this.#queue(rstStream(id, H2_REFUSED_STREAM), Out.Control);
      return;
    }
    const raw = this.#fields();
    let forced: { status: number; code: string } | null = null;
    if (status !== H2_OK) {
      // header_list_too_large / too_many_headers: a stream-level refusal, answered 431 as the
      // HTTP/1.1 listener answers an oversized head.
      forced = { status: 431, code: entry.code };
    } else if (malformedRequestFields(raw, false) !== null) {
      this.#rememberReset(id);
      this.#queue(rstStream(id, H2_PROTOCOL_ERROR), Out.Control);
      return;
    }
    const now = performance.now();
    const st = this.#pool.open(id, this.#peer.initialWindowSize, Math.max(DEFAULT_WINDOW, o.initialStreamWindowSize), now);
    st.remoteClosed = endStream;
    this.#streams.set(id, st);
    this.#idleSince = -1;
    this.#ctx.stats.inc('downstream_rq_http2_total');
    const ds = new CoreHttp2Downstream(st, this, raw, endStream, o.maxRequestHeaders, forced, forced === null ? this.#decoder : null);
    st.contentLength = ds.contentLength;
    this.#requests++;
    if (o.maxRequestsPerConnection > 0 && this.#requests >= o.maxRequestsPerConnection) this.drain();
    this.#ctx.onRequest(ds);
  }

  /** The decoded list, flat (latin1 strings), in the connection's one list: read it before the next block. */
  #fields(): string[] {
    const dec = this.#decoder;
    const n = dec.count;
    const out = this.#raw;
    out.length = n * 2;
    for (let i = 0; i < n; i++) {
      out[2 * i] = dec.name(i);
      out[2 * i + 1] = dec.value(i);
    }
    return out;
  }

  // ── the stream owner's side (the Downstream adapter calls these) ──────────────────────────
  consumed(st: H2Stream, n: number): void {
    if (n <= 0) return;
    this.#consumeConnection(n);
    if (!st.remoteClosed && this.#streams.get(st.id) === st) {
      const inc = st.recv.consume(n);
      if (inc > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(st.id, inc);
    }
  }

  #consumeConnection(n: number): void {
    const inc = this.#connRecv.consume(n);
    if (inc > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(0, inc);
  }

  sendHeaders(st: H2Stream, fields: HeaderField[], endStream: boolean): void {
    if (st.localClosed || this.#closed) return;
    st.lastActivity = performance.now();
    this.#queueHeaders(st.id, this.#encoder.encodeInPlace(fields), endStream);
    if (endStream) this.#localEnd(st);
  }

  sendBlock(st: H2Stream, endStream: boolean): void {
    if (st.localClosed || this.#closed) return;
    st.lastActivity = performance.now();
    this.#queueHeaders(st.id, this.#encoder.endBlockInPlace(), endStream);
    if (endStream) this.#localEnd(st);
  }

  sendData(st: H2Stream, chunk: Uint8Array): boolean {
    if (st.localClosed || st.endQueued || this.#closed) return true;
    const n = chunk.length;
    if (n > 0 && st.out.length === 0 && n <= this.#peer.maxFrameSize && n <= st.send.available && n <= this.#connSend.available && !this.#congested()) {
      // The common case, a chunk the windows and the socket take whole: framed (copied) into the
      // batch at once, without passing through the stream's queue (whose first push allocates
      // its backing store, for every response).
      st.lastActivity = performance.now();
      st.send.take(n);
      this.#connSend.take(n);
      this.#flood.dataSent();
      if (this.#count(Out.Frame)) this.#out.data(st.id, chunk, false);
      if (st.wantWritable) this.#notifyWritable();
    } else if (n > 0) {
      st.out.push(chunk);
      st.outBytes += chunk.length;
      st.lastActivity = performance.now();
      this.#flushStream(st);
      // What the windows or the socket did not take now is kept as a copy (`chunk` may be a
      // view the caller reuses).
      if (st.out.length > 0) keepRest(st.out, chunk);
    }
    const ok = st.outBytes < STREAM_BUFFER_LIMIT && !this.#congested();
    if (!ok) {
      st.wantWritable = true;
      this.#wantWritable.add(st);
    }
    return ok;
  }

  endStream(st: H2Stream, trailers: HeaderField[] | TrailerBlock | null): void {
    if (st.localClosed || st.endQueued || this.#closed) return;
    st.endQueued = true;
    st.trailers = trailers;
    this.#flushStream(st);
  }

  resetStream(st: H2Stream, code: number): void {
    if (this.#streams.get(st.id) !== st) return;
    this.#resetStream(st, code);
  }

  // ── writing ───────────────────────────────────────────────────────────────────────────────
  #congested(): boolean {
    return this.#socket.writableLength + this.#out.length > CONNECTION_BUFFER_LIMIT;
  }

  /** Sends what the windows and the socket allow of a stream's queued DATA, then its end. */
  #flushStream(st: H2Stream): void {
    if (this.#closed) return;
    const maxFrame = this.#peer.maxFrameSize;
    while (st.out.length > 0) {
      if (this.#congested()) break;
      const head = st.out[0]!;
      const n = Math.min(head.length, st.send.available, this.#connSend.available, maxFrame);
      if (n <= 0) break;
      let piece: Uint8Array;
      if (n === head.length) {
        piece = head;
        st.out.shift();
      } else {
        piece = head.subarray(0, n);
        st.out[0] = head.subarray(n);
      }
      st.outBytes -= n;
      st.send.take(n);
      this.#connSend.take(n);
      const last = st.out.length === 0 && st.endQueued && st.trailers === null;
      this.#flood.dataSent();
      if (this.#count(Out.Frame)) this.#out.data(st.id, piece, last);
      if (last) return this.#localEnd(st);
    }
    if (st.out.length > 0) {
      this.#blocked.add(st);
      return;
    }
    this.#blocked.delete(st);
    if (st.endQueued && !st.localClosed) {
      const t = st.trailers;
      if (t instanceof TrailerBlock) {
        this.#queueHeaders(st.id, this.#encoder.encodeTrailersInPlace(t), true);
      } else if (t !== null && t.length > 0) {
        this.#queueHeaders(st.id, this.#encoder.encodeInPlace(t), true);
      } else if (!this.#out.endStreamOnLastData(st.id)) {
        // (The body's last DATA frame still in this turn's batch carries END_STREAM, frame-batch.ts.)
        this.#flood.dataSent();
        if (this.#count(Out.Frame)) this.#out.data(st.id, EMPTY, true);
      }
      return this.#localEnd(st);
    }
    if (st.wantWritable) this.#notifyWritable();
  }

  /** Tells the streams that were told to wait that they may write again (socket and their queue under the limits). */
  #notifyWritable(): void {
    if (this.#wantWritable.size === 0 || this.#congested()) return;
    for (const st of this.#wantWritable) {
      if (st.outBytes >= STREAM_BUFFER_LIMIT) continue;
      this.#wantWritable.delete(st);
      st.wantWritable = false;
      st.events?.onWritable();
      if (this.#congested()) return;
    }
  }

  #flushBlocked(): void {
    for (const st of [...this.#blocked]) {
      if (this.#congested() || this.#connSend.available <= 0) break;
      this.#flushStream(st);
    }
  }

  /** END_STREAM is queued: closed both ways, or (request still open) reset NO_ERROR so the client stops sending (§8.1). */
  #localEnd(st: H2Stream): void {
    st.localClosed = true;
    this.#blocked.delete(st);
    if (st.remoteClosed) this.#closeStream(st, false, H2_NO_ERROR);
    else if (!st.tunnel) {
      this.#queue(rstStream(st.id, H2_NO_ERROR), Out.Control);
      this.#rememberReset(st.id);
      this.#closeStream(st, false, H2_NO_ERROR);
    }
  }

  #resetStream(st: H2Stream, code: number): void {
    this.#queue(rstStream(st.id, code), Out.Control);
    this.#rememberReset(st.id);
    this.#closeStream(st, true, code);
  }

  #rememberReset(id: number): void {
    this.#resetByUs.add(id);
    if (this.#resetByUs.size > RESET_MEMORY) this.#resetByUs.delete(this.#resetByUs.values().next().value!);
  }

  #closeStream(st: H2Stream, reset: boolean, code: number): void {
    if (this.#streams.get(st.id) !== st) return;
    this.#streams.delete(st.id);
    this.#blocked.delete(st);
    this.#wantWritable.delete(st);
    st.remoteClosed = true;
    st.localClosed = true;
    if (reset) {
      // What the reader had not taken goes back to the connection window.
      st.out.length = 0;
      st.outBytes = 0;
    }
    st.events?.onClosed(reset, code);
    // Reused for a later stream: its holder (the adapter) sees the new generation and lets it be.
    this.#pool.release(st);
    if (this.#streams.size === 0) {
      this.#idleSince = performance.now();
      if (this.#goaway || this.#peerGoaway) this.#endGracefully();
      this.#releaseReadRegion();
    }
  }

  #queue(b: Uint8Array, kind = Out.Frame): void {
    if (this.#count(kind)) this.#out.push(b);
  }

  /** The header block the encoder just left in place (`length` bytes) as HEADERS (+ CONTINUATION) frames, each counted against the flood limits. */
  #queueHeaders(id: number, length: number, endStream: boolean): void {
    const max = this.#peer.maxFrameSize;
    for (let i = headerFrameCount(length, max); i > 0; i--) if (!this.#count(Out.Frame)) return;
    const enc = this.#encoder;
    this.#out.headersFrom(id, enc.memory, enc.blockStart, enc.blockStart + length, endStream, max);
  }

  /** One frame about to be queued: false when it tripped a flood limit (the connection is closing). */
  #count(kind: Out): boolean {
    if (kind !== Out.Uncounted && !this.#closed) {
      const flood = this.#flood.outbound(kind === Out.Control);
      if (flood !== null) {
        this.#flooded(flood);
        return false;
      }
    }
    if (!this.#reading && !this.#flushScheduled) {
      // Frames queued outside a read (responses from upstreams) go out together once the
      // event loop's I/O callbacks of this turn have run: one socket write for all of them.
      this.#flushScheduled = true;
      setImmediate(this.#flushNow);
    }
    return true;
  }

  readonly #flushNow = (): void => this.#flush();

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#out.length === 0) return;
    if (this.#socket.destroyed || !this.#socket.writable) return this.#out.clear();
    // A write the socket took without filling up brings no 'drain': what waited for room (only
    // because of what was queued in this turn) goes on from here.
    if (this.#out.flushTo(this.#socket) && !this.#closed) this.#onSocketDrain();
  }

  /** The client is reading: what was queued for it has gone (the flood counts start again). */
  #drained(): void {
    this.#flood.drained();
  }

  /** A flood limit tripped: counted under Envoy's `http2.<reason>`, GOAWAY ENHANCE_YOUR_CALM. */
  #flooded(reason: FloodReason): void {
    this.#ctx.stats.incDynamic('http2.' + reason);
    this.#connectionError(H2_ENHANCE_YOUR_CALM, reason);
  }

  #onSocketDrain(): void {
    this.#drained();
    if (this.#blocked.size > 0) this.#flushBlocked();
    this.#notifyWritable();
  }

  // ── ending ────────────────────────────────────────────────────────────────────────────────
  /** GOAWAY NO_ERROR: the streams under way finish, no new one is taken, then the socket ends. */
  drain(): boolean {
    if (this.#goaway || this.#closed) return false;
    this.#goaway = true;
    this.#queue(goaway(this.#lastStreamId, H2_NO_ERROR), Out.Uncounted);
    if (this.#streams.size === 0) this.#endGracefully();
    return true;
  }

  /** Idle (no stream) since when, in performance.now() time; -1 while streams are open. */
  get idleSince(): number {
    return this.#idleSince;
  }

  /** Streams with no byte either way since `before` (the listener's sweep); each is reported once per quiet period. */
  idleStreams(before: number): CoreHttp2Downstream[] {
    const out: CoreHttp2Downstream[] = [];
    const now = performance.now();
    for (const st of this.#streams.values()) {
      if (st.lastActivity < before && st.events instanceof CoreHttp2Downstream) {
        st.lastActivity = now;
        out.push(st.events);
      }
    }
    return out;
  }

  #endGracefully(): void {
    if (this.#closed) return;
    if (!this.#goaway) {
      this.#goaway = true;
      this.#queue(goaway(this.#lastStreamId, H2_NO_ERROR), Out.Uncounted);
    }
    this.#closed = true;
    this.#flush();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #connectionError(code: number, reason: string): void {
    if (this.#closed) return;
    this.#ctx.stats.inc('downstream_cx_protocol_error');
    this.#goaway = true;
    this.#closed = true;
    this.#queue(goaway(this.#lastStreamId, code, reason), Out.Uncounted);
    this.#flush();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#abortAll(code);
  }

  /** Closes at once: every open stream is reset. */
  destroy(): void {
    this.#socket.destroy();
  }

  #abortAll(code: number): void {
    for (const st of this.#streams.values()) this.#closeStream(st, true, code);
  }

  #onSocketClose(): void {
    this.#closed = true;
    this.#keepalive?.stop();
    this.#settingsTimer.stop();
    this.#out.clear();
    this.#abortAll(H2_INTERNAL_ERROR);
    this.#scanner.dispose();
    this.#decoder.dispose();
    this.#encoder.dispose();
    this.#ctx.connectionClosed(this);
  }
}
