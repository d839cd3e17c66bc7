// HPACK (RFC 7541) in the core (assembly/h2/hpack-*.ts): a decoder and an encoder, each owning
// one dynamic table in linear memory (made on first use); the header list structs and byte
// regions they use within a call are the core's, shared (hpack-scratch.ts). The decoded list is
// read as spans (absolute addresses into the block, the static table or the byte area), so
// decoding allocates nothing until the caller asks for strings.
import type { Core } from '../wasm.js';
import type { InputRegion } from '../codec/input-region.js';
import {
  h2Exports, type H2Exports, HL_COUNT, HL_ERROR_OFFSET, HL_BYTES_PTR, HL_BYTES_CAP, HL_MAX_LIST_SIZE,
  HL_MAX_COUNT, HL_LIST_SIZE, HL_FIELDS, HL_FIELD, MAX_FIELDS, FIELD_NEVER_INDEXED, HT_COUNT, HT_SIZE_USED, HT_LIMIT,
  DEFAULT_TABLE_SIZE, DEFAULT_MAX_HEADER_BLOCK, ENCODE_INDEXING, ENCODE_HUFFMAN_SHORTER, ENCODE_HUFFMAN_ALWAYS,
} from './h2-layout.js';
import { H2_OK, H2_STATUS_TABLE } from './h2-status.js';
import { fieldString } from '../../common/field-strings.js';
import { TrailerBlock } from '../../common/trailer-block.js';
import { copyBytes } from './copy-bytes.js';
import { hpackScratch, type HpackScratch } from './hpack-scratch.js';

/** Default SETTINGS_MAX_HEADER_LIST_SIZE: Envoy's max_request_headers_kb (60 KiB). */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 60 * 1024;
/** Default field count limit: Envoy's max_headers_count. */
export const DEFAULT_MAX_HEADERS = 100;

const OUTPUT_TOO_SMALL = H2_STATUS_TABLE.findIndex((e) => e.code === 'output_too_small');

export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE this endpoint announced: the bound for size updates (default 4096). */
  tableSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (Σ name + value + 32), default 60 KiB. */
  maxListSize?: number;
  /** Field count limit (≤ 256), default 100. */
  maxHeaders?: number;
  /** Largest header block the caller passes (the frame scanner's limit), default 64 KiB. */
  maxHeaderBlock?: number;
}

/** A header field as the tests and the prototype use it: [name, value] or [name, value, neverIndexed]. */
export type HeaderField = readonly [string, string] | readonly [string, string, boolean];

/** One direction's HPACK decoder (one per connection): its dynamic table; the list and byte area are the core's (hpack-scratch.ts). */
export class HpackDecoder {
  readonly #core: Core;
  readonly #e: H2Exports;
  readonly #s: HpackScratch;
  /** The dynamic table, made on the first decode (an idle connection holds none). */
  #table = 0;
  readonly #tableSize: number;
  readonly #cap: number;
  readonly #maxListSize: number;
  readonly #maxHeaders: number;

  constructor(core: Core, options: HpackDecoderOptions = {}) {
    this.#core = core;
    this.#e = h2Exports(core);
    const maxListSize = options.maxListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
    if (maxHeaders < 1 || maxHeaders > MAX_FIELDS) throw new RangeError(`hpack: maxHeaders must be 1..${MAX_FIELDS}, got ${maxHeaders}`);
    const block = options.maxHeaderBlock ?? DEFAULT_MAX_HEADER_BLOCK;
    this.#tableSize = options.tableSize ?? DEFAULT_TABLE_SIZE;
    // The byte area holds Huffman-decoded strings and copies of dynamic entries: at most the
    // kept list's bytes, plus one field decoded past a limit (Huffman expands ≤ 8/5, and an
    // indexed entry is at most the table size). One area per core, as large as the largest
    // decoder on it needs.
    this.#cap = maxListSize + 2 * block + this.#tableSize;
    this.#maxListSize = maxListSize;
    this.#maxHeaders = maxHeaders;
    this.#s = hpackScratch(core);
    this.#s.reserveBytes(this.#cap);
  }

  /**
   * Counts what may move the bytes the list points at: a decode (by any decoder on the core:
   * they share the list), the owner's read into the region a block was decoded in place from
   * (invalidateSpans), disposal. A reader that keeps the list's spans past its own turn (the
   * request view's direct fill, listener/http2-core/core-http2-downstream.ts) checks that it
   * has not changed.
   */
  get generation(): number {
    return this.#s.generation;
  }

  /** The bytes a block was decoded from in place are about to change (the next socket read). */
  invalidateSpans(): void {
    this.#s.generation++;
  }

  /** The table (made on first use), with the shared list set to this decoder's limits. */
  #prepare(): number {
    const s = this.#s;
    s.generation++;
    if (this.#table === 0) this.#table = this.#e.hpack_table_new(this.#tableSize);
    const u32 = this.#core.u32;
    const l = s.decodeList >>> 2;
    u32[l + HL_BYTES_PTR / 4] = s.bytes;
    u32[l + HL_BYTES_CAP / 4] = this.#cap;
    u32[l + HL_MAX_LIST_SIZE / 4] = this.#maxListSize;
    u32[l + HL_MAX_COUNT / 4] = this.#maxHeaders;
    return this.#table;
  }

  /** Decodes a whole header block (copied into Wasm memory first); returns the status. */
  decode(block: Uint8Array): number {
    const t = this.#prepare();
    const input = this.#s.decodeInput;
    input.set(block);
    return this.#e.hpack_decode(t, input.ptr, block.length, this.#s.decodeList);
  }

  /** Decodes a header block already in Wasm memory (a frame payload); keep it until the list is read. */
  decodeAt(ptr: number, len: number): number {
    const t = this.#prepare();
    return this.#e.hpack_decode(t, ptr, len, this.#s.decodeList);
  }

  #u32(offset: number): number {
    return this.#core.u32[(this.#s.decodeList + offset) >>> 2];
  }

  /** The header list struct in Wasm memory (what the last decode on the core filled). */
  get listPtr(): number { return this.#s.decodeList; }

  get count(): number { return this.#u32(HL_COUNT); }
  /** Offset in the block of the representation that failed. */
  get errorOffset(): number { return this.#u32(HL_ERROR_OFFSET); }
  /** The header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (all fields, kept or not). */
  get listSize(): number { return this.#u32(HL_LIST_SIZE); }

  /** One Buffer over the whole of Wasm memory (remade when memory grows): a string per field, no Buffer object. */
  #mem: Buffer | null = null;

  #string(ptr: number, len: number): string {
    const u8 = this.#core.u8;
    let mem = this.#mem;
    if (mem === null || mem.buffer !== u8.buffer) this.#mem = mem = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    return fieldString(u8, mem, ptr, len);
  }

  /** Where field `i`'s entry lies (its four spans as u32s: name ptr, name len, value ptr, value len). */
  fieldEntry(i: number): number {
    return this.#s.decodeList + HL_FIELDS + i * HL_FIELD;
  }

  name(i: number): string {
    const f = this.#s.decodeList + HL_FIELDS + i * HL_FIELD;
    return this.#string(this.#core.u32[f >>> 2], this.#core.u32[(f >>> 2) + 1]);
  }

  value(i: number): string {
    const f = this.#s.decodeList + HL_FIELDS + i * HL_FIELD;
    return this.#string(this.#core.u32[(f >>> 2) + 2], this.#core.u32[(f >>> 2) + 3]);
  }

  neverIndexed(i: number): boolean {
    return (this.#core.u32[((this.#s.decodeList + HL_FIELDS + i * HL_FIELD) >>> 2) + 4] & FIELD_NEVER_INDEXED) !== 0;
  }

  /**
   * The decoded list as trailers in bytes (common/trailer-block.ts): every name and value copied
   * once into one buffer, no string made; null when a field is a pseudo-header (trailers carry
   * none, RFC 9113 §8.1).
   */
  trailerBlock(): TrailerBlock | null {
    const n = this.count;
    const u32 = this.#core.u32;
    const u8 = this.#core.u8;
    const first = (this.#s.decodeList + HL_FIELDS) >>> 2;
    const step = HL_FIELD >>> 2;
    let total = 0;
    for (let i = 0, f = first; i < n; i++, f += step) {
      if (u32[f + 1]! > 0 && u8[u32[f]!] === 58) return null;
      total += u32[f + 1]! + u32[f + 3]!;
    }
    // A plain Uint8Array: a small one lies on the JS heap (a Buffer is a pool slice, a larger object).
    const bytes = new Uint8Array(total);
    const ends = new Array<number>(2 * n);
    let at = 0;
    for (let i = 0, f = first; i < n; i++, f += step) {
      const np = u32[f]!;
      const vp = u32[f + 2]!;
      copyBytes(bytes, at, u8, np, np + u32[f + 1]!);
      ends[2 * i] = at += u32[f + 1]!;
      copyBytes(bytes, at, u8, vp, vp + u32[f + 3]!);
      ends[2 * i + 1] = at += u32[f + 3]!;
    }
    return new TrailerBlock(bytes, ends);
  }

  /** The decoded fields as [name, value] pairs (latin1). */
  headers(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0, n = this.count; i < n; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }

  /** The dynamic table's entry count, size in use and current limit (for tests and stats). */
  get table(): { count: number; size: number; limit: number } {
    if (this.#table === 0) return { count: 0, size: 0, limit: this.#tableSize };
    return {
      count: this.#e.hpack_table_field(this.#table, HT_COUNT),
      size: this.#e.hpack_table_field(this.#table, HT_SIZE_USED),
      limit: this.#e.hpack_table_field(this.#table, HT_LIMIT),
    };
  }

  dispose(): void {
    this.#s.generation++;
    if (this.#table !== 0) this.#e.hpack_table_free(this.#table);
    this.#table = 0;
  }
}

export interface HpackEncoderOptions {
  /** The dynamic table's capacity (the peer's SETTINGS_HEADER_TABLE_SIZE), default 4096. */
  tableSize?: number;
  /** Literals with incremental indexing (default true); false: without indexing, no table use. */
  indexing?: boolean;
  /** Huffman coding: 'shorter' (default), 'always' or 'never'. */
  huffman?: 'shorter' | 'always' | 'never';
}

/** The byte region a block given field by field starts with (grown as needed). */
const REGION_START = 4096;

/** Why encodeRequestHead refused a head (assembly/h2/request-head-list.ts RequestListError). */
export type RequestHeadError = 'not_a_request_line' | 'not_a_header_field' | 'too_many_fields' | 'not_a_request_head';
const REQUEST_HEAD_ERRORS: readonly (RequestHeadError | undefined)[] = [undefined, 'not_a_request_line', 'not_a_header_field', 'too_many_fields'];

/**
 * One direction's HPACK encoder (one per connection): its dynamic table; the list, string and
 * output regions are the core's (hpack-scratch.ts), used within one call.
 */
export class HpackEncoder {
  readonly #core: Core;
  readonly #e: H2Exports;
  /** The dynamic table, made on first use (an idle connection holds none). */
  #tableAt = 0;
  readonly #tableSize: number;
  readonly #list: number;
  readonly #flags: number;
  readonly #strings: InputRegion;
  readonly #out: InputRegion;
  /** The block begun by beginBlock: per field its offset in #strings, name length, value length. */
  readonly #spans: Uint32Array;
  #blockFields = 0;
  /** The core's memory as a Buffer (latin1 writes of field strings), while it has not grown. */
  #mem: Buffer | null = null;

  constructor(core: Core, options: HpackEncoderOptions = {}) {
    this.#core = core;
    this.#e = h2Exports(core);
    this.#tableSize = options.tableSize ?? DEFAULT_TABLE_SIZE;
    const huffman = options.huffman ?? 'shorter';
    this.#flags = (options.indexing === false ? 0 : ENCODE_INDEXING)
      | (huffman === 'always' ? ENCODE_HUFFMAN_ALWAYS : huffman === 'shorter' ? ENCODE_HUFFMAN_SHORTER : 0);
    const s = hpackScratch(core);
    this.#list = s.encodeList;
    this.#strings = s.strings;
    this.#out = s.out;
    this.#spans = s.spans;
  }

  get #table(): number {
    if (this.#tableAt === 0) this.#tableAt = this.#e.hpack_table_new(this.#tableSize);
    return this.#tableAt;
  }

  /** Lowers (or restores) the table's maximum size; the next block starts with the update. */
  setTableLimit(limit: number): void {
    const st = this.#e.hpack_encoder_set_limit(this.#table, limit);
    if (st !== H2_OK) throw new RangeError(`hpack: table limit ${limit} is above the table's capacity`);
  }

  /** Encodes the fields into a header block (a copy the caller owns). */
  encode(fields: readonly HeaderField[]): Buffer {
    return this.#copy(this.encodeInPlace(fields));
  }

  /**
   * The *InPlace forms leave the block in the encoder's output region and return its length:
   * `memory[blockStart, blockStart + length)`, valid until the encoder is used again (a
   * connection copies it straight into its frame batch: no Buffer per block).
   */
  get blockStart(): number {
    return this.#out.ptr;
  }

  /** The memory the in-place block lies in (the core's; read it after the encode: it may have grown). */
  get memory(): Uint8Array {
    return this.#core.u8;
  }

  /** encode(), the block left in place (its length returned). */
  encodeInPlace(fields: readonly HeaderField[]): number {
    if (fields.length > MAX_FIELDS) throw new RangeError(`hpack: at most ${MAX_FIELDS} fields per block, got ${fields.length}`);
    let total = 0;
    for (const f of fields) total += f[0].length + f[1].length;
    const strings = this.#strings;
    strings.reserve(total);
    // Worst case: Huffman never grows a string past 30/8 of it, plus integer prefixes.
    this.#out.reserve(total * 4 + fields.length * 12 + 16);
    const u8 = this.#core.u8;
    // A Buffer over the core's memory for latin1 writes, made again only after memory grew.
    let buf = this.#mem;
    if (buf === null || buf.buffer !== u8.buffer) this.#mem = buf = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
    const u32 = this.#core.u32;
    let at = strings.ptr;
    let f32 = (this.#list + HL_FIELDS) >>> 2;
    for (const f of fields) {
      const n = buf.write(f[0], at, 'latin1');
      const v = buf.write(f[1], at + n, 'latin1');
      u32[f32] = at;
      u32[f32 + 1] = n;
      u32[f32 + 2] = at + n;
      u32[f32 + 3] = v;
      u32[f32 + 4] = f[2] === true ? FIELD_NEVER_INDEXED : 0;
      at += n + v;
      f32 += HL_FIELD / 4;
    }
    u32[(this.#list + HL_COUNT) >>> 2] = fields.length;
    return this.#encodeList(total * 4 + fields.length * 12 + 16);
  }

  /**
   * Encodes an HTTP/1.1 request head (the core's head writer's bytes, request line to blank
   * line) as an HTTP/2 request's header block, read into the list by the core
   * (assembly/h2/request-head-list.ts: :method, :scheme, :authority from Host, :path, names
   * lower-cased, the connection-specific fields dropped), with no JS string per field. Returns
   * the block (a copy the caller owns), or why the head is not a request head.
   */
  encodeRequestHead(head: Uint8Array, scheme: 'http' | 'https'): Buffer | RequestHeadError {
    const n = this.encodeRequestHeadInPlace(head, scheme);
    return typeof n === 'string' ? n : this.#copy(n);
  }

  /** encodeRequestHead(), the block left in place (its length returned). */
  encodeRequestHeadInPlace(head: Uint8Array, scheme: 'http' | 'https'): number | RequestHeadError {
    const strings = this.#strings;
    strings.reserve(head.length + scheme.length);
    const u8 = this.#core.u8;
    const at = strings.ptr;
    u8.set(head, at);
    const s = at + head.length;
    for (let i = 0; i < scheme.length; i++) u8[s + i] = scheme.charCodeAt(i);
    const n = this.#e.h2_request_list(at, head.length, s, scheme.length, this.#list);
    if (n < 0) return REQUEST_HEAD_ERRORS[-n] ?? 'not_a_request_head';
    return this.#encodeList(head.length * 4 + n * 12 + 64);
  }

  /**
   * Starts a header block given field by field (addField, then endBlock): the names and values
   * are copied into the encoder's region as bytes, so a caller holding views into Wasm memory
   * (the core's response filter output) or strings makes no JS string per field.
   */
  beginBlock(): void {
    this.#strings.length = 0;
    this.#strings.reserve(REGION_START);
    this.#blockFields = 0;
  }

  /**
   * Adds a field to the block begun: the name lower-cased (HTTP/2 field names are, RFC 9113
   * §8.2.1), latin1 for strings. A view into Wasm memory stays valid across the region's growth
   * (it is read by address). False when the block already holds MAX_FIELDS fields.
   */
  addField(name: string | Uint8Array, value: string | Uint8Array): boolean {
    if (this.#blockFields === MAX_FIELDS) return false;
    const strings = this.#strings;
    const start = strings.length;
    this.#put(name);
    const u8 = this.#core.u8;
    const nameEnd = strings.length;
    for (let i = strings.ptr + start, e = strings.ptr + nameEnd; i < e; i++) {
      const c = u8[i]!;
      if (c >= 0x41 && c <= 0x5a) u8[i] = c | 0x20;
    }
    this.#put(value);
    const spans = this.#spans;
    const k = this.#blockFields * 3;
    spans[k] = start;
    spans[k + 1] = nameEnd - start;
    spans[k + 2] = strings.length - nameEnd;
    this.#blockFields++;
    return true;
  }

  /**
   * addField for a field whose name and value are spans of `mem` (the core's response filter
   * output, read in place: no view made per field). `mem` is the core's memory (its spans are
   * addresses, valid across the region's growth) or any other bytes (copied from).
   */
  addFieldSpan(mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): boolean {
    if (this.#blockFields === MAX_FIELDS) return false;
    const strings = this.#strings;
    const start = strings.length;
    // Decided once: the first copy may grow memory, detaching `mem` when it is the core's.
    const inWasm = mem.buffer === this.#core.u8.buffer;
    this.#putSpan(mem, inWasm, nameStart, nameEnd);
    const u8 = this.#core.u8;
    const nameEnd2 = strings.length;
    for (let i = strings.ptr + start, e = strings.ptr + nameEnd2; i < e; i++) {
      const c = u8[i]!;
      if (c >= 0x41 && c <= 0x5a) u8[i] = c | 0x20;
    }
    this.#putSpan(mem, inWasm, valueStart, valueEnd);
    const spans = this.#spans;
    const k = this.#blockFields * 3;
    spans[k] = start;
    spans[k + 1] = nameEnd2 - start;
    spans[k + 2] = strings.length - nameEnd2;
    this.#blockFields++;
    return true;
  }

  /** `inWasm`: `mem` is (or was, before a growth) the core's memory, read by address. */
  #putSpan(mem: Uint8Array, inWasm: boolean, from: number, to: number): void {
    const strings = this.#strings;
    const addr = from; // the core's memory view starts at address 0
    const n = to - from;
    strings.reserve(strings.length + n);
    const u8 = this.#core.u8; // after reserve: memory may have grown (and `mem` with it detached)
    if (inWasm) u8.copyWithin(strings.ptr + strings.length, addr, addr + n);
    else copyBytes(u8, strings.ptr + strings.length, mem, from, to); // (no view made for a short span)
    strings.length += n;
  }

  #put(x: string | Uint8Array): void {
    const strings = this.#strings;
    if (typeof x === 'string') {
      strings.reserve(strings.length + x.length);
      const u8 = this.#core.u8;
      const at = strings.ptr + strings.length;
      for (let i = 0; i < x.length; i++) u8[at + i] = x.charCodeAt(i);
      strings.length += x.length;
      return;
    }
    const inWasm = x.buffer === this.#core.u8.buffer;
    const addr = x.byteOffset;
    const n = x.byteLength;
    strings.reserve(strings.length + n);
    const u8 = this.#core.u8; // after reserve: memory may have grown (and `x` with it detached)
    if (inWasm) u8.copyWithin(strings.ptr + strings.length, addr, addr + n);
    else u8.set(x, strings.ptr + strings.length);
    strings.length += n;
  }

  /**
   * Trailers given as bytes (common/trailer-block.ts), encoded field by field from their spans
   * (names lower-cased, no string made); the block left in place, its length returned.
   */
  encodeTrailersInPlace(t: TrailerBlock): number {
    if (t.count > MAX_FIELDS) throw new RangeError(`hpack: at most ${MAX_FIELDS} fields per block, got ${t.count}`);
    this.beginBlock();
    for (let i = 0, n = t.count; i < n; i++) this.addFieldSpan(t.bytes, t.nameStart(i), t.nameEnd(i), t.nameEnd(i), t.valueEnd(i));
    return this.endBlockInPlace();
  }

  /** The block begun, encoded (a copy the caller owns). */
  endBlock(): Buffer {
    return this.#copy(this.endBlockInPlace());
  }

  /** endBlock(), the block left in place (its length returned). */
  endBlockInPlace(): number {
    const n = this.#blockFields;
    const strings = this.#strings;
    const total = strings.length;
    this.#out.reserve(total * 4 + n * 12 + 16);
    const u32 = this.#core.u32;
    const spans = this.#spans;
    let f32 = (this.#list + HL_FIELDS) >>> 2;
    for (let i = 0; i < n; i++) {
      const at = strings.ptr + spans[i * 3]!;
      const nameLen = spans[i * 3 + 1]!;
      u32[f32] = at;
      u32[f32 + 1] = nameLen;
      u32[f32 + 2] = at + nameLen;
      u32[f32 + 3] = spans[i * 3 + 2]!;
      u32[f32 + 4] = 0;
      f32 += HL_FIELD / 4;
    }
    u32[(this.#list + HL_COUNT) >>> 2] = n;
    this.#blockFields = 0;
    strings.length = 0;
    return this.#encodeList(total * 4 + n * 12 + 16);
  }

  /** The header list's fields encoded in place (room for `bound` bytes reserved first): the block's length. */
  #encodeList(bound: number): number {
    this.#out.reserve(bound);
    const len = this.#e.hpack_encode(this.#table, this.#list, this.#out.ptr, this.#out.capacity, this.#flags);
    if (len < 0) {
      // Cannot happen with the reservation above; the table may have changed, so no retry.
      throw new Error(`hpack: encoder status ${-len} (${H2_STATUS_TABLE[-len]?.code ?? 'unknown'}); expected ${OUTPUT_TOO_SMALL} never`);
    }
    return len;
  }

  #copy(len: number): Buffer {
    return Buffer.from(this.#core.u8.subarray(this.#out.ptr, this.#out.ptr + len));
  }

  get table(): { count: number; size: number; limit: number } {
    if (this.#tableAt === 0) return { count: 0, size: 0, limit: this.#tableSize };
    return {
      count: this.#e.hpack_table_field(this.#table, HT_COUNT),
      size: this.#e.hpack_table_field(this.#table, HT_SIZE_USED),
      limit: this.#e.hpack_table_field(this.#table, HT_LIMIT),
    };
  }

  dispose(): void {
    if (this.#tableAt !== 0) this.#e.hpack_table_free(this.#tableAt);
    this.#tableAt = 0;
  }
}
