// The host's side of the codec boundary (assembly/codec/): the only host file that touches
// Wasm memory for parsing heads, decoding chunked bodies and writing heads. Bytes are copied
// into one reusable input region per object (grown in 4 KiB steps, filled with one
// Uint8Array.set); results are read as numbers at fixed offsets, so a call allocates nothing.
import type { Core } from './wasm.js';
import type { RequestView } from './request-view.js';
import type { HeaderOps } from '../model/mesh.js';
import { checkStatusTable, statusEntry, STATUS_OK } from './status.js';

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

// Mirrors assembly/codec/chunked-decoder.ts.
const CD_STATE = 0;
const CD_TRAILER_BYTES = 16;
const CD_CONSUMED = 24;
const CD_SPAN_COUNT = 28;
const CD_DONE = 32;
const CD_STATUS = 36;
const CD_ERROR_OFFSET = 40;
const CD_SPANS = 48;
const CD_MAX_SPANS = 64;
const CD_SIZE = CD_SPANS + CD_MAX_SPANS * 8;

// Mirrors assembly/codec/head-writer.ts (args struct) and edit-list.ts.
const WA_METHOD_PTR = 0;
const WA_METHOD_LEN = 4;
const WA_PATH_PTR = 8;
const WA_PATH_LEN = 12;
const WA_AUTHORITY_PTR = 16;
const WA_AUTHORITY_LEN = 20;
const WA_FRAMING = 24;
const WA_FILTER_FLAGS = 28;
const WA_CONTENT_LENGTH = 32;
const WA_EDIT_COUNT = 40;
const WA_EDITS = 44;
export const MAX_EDIT_LISTS = 8;
const WA_SIZE = WA_EDITS + MAX_EDIT_LISTS * 4;
const EL_ENTRIES = 4;
const EL_ENTRY = 20;
const EDIT_REMOVE = 0;
const EDIT_SET = 1;
const EDIT_ADD = 2;
const RF_PAIR = 16;
const FILTER_KEEP_CONTENT_LENGTH = 1;

/** The framing header the request head writer adds (assembly/codec/head-writer.ts). */
export const WRITE_FRAMING_NONE = 0;
export const WRITE_FRAMING_LENGTH = 1;
export const WRITE_FRAMING_CHUNKED = 2;

const STATUS_OUTPUT_TOO_SMALL = 33;

const REGION_STEP = 4096;

interface CodecExports {
  alloc(size: number): number;
  free(ptr: number): void;
  codec_layout(which: number): number;
  parse_request_head(ptr: number, len: number, out: number): number;
  parse_response_head(ptr: number, len: number, requestWasHead: number, out: number): number;
  chunked_init(state: number): void;
  chunked_decode(state: number, ptr: number, len: number): number;
  write_request_head(view: number, args: number, out: number, cap: number): number;
  filter_response_head(parsed: number, args: number, out: number, capPairs: number): number;
}

const LAYOUT: readonly number[] = [
  PH_SIZE, PH_HEADERS, MAX_HEADERS, MAX_HEAD_BYTES, CD_SIZE, CD_SPANS, CD_MAX_SPANS,
  WA_SIZE, WA_EDITS, MAX_EDIT_LISTS, EL_ENTRY, RF_PAIR,
];

const checked = new WeakSet<Core>();

/** The codec's exports, after checking once per core that layouts and statuses agree. */
function codecExports(core: Core): CodecExports {
  const e = core.exports as unknown as CodecExports;
  if (!checked.has(core)) {
    if (typeof e.codec_layout !== 'function') throw new Error('wasmesh: core.wasm lacks the codec exports; rebuild it (npm run build:wasm)');
    LAYOUT.forEach((value, which) => {
      const core_ = e.codec_layout(which);
      if (core_ !== value) {
        throw new Error(`wasmesh: host/core/codec.ts and assembly/codec/ disagree on layout constant ${which} (host ${value}, core ${core_})`);
      }
    });
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

/**
 * Decodes one chunked body (per stream; reset() for the next). push() copies a socket read
 * into Wasm memory once and decodes it; payload spans are offsets into that same buffer,
 * so the caller forwards `buf.subarray(spanStart(i), spanEnd(i))` without copying. When a
 * call stops early (span table full) `pending` is true: call more() for the rest.
 */
export class ChunkedDecoder {
  readonly #core: Core;
  readonly #e: CodecExports;
  readonly #input: InputRegion;
  readonly #state: number;
  #offset = 0; // bytes of the current buffer consumed so far
  #callStart = 0; // where the last decode call started in the current buffer
  #status = STATUS_OK;

  constructor(core: Core) {
    this.#core = core;
    this.#e = codecExports(core);
    this.#state = this.#e.alloc(CD_SIZE);
    this.#e.chunked_init(this.#state);
    this.#input = new InputRegion(core, this.#e);
  }

  /** Starts a new body. */
  reset(): void {
    this.#e.chunked_init(this.#state);
    this.#input.length = 0;
    this.#offset = 0;
    this.#callStart = 0;
    this.#status = STATUS_OK;
  }

  /** Decodes the start of `buf` (the next bytes of the body); returns the status number. */
  push(buf: Uint8Array): number {
    this.#input.set(buf);
    this.#offset = 0;
    return this.#run();
  }

  /** Continues decoding the rest of the last pushed buffer. */
  more(): number {
    return this.#run();
  }

  #run(): number {
    this.#callStart = this.#offset;
    this.#status = this.#e.chunked_decode(this.#state, this.#input.ptr + this.#offset, this.#input.length - this.#offset);
    this.#offset += this.#u32(CD_CONSUMED);
    return this.#status;
  }

  #u32(offset: number): number {
    return this.#core.u32[(this.#state + offset) >>> 2];
  }

  /** The last call's status (errors are sticky until reset()). */
  get status(): number {
    return this.#status;
  }
  /** Bytes of the last pushed buffer consumed so far (the rest follows the body when done). */
  get consumed(): number {
    return this.#offset;
  }
  /** More of the last buffer remains to decode: call more(). */
  get pending(): boolean {
    return this.#status === STATUS_OK && !this.done && this.#offset < this.#input.length;
  }
  /** The last chunk, trailers and final CRLF have all arrived. */
  get done(): boolean {
    return this.#u32(CD_DONE) !== 0;
  }
  /** Offset in the last pushed buffer of the byte that decided the error. */
  get errorOffset(): number {
    return this.#callStart + this.#u32(CD_ERROR_OFFSET);
  }
  /** Bytes of trailer field lines so far. */
  get trailerBytes(): number {
    return this.#u32(CD_TRAILER_BYTES);
  }
  /** Payload spans the last call reported. */
  get spanCount(): number {
    return this.#u32(CD_SPAN_COUNT);
  }
  /** Span i's start, as an offset into the last pushed buffer. */
  spanStart(i: number): number {
    return this.#u32(CD_SPANS + i * 8) - this.#input.ptr;
  }
  spanEnd(i: number): number {
    return this.spanStart(i) + this.#u32(CD_SPANS + i * 8 + 4);
  }

  /** Whether the decoder sits in its error state (for diagnostics). */
  get failed(): boolean {
    return this.#u32(CD_STATE) === 14;
  }

  dispose(): void {
    this.#input.free();
    this.#e.free(this.#state);
  }
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of a configured header name or value (ASCII in practice). */
function headerBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * A compiled header edit list (a route's HeaderOps) in Wasm memory, encoded once at config
 * compile time. Order follows Envoy: removes first, then sets, then adds; names are
 * lower-cased (header names are case-insensitive).
 */
export class EditList {
  readonly ptr: number;
  readonly #e: CodecExports;
  readonly count: number;

  constructor(core: Core, ops: HeaderOps) {
    this.#e = codecExports(core);
    const entries: Array<[number, Uint8Array, Uint8Array]> = [];
    for (const name of ops.remove) entries.push([EDIT_REMOVE, headerBytes(name.toLowerCase()), new Uint8Array(0)]);
    for (const [name, value] of ops.set) entries.push([EDIT_SET, headerBytes(name.toLowerCase()), headerBytes(value)]);
    for (const [name, value] of ops.add) entries.push([EDIT_ADD, headerBytes(name.toLowerCase()), headerBytes(value)]);
    let bytes = 0;
    for (const [, n, v] of entries) bytes += n.length + v.length;
    const table = EL_ENTRIES + entries.length * EL_ENTRY;
    this.ptr = this.#e.alloc(table + bytes);
    this.count = entries.length;
    const u8 = core.u8;
    const dv = core.view;
    dv.setUint32(this.ptr, entries.length, true);
    let cursor = this.ptr + table;
    entries.forEach(([op, name, value], k) => {
      const at = this.ptr + EL_ENTRIES + k * EL_ENTRY;
      dv.setUint32(at, op, true);
      dv.setUint32(at + 4, cursor, true);
      dv.setUint32(at + 8, name.length, true);
      u8.set(name, cursor);
      cursor += name.length;
      dv.setUint32(at + 12, cursor, true);
      dv.setUint32(at + 16, value.length, true);
      u8.set(value, cursor);
      cursor += value.length;
    });
  }

  /** Releases the list (after the config version that uses it is retired). */
  dispose(): void {
    this.#e.free(this.ptr);
  }
}

/** Compiles a HeaderOps into an edit list handle (see EditList). */
export function encodeEdits(core: Core, ops: HeaderOps): EditList {
  return new EditList(core, ops);
}

/** Method, path and authority that replace the request view's (rewrites). */
export interface HeadOverrides {
  method?: string;
  path?: string;
  authority?: string;
}

/** Writes the edit list handles of one call into the args struct. */
function putEditLists(dv: DataView, args: number, edits: readonly EditList[]): void {
  if (edits.length > MAX_EDIT_LISTS) throw new RangeError(`wasmesh: at most ${MAX_EDIT_LISTS} edit lists per head, got ${edits.length}`);
  dv.setUint32(args + WA_EDIT_COUNT, edits.length, true);
  for (let i = 0; i < edits.length; i++) dv.setUint32(args + WA_EDITS + i * 4, edits[i].ptr, true);
}

/**
 * Writes upstream request heads from the request view (assembly/codec/head-writer.ts):
 * hop-by-hop fields dropped, edits applied, host first, the framing header last.
 */
export class RequestHeadWriter {
  readonly #core: Core;
  readonly #e: CodecExports;
  readonly #args: number;
  readonly #out: InputRegion;
  readonly #overrides: InputRegion;

  constructor(core: Core) {
    this.#core = core;
    this.#e = codecExports(core);
    this.#args = this.#e.alloc(WA_SIZE);
    this.#out = new InputRegion(core, this.#e);
    this.#out.reserve(REGION_STEP);
    this.#overrides = new InputRegion(core, this.#e);
  }

  /**
   * The head bytes, copied out of Wasm memory (safe to hand to socket.write).
   * `framing`: WRITE_FRAMING_NONE | _LENGTH (with `contentLength`) | _CHUNKED.
   */
  write(view: RequestView, edits: readonly EditList[], framing: number, contentLength = 0, overrides?: HeadOverrides): Uint8Array {
    const n = this.#writeInPlace(view, edits, framing, contentLength, overrides);
    return this.#core.u8.slice(this.#out.ptr, this.#out.ptr + n);
  }

  #writeInPlace(view: RequestView, edits: readonly EditList[], framing: number, contentLength: number, overrides?: HeadOverrides): number {
    const args = this.#args;
    let dv = this.#core.view;
    for (let i = 0; i < WA_EDITS; i += 4) dv.setUint32(args + i, 0, true);
    if (overrides && (overrides.method !== undefined || overrides.path !== undefined || overrides.authority !== undefined)) {
      const m = overrides.method === undefined ? undefined : encoder.encode(overrides.method);
      const p = overrides.path === undefined ? undefined : encoder.encode(overrides.path);
      const a = overrides.authority === undefined ? undefined : encoder.encode(overrides.authority);
      this.#overrides.length = 0;
      this.#overrides.reserve((m?.length ?? 0) + (p?.length ?? 0) + (a?.length ?? 0) + 1);
      dv = this.#core.view;
      const put = (bytes: Uint8Array | undefined, ptrOffset: number) => {
        if (!bytes) return;
        const at = this.#overrides.ptr + this.#overrides.length;
        this.#core.u8.set(bytes, at);
        dv.setUint32(args + ptrOffset, at, true);
        dv.setUint32(args + ptrOffset + 4, bytes.length, true);
        this.#overrides.length += bytes.length;
      };
      put(m, WA_METHOD_PTR);
      put(p, WA_PATH_PTR);
      put(a, WA_AUTHORITY_PTR);
    }
    dv.setUint32(args + WA_FRAMING, framing, true);
    dv.setFloat64(args + WA_CONTENT_LENGTH, contentLength, true);
    putEditLists(dv, args, edits);
    for (;;) {
      const r = this.#e.write_request_head(view.base, args, this.#out.ptr, this.#out.capacity);
      if (r >= 0) return r;
      if (-r !== STATUS_OUTPUT_TOO_SMALL) throw new Error(`wasmesh: write_request_head failed: ${statusEntry(-r).code}`);
      this.#out.reserve(this.#out.capacity * 2);
    }
  }

  /** Writes into a caller-sized output (for tests of the too-small path): bytes or -status. */
  writeRaw(view: RequestView, edits: readonly EditList[], framing: number, contentLength: number, capacity: number): number {
    const dv = this.#core.view;
    for (let i = 0; i < WA_EDITS; i += 4) dv.setUint32(this.#args + i, 0, true);
    dv.setUint32(this.#args + WA_FRAMING, framing, true);
    dv.setFloat64(this.#args + WA_CONTENT_LENGTH, contentLength, true);
    putEditLists(dv, this.#args, edits);
    this.#out.reserve(capacity);
    return this.#e.write_request_head(view.base, this.#args, this.#out.ptr, capacity);
  }

  dispose(): void {
    this.#out.free();
    this.#overrides.free();
    this.#e.free(this.#args);
  }
}

/**
 * Lists the response fields to send downstream (assembly/codec/response-filter.ts): after
 * filter(), name(i)/value(i) are views into Wasm memory that uWebSockets.js `writeHeader`
 * copies at once; they are valid until the next parse or filter call.
 */
export class ResponseHeadFilter {
  readonly #core: Core;
  readonly #e: CodecExports;
  readonly #args: number;
  #pairs = 0;
  #capPairs = 0;
  #count = 0;

  constructor(core: Core) {
    this.#core = core;
    this.#e = codecExports(core);
    this.#args = this.#e.alloc(WA_SIZE);
    this.#grow(MAX_HEADERS + 16);
  }

  #grow(capPairs: number): void {
    if (this.#pairs !== 0) this.#e.free(this.#pairs);
    this.#pairs = this.#e.alloc(capPairs * RF_PAIR);
    this.#capPairs = capPairs;
  }

  /**
   * Filters the head `parser` last parsed (status ok) with `edits`; returns the pair count.
   * keepContentLength: keep Content-Length (responses to HEAD, 304), otherwise dropped
   * because uWebSockets.js frames the body itself.
   */
  filter(parser: HeadParser, edits: readonly EditList[], keepContentLength = false): number {
    const dv = this.#core.view;
    dv.setUint32(this.#args + WA_FILTER_FLAGS, keepContentLength ? FILTER_KEEP_CONTENT_LENGTH : 0, true);
    putEditLists(dv, this.#args, edits);
    for (;;) {
      const r = this.#e.filter_response_head(parser.structPtr, this.#args, this.#pairs, this.#capPairs);
      if (r >= 0) return (this.#count = r);
      if (-r !== STATUS_OUTPUT_TOO_SMALL) throw new Error(`wasmesh: filter_response_head failed: ${statusEntry(-r).code}`);
      this.#grow(this.#capPairs * 2);
    }
  }

  get count(): number {
    return this.#count;
  }

  #span(i: number, field: number): Uint8Array {
    const u32 = this.#core.u32;
    const at = (this.#pairs + i * RF_PAIR + field) >>> 2;
    return this.#core.u8.subarray(u32[at], u32[at] + u32[at + 1]);
  }

  /** Pair i's name bytes (a view into Wasm memory). */
  name(i: number): Uint8Array {
    return this.#span(i, 0);
  }

  /** Pair i's value bytes (a view into Wasm memory). */
  value(i: number): Uint8Array {
    return this.#span(i, 8);
  }

  /** The "200 OK" bytes of the parsed status-line, for uWS writeStatus (a view). */
  statusText(parser: HeadParser): Uint8Array {
    return parser.inputView(parser.statusTextStart, parser.statusTextEnd);
  }

  dispose(): void {
    this.#e.free(this.#pairs);
    this.#e.free(this.#args);
  }
}
