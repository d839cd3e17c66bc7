// The frames an HTTP/2 connection queued in one event-loop turn, written as bytes into one
// buffer (RFC 9113 §4.1 frame headers, payloads copied in) that goes to the socket in one write.
// It replaces a Buffer per frame (and per 9-byte DATA header) joined by a Buffer.concat at the
// write: a frame costs no allocation, and a DATA payload is copied once, into the write.
//
// Reuse: the buffer is written again after a flush only when the socket took the bytes whole
// during the write (a net.Socket whose writableLength is 0 right after write(): libuv wrote them
// into the kernel synchronously, nothing refers to them any more). Otherwise (a partial write, a
// socket still connecting or corked, TLS, any other stream) the socket keeps the view and the
// batch starts a new buffer. A buffer grown past KEEP_LIMIT by a burst is let go as well.
//
// END_STREAM on the last DATA: a body's last chunk and its end usually come in the same turn (a
// client's DATA with END_STREAM handed on as a chunk, then the end), so endStreamOnLastData sets
// the flag on the DATA frame just queued for that stream instead of an empty DATA frame after it
// (as Envoy sends it: one frame, not two, for a gRPC request's message).
import { Socket } from 'node:net';
import {
  FRAME_DATA, FRAME_HEADERS, FRAME_CONTINUATION, FRAME_WINDOW_UPDATE, FLAG_END_HEADERS, FLAG_END_STREAM,
} from './frame-scanner.js';
import { copyBytes } from './copy-bytes.js';

const INITIAL = 1024;
/** A buffer larger than this is not kept across flushes. */
export const KEEP_LIMIT = 64 * 1024;

/** Where a batch goes: a socket (net.Socket for reuse), or any writable with the same two members. */
export interface BatchSink {
  write(b: Uint8Array): boolean;
  readonly writableLength: number;
}

/** The frames (HEADERS + CONTINUATION) a header block of `length` bytes takes: each counts against the flood limits. */
export function headerFrameCount(length: number, maxFrame: number): number {
  return length <= maxFrame ? 1 : Math.ceil(length / maxFrame);
}

export class FrameBatch {
  #buf: Buffer | null = null;
  #len = 0;
  /** Where the last frame queued starts when it is a DATA frame without END_STREAM (else -1), and its stream. */
  #lastData = -1;
  #lastDataStream = 0;
  /** Buffers given to a socket that kept them (counted for tests and stats). */
  handedOff = 0;

  /** Bytes queued. */
  get length(): number {
    return this.#len;
  }

  #room(n: number): Buffer {
    const need = this.#len + n;
    let b = this.#buf;
    if (b === null || b.length < need) {
      let cap = b === null ? INITIAL : b.length * 2;
      while (cap < need) cap *= 2;
      const nb = Buffer.allocUnsafeSlow(cap);
      if (b !== null && this.#len > 0) b.copy(nb, 0, 0, this.#len);
      this.#buf = b = nb;
    }
    return b;
  }

  #header(b: Buffer, at: number, length: number, type: number, flags: number, stream: number): void {
    b[at] = (length >>> 16) & 0xff;
    b[at + 1] = (length >>> 8) & 0xff;
    b[at + 2] = length & 0xff;
    b[at + 3] = type;
    b[at + 4] = flags;
    b.writeUInt32BE(stream & 0x7fffffff, at + 5);
  }

  /** A whole frame made elsewhere (SETTINGS, PING, RST_STREAM, GOAWAY …), copied in. */
  push(frame: Uint8Array): void {
    this.#lastData = -1;
    const b = this.#room(frame.length);
    b.set(frame, this.#len);
    this.#len += frame.length;
  }

  /** A DATA frame of `payload` (copied in; it may be a view the caller reuses). */
  data(stream: number, payload: Uint8Array, endStream: boolean): void {
    const n = payload.length;
    const b = this.#room(9 + n);
    this.#lastData = endStream ? -1 : this.#len;
    this.#lastDataStream = stream;
    this.#header(b, this.#len, n, FRAME_DATA, endStream ? FLAG_END_STREAM : 0, stream);
    if (n > 0) copyBytes(b, this.#len + 9, payload, 0, n);
    this.#len += 9 + n;
  }

  /**
   * Ends `stream` on the DATA frame queued last, when the batch's last frame is one on `stream`
   * without END_STREAM: its flag set in place, and true. Else false (the caller queues an empty
   * DATA frame with END_STREAM).
   */
  endStreamOnLastData(stream: number): boolean {
    const at = this.#lastData;
    if (at < 0 || this.#lastDataStream !== stream) return false;
    this.#buf![at + 4] |= FLAG_END_STREAM;
    this.#lastData = -1;
    return true;
  }

  /** A header block as HEADERS (+ CONTINUATION, §6.10) frames of at most `maxFrame` payload bytes. */
  headers(stream: number, block: Uint8Array, endStream: boolean, maxFrame: number): void {
    this.headersFrom(stream, block, 0, block.length, endStream, maxFrame);
  }

  /** headers() for the block `mem[start, end)` (an HPACK encoder's output in place: no view made for it). */
  headersFrom(stream: number, mem: Uint8Array, start: number, end: number, endStream: boolean, maxFrame: number): void {
    this.#lastData = -1;
    const total = end - start;
    const frames = headerFrameCount(total, maxFrame);
    const b = this.#room(total + 9 * frames);
    let at = this.#len;
    for (let from = 0, i = 0; i < frames; i++, from += maxFrame) {
      const to = Math.min(total, from + maxFrame);
      const last = i === frames - 1;
      const flags = (last ? FLAG_END_HEADERS : 0) | (i === 0 && endStream ? FLAG_END_STREAM : 0);
      this.#header(b, at, to - from, i === 0 ? FRAME_HEADERS : FRAME_CONTINUATION, flags, stream);
      copyBytes(b, at + 9, mem, start + from, start + to);
      at += 9 + to - from;
    }
    this.#len = at;
  }

  windowUpdate(stream: number, increment: number): void {
    this.#lastData = -1;
    const b = this.#room(13);
    this.#header(b, this.#len, 4, FRAME_WINDOW_UPDATE, 0, stream);
    b.writeUInt32BE(increment & 0x7fffffff, this.#len + 9);
    this.#len += 13;
  }

  /** Drops what is queued (the connection closed). */
  clear(): void {
    this.#len = 0;
    this.#lastData = -1;
  }

  /**
   * Writes what is queued to `sink` in one write (nothing when empty: true) and returns write()'s
   * answer. The buffer is kept for the next turn only if `sink` is a net.Socket that took the
   * bytes whole.
   */
  flushTo(sink: BatchSink): boolean {
    const b = this.#buf;
    const n = this.#len;
    if (b === null || n === 0) return true;
    this.#len = 0;
    this.#lastData = -1;
    const ok = sink.write(b.subarray(0, n));
    if (!(sink instanceof Socket) || sink.writableLength !== 0 || b.length > KEEP_LIMIT) {
      this.#buf = null;
      this.handedOff++;
    }
    return ok;
  }
}

/**
 * After a borrowed `chunk` was queued and sent as far as the windows allowed: what is still
 * queued of it (itself, or a view of its tail) is replaced by a copy, so that the caller may reuse
 * its memory. Found by identity of memory range, not by position: a write re-entered from the
 * send (a drained stream writing again) may have queued more after it.
 */
export function keepRest(queue: Uint8Array[], chunk: Uint8Array): void {
  const buf = chunk.buffer;
  const from = chunk.byteOffset;
  const to = from + chunk.byteLength;
  for (let i = 0; i < queue.length; i++) {
    const q = queue[i]!;
    if (q.buffer === buf && q.byteOffset >= from && q.byteOffset < to) {
      queue[i] = Buffer.from(q);
      return;
    }
  }
}
