// Writes one request's method, path, authority and headers into the core's request view
// (layout in assembly/abi.ts), so that matching and head writing read the bytes where they lie.
import type { Core } from './wasm.js';

// Mirrors assembly/abi.ts; checked against abi_layout() when the view is created.
export const RV_METHOD_PTR = 0;
export const RV_METHOD_LEN = 4;
export const RV_PATH_PTR = 8;
export const RV_PATH_LEN = 12;
export const RV_AUTHORITY_PTR = 16;
export const RV_AUTHORITY_LEN = 20;
export const RV_HEADER_COUNT = 24;
export const RV_BYTES_USED = 28;
export const RV_HEADERS = 32;
export const RV_HEADER_ENTRY = 16;
export const REQ_MAX_HEADERS = 128;
export const REQ_BYTES_CAPACITY = 96 * 1024;
export const RV_BYTES = RV_HEADERS + REQ_MAX_HEADERS * RV_HEADER_ENTRY;

const encoder = new TextEncoder();

/** Why a request did not fit the view; the listener answers 431 for either. */
export type RequestViewError = 'too_many_headers' | 'headers_too_large';

export class RequestView {
  readonly base: number;
  /**
   * Who filled the view last (a stream): one view serves every request of the thread in turn,
   * so a stream that paused refills it before reading it again (host/http/http-stream.ts).
   */
  owner: object | null = null;
  readonly #core: Core;
  #cursor = 0; // next free byte address in the byte area
  #end = 0;
  #count = 0;
  #u8: Uint8Array;
  #u32: Uint32Array;

  constructor(core: Core) {
    this.#core = core;
    const e = core.exports;
    if (e.abi_layout(1) !== RV_BYTES || e.abi_layout(2) !== REQ_MAX_HEADERS || e.abi_layout(3) !== REQ_BYTES_CAPACITY) {
      throw new Error('wasmesh: host/core/request-view.ts and assembly/abi.ts disagree on the request view layout');
    }
    this.base = e.req_view();
    this.#u8 = core.u8;
    this.#u32 = core.u32;
  }

  /** Starts a new request: method, request-target and authority. */
  begin(method: string, path: string, authority: string): RequestViewError | null {
    this.#cursor = this.base + RV_BYTES;
    this.#end = this.#cursor + REQ_BYTES_CAPACITY;
    this.#count = 0;
    // Nothing allocates in Wasm while a request is written, so the views are read once here.
    this.#u8 = this.#core.u8;
    this.#u32 = this.#core.u32;
    const u32 = this.#u32;
    const b = this.base >>> 2;
    if (!this.#put(method, b + (RV_METHOD_PTR >>> 2))) return 'headers_too_large';
    if (!this.#put(path, b + (RV_PATH_PTR >>> 2))) return 'headers_too_large';
    if (!this.#put(authority, b + (RV_AUTHORITY_PTR >>> 2))) return 'headers_too_large';
    u32[b + (RV_HEADER_COUNT >>> 2)] = 0;
    return null;
  }

  /** Appends one header; `name` must already be lower-case (uWS gives lower-case names). */
  header(name: string, value: string): RequestViewError | null {
    if (this.#count >= REQ_MAX_HEADERS) return 'too_many_headers';
    const slot = (this.base + RV_HEADERS + this.#count * RV_HEADER_ENTRY) >>> 2;
    if (!this.#put(name, slot) || !this.#put(value, slot + 2)) return 'headers_too_large';
    this.#count++;
    const u32 = this.#u32;
    const b = this.base >>> 2;
    u32[b + (RV_HEADER_COUNT >>> 2)] = this.#count;
    u32[b + (RV_BYTES_USED >>> 2)] = this.#cursor - (this.base + RV_BYTES);
    return null;
  }

  /**
   * Re-points header `index`'s value at `value` (written at the cursor): a filter's edit of a
   * filled view, instead of filling it again. False when it does not fit (the caller refills,
   * which reports the overflow as a fill would).
   */
  replaceValue(index: number, value: string): boolean {
    if (index < 0 || index >= this.#count) return false;
    // A filter may have called into the core since the view was filled (memory may have grown).
    this.#u8 = this.#core.u8;
    this.#u32 = this.#core.u32;
    const slot = (this.base + RV_HEADERS + index * RV_HEADER_ENTRY) >>> 2;
    if (!this.#put(value, slot + 2)) return false;
    this.#u32[(this.base >>> 2) + (RV_BYTES_USED >>> 2)] = this.#cursor - (this.base + RV_BYTES);
    return true;
  }

  /** Appends one header to a filled view (memory views refreshed first); false when it does not fit. */
  append(name: string, value: string): boolean {
    this.#u8 = this.#core.u8;
    this.#u32 = this.#core.u32;
    const count = this.#count;
    const cursor = this.#cursor;
    if (this.header(name, value) === null) return true;
    this.truncate(count, cursor);
    return false;
  }

  /**
   * Appends one header copied from a decoded HPACK field (`entry`: the header list's field entry,
   * name ptr, name len, value ptr, value len as u32s; host/core/h2/hpack.ts): bytes to bytes,
   * no JS string. The name is lower-case already (RFC 9113 §8.2.1, checked on arrival).
   */
  headerFromEntry(entry: number): RequestViewError | null {
    if (this.#count >= REQ_MAX_HEADERS) return 'too_many_headers';
    const u32 = this.#u32;
    const e = entry >>> 2;
    const slot = (this.base + RV_HEADERS + this.#count * RV_HEADER_ENTRY) >>> 2;
    if (!this.#copy(u32[e]!, u32[e + 1]!, slot) || !this.#copy(u32[e + 2]!, u32[e + 3]!, slot + 2)) return 'headers_too_large';
    this.#count++;
    const b = this.base >>> 2;
    u32[b + (RV_HEADER_COUNT >>> 2)] = this.#count;
    u32[b + (RV_BYTES_USED >>> 2)] = this.#cursor - (this.base + RV_BYTES);
    return null;
  }

  #copy(ptr: number, len: number, slot: number): boolean {
    const start = this.#cursor;
    if (len > this.#end - start) return false;
    this.#u8.copyWithin(start, ptr, ptr + len);
    this.#u32[slot] = start;
    this.#u32[slot + 1] = len;
    this.#cursor = start + len;
    return true;
  }

  get headerCount(): number {
    return this.#count;
  }

  /** Where the next field's bytes go (with headerCount, what truncate returns to). */
  get byteCursor(): number {
    return this.#cursor;
  }

  /**
   * Drops the headers appended after headerCount was `count` and byteCursor `cursor` (fields
   * added to the view for the route match only, host/http/claim-view.ts).
   */
  truncate(count: number, cursor: number): void {
    this.#count = count;
    this.#cursor = cursor;
    const b = this.base >>> 2;
    this.#u32[b + (RV_HEADER_COUNT >>> 2)] = count;
    this.#u32[b + (RV_BYTES_USED >>> 2)] = cursor - (this.base + RV_BYTES);
  }

  /**
   * Points the view's authority at `authority` (written at the cursor) for a route match only,
   * returning what restoreAuthority puts back; null when it does not fit. The forwarded Host is
   * untouched: the original bytes stay where they are.
   */
  swapAuthority(authority: string): { ptr: number; len: number; count: number; cursor: number } | null {
    const b = this.base >>> 2;
    const u32 = this.#u32;
    const saved = { ptr: u32[b + (RV_AUTHORITY_PTR >>> 2)]!, len: u32[b + (RV_AUTHORITY_LEN >>> 2)]!, count: this.#count, cursor: this.#cursor };
    if (!this.#put(authority, b + (RV_AUTHORITY_PTR >>> 2))) return null;
    return saved;
  }

  restoreAuthority(saved: { ptr: number; len: number; count: number; cursor: number }): void {
    const b = this.base >>> 2;
    this.#u32[b + (RV_AUTHORITY_PTR >>> 2)] = saved.ptr;
    this.#u32[b + (RV_AUTHORITY_LEN >>> 2)] = saved.len;
    this.truncate(saved.count, saved.cursor);
  }

  /** Encodes `s` at the cursor and stores (ptr, len) at u32 index `slot`. */
  #put(s: string, slot: number): boolean {
    const u8 = this.#u8;
    const start = this.#cursor;
    const n = s.length;
    // Field bytes arrive as latin1 strings (one character per byte, host/listener/http1), and
    // go back out as the same bytes; a charCodeAt loop also beats TextEncoder.encodeInto for the
    // short ASCII strings most fields are. Only a string with characters beyond U+00FF (from
    // configuration, never from the wire) is encoded as UTF-8.
    if (n <= this.#end - start) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0xff) break;
        u8[start + i] = c;
      }
      if (i === n) {
        this.#u32[slot] = start;
        this.#u32[slot + 1] = n;
        this.#cursor = start + n;
        return true;
      }
    }
    const { read, written } = encoder.encodeInto(s, u8.subarray(start, this.#end));
    if (read !== n) return false;
    this.#u32[slot] = start;
    this.#u32[slot + 1] = written;
    this.#cursor = start + written;
    return true;
  }
}

const views = new WeakMap<Core, RequestView>();

/** The request view of `core`, created once per core and shared by every route table version and the listener. */
export function requestViewOf(core: Core): RequestView {
  let v = views.get(core);
  if (!v) {
    v = new RequestView(core);
    views.set(core, v);
  }
  return v;
}
