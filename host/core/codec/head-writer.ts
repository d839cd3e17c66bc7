// Writes upstream request heads in the core (assembly/codec/head-writer.ts) from the request
// view and the route's edit lists: hop-by-hop fields dropped, edits applied, host first, the
// framing header last, with no JS string per header.
import type { Core } from '../wasm.js';
import type { RequestView } from '../request-view.js';
import { statusEntry, STATUS_OUTPUT_TOO_SMALL } from '../status.js';
import { codecExports, type CodecExports, WA_AUTHORITY_PTR, WA_CONTENT_LENGTH, WA_EDITS, WA_FRAMING, WA_METHOD_PTR, WA_PATH_PTR, WA_SIZE } from './codec-layout.js';
import { putEditLists, type EditList } from './edit-list.js';
import { InputRegion, REGION_STEP } from './input-region.js';

/** The framing header the request head writer adds (assembly/codec/head-writer.ts). */
export const WRITE_FRAMING_NONE = 0;
export const WRITE_FRAMING_LENGTH = 1;
export const WRITE_FRAMING_CHUNKED = 2;

const encoder = new TextEncoder();

/**
 * `u8[start, end)` copied into a Buffer of Node's pool (a slice of a shared 8 KiB slab for heads
 * under 4 KiB): `Uint8Array.prototype.slice` gave each head its own ArrayBuffer, i.e. a malloc, a
 * free and the young-generation ArrayBuffer sweeper's work per request.
 */
function copyOut(u8: Uint8Array, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  // A head of ordinary size by a loop, without a view of the source (a subarray is an object per request).
  if (n > HEAD_LOOP_MAX) out.set(u8.subarray(start, end));
  else for (let i = 0; i < n; i++) out[i] = u8[start + i]!;
  return out;
}

/** Heads up to this long are copied out by a loop (a proxied head is a few hundred bytes). */
const HEAD_LOOP_MAX = 1024;

/** Method, path and authority that replace the request view's (rewrites). */
export interface HeadOverrides {
  method?: string;
  path?: string;
  authority?: string;
}

/**
 * Lines a caller appends to a head as it is written (tracing's propagation lines: every traced
 * request carries them), written straight into the core's output after the core's own lines, so
 * that the head is copied out of Wasm memory once with them (no second copy, no string).
 */
export interface HeadTail {
  /** The bytes the lines take (each `name: value\r\n`, latin1). */
  tailLength(): number;
  /** Writes them at `at` in `out`; returns the index after them. */
  writeTail(out: Uint8Array, at: number): number;
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
    const n = this.#writeInPlace(view, edits, framing, contentLength, overrides, 0);
    return copyOut(this.#core.u8, this.#out.ptr, this.#out.ptr + n);
  }

  /**
   * write(), then `lines` (each `name: value\r\n`, latin1; '' for none) and `tail`'s lines
   * inserted before the blank line, in the core's output: one copy out of Wasm memory for all.
   */
  writeWith(view: RequestView, edits: readonly EditList[], framing: number, contentLength: number, overrides: HeadOverrides | undefined, lines: string, tail: HeadTail | null): Uint8Array {
    const extra = lines.length + (tail === null ? 0 : tail.tailLength());
    const n = this.#writeInPlace(view, edits, framing, contentLength, overrides, extra);
    if (extra === 0) return copyOut(this.#core.u8, this.#out.ptr, this.#out.ptr + n);
    const u8 = this.#core.u8;
    const end = this.#out.ptr + n;
    if (n < 4 || u8[end - 2] !== 0x0d || u8[end - 1] !== 0x0a) throw new Error('wasmesh: request head does not end with CRLF CRLF');
    // Over the head's final CRLF, which follows the lines instead.
    let at = end - 2;
    for (let i = 0; i < lines.length; i++) u8[at++] = lines.charCodeAt(i) & 0xff;
    if (tail !== null) at = tail.writeTail(u8, at);
    if (at !== end - 2 + extra) throw new Error(`wasmesh: head lines took ${at - end + 2} bytes, not the ${extra} announced`);
    u8[at] = 0x0d;
    u8[at + 1] = 0x0a;
    return copyOut(u8, this.#out.ptr, at + 2);
  }

  /** The head in the output region (`extra` bytes left free after it); returns its length. */
  #writeInPlace(view: RequestView, edits: readonly EditList[], framing: number, contentLength: number, overrides: HeadOverrides | undefined, extra: number): number {
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
    if (this.#out.capacity < extra + REGION_STEP) this.#out.reserve(extra + REGION_STEP);
    for (;;) {
      const r = this.#e.write_request_head(view.base, args, this.#out.ptr, this.#out.capacity - extra);
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
