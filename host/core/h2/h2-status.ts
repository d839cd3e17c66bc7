// The host's mirror of assembly/h2/h2-status.ts: status number → stable string code, the
// RFC 9113 §7 error code, its scope (connection: GOAWAY; stream: RST_STREAM) and a one-line
// reason. checkH2StatusTable() compares it with the core at load time.
import type { Core } from '../wasm.js';

export const H2_OK = 0;
export const H2_INCOMPLETE = 1;

/** RFC 9113 §7 error codes the core reports. */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_INTERNAL_ERROR = 0x2;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_ENHANCE_YOUR_CALM = 0xb;

export interface H2StatusEntry {
  /** Stable string code, snake_case. */
  code: string;
  /** The RFC 9113 error code to send (0: not an error). */
  errorCode: number;
  /** Whether the error closes the connection (GOAWAY) or only the stream (RST_STREAM). */
  scope: 'connection' | 'stream' | 'none';
  message: string;
}

const c = 'connection' as const;
const s = 'stream' as const;

/** Indexed by the core's status number; the order is the ABI. */
export const H2_STATUS_TABLE: readonly H2StatusEntry[] = [
  { code: 'ok', errorCode: H2_NO_ERROR, scope: 'none', message: 'read' },
  { code: 'incomplete', errorCode: H2_NO_ERROR, scope: 'none', message: 'more bytes are needed' },
  { code: 'bad_preface', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'the client connection preface is wrong' },
  { code: 'frame_too_large', errorCode: H2_FRAME_SIZE_ERROR, scope: c, message: 'a frame is longer than SETTINGS_MAX_FRAME_SIZE' },
  { code: 'bad_stream_id', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'a stream frame on stream 0 or a connection frame on a stream' },
  { code: 'bad_padding', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'the pad length is not smaller than the payload' },
  { code: 'bad_frame_length', errorCode: H2_FRAME_SIZE_ERROR, scope: c, message: 'a fixed-size frame has the wrong length' },
  { code: 'bad_priority_length', errorCode: H2_FRAME_SIZE_ERROR, scope: s, message: 'a PRIORITY frame whose length is not 5' },
  { code: 'bad_setting_value', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'ENABLE_PUSH is not 0 or 1, or MAX_FRAME_SIZE is out of range' },
  { code: 'bad_initial_window', errorCode: H2_FLOW_CONTROL_ERROR, scope: c, message: 'INITIAL_WINDOW_SIZE is above 2^31-1' },
  { code: 'zero_window_increment', errorCode: H2_PROTOCOL_ERROR, scope: s, message: 'a WINDOW_UPDATE increment of 0 (a connection error on stream 0)' },
  { code: 'expected_continuation', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'a header block is open: only CONTINUATION on its stream may come' },
  { code: 'unexpected_continuation', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'a CONTINUATION with no header block open' },
  { code: 'header_block_too_large', errorCode: H2_ENHANCE_YOUR_CALM, scope: c, message: 'a header block is larger than the limit' },
  { code: 'push_to_server', errorCode: H2_PROTOCOL_ERROR, scope: c, message: 'PUSH_PROMISE sent to a server' },
  { code: 'self_dependency', errorCode: H2_PROTOCOL_ERROR, scope: s, message: 'a stream depends on itself' },
  { code: 'bad_integer', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'an HPACK integer is longer than 2^32-1 or cut short' },
  { code: 'truncated_string', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'an HPACK string literal runs past the header block' },
  { code: 'bad_huffman', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'Huffman data holds EOS, or its padding is over 7 bits or not all ones' },
  { code: 'bad_index', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'an HPACK index is 0 or past the static and dynamic tables' },
  { code: 'table_size_too_large', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'a dynamic table size update above the SETTINGS limit' },
  { code: 'late_table_size_update', errorCode: H2_COMPRESSION_ERROR, scope: c, message: 'a dynamic table size update after the first field of a block' },
  { code: 'header_list_too_large', errorCode: H2_PROTOCOL_ERROR, scope: s, message: 'the decoded header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE' },
  { code: 'too_many_headers', errorCode: H2_PROTOCOL_ERROR, scope: s, message: 'more header fields than the count limit' },
  { code: 'output_too_small', errorCode: H2_INTERNAL_ERROR, scope: s, message: 'the output area is too small' },
];

/** The table entry for a status number (a synthetic entry for numbers the table lacks). */
export function h2StatusEntry(status: number): H2StatusEntry {
  return H2_STATUS_TABLE[status] ?? { code: `unknown_h2_status_${status}`, errorCode: H2_INTERNAL_ERROR, scope: c, message: 'unknown h2 status' };
}

const CONNECTION_SCOPE = 0x100;

/** Throws when the core's catalogue differs from this table (count, error code or scope). */
export function checkH2StatusTable(core: Core): void {
  const e = core.exports as unknown as { h2_status_count(): number; h2_status_error(status: number): number };
  if (typeof e.h2_status_count !== 'function') throw new Error('wasmesh: core.wasm lacks the h2 exports; rebuild it (npm run build:wasm)');
  const n = e.h2_status_count();
  if (n !== H2_STATUS_TABLE.length) {
    throw new Error(`wasmesh: assembly/h2/h2-status.ts has ${n} status codes but host/core/h2/h2-status.ts has ${H2_STATUS_TABLE.length}`);
  }
  for (let i = 0; i < n; i++) {
    const v = e.h2_status_error(i);
    const t = H2_STATUS_TABLE[i];
    const scope = t.scope === 'none' ? 0 : t.scope === 'connection' ? CONNECTION_SCOPE : 0;
    if (v !== (t.errorCode | scope)) {
      throw new Error(`wasmesh: h2 status ${i} (${t.code}) maps to 0x${v.toString(16)} in the core but 0x${(t.errorCode | scope).toString(16)} in the host`);
    }
  }
}

/** An HTTP/2 protocol failure with its stable code, RFC 9113 error code and scope. */
export class H2Error extends Error {
  readonly code: string;
  readonly status: number;
  readonly errorCode: number;
  readonly scope: 'connection' | 'stream' | 'none';
  constructor(status: number, detail?: string) {
    const e = h2StatusEntry(status);
    super(`h2 ${e.code}: ${e.message}${detail ? ` (${detail})` : ''}`);
    this.name = 'H2Error';
    this.code = e.code;
    this.status = status;
    this.errorCode = e.errorCode;
    this.scope = e.scope;
  }
}
