// The host's mirror of assembly/status.ts: code number → stable string, HTTP status and a
// one-line reason, so that every codec result becomes a typed error with a stable code.
// checkStatusTable() compares it with the core at load time.
import type { Core } from './wasm.js';

export const STATUS_OK = 0;
export const STATUS_INCOMPLETE = 1;

/** HTTP statuses the codec's errors map to (500: the host's own misuse, never the peer's). */
export type CodecHttpStatus = 400 | 413 | 414 | 431 | 500 | 501 | 505;

export interface StatusEntry {
  /** Stable string code, snake_case; never renamed once released. */
  code: string;
  /** What a server answers when a downstream request fails this way (0: not an error). */
  httpStatus: CodecHttpStatus | 0;
  /** Why, in one line: what was wrong with the bytes. */
  message: string;
}

/** Indexed by the core's status number; the order is the ABI. */
export const STATUS_TABLE: readonly StatusEntry[] = [
  { code: 'ok', httpStatus: 0, message: 'parsed' },
  { code: 'incomplete', httpStatus: 0, message: 'more bytes are needed' },
  { code: 'invalid_method', httpStatus: 400, message: 'the method is empty or holds a byte that is not a token character' },
  { code: 'invalid_request_line', httpStatus: 400, message: 'the request-line parts are not separated by exactly one SP' },
  { code: 'invalid_request_target', httpStatus: 400, message: 'the request-target holds a control, space, DEL or non-ASCII byte' },
  { code: 'invalid_version', httpStatus: 400, message: 'the HTTP-version is not HTTP/DIGIT.DIGIT' },
  { code: 'unsupported_version', httpStatus: 505, message: 'only HTTP/1.0 and HTTP/1.1 are supported' },
  { code: 'invalid_status_line', httpStatus: 400, message: 'the status-line is not HTTP-version SP 3DIGIT [SP reason-phrase]' },
  { code: 'bare_cr', httpStatus: 400, message: 'a CR is not followed by LF' },
  { code: 'bare_lf', httpStatus: 400, message: 'a LF is not preceded by CR (only CRLF line endings are accepted)' },
  { code: 'obs_fold', httpStatus: 400, message: 'a field line starts with whitespace (obsolete line folding)' },
  { code: 'invalid_header_name', httpStatus: 400, message: 'a field name is empty, holds a non-token byte, or has no colon' },
  { code: 'space_before_colon', httpStatus: 400, message: 'whitespace between a field name and its colon' },
  { code: 'invalid_header_value', httpStatus: 400, message: 'a field value holds NUL, DEL or another control byte' },
  { code: 'headers_too_large', httpStatus: 431, message: 'the head is longer than 60 KiB' },
  { code: 'too_many_headers', httpStatus: 431, message: 'more than 100 field lines' },
  { code: 'missing_host', httpStatus: 400, message: 'an HTTP/1.1 request has no Host field' },
  { code: 'duplicate_host', httpStatus: 400, message: 'a request has more than one Host field' },
  { code: 'invalid_content_length', httpStatus: 400, message: 'Content-Length is not a list of digits, or exceeds 2^53-1' },
  { code: 'content_length_mismatch', httpStatus: 400, message: 'Content-Length values differ' },
  { code: 'te_and_cl', httpStatus: 400, message: 'both Transfer-Encoding and Content-Length are present' },
  { code: 'chunked_not_final', httpStatus: 400, message: 'the final transfer coding of a request is not chunked' },
  { code: 'unsupported_transfer_coding', httpStatus: 501, message: 'a transfer coding other than chunked' },
  { code: 'invalid_transfer_encoding', httpStatus: 400, message: 'Transfer-Encoding is malformed, repeats chunked, or is on HTTP/1.0' },
  { code: 'uri_too_long', httpStatus: 414, message: 'the request-target is longer than the configured limit' },
  { code: 'body_too_large', httpStatus: 413, message: 'the body is longer than the configured limit' },
  { code: 'invalid_chunk_size', httpStatus: 400, message: 'a chunk-size line does not start with hex digits or has junk after them' },
  { code: 'chunk_size_too_large', httpStatus: 400, message: 'a chunk size exceeds 2^53-1' },
  { code: 'invalid_chunk_extension', httpStatus: 400, message: 'a chunk extension holds a control byte or does not start with ;' },
  { code: 'chunk_extension_too_large', httpStatus: 400, message: 'a chunk-size line is longer than 4 KiB' },
  { code: 'missing_chunk_crlf', httpStatus: 400, message: 'chunk data is not followed by CRLF' },
  { code: 'trailers_too_large', httpStatus: 431, message: 'the trailer section is longer than 60 KiB' },
  { code: 'too_many_trailers', httpStatus: 431, message: 'more than 100 trailer fields' },
  { code: 'output_too_small', httpStatus: 500, message: 'the output region is too small for the head' },
  { code: 'too_many_edit_lists', httpStatus: 500, message: 'more header edit lists than the writer accepts in one call' },
];

export type CodecErrorCode = (typeof STATUS_TABLE)[number]['code'];

/** The writer's and filter's "grow the output and call again" status. */
export const STATUS_OUTPUT_TOO_SMALL = STATUS_TABLE.findIndex((e) => e.code === 'output_too_small');

/** The table entry for a status number (a synthetic entry for numbers the table lacks). */
export function statusEntry(status: number): StatusEntry {
  return STATUS_TABLE[status] ?? { code: `unknown_status_${status}`, httpStatus: 500, message: 'unknown codec status' };
}

/** Throws when the core's status catalogue differs from this table (count or HTTP mapping). */
export function checkStatusTable(core: Core): void {
  const e = core.exports as unknown as { status_count(): number; status_http(code: number): number };
  if (typeof e.status_count !== 'function') throw new Error('wasmesh: core.wasm lacks status_count; rebuild it (npm run build:wasm)');
  const n = e.status_count();
  if (n !== STATUS_TABLE.length) {
    throw new Error(`wasmesh: assembly/status.ts has ${n} status codes but host/core/status.ts has ${STATUS_TABLE.length}`);
  }
  for (let i = 0; i < n; i++) {
    const http = e.status_http(i);
    if (http !== STATUS_TABLE[i].httpStatus) {
      throw new Error(`wasmesh: status ${i} (${STATUS_TABLE[i].code}) maps to HTTP ${http} in the core but ${STATUS_TABLE[i].httpStatus} in the host`);
    }
  }
}
