// Parses HTTP/1.x request and response heads in the core (assembly/codec/head-parser.ts): the
// bytes are copied into one reusable input region, results are read as numbers at the fixed
// offsets of the parsed-head struct (assembly/codec/parsed-head.ts), so a parse allocates nothing.
import type { Core } from '../wasm.js';
import {
  codecExports, type CodecExports, PH_CONTENT_LENGTH, PH_ERROR_OFFSET, PH_FLAGS, PH_FRAMING, PH_HEAD_LENGTH, PH_HEADER_COUNT, PH_HEADER_ENTRY,
  PH_HEADERS, PH_HOST_INDEX, PH_KEEP_ALIVE, PH_METHOD_LEN, PH_METHOD_PTR, PH_SIZE, PH_STATUS, PH_STATUS_CODE, PH_STATUS_CODE_PTR, PH_TARGET_LEN,
  PH_TARGET_PTR, PH_VERSION,
} from './codec-layout.js';
import { InputRegion } from './input-region.js';

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

  /**
   * Where the parsed input starts in Wasm memory (`core.u8` index): spans are relative to it.
   * Valid until the next call, like inputView, without making a view.
   */
  get inputBase(): number {
    return this.#input.ptr;
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

  /**
   * Copies every header span of the last Ok parse into `into`, 4 numbers per header as input
   * offsets [nameStart, nameEnd, valueStart, valueEnd], and returns the header count. `into`
   * must hold 4 × MAX_HEADERS numbers. One memory-view read for the whole head, where the
   * four per-header getters read it four times per header (a quarter of parseRequestHead's
   * time went there).
   */
  headerSpans(into: Uint32Array): number {
    const u32 = this.#core.u32;
    const base = this.#input.ptr;
    const n = u32[(this.#out + PH_HEADER_COUNT) >>> 2];
    let at = (this.#out + PH_HEADERS) >>> 2;
    for (let j = 0, end = n * 4; j < end; j += 4, at += 4) {
      const name = u32[at] - base;
      const value = u32[at + 2] - base;
      into[j] = name;
      into[j + 1] = name + u32[at + 1];
      into[j + 2] = value;
      into[j + 3] = value + u32[at + 3];
    }
    return n;
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
