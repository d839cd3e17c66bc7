// Reads HTTP/2 frames in the core (assembly/h2/frame-scanner.ts): socket bytes are appended to
// one reusable region of linear memory and scanned in place; a frame's fields are numbers at
// fixed offsets of the scanner struct and its payload stays where it is (a HEADERS payload can
// go straight to HpackDecoder.decodeAt without a copy).
import type { Core } from '../wasm.js';
import { InputRegion } from '../codec/input-region.js';
import type { CodecExports } from '../codec/codec-layout.js';
import {
  h2Exports, type H2Exports, FS_SIZE, FS_TYPE, FS_FLAGS, FS_STREAM_ID, FS_PAYLOAD_PTR, FS_PAYLOAD_LEN,
  FS_VALUE0, FS_VALUE1, FS_LENGTH, FS_FRAME_BYTES, FS_OPEN_BLOCK_STREAM, FS_BLOCK_BYTES,
} from './h2-layout.js';
import { H2_OK } from './h2-status.js';
import { copyBytes } from './copy-bytes.js';

/** Frame types (RFC 9113 §6). */
export const FRAME_DATA = 0;
export const FRAME_HEADERS = 1;
export const FRAME_PRIORITY = 2;
export const FRAME_RST_STREAM = 3;
export const FRAME_SETTINGS = 4;
export const FRAME_PUSH_PROMISE = 5;
export const FRAME_PING = 6;
export const FRAME_GOAWAY = 7;
export const FRAME_WINDOW_UPDATE = 8;
export const FRAME_CONTINUATION = 9;

/** Frame flags. */
export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export interface FrameScannerOptions {
  /** The SETTINGS_MAX_FRAME_SIZE this endpoint announced (default 16384). */
  maxFrameSize?: number;
  /** Limit for one header block, HEADERS/PUSH_PROMISE plus CONTINUATION payloads (default 64 KiB). */
  maxHeaderBlock?: number;
  /** This endpoint is a server: PUSH_PROMISE is refused (default true). */
  server?: boolean;
}

/**
 * One connection's frame reader. push() socket bytes, then call next() until it returns
 * Incomplete (1) or an error (≥ 2, see h2-status.ts); after Ok (0) the getters describe the
 * frame. Payload addresses stay valid until the next push().
 */
export class FrameScanner {
  readonly #core: Core;
  readonly #e: H2Exports;
  readonly #s: number;
  readonly #input: InputRegion;
  #start = 0;

  constructor(core: Core, options: FrameScannerOptions = {}) {
    this.#core = core;
    this.#e = h2Exports(core);
    this.#s = this.#e.alloc(FS_SIZE);
    this.#e.h2_scanner_init(this.#s, options.maxFrameSize ?? 0, options.maxHeaderBlock ?? 0, options.server === false ? 0 : 1);
    this.#input = new InputRegion(core, this.#e as unknown as CodecExports);
  }

  /** Appends bytes read from the socket, first dropping the frames already read. */
  push(chunk: Uint8Array): void {
    const input = this.#input;
    if (this.#start > 0) {
      const rest = input.length - this.#start;
      if (rest > 0) this.#core.u8.copyWithin(input.ptr, input.ptr + this.#start, input.ptr + input.length);
      input.length = rest;
      this.#start = 0;
    }
    input.append(chunk);
  }

  /** Bytes pushed and not yet read. */
  get buffered(): number {
    return this.#input.length - this.#start;
  }

  /** Bytes the read region holds room for (it grows to the largest read not consumed). */
  get capacity(): number {
    return this.#input.capacity;
  }

  /**
   * Frees the read region when nothing is buffered (the next push makes a new one), so that a
   * connection gone idle after a large read does not keep that read's room. Payload addresses
   * from the last read are invalid after it, as after the next push().
   */
  release(): void {
    if (this.buffered !== 0) return;
    this.#input.free();
    this.#start = 0;
  }

  /** Checks and consumes the 24-byte client preface: Ok, Incomplete or bad_preface. */
  readPreface(): number {
    const st = this.#e.h2_check_preface(this.#input.ptr + this.#start, this.#input.length - this.#start);
    if (st === H2_OK) this.#start += 24;
    return st;
  }

  /** Reads the next frame: Ok (the getters describe it), Incomplete, or an error status. */
  next(): number {
    const st = this.#e.h2_scan_frame(this.#s, this.#input.ptr + this.#start, this.#input.length - this.#start);
    if (st === H2_OK) this.#start += this.#u32(FS_FRAME_BYTES);
    return st;
  }

  /**
   * Steps over the frame whose scan failed with a stream-scoped error (the whole frame was
   * present: those checks run after the length check), so that the connection can go on.
   */
  skip(): void {
    this.#start += this.#u32(FS_FRAME_BYTES);
  }

  #u32(offset: number): number {
    return this.#core.u32[(this.#s + offset) >>> 2];
  }

  get type(): number { return this.#u32(FS_TYPE); }
  get flags(): number { return this.#u32(FS_FLAGS); }
  get streamId(): number { return this.#u32(FS_STREAM_ID); }
  /** The frame header's length field. */
  get length(): number { return this.#u32(FS_LENGTH); }
  /** Address of the payload in Wasm memory (after pad length, priority and promised-id fields). */
  get payloadPtr(): number { return this.#u32(FS_PAYLOAD_PTR); }
  /** Payload bytes without padding. */
  get payloadLength(): number { return this.#u32(FS_PAYLOAD_LEN); }
  /** WINDOW_UPDATE increment; RST_STREAM/GOAWAY error code; SETTINGS pair count; promised stream; dependency. */
  get value0(): number { return this.#u32(FS_VALUE0); }
  /** GOAWAY last stream id; HEADERS/PRIORITY weight - 1 | exclusive << 8. */
  get value1(): number { return this.#u32(FS_VALUE1); }
  /** The stream whose header block is open (awaiting CONTINUATION), 0 when none. */
  get openBlockStream(): number { return this.#u32(FS_OPEN_BLOCK_STREAM); }
  /** Bytes of the open (or last) header block. */
  get blockBytes(): number { return this.#u32(FS_BLOCK_BYTES); }

  /** The payload as a view of Wasm memory; valid until the next push(). */
  payload(): Uint8Array {
    const p = this.payloadPtr;
    return this.#core.u8.subarray(p, p + this.payloadLength);
  }

  /** The payload copied out of Wasm memory into a Buffer of its own (the reader may keep it). */
  copyPayload(): Buffer {
    const p = this.payloadPtr;
    const n = this.payloadLength;
    const b = Buffer.allocUnsafe(n);
    copyBytes(b, 0, this.#core.u8, p, p + n);
    return b;
  }

  /** SETTINGS pairs of the last frame, as [id, value] (a SETTINGS frame was read). */
  settings(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const v = this.#core.view;
    for (let p = this.payloadPtr, end = p + this.payloadLength; p < end; p += 6) out.push([v.getUint16(p), v.getUint32(p + 2)]);
    return out;
  }

  /** Releases the Wasm regions; the scanner is unusable afterwards. */
  dispose(): void {
    this.#input.free();
    this.#e.free(this.#s);
  }
}
