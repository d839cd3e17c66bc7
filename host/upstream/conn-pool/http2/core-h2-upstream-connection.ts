// One pooled upstream HTTP/2 connection on the core codec (RFC 9113, client side): the same role
// as http2-connection.ts on node:http2, behind the same pool (PooledH2Connection). Socket bytes
// go to the core's frame scanner and its HPACK decoder (host/core/h2/), request heads out through
// its HPACK encoder; this class keeps the client's state machine:
// - preface + SETTINGS (push off, the stream window of upstreamHttp2InitialStreamWindowSize, 1 MiB) + a connection WINDOW_UPDATE to upstreamHttp2InitialConnectionWindowSize (16 MiB); the
//   connection is ready when the server's first SETTINGS arrived (so its
//   SETTINGS_MAX_CONCURRENT_STREAMS is known before a stream goes out); SETTINGS are ACKed, PING
//   answered; capacity = min(maxConcurrentStreams, the server's SETTINGS_MAX_CONCURRENT_STREAMS);
// - streams: odd ids from 1, increasing; DATA out as the stream and connection send windows allow,
//   the server's WINDOW_UPDATE and INITIAL_WINDOW_SIZE changes applied; response DATA gives window
//   back only as the stream's handler consumes it (core/h2/flow-window.ts);
// - GOAWAY: no new stream; streams above its last-stream-id fail as refused_stream (the router
//   retries them on another connection, Envoy's refused-stream); the others finish, then it closes;
// - errors: a connection error sends GOAWAY with the RFC code and destroys the connection, its
//   streams failing (reset_before_head / reset_mid_response); RST_STREAM ends one stream.
// - a hostile or broken server (host/core/h2/, one concept each): Envoy's flood limits
//   (h2-flood-guard.ts: frames queued for a server that does not read, PING/SETTINGS floods through
//   their ACKs, empty frames, PRIORITY and WINDOW_UPDATE floods → GOAWAY ENHANCE_YOUR_CALM,
//   `http2.<reason>`), PING keepalive (h2-keepalive.ts: Envoy's connection_keepalive, off unless
//   configured; no ACK in time → closed, `http2.keepalive_timeout`), the SETTINGS ACK timeout
//   (h2-settings-timeout.ts → GOAWAY SETTINGS_TIMEOUT, `http2.settings_timeout`); a response
//   header list over 60 KiB / 100 fields resets its stream (`http2.header_overflow`, 502 UPE).
// Frames out are queued and written once per read, or once per event-loop turn.
import type { Socket } from 'node:net';
import type { Core } from '../../../core/wasm.js';
import {
  FrameScanner, FRAME_DATA, FRAME_HEADERS, FRAME_RST_STREAM, FRAME_SETTINGS, FRAME_PUSH_PROMISE, FRAME_PING, FRAME_GOAWAY,
  FRAME_WINDOW_UPDATE, FRAME_CONTINUATION, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
} from '../../../core/h2/frame-scanner.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../core/h2/hpack.js';
import { H2_OK, H2_INCOMPLETE, H2_NO_ERROR, H2_PROTOCOL_ERROR, H2_FLOW_CONTROL_ERROR, h2StatusEntry } from '../../../core/h2/h2-status.js';
import { SETTINGS_ACK, settingsFrame, ping, pingAck, rstStream, goaway } from '../../../core/h2/h2-frames.js';
import { FrameBatch, headerFrameCount } from '../../../core/h2/frame-batch.js';
import { H2FloodGuard, type FloodReason } from '../../../core/h2/h2-flood-guard.js';
import { H2Keepalive, keepaliveOn } from '../../../core/h2/h2-keepalive.js';
import { SettingsAckTimer } from '../../../core/h2/h2-settings-timeout.js';
import { DEFAULT_H2_CONNECTION_SETTINGS, type H2ConnectionSettings } from '../../../core/h2/h2-connection-settings.js';
import {
  PeerSettings, DEFAULT_WINDOW, SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_HEADER_LIST_SIZE,
} from '../../../core/h2/h2-settings.js';
import { SendWindow, RecvWindow } from '../../../core/h2/flow-window.js';
import { StreamTable } from '../../../core/h2/stream-table.js';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import { CoreH2ResponseHeads } from './core-h2-response-head.js';
import type { H2ConnectionOwner, PooledH2Connection } from './h2-pooled-connection.js';
import type { CoreH2UpstreamStream, CoreH2StreamOwner } from './core-h2-upstream-stream.js';
import { CoreH2UpstreamStreamPool } from './core-h2-upstream-stream-pool.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** This side's stream receive window (what a paused response may hold here) and connection window. */
/** Response header list limit (Envoy's max_response_headers_kb default 60 KiB, 100 fields). */
const MAX_HEADER_LIST = 60 * 1024;
/** Bytes queued on the socket past which request bodies wait (Envoy's per-connection buffer limit). */
export const CONNECTION_BUFFER_LIMIT = 1024 * 1024;
/** Highest client stream id (2^31 - 1); past it the connection takes no new stream. */
const MAX_STREAM_ID = 0x7fffffff;
const H2_SETTINGS_TIMEOUT = 0x4;
const H2_ENHANCE_YOUR_CALM = 0xb;

/** How a queued buffer counts against the flood limits. */
const enum Out { Frame, Control, Uncounted }
const EMPTY = new Uint8Array(0);

export class CoreH2UpstreamConnection implements PooledH2Connection, CoreH2StreamOwner {
  readonly scheme: 'http' | 'https';
  readonly stats: ClusterStats;
  readonly responseHeads: CoreH2ResponseHeads;
  /** The cluster's HTTP/1 codec: an upgrade's 101 is parsed by it (h2-extended-connect.ts). */
  readonly codec: Http1Codec;
  active = 0;
  started = 0;
  idleSince = 0;
  draining = false;
  readonly #socket: Socket;
  readonly #owner: H2ConnectionOwner;
  readonly #maxStreams: number;
  readonly #scanner: FrameScanner;
  readonly #decoder: HpackDecoder;
  readonly #encoder: HpackEncoder;
  readonly #peer = new PeerSettings();
  readonly #connSend = new SendWindow(DEFAULT_WINDOW);
  readonly #connRecv: RecvWindow;
  /** SETTINGS_INITIAL_WINDOW_SIZE announced (the cluster's upstreamHttp2InitialStreamWindowSize). */
  readonly #streamWindow: number;
  readonly #streams = new StreamTable<CoreH2UpstreamStream>();
  /** Ended streams kept for the next exchanges (generation-checked by their holders). */
  readonly #streamPool = new CoreH2UpstreamStreamPool();
  /**
   * Streams with body bytes or an end waiting for window: the first #sendingCount slots, an
   * entry listed when its stream's sendingSlot is its index (a stream taken off leaves a stale
   * entry, dropped when no #sendData runs). An array that never shrinks, not a Set: a Set's
   * delete down to empty reallocates its table, once per request with a body.
   */
  readonly #sending: Array<CoreH2UpstreamStream | undefined> = [];
  #sendingCount = 0;
  /** #sendData calls running (a stream's drained() can send again, re-entering it). */
  #sendingDepth = 0;
  #nextId = 1;
  #settingsSeen = false;
  /** The server's GOAWAY arrived: a stream handed out before it may not start here. */
  #goaway = false;
  #onSettled: ((ok: boolean) => void) | null;
  #closed = false;
  #block: Buffer[] | null = null;
  #blockFlags = 0;
  #blockStream = 0;
  /** Frames queued in this turn, as bytes (one socket write). */
  readonly #out = new FrameBatch();
  #reading = false;
  #flushScheduled = false;
  readonly #flood: H2FloodGuard;
  readonly #keepalive: H2Keepalive | null;
  readonly #settingsTimer: SettingsAckTimer;

  /**
   * Starts HTTP/2 on a connected `socket`; `onSettled(true)` once the server's SETTINGS arrived,
   * `onSettled(false)` if the connection failed before.
   */
  constructor(core: Core, socket: Socket, scheme: 'http' | 'https', owner: H2ConnectionOwner, stats: ClusterStats, codec: Http1Codec, maxConcurrentStreams: number, onSettled: (ok: boolean) => void, settings: Readonly<H2ConnectionSettings> = DEFAULT_H2_CONNECTION_SETTINGS) {
    this.#socket = socket;
    this.scheme = scheme;
    this.#owner = owner;
    this.stats = stats;
    this.codec = codec;
    this.responseHeads = new CoreH2ResponseHeads(core);
    this.#maxStreams = maxConcurrentStreams;
    this.#streamWindow = Math.max(DEFAULT_WINDOW, settings.initialStreamWindowSize);
    const connWindow = Math.max(DEFAULT_WINDOW, settings.initialConnectionWindowSize);
    this.#connRecv = new RecvWindow(connWindow);
    this.#onSettled = onSettled;
    this.#scanner = new FrameScanner(core, { server: false });
    this.#decoder = new HpackDecoder(core, { maxListSize: MAX_HEADER_LIST });
    this.#encoder = new HpackEncoder(core);
    this.idleSince = performance.now();
    this.#flood = new H2FloodGuard(settings.flood);
    this.#settingsTimer = new SettingsAckTimer(settings.settingsTimeoutMs, () => {
      if (this.#closed) return;
      stats.incDynamic('http2.settings_timeout');
      this.#connectionError(H2_SETTINGS_TIMEOUT, 'settings_timeout');
    });
    this.#keepalive = keepaliveOn(settings.keepalive) ? new H2Keepalive(settings.keepalive, {
      sendPing: (opaque) => {
        this.#queue(ping(opaque));
        this.#scheduleFlush();
      },
      keepaliveTimeout: () => {
        // As Envoy: the server does not answer; the connection closes, its streams fail.
        if (this.#closed) return;
        stats.incDynamic('http2.keepalive_timeout');
        this.#teardown();
      },
    }) : null;
    socket.on('data', (chunk: Buffer) => this.#onRead(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', () => this.#lost());
    socket.on('close', () => this.#lost());
    socket.on('end', () => this.#lost());
    this.#out.push(PREFACE);
    this.#out.push(settingsFrame([
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_INITIAL_WINDOW_SIZE, this.#streamWindow],
      [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
    ]));
    if (connWindow > DEFAULT_WINDOW) this.#out.windowUpdate(0, connWindow - DEFAULT_WINDOW);
    this.#settingsTimer.sent();
    this.#flush();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Streams this connection may carry at once now. */
  get capacity(): number {
    return Math.min(this.#maxStreams, this.#peer.maxConcurrentStreams);
  }

  get ready(): boolean {
    return this.#settingsSeen && !this.draining && !this.#closed && this.active < this.capacity && this.#nextId <= MAX_STREAM_ID;
  }

  get peerInitialWindow(): number {
    return this.#peer.initialWindowSize;
  }

  get peerEnableConnect(): boolean {
    return this.#peer.enableConnectProtocol;
  }

  get congested(): boolean {
    return this.#socket.writableLength > CONNECTION_BUFFER_LIMIT;
  }

  newStream(): CoreH2UpstreamStream {
    this.active++;
    this.started++;
    this.idleSince = 0;
    return this.#streamPool.open(this, this.#streamWindow);
  }

  // ── CoreH2StreamOwner ───────────────────────────────────────────────────────────────────
  openStream(stream: CoreH2UpstreamStream, head: Uint8Array, endStream: boolean): 'ok' | 'refused' | 'bad_head' {
    // After the server's GOAWAY it would ignore the stream (§6.8): refused, retried elsewhere.
    if (this.#refusesStreams()) return 'refused';
    // Encoded before the id is taken: a head refused here leaves the HPACK table untouched.
    const length = this.#encoder.encodeRequestHeadInPlace(head, this.scheme);
    if (typeof length === 'string') return 'bad_head';
    this.#sendHeaders(stream, length, endStream);
    return 'ok';
  }

  openStreamFields(stream: CoreH2UpstreamStream, fields: readonly HeaderField[], endStream: boolean): 'ok' | 'refused' {
    if (this.#refusesStreams()) return 'refused';
    this.#sendHeaders(stream, this.#encoder.encodeInPlace(fields), endStream);
    return 'ok';
  }

  #refusesStreams(): boolean {
    return this.#closed || this.#goaway || this.#nextId > MAX_STREAM_ID;
  }

  /** The stream's id taken and its HEADERS (the block of `length` bytes the encoder just left in place) queued. */
  #sendHeaders(stream: CoreH2UpstreamStream, length: number, endStream: boolean): void {
    const id = this.#nextId;
    this.#nextId += 2;
    stream.id = id;
    this.#streams.set(id, stream);
    this.#flood.streamOpened();
    this.#keepalive?.beforeStream();
    const max = this.#peer.maxFrameSize;
    for (let i = headerFrameCount(length, max); i > 0; i--) if (!this.#count(Out.Frame)) return;
    const enc = this.#encoder;
    this.#out.headersFrom(id, enc.memory, enc.blockStart, enc.blockStart + length, endStream, max);
    this.#scheduleFlush();
  }

  wantSend(stream: CoreH2UpstreamStream): void {
    if (stream.sendingSlot < 0) {
      stream.sendingSlot = this.#sendingCount;
      this.#sending[this.#sendingCount++] = stream;
    }
    this.#sendData();
    this.#scheduleFlush();
  }

  consumed(stream: CoreH2UpstreamStream, n: number): void {
    if (n <= 0 || this.#closed) return;
    const c = this.#connRecv.consume(n);
    if (c > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(0, c);
    if (!stream.done && !stream.remoteClosed) {
      const s = stream.recv.consume(n);
      if (s > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(stream.id, s);
    }
    this.#scheduleFlush();
  }

  reset(stream: CoreH2UpstreamStream, code: number): void {
    if (this.#closed || stream.id === 0) return;
    this.#queue(rstStream(stream.id, code), Out.Control);
    this.#scheduleFlush();
  }

  streamDone(stream: CoreH2UpstreamStream): void {
    if (stream.id !== 0) this.#streams.delete(stream.id);
    stream.sendingSlot = -1;
    if (this.#sendingDepth === 0) this.#compactSending();
    this.active--;
    // Its generation moved (CoreH2UpstreamStream.#end): a waiter served below may get it.
    this.#streamPool.release(stream);
    if (this.active === 0) this.idleSince = performance.now();
    if (this.draining && this.active === 0) {
      this.close();
      return;
    }
    if (!this.#closed) this.#owner.capacityChanged(this);
  }

  // ── reading ─────────────────────────────────────────────────────────────────────────────
  #onRead(chunk: Buffer): void {
    if (this.#closed) return;
    const scanner = this.#scanner;
    scanner.push(chunk);
    this.#reading = true;
    try {
      while (!this.#closed) {
        const st = scanner.next();
        if (st === H2_INCOMPLETE) break;
        if (st !== H2_OK) {
          const e = h2StatusEntry(st);
          const id = scanner.streamId;
          if (e.scope === 'stream' && id !== 0 && scanner.type !== FRAME_HEADERS && scanner.type !== FRAME_CONTINUATION) {
            scanner.skip();
            const s = this.#streams.get(id);
            this.#queue(rstStream(id, e.errorCode), Out.Control);
            s?.fail('reset_before_head');
            continue;
          }
          this.#connectionError(e.errorCode, e.code);
          return;
        }
        this.#onFrame();
      }
    } finally {
      this.#reading = false;
      this.#flush();
    }
  }

  #onFrame(): void {
    const s = this.#scanner;
    const type = s.type;
    if (!this.#settingsSeen && type !== FRAME_SETTINGS) return this.#connectionError(H2_PROTOCOL_ERROR, 'preface_without_settings');
    this.#keepalive?.received();
    const flood = this.#flood.inbound(type, s.flags, s.payloadLength);
    if (flood !== null) return this.#flooded(flood);
    switch (type) {
      case FRAME_DATA: return this.#onData();
      case FRAME_HEADERS:
        if ((s.flags & FLAG_END_HEADERS) !== 0) return this.#onHeaderBlock(s.streamId, s.flags, null);
        this.#block = [Buffer.from(s.payload())];
        this.#blockFlags = s.flags;
        this.#blockStream = s.streamId;
        return;
      case FRAME_CONTINUATION:
        this.#block!.push(Buffer.from(s.payload()));
        if ((s.flags & FLAG_END_HEADERS) !== 0) {
          const block = Buffer.concat(this.#block!);
          this.#block = null;
          this.#onHeaderBlock(this.#blockStream, this.#blockFlags, block);
        }
        return;
      case FRAME_RST_STREAM: {
        const st = this.#streams.get(s.streamId);
        if (st) {
          st.remoteClosed = true;
          st.onReset(s.value0);
        }
        return;
      }
      case FRAME_SETTINGS: return this.#onSettings();
      case FRAME_PUSH_PROMISE: return this.#connectionError(H2_PROTOCOL_ERROR, 'push_promise_disabled'); // we sent ENABLE_PUSH 0
      case FRAME_PING:
        if ((s.flags & FLAG_ACK) === 0) this.#queue(pingAck(Buffer.from(s.payload())), Out.Control);
        else this.#keepalive?.ack(s.payload());
        return;
      case FRAME_GOAWAY: return this.#onGoaway(s.value1);
      case FRAME_WINDOW_UPDATE: return this.#onWindowUpdate(s.streamId, s.value0);
      default: return; // PRIORITY, unknown types (§5.5): ignored
    }
  }

  #onSettings(): void {
    const s = this.#scanner;
    if ((s.flags & FLAG_ACK) !== 0) return this.#settingsTimer.acked();
    const delta = this.#peer.apply(s.settings());
    if (delta !== 0) {
      for (const st of this.#streams.values()) {
        if (!st.send.grow(delta)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'settings_window_overflow');
      }
    }
    this.#encoder.setTableLimit(Math.min(this.#peer.headerTableSize, 4096));
    this.#queue(SETTINGS_ACK, Out.Control);
    if (!this.#settingsSeen) {
      this.#settingsSeen = true;
      const settled = this.#onSettled;
      this.#onSettled = null;
      settled?.(true);
    } else {
      this.#owner.capacityChanged(this);
    }
    if (delta > 0) this.#sendAll();
  }

  #onGoaway(lastStreamId: number): void {
    this.stats.incDynamic('upstream_cx_close_notify');
    this.draining = true;
    this.#goaway = true;
    // Streams above lastStreamId were never processed: retriable (refused_stream).
    for (const st of this.#streams.values()) if (st.id > lastStreamId) st.fail('refused_stream');
    if (this.active === 0) this.close();
    else this.#owner.capacityChanged(this);
  }

  #onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      if (!this.#connSend.grow(increment)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'window_overflow');
      this.#sendAll();
      return;
    }
    const st = this.#streams.get(id);
    if (!st) return;
    if (!st.send.grow(increment)) {
      this.#queue(rstStream(id, H2_FLOW_CONTROL_ERROR), Out.Control);
      st.fail(st.gotHead ? 'reset_mid_response' : 'reset_before_head');
      return;
    }
    if (st.sendingSlot >= 0) this.#sendData();
  }

  #onData(): void {
    const s = this.#scanner;
    const n = s.length;
    if (!this.#connRecv.receive(n)) return this.#connectionError(H2_FLOW_CONTROL_ERROR, 'connection_window_exceeded');
    const st = this.#streams.get(s.streamId);
    const end = (s.flags & FLAG_END_STREAM) !== 0;
    if (!st) {
      // A stream this side ended: the server had not seen the reset yet. Its window comes back.
      const c = this.#connRecv.consume(n);
      if (c > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(0, c);
      if (s.streamId >= this.#nextId) return this.#connectionError(H2_PROTOCOL_ERROR, 'data_on_idle_stream');
      return;
    }
    if (!st.recv.receive(n)) {
      this.#queue(rstStream(st.id, H2_FLOW_CONTROL_ERROR), Out.Control);
      const c = this.#connRecv.consume(n);
      if (c > 0 && this.#count(Out.Frame)) this.#out.windowUpdate(0, c);
      st.fail(st.gotHead ? 'reset_mid_response' : 'reset_before_head');
      return;
    }
    if (end) st.remoteClosed = true;
    // Copied out of Wasm memory: the next read reuses the scanner's region, and the downstream
    // socket may hold the chunk queued after this returns (as the core listener copies request DATA).
    st.onData(s.copyPayload(), n, end);
  }

  #onHeaderBlock(id: number, flags: number, block: Buffer | null): void {
    const dec = this.#decoder;
    // Decoded first, whatever happens to the stream: the HPACK table must stay in step (§4.3).
    const status = block === null ? dec.decodeAt(this.#scanner.payloadPtr, this.#scanner.payloadLength) : dec.decode(block);
    const entry = h2StatusEntry(status);
    if (status !== H2_OK && entry.scope === 'connection') return this.#connectionError(entry.errorCode, entry.code);
    const st = this.#streams.get(id);
    if (!st) {
      if (id >= this.#nextId || (id & 1) === 0) return this.#connectionError(H2_PROTOCOL_ERROR, 'headers_on_idle_stream');
      return; // a stream this side reset
    }
    if (status !== H2_OK) {
      // header_list_too_large / too_many_headers (Envoy's max_response_headers_kb / _count):
      // this stream alone is reset; the router answers 502 UPE.
      this.stats.incDynamic('http2.header_overflow');
      this.stats.inc('upstream_cx_protocol_error');
      this.#queue(rstStream(id, H2_PROTOCOL_ERROR), Out.Control);
      st.fail('protocol_error');
      return;
    }
    const end = (flags & FLAG_END_STREAM) !== 0;
    if (end) st.remoteClosed = true;
    st.onHeaders(dec, end);
  }

  // ── writing ─────────────────────────────────────────────────────────────────────────────
  #sendAll(): void {
    if (this.#sendingCount > 0) this.#sendData();
    this.#scheduleFlush();
  }

  /** Sends queued body bytes as the windows allow, each stream in turn. */
  #sendData(): void {
    if (this.#closed) return;
    const maxFrame = this.#peer.maxFrameSize;
    const sending = this.#sending;
    this.#sendingDepth++;
    try {
      // Streams listed while this runs (a drained() sending more) are visited too.
      for (let i = 0; i < this.#sendingCount; i++) {
        const st = sending[i]!;
        if (st.sendingSlot !== i) continue;
        this.#sendOn(st, maxFrame);
      }
    } finally {
      if (--this.#sendingDepth === 0) this.#compactSending();
    }
  }

  /** Drops the entries of streams no longer listed (slots renumbered; the array keeps its size). */
  #compactSending(): void {
    const sending = this.#sending;
    const n = this.#sendingCount;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const st = sending[i]!;
      if (st.sendingSlot !== i) continue;
      st.sendingSlot = j;
      sending[j++] = st;
    }
    for (let i = j; i < n; i++) sending[i] = undefined;
    this.#sendingCount = j;
  }

  /** One stream's queued body, as far as the windows allow. */
  #sendOn(st: CoreH2UpstreamStream, maxFrame: number): void {
    while (st.pending.length > 0 && this.#connSend.available > 0 && st.send.available > 0) {
      const chunk = st.pending[0]!;
      const n = Math.min(chunk.length, maxFrame, this.#connSend.available, st.send.available);
      const part = n === chunk.length ? chunk : chunk.subarray(0, n);
      if (n === chunk.length) st.pending.shift();
      else st.pending[0] = chunk.subarray(n);
      st.pendingBytes -= n;
      st.send.take(n);
      this.#connSend.take(n);
      const last = st.endQueued && st.pending.length === 0;
      this.#flood.dataSent();
      if (this.#count(Out.Frame)) this.#out.data(st.id, part, last);
      if (last) st.localEnded();
    }
    if (st.pending.length === 0 && st.endQueued && !st.localClosed) {
      // The body's last DATA frame still in this turn's batch carries END_STREAM (frame-batch.ts).
      if (!this.#out.endStreamOnLastData(st.id)) {
        this.#flood.dataSent();
        if (this.#count(Out.Frame)) this.#out.data(st.id, EMPTY, true);
      }
      st.localEnded();
    }
    if (st.pending.length === 0) st.sendingSlot = -1;
    if (st.pendingBytes <= 64 * 1024 && !this.congested) st.drained();
  }

  #scheduleFlush(): void {
    if (this.#reading || this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushNow);
  }

  /** #scheduleFlush's callback, made once (not a closure per scheduled write). */
  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Queues a frame (or a DATA payload, uncounted) for the next write, within Envoy's outbound flood limits. */
  #queue(b: Uint8Array, kind = Out.Frame): void {
    if (this.#count(kind)) this.#out.push(b);
  }

  /** One frame about to be queued: false when it tripped a flood limit (the connection is closing). */
  #count(kind: Out): boolean {
    if (kind === Out.Uncounted || this.#closed) return true;
    const flood = this.#flood.outbound(kind === Out.Control);
    if (flood === null) return true;
    this.#flooded(flood);
    return false;
  }

  /** A flood limit tripped: counted under Envoy's `http2.<reason>`, GOAWAY ENHANCE_YOUR_CALM. */
  #flooded(reason: FloodReason): void {
    this.stats.incDynamic('http2.' + reason);
    this.#connectionError(H2_ENHANCE_YOUR_CALM, reason);
  }

  #flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    // Taken without filling up: the server reads what it is sent (the flood counts start again).
    if (this.#out.flushTo(this.#socket)) this.#flood.drained();
  }

  #onDrain(): void {
    if (this.#closed) return;
    this.#flood.drained();
    this.#sendData();
    this.#flush();
    for (const st of this.#streams.values()) if (st.wantDrain && st.pendingBytes <= 64 * 1024) st.drained();
  }

  // ── ending ──────────────────────────────────────────────────────────────────────────────
  #connectionError(code: number, reason: string): void {
    if (this.#closed) return;
    this.stats.inc('upstream_cx_protocol_error');
    this.#out.push(goaway(0, code, reason));
    this.#flush();
    this.#socket.end();
    this.#teardown();
  }

  /** The socket closed or failed. */
  #lost(): void {
    this.#teardown();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#keepalive?.stop();
    this.#settingsTimer.stop();
    this.draining = true;
    const settled = this.#onSettled;
    this.#onSettled = null;
    for (const st of this.#streams.values()) st.fail(st.gotHead ? 'reset_mid_response' : 'reset_before_head');
    this.#scanner.dispose();
    this.#decoder.dispose();
    this.#encoder.dispose();
    this.responseHeads.dispose();
    if (settled) {
      this.#socket.destroy();
      settled(false);
      return;
    }
    this.#socket.destroy();
    this.#owner.closed(this);
  }

  close(): void {
    if (this.#closed) return;
    this.draining = true;
    if (this.active === 0) {
      this.stats.inc('upstream_cx_destroy_local');
      this.#out.push(goaway(0, H2_NO_ERROR));
      this.#flush();
      this.#socket.end();
      this.#teardown();
    }
  }

  destroy(): void {
    if (this.#closed) return;
    this.stats.inc('upstream_cx_destroy_local');
    this.#teardown();
  }
}
