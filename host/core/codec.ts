// The host's side of the codec boundary (assembly/codec/): the only host file that touches
// Wasm memory for parsing heads, decoding chunked bodies and writing heads. Bytes are copied
// into one reusable input region per object (grown in 4 KiB steps, filled with one
// Uint8Array.set); results are read as numbers at fixed offsets, so a call allocates nothing.
import type { Core } from './wasm.js';
import { checkStatusTable } from './status.js';

// Mirrors assembly/codec/parsed-head.ts; checked against codec_layout() on first use.
export const MAX_HEAD_BYTES = 60 * 1024;
export const MAX_HEADERS = 100;
const PH_STATUS = 0;
const PH_HEAD_LENGTH = 4;
const PH_ERROR_OFFSET = 8;
const PH_VERSION = 12;
const PH_METHOD_PTR = 16;
const PH_METHOD_LEN = 20;
const PH_TARGET_PTR = 24;
const PH_TARGET_LEN = 28;
const PH_STATUS_CODE = 16;
const PH_STATUS_CODE_PTR = 20;
const PH_FRAMING = 32;
const PH_KEEP_ALIVE = 36;
const PH_CONTENT_LENGTH = 40;
const PH_HEADER_COUNT = 48;
const PH_HOST_INDEX = 52;
const PH_FLAGS = 56;
const PH_HEADERS = 64;
const PH_HEADER_ENTRY = 16;
const PH_SIZE = PH_HEADERS + MAX_HEADERS * PH_HEADER_ENTRY;

/** Body framing as the core reports it (assembly/codec/parsed-head.ts `Framing`). */
export const FRAMING_NONE = 0;
export const FRAMING_LENGTH = 1;
export const FRAMING_CHUNKED = 2;
export const FRAMING_CLOSE = 3;
export const FRAMING_NAMES = ['none', 'length', 'chunked', 'close'] as const;
export type FramingName = (typeof FRAMING_NAMES)[number];

/** Bits of the parsed head's flags (assembly/codec/parsed-head.ts `HeadFlag`). */
export const HEAD_FLAG_CONTENT_LENGTH = 1;
export const HEAD_FLAG_TRANSFER_ENCODING = 2;
export const HEAD_FLAG_CONNECTION_CLOSE = 4;
export const HEAD_FLAG_CONNECTION_KEEP_ALIVE = 8;
export const HEAD_FLAG_CONNECTION_UPGRADE = 16;

const REGION_STEP = 4096;

interface CodecExports {
  alloc(size: number): number;
  free(ptr: number): void;
  codec_layout(which: number): number;
  parse_request_head(ptr: number, len: number, out: number): number;
  parse_response_head(ptr: number, len: number, requestWasHead: number, out: number): number;
}

const checked = new WeakSet<Core>();

/** The codec's exports, after checking once per core that layouts and statuses agree. */
function codecExports(core: Core): CodecExports {
  const e = core.exports as unknown as CodecExports;
  if (!checked.has(core)) {
    if (typeof e.codec_layout !== 'function') throw new Error('wasmesh: core.wasm lacks the codec exports; rebuild it (npm run build:wasm)');
    if (e.codec_layout(0) !== PH_SIZE || e.codec_layout(1) !== PH_HEADERS || e.codec_layout(2) !== MAX_HEADERS || e.codec_layout(3) !== MAX_HEAD_BYTES) {
      throw new Error('wasmesh: host/core/codec.ts and assembly/codec/parsed-head.ts disagree on the parsed-head layout');
    }
    checkStatusTable(core);
    checked.add(core);
  }
  return e;
}

/** A reusable region of linear memory, grown in 4 KiB steps; holds `length` bytes. */
class InputRegion {
  readonly #core: Core;
  readonly #e: CodecExports;
  ptr = 0;
  capacity = 0;
  length = 0;

  constructor(core: Core, e: CodecExports) {
    this.#core = core;
    this.#e = e;
  }

  /** Makes room for `n` bytes in total, keeping the first `length` bytes. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const capacity = Math.ceil(n / REGION_STEP) * REGION_STEP;
    const ptr = this.#e.alloc(capacity);
    if (this.length > 0) {
      const u8 = this.#core.u8; // alloc may have grown memory: read the view after it
      u8.copyWithin(ptr, this.ptr, this.ptr + this.length);
    }
    if (this.ptr !== 0) this.#e.free(this.ptr);
    this.ptr = ptr;
    this.capacity = capacity;
  }

  /** Replaces the contents with `bytes`. */
  set(bytes: Uint8Array): void {
    this.length = 0;
    this.reserve(bytes.length);
    this.#core.u8.set(bytes, this.ptr);
    this.length = bytes.length;
  }

  /** Appends `bytes` after the current contents. */
  append(bytes: Uint8Array): void {
    this.reserve(this.length + bytes.length);
    this.#core.u8.set(bytes, this.ptr + this.length);
    this.length += bytes.length;
  }

  free(): void {
    if (this.ptr !== 0) this.#e.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
    this.length = 0;
  }
}

/**
 * Parses HTTP/1.x heads. One per connection side (or one shared, since a parse keeps no
 * state between calls). Results stay readable until the next parse; spans are offsets
 * relative to the parsed input, so callers slice their own buffer and copy nothing.
 *
 * Split reads: either call parseResponse with the whole accumulated prefix, or use
 * append() + parseBufferedResponse() to keep accumulating inside Wasm memory.
 */
export class HeadParser {
  readonly #core: Core;
  readonly #e: CodecExports;
  readonly #input: InputRegion;
  readonly #out: number;

  constructor(core: Core) {
    this.#core = core;
    this.#e = codecExports(core);
    this.#out = this.#e.alloc(PH_SIZE);
    this.#input = new InputRegion(core, this.#e);
  }

  /** Parses a request head from the start of `bytes`; returns the status number. */
  parseRequest(bytes: Uint8Array): number {
    this.#input.set(bytes);
    return this.#e.parse_request_head(this.#input.ptr, this.#input.length, this.#out);
  }

  /** Parses a response head from the start of `bytes`; returns the status number. */
  parseResponse(bytes: Uint8Array, requestWasHead: boolean): number {
    this.#input.set(bytes);
    return this.#e.parse_response_head(this.#input.ptr, this.#input.length, requestWasHead ? 1 : 0, this.#out);
  }

  /** Forgets buffered bytes (start of a new message). */
  reset(): void {
    this.#input.length = 0;
  }

  /** Appends bytes read from the socket to the buffered input. */
  append(bytes: Uint8Array): void {
    this.#input.append(bytes);
  }

  /** Bytes buffered by append() since the last reset(). */
  get bufferedLength(): number {
    return this.#input.length;
  }

  /** Parses the buffered input as a response head. */
  parseBufferedResponse(requestWasHead: boolean): number {
    return this.#e.parse_response_head(this.#input.ptr, this.#input.length, requestWasHead ? 1 : 0, this.#out);
  }

  /** Parses the buffered input as a request head. */
  parseBufferedRequest(): number {
    return this.#e.parse_request_head(this.#input.ptr, this.#input.length, this.#out);
  }

  /** A view of buffered input bytes [start, end) in Wasm memory; valid until the next call. */
  inputView(start: number, end: number): Uint8Array {
    return this.#core.u8.subarray(this.#input.ptr + start, this.#input.ptr + end);
  }

  #u32(offset: number): number {
    return this.#core.u32[(this.#out + offset) >>> 2];
  }

  #rel(offset: number): number {
    return this.#u32(offset) - this.#input.ptr;
  }

  /** The last call's status. */
  get status(): number {
    return this.#u32(PH_STATUS);
  }
  /** Bytes of the head, through the final CRLF; the body starts here. */
  get headLength(): number {
    return this.#u32(PH_HEAD_LENGTH);
  }
  /** Input offset of the byte that decided the error. */
  get errorOffset(): number {
    return this.#u32(PH_ERROR_OFFSET);
  }
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  get minorVersion(): number {
    return this.#u32(PH_VERSION);
  }
  /** FRAMING_NONE | FRAMING_LENGTH | FRAMING_CHUNKED | FRAMING_CLOSE. */
  get framing(): number {
    return this.#u32(PH_FRAMING);
  }
  get keepAlive(): boolean {
    return this.#u32(PH_KEEP_ALIVE) !== 0;
  }
  /** The Content-Length value, or -1 when absent. */
  get contentLength(): number {
    return this.#core.view.getFloat64(this.#out + PH_CONTENT_LENGTH, true);
  }
  get headerCount(): number {
    return this.#u32(PH_HEADER_COUNT);
  }
  /** Index of the Host header (requests), -1 when absent. */
  get hostIndex(): number {
    const i = this.#u32(PH_HOST_INDEX);
    return i === 0xffffffff ? -1 : i;
  }
  /** HEAD_FLAG_* bits. */
  get flags(): number {
    return this.#u32(PH_FLAGS);
  }
  /** Request: method span [methodStart, methodEnd). */
  get methodStart(): number {
    return this.#rel(PH_METHOD_PTR);
  }
  get methodEnd(): number {
    return this.methodStart + this.#u32(PH_METHOD_LEN);
  }
  /** Request: request-target span. */
  get targetStart(): number {
    return this.#rel(PH_TARGET_PTR);
  }
  get targetEnd(): number {
    return this.targetStart + this.#u32(PH_TARGET_LEN);
  }
  /** Response: status code. */
  get statusCode(): number {
    return this.#u32(PH_STATUS_CODE);
  }
  /** Response: the "200 OK" span (code through reason), what uWS writeStatus takes. */
  get statusTextStart(): number {
    return this.#rel(PH_STATUS_CODE_PTR);
  }
  get statusTextEnd(): number {
    const reasonLen = this.#u32(PH_TARGET_LEN);
    return reasonLen === 0 ? this.statusTextStart + 3 : this.#rel(PH_TARGET_PTR) + reasonLen;
  }
  /** Response: reason-phrase span (empty when absent). */
  get reasonStart(): number {
    return this.#rel(PH_TARGET_PTR);
  }
  get reasonEnd(): number {
    return this.reasonStart + this.#u32(PH_TARGET_LEN);
  }
  nameStart(i: number): number {
    return this.#rel(PH_HEADERS + i * PH_HEADER_ENTRY);
  }
  nameEnd(i: number): number {
    return this.nameStart(i) + this.#u32(PH_HEADERS + i * PH_HEADER_ENTRY + 4);
  }
  valueStart(i: number): number {
    return this.#rel(PH_HEADERS + i * PH_HEADER_ENTRY + 8);
  }
  valueEnd(i: number): number {
    return this.valueStart(i) + this.#u32(PH_HEADERS + i * PH_HEADER_ENTRY + 12);
  }

  /** Address of the parsed-head struct (for the response head filter). */
  get structPtr(): number {
    return this.#out;
  }

  /** Releases the Wasm regions; the parser is unusable afterwards. */
  dispose(): void {
    this.#input.free();
    this.#e.free(this.#out);
  }
}
