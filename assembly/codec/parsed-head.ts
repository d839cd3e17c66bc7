// The fixed output struct of the head parser (request and response heads): the host allocates
// one per parser and reads every result at a fixed offset, so a parse allocates nothing and
// returns nothing but a status number. Mirrored by host/core/codec/codec-layout.ts (checked at load time).

/** Envoy's default max_request_headers_kb: the whole head, start-line to final CRLF, ≤ 60 KiB. */
export const MAX_HEAD_BYTES: u32 = 60 * 1024;
/** Envoy's default max_headers_count. */
export const MAX_HEADERS: u32 = 100;

// Layout (u32 unless noted, little-endian), at the address the host passes as `out`:
//   +0  status         the call's return value, kept for the host's convenience
//   +4  headLength     bytes from the input start through the final CRLF (Ok only)
//   +8  errorOffset    input offset of the byte that decided an error (error only)
//   +12 version        0 = HTTP/1.0, 1 = HTTP/1.1
//   +16 methodPtr      request: method span      | response: status code (100–999)
//   +20 methodLen      request                   | response: address of the 3-digit code
//   +24 targetPtr      request: request-target   | response: reason-phrase span
//   +28 targetLen        (as sent)               |   (empty when absent)
//   +32 framing        Framing below
//   +36 keepAlive      1 when the connection may be reused after this message
//   +40 contentLength  f64: the Content-Length value, -1 when absent (exact up to 2^53-1)
//   +48 headerCount
//   +52 hostIndex      request: index of the Host entry, 0xFFFFFFFF when absent
//   +56 flags          HeadFlag bits below
//   +60 reserved      (h2/response-head-list.ts: an HTTP/2 response's grpc-status)
//   +64 header entries, MAX_HEADERS × 16 bytes: namePtr, nameLen, valuePtr, valueLen
//       (absolute addresses into the input; names as sent, case preserved; values with OWS
//       trimmed at both ends) — the same entry format as the request view (assembly/abi.ts).
export const PH_STATUS: u32 = 0;
export const PH_HEAD_LENGTH: u32 = 4;
export const PH_ERROR_OFFSET: u32 = 8;
export const PH_VERSION: u32 = 12;
export const PH_METHOD_PTR: u32 = 16;
export const PH_METHOD_LEN: u32 = 20;
export const PH_TARGET_PTR: u32 = 24;
export const PH_TARGET_LEN: u32 = 28;
export const PH_STATUS_CODE: u32 = 16;
export const PH_STATUS_CODE_PTR: u32 = 20;
export const PH_REASON_PTR: u32 = 24;
export const PH_REASON_LEN: u32 = 28;
export const PH_FRAMING: u32 = 32;
export const PH_KEEP_ALIVE: u32 = 36;
export const PH_CONTENT_LENGTH: u32 = 40;
export const PH_HEADER_COUNT: u32 = 48;
export const PH_HOST_INDEX: u32 = 52;
export const PH_FLAGS: u32 = 56;
export const PH_HEADERS: u32 = 64;
export const PH_HEADER_ENTRY: u32 = 16;
export const PH_SIZE: u32 = PH_HEADERS + MAX_HEADERS * PH_HEADER_ENTRY;

/** How the body that follows the head is delimited (RFC 9112 §6.3). */
export const enum Framing {
  /** No body: a request without Content-Length/Transfer-Encoding, or a response to HEAD, 1xx, 204, 304. */
  None = 0,
  /** Exactly contentLength bytes. */
  Length = 1,
  /** Chunked transfer coding: feed the body to the chunked decoder. */
  Chunked = 2,
  /** Response only: the body runs until the upstream closes the connection. */
  Close = 3,
}

/** Bits of PH_FLAGS. */
export const enum HeadFlag {
  HasContentLength = 1,
  HasTransferEncoding = 2,
  ConnectionClose = 4,
  ConnectionKeepAlive = 8,
  ConnectionUpgrade = 16,
}
