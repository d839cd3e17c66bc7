// The layout of the codec's structs (mirrors assembly/codec/: parsed-head.ts, chunked-decoder.ts,
// head-writer.ts, edit-list.ts, response-filter.ts) and the codec exports, checked once per core
// against codec_layout() and the status catalogue, so that every binding in this folder reads
// the core's structs at the offsets the core writes them.
import type { Core } from '../wasm.js';
import { checkStatusTable } from '../status.js';

// Mirrors assembly/codec/parsed-head.ts.
export const MAX_HEAD_BYTES = 60 * 1024;
export const MAX_HEADERS = 100;
export const PH_STATUS = 0;
export const PH_HEAD_LENGTH = 4;
export const PH_ERROR_OFFSET = 8;
export const PH_VERSION = 12;
export const PH_METHOD_PTR = 16;
export const PH_METHOD_LEN = 20;
export const PH_TARGET_PTR = 24;
export const PH_TARGET_LEN = 28;
export const PH_STATUS_CODE = 16;
export const PH_STATUS_CODE_PTR = 20;
export const PH_FRAMING = 32;
export const PH_KEEP_ALIVE = 36;
export const PH_CONTENT_LENGTH = 40;
export const PH_HEADER_COUNT = 48;
export const PH_HOST_INDEX = 52;
export const PH_FLAGS = 56;
/** The reserved word: an HTTP/2 response's grpc-status (assembly/h2/response-head-list.ts). */
export const PH_GRPC_STATUS = 60;
export const PH_HEADERS = 64;
export const PH_HEADER_ENTRY = 16;
export const PH_SIZE = PH_HEADERS + MAX_HEADERS * PH_HEADER_ENTRY;

// Mirrors assembly/codec/chunked-decoder.ts.
export const CD_STATE = 0;
export const CD_TRAILER_BYTES = 16;
export const CD_CONSUMED = 24;
export const CD_SPAN_COUNT = 28;
export const CD_DONE = 32;
export const CD_STATUS = 36;
export const CD_ERROR_OFFSET = 40;
export const CD_SPANS = 48;
export const CD_MAX_SPANS = 64;
export const CD_SIZE = CD_SPANS + CD_MAX_SPANS * 8;

// Mirrors assembly/codec/head-writer.ts (args struct) and edit-list.ts.
export const WA_METHOD_PTR = 0;
export const WA_METHOD_LEN = 4;
export const WA_PATH_PTR = 8;
export const WA_PATH_LEN = 12;
export const WA_AUTHORITY_PTR = 16;
export const WA_AUTHORITY_LEN = 20;
export const WA_FRAMING = 24;
export const WA_FILTER_FLAGS = 28;
export const WA_CONTENT_LENGTH = 32;
export const WA_EDIT_COUNT = 40;
export const WA_EDITS = 44;
export const MAX_EDIT_LISTS = 8;
export const WA_SIZE = WA_EDITS + MAX_EDIT_LISTS * 4;

// Mirrors assembly/codec/edit-list.ts.
export const EL_ENTRIES = 4;
export const EL_ENTRY = 20;

// Mirrors assembly/codec/response-filter.ts.
export const RF_PAIR = 16;

/** The codec exports of core.wasm (assembly/codec/index.ts). */
export interface CodecExports {
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
export function codecExports(core: Core): CodecExports {
  const e = core.exports as unknown as CodecExports;
  if (!checked.has(core)) {
    if (typeof e.codec_layout !== 'function') throw new Error('wasmesh: core.wasm lacks the codec exports; rebuild it (npm run build:wasm)');
    LAYOUT.forEach((value, which) => {
      const core_ = e.codec_layout(which);
      if (core_ !== value) {
        throw new Error(`wasmesh: host/core/codec/ and assembly/codec/ disagree on layout constant ${which} (host ${value}, core ${core_})`);
      }
    });
    checkStatusTable(core);
    checked.add(core);
  }
  return e;
}
