// Lists the response fields to send downstream (assembly/codec/response-filter.ts): the parsed
// head's fields minus hop-by-hop ones, with the route's edits applied, as views into Wasm memory.
import type { Core } from '../wasm.js';
import { statusEntry, STATUS_OUTPUT_TOO_SMALL } from '../status.js';
import { codecExports, type CodecExports, MAX_HEADERS, RF_PAIR, WA_FILTER_FLAGS, WA_SIZE } from './codec-layout.js';
import { putEditLists, type EditList } from './edit-list.js';
import type { HeadParser } from './head-parser.js';

/** A parsed-head struct in Wasm memory (the HTTP/1 head parser's, or an HTTP/2 response head's). */
export interface ParsedHeadStruct {
  readonly structPtr: number;
}

/** Filter flag (assembly/codec/response-filter.ts): keep Content-Length. */
const FILTER_KEEP_CONTENT_LENGTH = 1;

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
  filter(parser: ParsedHeadStruct, edits: readonly EditList[], keepContentLength = false): number {
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

  /** Pair i's name as a span of `core.u8`: start index (valid until the next parse or filter call). */
  nameStart(i: number): number {
    return this.#core.u32[(this.#pairs + i * RF_PAIR) >>> 2]!;
  }

  /** Pair i's name: end index in `core.u8`. */
  nameEnd(i: number): number {
    const at = (this.#pairs + i * RF_PAIR) >>> 2;
    const u32 = this.#core.u32;
    return u32[at]! + u32[at + 1]!;
  }

  /** Pair i's value as a span of `core.u8`: start index. */
  valueStart(i: number): number {
    return this.#core.u32[(this.#pairs + i * RF_PAIR + 8) >>> 2]!;
  }

  /** Pair i's value: end index in `core.u8`. */
  valueEnd(i: number): number {
    const at = (this.#pairs + i * RF_PAIR + 8) >>> 2;
    const u32 = this.#core.u32;
    return u32[at]! + u32[at + 1]!;
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
