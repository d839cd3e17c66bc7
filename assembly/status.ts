// The one catalogue of status codes the codec returns (head parser, chunked decoder, head
// writer), mirrored by host/core/status.ts; numbers are stable and dense so both sides can
// check at load time that they agree (status_count, status_http).
//
// Every code below is documented with where it comes from and the HTTP status a server
// answers with when a downstream request fails that way. For responses read from an
// upstream the proxy answers 502 whatever the code; the mapping here is the request view.

export const enum Status {
  /** The message (or chunk sequence) parsed; results are in the output struct. */
  Ok = 0,
  /** Valid so far but the head is not complete: feed more bytes and call again. */
  Incomplete = 1,

  // ── Start line ─────────────────────────────────────────────────────────────────────
  /** 400. The method is empty or holds a byte outside tchar (RFC 9110 §9.1, token). */
  InvalidMethod = 2,
  /** 400. The request-line parts are not separated by exactly one SP (RFC 9112 §3). */
  InvalidRequestLine = 3,
  /** 400. The request-target holds a byte outside VCHAR (control, SP, DEL, non-ASCII). */
  InvalidRequestTarget = 4,
  /** 400. The HTTP-version is not `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3). */
  InvalidVersion = 5,
  /** 505. A well-formed HTTP-version other than HTTP/1.0 or HTTP/1.1. */
  UnsupportedVersion = 6,
  /** 400. The status-line is not `HTTP-version SP 3DIGIT [SP reason]` (RFC 9112 §4). */
  InvalidStatusLine = 7,

  // ── Line structure ─────────────────────────────────────────────────────────────────
  /** 400. A CR not followed by LF (RFC 9112 §2.2). */
  BareCr = 8,
  /** 400. A LF not preceded by CR: wasmesh accepts only CRLF line endings. */
  BareLf = 9,
  /** 400. A line starting with SP or HTAB after the start-line (obs-fold, RFC 9112 §5.2). */
  ObsFold = 10,

  // ── Field lines ────────────────────────────────────────────────────────────────────
  /** 400. A field name that is empty, holds a non-tchar byte, or has no colon. */
  InvalidHeaderName = 11,
  /** 400. Whitespace between a field name and its colon (RFC 9112 §5.1). */
  SpaceBeforeColon = 12,
  /** 400. A field value holding NUL, DEL or another control byte than HTAB (RFC 9110 §5.5). */
  InvalidHeaderValue = 13,
  /** 431. The head is longer than the limit (Envoy's default 60 KiB). */
  HeadersTooLarge = 14,
  /** 431. More field lines than the limit (Envoy's default 100). */
  TooManyHeaders = 15,
  /** 400. An HTTP/1.1 request without a Host field (RFC 9112 §3.2). */
  MissingHost = 16,
  /** 400. A request with more than one Host field line (RFC 9112 §3.2). */
  DuplicateHost = 17,
  /** 400. A Content-Length that is not 1*DIGIT (or a list of them), or exceeds 2^53-1. */
  InvalidContentLength = 18,
  /** 400. Content-Length values (repeated fields or a comma list) that differ (RFC 9110 §8.6). */
  ContentLengthMismatch = 19,
  /** 400. Both Transfer-Encoding and Content-Length (RFC 9112 §6.3 item 3; Envoy rejects). */
  TeAndCl = 20,
  /** 400. A request whose final transfer coding is not chunked (RFC 9112 §6.3 item 4). */
  ChunkedNotFinal = 21,
  /** 501. A transfer coding other than chunked (RFC 9112 §6.1; Envoy answers 501). */
  UnsupportedTransferCoding = 22,
  /** 400. A Transfer-Encoding list that is malformed, applies chunked twice, or is on HTTP/1.0. */
  InvalidTransferEncoding = 23,
  /** 414. Reserved: a request-target longer than a configured limit (none by default). */
  UriTooLong = 24,
  /** 413. Reserved: a body longer than a configured limit (none by default). */
  BodyTooLarge = 25,

  // ── Chunked body ───────────────────────────────────────────────────────────────────
  /** 400. A chunk-size line that does not start with a hex digit, or junk after it. */
  InvalidChunkSize = 26,
  /** 400. A chunk size above 2^53-1 (it could not be counted exactly). */
  ChunkSizeTooLarge = 27,
  /** 400. A chunk extension holding a control byte or not introduced by `;`. */
  InvalidChunkExtension = 28,
  /** 400. A chunk-size line (size plus extensions) longer than 4 KiB. */
  ChunkExtensionTooLarge = 29,
  /** 400. Chunk data not followed by CRLF. */
  MissingChunkCrlf = 30,
  /** 431. The trailer section is longer than the head limit (60 KiB). */
  TrailersTooLarge = 31,
  /** 431. More trailer fields than the header count limit (100). */
  TooManyTrailers = 32,

  // ── Head writer ────────────────────────────────────────────────────────────────────
  /** 500. The output region is too small: grow it and call again. */
  OutputTooSmall = 33,
  /** 500. More edit lists than the writer accepts in one call. */
  TooManyEditLists = 34,
}

/** Number of codes; the host checks it against its own table at load time. */
export const STATUS_COUNT: i32 = 35;

/** The HTTP status a server answers with for `code` (0 for Ok and Incomplete). */
export function statusHttp(code: i32): i32 {
  switch (code) {
    case Status.Ok:
    case Status.Incomplete:
      return 0;
    case Status.UnsupportedVersion:
      return 505;
    case Status.HeadersTooLarge:
    case Status.TooManyHeaders:
    case Status.TrailersTooLarge:
    case Status.TooManyTrailers:
      return 431;
    case Status.UnsupportedTransferCoding:
      return 501;
    case Status.UriTooLong:
      return 414;
    case Status.BodyTooLarge:
      return 413;
    case Status.OutputTooSmall:
    case Status.TooManyEditLists:
      return 500;
    default:
      return 400;
  }
}

/** Exported for the host's load-time check: the number of codes. */
export function status_count(): i32 {
  return STATUS_COUNT;
}

/** Exported for the host's load-time check: the HTTP status of one code. */
export function status_http(code: i32): i32 {
  return statusHttp(code);
}
