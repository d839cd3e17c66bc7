// The HTTP/1.1 message-head parser (RFC 9112, strict): reads a request or response head from
// bytes the host placed in linear memory and writes the results into a parsed-head struct.
//
// It is stateless: the host accumulates bytes and calls again with the whole prefix. Split
// reads therefore give the same answer as whole input by construction, provided every
// decision depends only on bytes already seen. So the parser validates strictly in byte
// order, decides each error at the byte (or complete line) that proves it, checks the size
// limit at the byte where it is crossed, and runs whole-head checks (Host presence, CL/TE
// combinations, framing) only once the final empty line has arrived. A prefix thus yields
// either Incomplete or exactly the error the whole input yields.
import { Status } from '../status';
import { CharCode, charClass, foldByte, equalsLower, C_TCHAR, C_OWS } from './char-class';
import { skipTchar, skipVchar, skipField } from './byte-scan';
import {
  MAX_HEAD_BYTES, MAX_HEADERS, Framing, HeadFlag,
  PH_STATUS, PH_HEAD_LENGTH, PH_ERROR_OFFSET, PH_VERSION, PH_METHOD_PTR, PH_METHOD_LEN,
  PH_TARGET_PTR, PH_TARGET_LEN, PH_STATUS_CODE, PH_STATUS_CODE_PTR, PH_REASON_PTR, PH_REASON_LEN,
  PH_FRAMING, PH_KEEP_ALIVE, PH_CONTENT_LENGTH, PH_HEADER_COUNT, PH_HOST_INDEX, PH_FLAGS,
  PH_HEADERS, PH_HEADER_ENTRY,
} from './parsed-head';

/** 2^53 - 1: the largest length JavaScript counts exactly. */
export const MAX_SAFE_LENGTH: u64 = 9007199254740991;

// Per-call state. Module globals rather than a context object: the core is single-threaded
// and a call never re-enters, and globals cost nothing to reset.
let base: usize = 0; // input start
let stop: usize = 0; // input end, clamped to the head limit
let overLimit = false; // the input runs past the head limit
let errAt: usize = 0; // address of the byte that decided an error
let isRequest = false;
let minor: u32 = 1; // HTTP/1.<minor>
let hostCount: u32 = 0;
let hostIndex: u32 = 0;
let flags: u32 = 0;
let contentLength: u64 = 0;
let teChunkedCount: u32 = 0;
let teLastIsChunked = false;
let teOther = false;

/** Out of input at `stop`: either more bytes may complete the head, or the limit is crossed. */
// @ts-ignore: decorator
@inline function starved(): i32 {
  if (overLimit) {
    errAt = stop;
    return Status.HeadersTooLarge;
  }
  return Status.Incomplete;
}

// @ts-ignore: decorator
@inline function fail(status: i32, at: usize): i32 {
  errAt = at;
  return status;
}

function begin(ptr: usize, len: usize, request: bool): void {
  base = ptr;
  overLimit = len > <usize>MAX_HEAD_BYTES;
  stop = ptr + (overLimit ? <usize>MAX_HEAD_BYTES : len);
  errAt = ptr;
  isRequest = request;
  minor = 1;
  hostCount = 0;
  hostIndex = 0xffffffff;
  flags = 0;
  contentLength = 0;
  teChunkedCount = 0;
  teLastIsChunked = false;
  teOther = false;
}

function finish(out: usize, status: i32): i32 {
  store<u32>(out + PH_STATUS, <u32>status);
  if (status != Status.Ok && status != Status.Incomplete) {
    store<u32>(out + PH_ERROR_OFFSET, <u32>(errAt - base));
  }
  return status;
}

/**
 * Parses `HTTP/` DIGIT `.` DIGIT at `p` into `minor`; returns the address after it, or 0
 * with the status in `versionStatus`.
 */
let versionStatus: i32 = 0;
function parseVersion(p: usize): usize {
  // "HTTP/" is compared byte by byte so that a prefix fails at the same byte as the whole.
  const name: u64 = 0x2f50545448; // "HTTP/" little-endian
  for (let i: usize = 0; i < 5; i++) {
    if (p >= stop) { versionStatus = starved(); return 0; }
    if (<u64>load<u8>(p) != ((name >> (i << 3)) & 0xff)) { versionStatus = fail(Status.InvalidVersion, p); return 0; }
    p++;
  }
  if (p >= stop) { versionStatus = starved(); return 0; }
  const major = <u32>load<u8>(p) - CharCode.ZERO;
  if (major > 9) { versionStatus = fail(Status.InvalidVersion, p); return 0; }
  p++;
  if (p >= stop) { versionStatus = starved(); return 0; }
  if (load<u8>(p) != CharCode.DOT) { versionStatus = fail(Status.InvalidVersion, p); return 0; }
  p++;
  if (p >= stop) { versionStatus = starved(); return 0; }
  const m = <u32>load<u8>(p) - CharCode.ZERO;
  if (m > 9) { versionStatus = fail(Status.InvalidVersion, p); return 0; }
  if (major != 1 || m > 1) { versionStatus = fail(Status.UnsupportedVersion, p); return 0; }
  minor = m;
  return p + 1;
}

/**
 * Expects CRLF at `p` (the end of a line whose content is valid). Returns the address after
 * it, or 0 with the status in `versionStatus`. `other` is the error for any other byte.
 */
function expectCrlf(p: usize, other: i32): usize {
  if (p >= stop) { versionStatus = starved(); return 0; }
  const c = load<u8>(p);
  if (c != CharCode.CR) { versionStatus = fail(c == CharCode.LF ? Status.BareLf : other, p); return 0; }
  if (p + 1 >= stop) { versionStatus = starved(); return 0; }
  if (load<u8>(p + 1) != CharCode.LF) { versionStatus = fail(Status.BareCr, p); return 0; }
  return p + 2;
}

/**
 * Parses a request head at (ptr, len) into the parsed-head struct at `out`.
 * Returns Ok, Incomplete, or the first error in byte order (see assembly/status.ts).
 */
export function parse_request_head(ptr: usize, len: usize, out: usize): i32 {
  begin(ptr, len, true);
  return finish(out, requestHead(out));
}

/**
 * Parses a response head at (ptr, len) into `out`. `requestWasHead` (0/1): the request was
 * HEAD, so the response has no body whatever its fields say (RFC 9112 §6.3 item 1).
 */
export function parse_response_head(ptr: usize, len: usize, requestWasHead: i32, out: usize): i32 {
  begin(ptr, len, false);
  return finish(out, responseHead(out, requestWasHead != 0));
}

function requestHead(out: usize): i32 {
  let p = base;
  let c: u32 = 0;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
  // wasmesh ignores any number (each a full CRLF); they count towards the head limit.
  for (;;) {
    if (p >= stop) return starved();
    c = load<u8>(p);
    if (c != CharCode.CR) break;
    if (p + 1 >= stop) return starved();
    if (load<u8>(p + 1) != CharCode.LF) return fail(Status.BareCr, p);
    p += 2;
  }
  if (c == CharCode.LF) return fail(Status.BareLf, p);

  // method = token
  const method = p;
  p = skipTchar(p, stop);
  if (p >= stop) return starved();
  c = load<u8>(p);
  if (c != CharCode.SP) {
    // A method followed by HTAB or the line end is a malformed line; any other byte, or an
    // empty method, is a bad method.
    const lineish = c == CharCode.HTAB || c == CharCode.CR || c == CharCode.LF;
    return fail(p > method && lineish ? Status.InvalidRequestLine : Status.InvalidMethod, p);
  }
  if (p == method) return fail(Status.InvalidMethod, p);
  const methodLen = p - method;
  p++;

  // request-target: VCHAR only (origin, absolute, authority or asterisk form; not split here)
  const target = p;
  p = skipVchar(p, stop);
  if (p >= stop) return starved();
  c = load<u8>(p);
  if (p == target) return fail(Status.InvalidRequestLine, p); // two SPs, or no target
  if (c != CharCode.SP) {
    const lineish = c == CharCode.HTAB || c == CharCode.CR || c == CharCode.LF;
    return fail(lineish ? Status.InvalidRequestLine : Status.InvalidRequestTarget, p);
  }
  const targetLen = p - target;
  p++;
  // Exactly one SP: more whitespace before the version is a malformed line, not a bad version.
  if (p >= stop) return starved();
  if (charClass(load<u8>(p)) & C_OWS) return fail(Status.InvalidRequestLine, p);

  p = parseVersion(p);
  if (p == 0) return versionStatus;
  if (p >= stop) return starved();
  if (charClass(load<u8>(p)) & C_OWS) return fail(Status.InvalidRequestLine, p); // trailing whitespace
  p = expectCrlf(p, Status.InvalidVersion);
  if (p == 0) return versionStatus;

  store<u32>(out + PH_METHOD_PTR, <u32>method);
  store<u32>(out + PH_METHOD_LEN, <u32>methodLen);
  store<u32>(out + PH_TARGET_PTR, <u32>target);
  store<u32>(out + PH_TARGET_LEN, <u32>targetLen);
  return fieldsAndFraming(p, out, 0);
}

function responseHead(out: usize, requestWasHead: bool): i32 {
  let p = parseVersion(base);
  if (p == 0) return versionStatus;
  if (p >= stop) return starved();
  if (load<u8>(p) != CharCode.SP) return fail(Status.InvalidStatusLine, p);
  p++;
  const codeAt = p;
  let code: u32 = 0;
  for (let i = 0; i < 3; i++) {
    if (p >= stop) return starved();
    const d = <u32>load<u8>(p) - CharCode.ZERO;
    // status-code = 3DIGIT; the first digit is 1–9 (RFC 9110 §15: 100–999 are well-formed).
    if (d > 9 || (i == 0 && d == 0)) return fail(Status.InvalidStatusLine, p);
    code = code * 10 + d;
    p++;
  }
  if (p >= stop) return starved();
  let c = <u32>load<u8>(p);
  let reason = p;
  // RFC 9112 §4: a server MUST send the SP before an empty reason-phrase, but a client should
  // be liberal: "HTTP/1.1 200\r\n" (no SP, no reason) is accepted with an empty reason.
  if (c == CharCode.SP) {
    p++;
    reason = p;
    // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
    p = skipField(p, stop);
    if (p >= stop) return starved();
    c = load<u8>(p);
  }
  const reasonLen = p - reason;
  p = expectCrlf(p, Status.InvalidStatusLine);
  if (p == 0) return versionStatus;

  store<u32>(out + PH_STATUS_CODE, code);
  store<u32>(out + PH_STATUS_CODE_PTR, <u32>codeAt);
  store<u32>(out + PH_REASON_PTR, <u32>reason);
  store<u32>(out + PH_REASON_LEN, <u32>reasonLen);
  const noBody = requestWasHead || code < 200 || code == 204 || code == 304;
  return fieldsAndFraming(p, out, noBody ? 1 : 0);
}

/**
 * Parses the field lines from `p` through the final empty line, then the whole-head checks and
 * framing. `noBody` (responses): the status or the request method rules a body out.
 */
function fieldsAndFraming(p: usize, out: usize, noBody: i32): i32 {
  let count: u32 = 0;
  let entry = out + PH_HEADERS;
  for (;;) {
    if (p >= stop) return starved();
    let c = <u32>load<u8>(p);
    if (c == CharCode.CR) {
      if (p + 1 >= stop) return starved();
      if (load<u8>(p + 1) != CharCode.LF) return fail(Status.BareCr, p);
      p += 2;
      break;
    }
    // A line starting with whitespace is obs-fold (or, right after the start-line, the
    // whitespace RFC 9112 §2.2 says to reject); both are rejected.
    if (charClass(c) & C_OWS) return fail(Status.ObsFold, p);
    if (c == CharCode.LF) return fail(Status.BareLf, p);
    if (count == MAX_HEADERS) return fail(Status.TooManyHeaders, p);

    // field-name = token, then ":" with no whitespace before it.
    const name = p;
    p = skipTchar(p, stop);
    if (p >= stop) return starved();
    c = load<u8>(p);
    if (c != CharCode.COLON || p == name) {
      return fail(p > name && charClass(c) & C_OWS ? Status.SpaceBeforeColon : Status.InvalidHeaderName, p);
    }
    const nameLen = p - name;
    p++;

    // OWS, then the value up to CR; every byte must be a field byte (no NUL, CR, LF, CTL).
    for (;;) {
      if (p >= stop) return starved();
      c = load<u8>(p);
      if (!(charClass(c) & C_OWS)) break;
      p++;
    }
    const value = p;
    p = skipField(p, stop);
    if (p >= stop) return starved();
    c = load<u8>(p);
    if (c != CharCode.CR) return fail(c == CharCode.LF ? Status.BareLf : Status.InvalidHeaderValue, p);
    if (p + 1 >= stop) return starved();
    if (load<u8>(p + 1) != CharCode.LF) return fail(Status.BareCr, p);
    let valueEnd = p;
    while (valueEnd > value && charClass(load<u8>(valueEnd - 1)) & C_OWS) valueEnd--;
    const valueLen = valueEnd - value;

    store<u32>(entry, <u32>name);
    store<u32>(entry, <u32>nameLen, 4);
    store<u32>(entry, <u32>value, 8);
    store<u32>(entry, <u32>valueLen, 12);
    entry += PH_HEADER_ENTRY;

    const s = inspectField(name, nameLen, value, valueLen, count);
    if (s != Status.Ok) return fail(s, name);
    count++;
    p += 2;
  }

  // ── Whole-head checks, in a fixed order. ──
  const end = p;
  if (isRequest) {
    if (minor == 1 && hostCount == 0) return fail(Status.MissingHost, end - 2);
  }
  const hasCl = (flags & HeadFlag.HasContentLength) != 0;
  const hasTe = (flags & HeadFlag.HasTransferEncoding) != 0;
  if (hasTe) {
    if (hasCl) return fail(Status.TeAndCl, end - 2);
    if (teChunkedCount > 1) return fail(Status.InvalidTransferEncoding, end - 2);
    if (isRequest && !teLastIsChunked) return fail(Status.ChunkedNotFinal, end - 2);
    // Codings other than chunked are not implemented (the proxy re-frames bodies and would
    // drop them); Envoy answers 501 too. For responses this becomes a 502 at the proxy.
    if (teOther || !teLastIsChunked) return fail(Status.UnsupportedTransferCoding, end - 2);
  }

  let framing: u32 = Framing.None;
  if (noBody) framing = Framing.None;
  else if (hasTe) framing = Framing.Chunked;
  else if (hasCl) framing = Framing.Length;
  else if (!isRequest) framing = Framing.Close;

  // HTTP/1.1 is persistent unless "close"; HTTP/1.0 only with "keep-alive" (RFC 9112 §9.3).
  let keepAlive = minor == 1
    ? (flags & HeadFlag.ConnectionClose) == 0
    : (flags & HeadFlag.ConnectionKeepAlive) != 0 && (flags & HeadFlag.ConnectionClose) == 0;
  if (framing == Framing.Close) keepAlive = false;

  store<u32>(out + PH_HEAD_LENGTH, <u32>(end - base));
  store<u32>(out + PH_VERSION, minor);
  store<u32>(out + PH_FRAMING, framing);
  store<u32>(out + PH_KEEP_ALIVE, keepAlive ? 1 : 0);
  store<f64>(out + PH_CONTENT_LENGTH, hasCl ? <f64>contentLength : -1.0);
  store<u32>(out + PH_HEADER_COUNT, count);
  store<u32>(out + PH_HOST_INDEX, hostIndex);
  store<u32>(out + PH_FLAGS, flags);
  return Status.Ok;
}

/** Line-level checks for the fields the codec itself interprets; others pass untouched. */
// Inlined into the field-line loop: it runs once per line and mostly only dispatches on length.
// @ts-ignore: decorator
@inline function inspectField(name: usize, nameLen: usize, value: usize, valueLen: usize, index: u32): i32 {
  // Dispatch on length and first letter first: most fields are none of these four.
  const first = foldByte(<u32>load<u8>(name));
  if (nameLen == 4) {
    if (isRequest && first == 0x68 && equalsLower(name, 4, 'host')) {
      hostCount++;
      if (hostCount > 1) return Status.DuplicateHost;
      hostIndex = index;
    }
  } else if (nameLen == 14) {
    if (first == 0x63 && equalsLower(name, 14, 'content-length')) return contentLengthField(value, valueLen);
  } else if (nameLen == 17) {
    if (first == 0x74 && equalsLower(name, 17, 'transfer-encoding')) return transferEncodingField(value, valueLen);
  } else if (nameLen == 10) {
    if (first == 0x63 && equalsLower(name, 10, 'connection')) connectionField(value, valueLen);
  }
  return Status.Ok;
}

/**
 * Content-Length = 1*DIGIT; a list of identical values ("5, 5") and repeated fields that agree
 * are accepted as one value (RFC 9110 §8.6); anything else is an error.
 */
function contentLengthField(v: usize, len: usize): i32 {
  let i: usize = 0;
  for (;;) {
    const start = i;
    let n: u64 = 0;
    while (i < len) {
      const d = <u32>load<u8>(v + i) - CharCode.ZERO;
      if (d > 9) break;
      n = n * 10 + <u64>d;
      if (n > MAX_SAFE_LENGTH) return Status.InvalidContentLength;
      i++;
    }
    if (i == start) return Status.InvalidContentLength;
    if (flags & HeadFlag.HasContentLength) {
      if (n != contentLength) return Status.ContentLengthMismatch;
    } else {
      flags |= HeadFlag.HasContentLength;
      contentLength = n;
    }
    while (i < len && charClass(load<u8>(v + i)) & C_OWS) i++;
    if (i == len) return Status.Ok;
    if (load<u8>(v + i) != CharCode.COMMA) return Status.InvalidContentLength;
    i++;
    while (i < len && charClass(load<u8>(v + i)) & C_OWS) i++;
  }
  return Status.Ok; // unreachable: the loop returns
}

/**
 * Transfer-Encoding = #transfer-coding. Records whether the last coding so far is chunked,
 * how often chunked occurs and whether any other coding occurs; the verdict waits for the
 * end of the head because a later field line may add codings.
 */
function transferEncodingField(v: usize, len: usize): i32 {
  // RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 means the framing is faulty.
  if (minor == 0) return Status.InvalidTransferEncoding;
  flags |= HeadFlag.HasTransferEncoding;
  let i: usize = 0;
  let codings = 0;
  while (i < len) {
    let c = <u32>load<u8>(v + i);
    // Empty list elements (", ,") are ignored, as RFC 9110 §5.6.1 asks of recipients.
    if (c == CharCode.COMMA || charClass(c) & C_OWS) { i++; continue; }
    const start = i;
    while (i < len && charClass(load<u8>(v + i)) & C_TCHAR) i++;
    if (i == start) return Status.InvalidTransferEncoding;
    const chunked = equalsLower(v + start, i - start, 'chunked');
    codings++;
    if (chunked) {
      teChunkedCount++;
    } else {
      teOther = true;
    }
    teLastIsChunked = chunked;
    // Parameters: skipped up to the next comma outside a quoted-string. chunked has none
    // (RFC 9112 §7: their presence SHOULD be treated as an error).
    while (i < len && charClass(load<u8>(v + i)) & C_OWS) i++;
    if (i < len && load<u8>(v + i) == CharCode.SEMICOLON) {
      if (chunked) return Status.InvalidTransferEncoding;
      let quoted = false;
      while (i < len) {
        c = load<u8>(v + i);
        if (quoted) {
          if (c == 0x5c) i++; // quoted-pair: skip the escaped byte
          else if (c == CharCode.DQUOTE) quoted = false;
        } else if (c == CharCode.DQUOTE) {
          quoted = true;
        } else if (c == CharCode.COMMA) {
          break;
        }
        i++;
      }
      if (quoted) return Status.InvalidTransferEncoding;
    }
    if (i < len && load<u8>(v + i) != CharCode.COMMA) return Status.InvalidTransferEncoding;
  }
  if (codings == 0) return Status.InvalidTransferEncoding;
  return Status.Ok;
}

/** Connection = #connection-option; records close / keep-alive / upgrade (case-insensitive). */
function connectionField(v: usize, len: usize): void {
  let i: usize = 0;
  while (i < len) {
    while (i < len && (load<u8>(v + i) == CharCode.COMMA || charClass(load<u8>(v + i)) & C_OWS)) i++;
    const start = i;
    while (i < len && load<u8>(v + i) != CharCode.COMMA) i++;
    let end = i;
    while (end > start && charClass(load<u8>(v + end - 1)) & C_OWS) end--;
    const n = end - start;
    if (n == 5 && equalsLower(v + start, 5, 'close')) flags |= HeadFlag.ConnectionClose;
    else if (n == 10 && equalsLower(v + start, 10, 'keep-alive')) flags |= HeadFlag.ConnectionKeepAlive;
    else if (n == 7 && equalsLower(v + start, 7, 'upgrade')) flags |= HeadFlag.ConnectionUpgrade;
  }
}
