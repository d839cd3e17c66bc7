// The upstream request head the core's head writer wrote (codec/head-writer.ts: request line,
// host first, fields, blank line: the route's edits, rewrites and x-envoy-* lines already in
// it) read as an HPACK header list (header-list.ts) for an HTTP/2 upstream, so that the head
// goes from the core's bytes to the encoder with no JS string or object per request:
// - the request line gives :method and :path, `scheme` :scheme, Host :authority (RFC 9113
//   §8.3.1); the pseudo-headers come first (§8.3);
// - names are lower-cased in place (the host passes its own copy of the head), values have
//   their optional whitespace trimmed;
// - the connection-specific fields HTTP/2 forbids are dropped (§8.2.2: connection, keep-alive,
//   proxy-connection, transfer-encoding, upgrade; te unless it is `trailers`).
// Spans point into the head and into this file's static names: keep both until the list is encoded.
import { HL_COUNT, HL_FIELDS, HL_FIELD, MAX_FIELDS } from './header-list';
import { charClass, C_OWS, CharCode, equalsLower } from '../codec/char-class';

/** h2_request_list's failures (negated). */
export const enum RequestListError {
  /** The first line is not `method SP target SP version`. */
  NotRequestLine = 1,
  /** A line has no colon, or an empty name. */
  NotHeaderField = 2,
  /** More fields than a header list holds (MAX_FIELDS). */
  TooManyFields = 3,
}

// ":method:path:scheme:authority" as bytes: the pseudo-header names the list points at.
const PSEUDO: usize = memory.data<u8>([
  0x3a, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, // :method  (0, 7)
  0x3a, 0x70, 0x61, 0x74, 0x68, // :path (7, 5)
  0x3a, 0x73, 0x63, 0x68, 0x65, 0x6d, 0x65, // :scheme (12, 7)
  0x3a, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x74, 0x79, // :authority (19, 10)
]);

// @ts-ignore: decorator
@inline function putField(list: usize, i: u32, name: usize, nameLen: usize, value: usize, valueLen: usize): void {
  const f = list + HL_FIELDS + <usize>i * HL_FIELD;
  store<u32>(f, <u32>name);
  store<u32>(f, <u32>nameLen, 4);
  store<u32>(f, <u32>value, 8);
  store<u32>(f, <u32>valueLen, 12);
  store<u32>(f, 0, 16);
}

/** The index of the CR of the next CRLF at or after `p` (before `end`), or `end`. */
function lineEnd(p: usize, end: usize): usize {
  while (p + 1 < end) {
    if (load<u8>(p) == CharCode.CR && load<u8>(p + 1) == CharCode.LF) return p;
    p++;
  }
  return end;
}

/** Whether a lower-cased name is one HTTP/2 forbids (te is decided by its value). */
function connectionSpecific(p: usize, len: usize): bool {
  if (len == 10) return equalsLower(p, 10, 'connection') || equalsLower(p, 10, 'keep-alive');
  if (len == 16) return equalsLower(p, 16, 'proxy-connection');
  if (len == 17) return equalsLower(p, 17, 'transfer-encoding');
  if (len == 7) return equalsLower(p, 7, 'upgrade');
  return false;
}

/**
 * Fills `list` from the HTTP/1.1 request head at (head, len) and the scheme at (scheme,
 * schemeLen). Returns the field count, or a negated RequestListError. Lower-cases the head's
 * field names in place.
 */
export function h2_request_list(head: usize, len: u32, scheme: usize, schemeLen: u32, list: usize): i32 {
  const end = head + <usize>len;
  // The request line: method SP target SP version.
  const rl = lineEnd(head, end);
  let sp1 = head;
  while (sp1 < rl && load<u8>(sp1) != CharCode.SP) sp1++;
  let sp2 = rl;
  while (sp2 > sp1 && load<u8>(sp2 - 1) != CharCode.SP) sp2--;
  sp2--; // the second space
  if (sp1 == head || sp1 >= rl || sp2 <= sp1) return -RequestListError.NotRequestLine;
  // Regular fields from index 4: :method, :scheme, :authority, :path are put before them.
  let n: u32 = 4;
  let authority: usize = 0;
  let authorityLen: usize = 0;
  let hasAuthority = false;
  let p = rl + 2;
  while (p < end) {
    const e = lineEnd(p, end);
    if (e == p) break; // the blank line
    let colon = p;
    while (colon < e && load<u8>(colon) != CharCode.COLON) colon++;
    if (colon == p || colon == e) return -RequestListError.NotHeaderField;
    const nameLen = colon - p;
    for (let q = p; q < colon; q++) {
      const c = <u32>load<u8>(q);
      if (c - 0x41 < 26) store<u8>(q, <u8>(c | 32));
    }
    let v = colon + 1;
    let ve = e;
    while (v < ve && (charClass(<u32>load<u8>(v)) & C_OWS) != 0) v++;
    while (ve > v && (charClass(<u32>load<u8>(ve - 1)) & C_OWS) != 0) ve--;
    p = e + 2;
    if (nameLen == 4 && equalsLower(colon - 4, 4, 'host')) {
      if (!hasAuthority) {
        hasAuthority = true;
        authority = v;
        authorityLen = ve - v;
      }
      continue;
    }
    if (connectionSpecific(colon - nameLen, nameLen)) continue;
    if (nameLen == 2 && equalsLower(colon - 2, 2, 'te') && !(ve - v == 8 && equalsLower(v, 8, 'trailers'))) continue;
    if (n == MAX_FIELDS) return -RequestListError.TooManyFields;
    putField(list, n++, colon - nameLen, nameLen, v, ve - v);
  }
  putField(list, 0, PSEUDO, 7, head, sp1 - head);
  putField(list, 1, PSEUDO + 12, 7, scheme, <usize>schemeLen);
  if (hasAuthority) {
    putField(list, 2, PSEUDO + 19, 10, authority, authorityLen);
    putField(list, 3, PSEUDO + 7, 5, sp1 + 1, sp2 - sp1 - 1);
  } else {
    putField(list, 2, PSEUDO + 7, 5, sp1 + 1, sp2 - sp1 - 1);
    // No Host: the regular fields move up over the unused :authority slot.
    memory.copy(list + HL_FIELDS + 3 * HL_FIELD, list + HL_FIELDS + 4 * HL_FIELD, <usize>(n - 4) * HL_FIELD);
    n--;
  }
  store<u32>(list + HL_COUNT, n);
  return <i32>n;
}
