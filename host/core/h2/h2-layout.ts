// The layout of the HTTP/2 core's structs (mirrors assembly/h2/: frame-scanner.ts,
// hpack-table.ts, header-list.ts) and its exports, checked once per core against h2_layout()
// and the status catalogue, so that every binding in this folder reads the core's structs at
// the offsets the core writes them.
import type { Core } from '../wasm.js';
import { checkH2StatusTable } from './h2-status.js';

// Mirrors assembly/h2/frame-scanner.ts.
export const FS_MAX_FRAME_SIZE = 0;
export const FS_MAX_HEADER_BLOCK = 4;
export const FS_OPEN_BLOCK_STREAM = 8;
export const FS_BLOCK_BYTES = 12;
export const FS_IS_SERVER = 16;
export const FS_STATUS = 20;
export const FS_FRAME_BYTES = 24;
export const FS_TYPE = 28;
export const FS_FLAGS = 32;
export const FS_STREAM_ID = 36;
export const FS_PAYLOAD_PTR = 40;
export const FS_PAYLOAD_LEN = 44;
export const FS_VALUE0 = 48;
export const FS_VALUE1 = 52;
export const FS_LENGTH = 56;
export const FS_SIZE = 64;
export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const DEFAULT_MAX_HEADER_BLOCK = 64 * 1024;

// Mirrors assembly/h2/hpack-table.ts.
export const HT_CAPACITY = 0;
export const HT_LIMIT = 4;
export const HT_SIZE_USED = 8;
export const HT_COUNT = 12;
export const HT_HEADER = 48;
export const DEFAULT_TABLE_SIZE = 4096;

// Mirrors assembly/h2/header-list.ts.
export const HL_STATUS = 0;
export const HL_COUNT = 4;
export const HL_ERROR_OFFSET = 8;
export const HL_BYTES_USED = 12;
export const HL_BYTES_PTR = 16;
export const HL_BYTES_CAP = 20;
export const HL_MAX_LIST_SIZE = 24;
export const HL_MAX_COUNT = 28;
export const HL_LIST_SIZE = 32;
export const HL_FIELDS = 40;
export const HL_FIELD = 20;
export const MAX_FIELDS = 256;
export const HL_SIZE = HL_FIELDS + MAX_FIELDS * HL_FIELD;
export const FIELD_NEVER_INDEXED = 1;
export const FIELD_INDEXED = 2;

/** hpack_encode's flags (assembly/h2/hpack-encoder.ts EncodeFlag). */
export const ENCODE_INDEXING = 1;
export const ENCODE_HUFFMAN_SHORTER = 2;
export const ENCODE_HUFFMAN_ALWAYS = 4;

/** The HTTP/2 exports of core.wasm (assembly/h2/index.ts). */
export interface H2Exports {
  alloc(size: number): number;
  free(ptr: number): void;
  h2_layout(which: number): number;
  h2_status_count(): number;
  h2_status_error(status: number): number;
  h2_scanner_init(s: number, maxFrameSize: number, maxHeaderBlock: number, isServer: number): void;
  h2_check_preface(ptr: number, len: number): number;
  h2_scan_frame(s: number, ptr: number, len: number): number;
  hpack_table_new(capacity: number): number;
  hpack_table_free(t: number): void;
  hpack_table_field(t: number, offset: number): number;
  hpack_decode(table: number, ptr: number, len: number, list: number): number;
  hpack_encode(table: number, list: number, dst: number, cap: number, flags: number): number;
  hpack_encoder_set_limit(table: number, limit: number): number;
  h2_request_list(head: number, len: number, scheme: number, schemeLen: number, list: number): number;
  h2_response_head(list: number, ph: number): number;
}

const LAYOUT: readonly number[] = [
  FS_SIZE, FS_VALUE1, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HEADER_BLOCK, HT_HEADER, DEFAULT_TABLE_SIZE,
  HL_SIZE, HL_FIELDS, HL_FIELD, MAX_FIELDS,
];

const checked = new WeakSet<Core>();

/** The h2 exports, after checking once per core that layouts and statuses agree. */
export function h2Exports(core: Core): H2Exports {
  const e = core.exports as unknown as H2Exports;
  if (!checked.has(core)) {
    if (typeof e.h2_layout !== 'function') throw new Error('wasmesh: core.wasm lacks the h2 exports; rebuild it (npm run build:wasm)');
    LAYOUT.forEach((value, which) => {
      const got = e.h2_layout(which);
      if (got !== value) {
        throw new Error(`wasmesh: host/core/h2/ and assembly/h2/ disagree on layout constant ${which} (host ${value}, core ${got})`);
      }
    });
    checkH2StatusTable(core);
    checked.add(core);
  }
  return e;
}
