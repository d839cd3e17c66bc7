// An HTTP/2 response header list (header-list.ts, as the HPACK decoder left it) read into the
// HTTP/1 codec's parsed-head struct (codec/parsed-head.ts), so that the core's response filter
// (codec/response-filter.ts: hop-by-hop dropped, the route's edits applied) reads an HTTP/2
// upstream's head as it reads an HTTP/1 one, with no HTTP/1.1 text made and no JS string or
// object per response. The checks RFC 9113 §8.2.1 and §8.3.2 ask of a response: :status once,
// first, three digits; no other pseudo-header; names lower-case tokens; values free of NUL, CR
// and LF and of surrounding whitespace; content-length digits (repeats must agree). The entries
// are spans into the list's own spans: read them before the decoder's next block.
import { HL_COUNT, HL_FIELDS, HL_FIELD } from './header-list';
import { charClass, C_TCHAR, C_FIELD, C_OWS, C_DIGIT, equalsLower } from '../codec/char-class';
import {
  MAX_HEADERS, PH_STATUS, PH_HEAD_LENGTH, PH_VERSION, PH_STATUS_CODE, PH_STATUS_CODE_PTR, PH_REASON_PTR, PH_REASON_LEN, PH_FRAMING,
  PH_KEEP_ALIVE, PH_CONTENT_LENGTH, PH_HEADER_COUNT, PH_HOST_INDEX, PH_FLAGS, PH_HEADERS, PH_HEADER_ENTRY, Framing, HeadFlag,
} from '../codec/parsed-head';

/** The parsed-head struct's reserved word, here: the head's grpc-status (0xFFFFFFFF: none or not a number). */
export const PH_GRPC_STATUS: u32 = 60;

/** h2_response_head's failures (negated). */
export const enum ResponseHeadError {
  /** :status missing, repeated, not first, or not three digits (100–999). */
  BadStatus = 1,
  /** A request or unknown pseudo-header, or one after a regular field. */
  BadPseudoHeader = 2,
  /** A name that is not a lower-case token, or a value with NUL, CR, LF or surrounding whitespace. */
  BadField = 3,
  /** content-length not digits, or repeated with another value. */
  BadContentLength = 4,
  /** More regular fields than the parsed head holds (MAX_HEADERS, Envoy's max_headers_count). */
  TooManyHeaders = 5,
}

function validName(p: usize, len: usize): bool {
  if (len == 0) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(p + i);
    if ((charClass(c) & C_TCHAR) == 0 || c - 0x41 < 26) return false;
  }
  return true;
}

function validValue(p: usize, len: usize): bool {
  if (len == 0) return true;
  if ((charClass(<u32>load<u8>(p)) & C_OWS) != 0 || (charClass(<u32>load<u8>(p + len - 1)) & C_OWS) != 0) return false;
  for (let i: usize = 0; i < len; i++) if ((charClass(<u32>load<u8>(p + i)) & C_FIELD) == 0) return false;
  return true;
}

/** Digits as a number (≤ 2^53 - 1), or -1. */
function digits(p: usize, len: usize): f64 {
  if (len == 0 || len > 15) return -1;
  let v: f64 = 0;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(p + i);
    if ((charClass(c) & C_DIGIT) == 0) return -1;
    v = v * 10 + <f64>(c - 0x30);
  }
  return v;
}

/**
 * Fills the parsed-head struct at `ph` from the response header list at `list`: the status
 * code, content-length, grpc-status (PH_GRPC_STATUS) and the regular fields as entries.
 * Returns 0, or a negated ResponseHeadError. The framing is left to the caller (END_STREAM
 * and the request's method decide it on HTTP/2): Length with a content-length, else Close.
 */
export function h2_response_head(list: usize, ph: usize): i32 {
  const count = load<u32>(list + HL_COUNT);
  let code: u32 = 0;
  let codePtr: usize = 0;
  let regular = false;
  let n: u32 = 0;
  let contentLength: f64 = -1;
  let grpcStatus: u32 = 0xffffffff;
  let flags: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const f = list + HL_FIELDS + <usize>i * HL_FIELD;
    const name = <usize>load<u32>(f);
    const nameLen = <usize>load<u32>(f, 4);
    const value = <usize>load<u32>(f, 8);
    const valueLen = <usize>load<u32>(f, 12);
    if (nameLen > 0 && load<u8>(name) == 0x3a) {
      if (regular) return -ResponseHeadError.BadPseudoHeader;
      if (!(nameLen == 7 && equalsLower(name, 7, ':status'))) return -ResponseHeadError.BadPseudoHeader;
      if (code != 0 || valueLen != 3) return -ResponseHeadError.BadStatus;
      const v = digits(value, 3);
      if (v < 100) return -ResponseHeadError.BadStatus;
      code = <u32>v;
      codePtr = value;
      continue;
    }
    regular = true;
    if (!validName(name, nameLen) || !validValue(value, valueLen)) return -ResponseHeadError.BadField;
    if (nameLen == 14 && equalsLower(name, 14, 'content-length')) {
      const v = digits(value, valueLen);
      if (v < 0 || (contentLength >= 0 && v != contentLength)) return -ResponseHeadError.BadContentLength;
      contentLength = v;
      flags |= HeadFlag.HasContentLength;
    } else if (nameLen == 11 && equalsLower(name, 11, 'grpc-status')) {
      const v = digits(value, valueLen);
      grpcStatus = v < 0 || v > 0xfffffffe ? 0xffffffff : <u32>v;
    }
    if (n == MAX_HEADERS) return -ResponseHeadError.TooManyHeaders;
    const h = ph + PH_HEADERS + <usize>n * PH_HEADER_ENTRY;
    store<u32>(h, <u32>name);
    store<u32>(h, <u32>nameLen, 4);
    store<u32>(h, <u32>value, 8);
    store<u32>(h, <u32>valueLen, 12);
    n++;
  }
  if (code == 0) return -ResponseHeadError.BadStatus;
  store<u32>(ph + PH_STATUS, 0);
  store<u32>(ph + PH_HEAD_LENGTH, 0);
  store<u32>(ph + PH_VERSION, 1);
  store<u32>(ph + PH_STATUS_CODE, code);
  store<u32>(ph + PH_STATUS_CODE_PTR, <u32>codePtr);
  store<u32>(ph + PH_REASON_PTR, 0);
  store<u32>(ph + PH_REASON_LEN, 0);
  store<u32>(ph + PH_FRAMING, contentLength >= 0 ? Framing.Length : Framing.Close);
  store<u32>(ph + PH_KEEP_ALIVE, 1);
  store<f64>(ph + PH_CONTENT_LENGTH, contentLength);
  store<u32>(ph + PH_HEADER_COUNT, n);
  store<u32>(ph + PH_HOST_INDEX, 0xffffffff);
  store<u32>(ph + PH_FLAGS, flags);
  store<u32>(ph + PH_GRPC_STATUS, grpcStatus);
  return 0;
}
