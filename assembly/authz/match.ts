// Matching one field of a policy against the request: the attribute's values (from the
// request view or the attribute region) against the field's values and notValues, by kind.
import { RV_METHOD_PTR, RV_METHOD_LEN, RV_PATH_PTR, RV_AUTHORITY_PTR, RV_AUTHORITY_LEN, RV_HEADER_COUNT, RV_HEADERS, RV_HEADER_ENTRY } from '../abi';
import { bytesEqual, bytesEqualLower } from '../route/bytes';
import { AT_ENTRIES, AT_ENTRY, entryCount } from './attributes';
import {
  AH_VALUES, VALUE_SIZE, VA_KIND, VA_OFF, VA_LEN, VA_AUX, FI_ATTR, FI_KEY_OFF, FI_KEY_LEN,
  FI_FIRST_VALUE, FI_VALUE_COUNT, FI_NOT_COUNT, Attr, Kind, rec,
} from './table';

const BRACE_OPEN: u32 = 0x7b;
const SLASH: u32 = 0x2f;
const BRACE_CLOSE: u32 = 0x7d;

// RFC 3986 pchar minus percent-decoding: the bytes Envoy's uri_template lets `{*}` and `{**}`
// match (ALPHA DIGIT - . _ ~ % ! $ & ' ( ) + , ; : @ =). Bit b of word b >> 5.
const PCHAR_0: u32 = 0;
const PCHAR_1: u32 = 0x2fff7bf2; // ! $ % & ' ( ) + , - . 0-9 : ; = (no " # * / < > ?)
const PCHAR_2: u32 = 0x87ffffff; // @ A-Z _
const PCHAR_3: u32 = 0x47fffffe; // a-z ~

@inline function isPchar(b: u32): bool {
  if (b >= 128) return false;
  const w = b >> 5;
  const word = w == 0 ? PCHAR_0 : w == 1 ? PCHAR_1 : w == 2 ? PCHAR_2 : PCHAR_3;
  return ((word >> (b & 31)) & 1) != 0;
}

/** Does the path (s, n) match the template text (p, m)? checkTable accepted the template (T1). */
function templateMatches(s: usize, n: usize, p: usize, m: usize): bool {
  let i: usize = 0; // in the path
  let j: usize = 0; // in the template
  while (j < m) {
    const b = <u32>load<u8>(p + j);
    if (b == BRACE_OPEN) {
      // T1: `{*}` or, only at the end, `{**}`; either way the template has 3 more bytes.
      if (<u32>load<u8>(p + j + 2) == BRACE_CLOSE) {
        // `{*}` (followed by `/` or the end): one or more pchars, greedy up to the `/`.
        const start = i;
        while (i < n && isPchar(<u32>load<u8>(s + i))) i++;
        if (i == start) return false;
        j += 3;
        continue;
      }
      // `{**}`: the rest of the path is pchars and `/` (possibly none).
      while (i < n) {
        const c = <u32>load<u8>(s + i);
        if (c != SLASH && !isPchar(c)) return false;
        i++;
      }
      return true;
    }
    if (i >= n || <u32>load<u8>(s + i) != b) return false;
    i++;
    j++;
  }
  return i == n;
}

/** Do the first `bits` bits of the addresses at a and b (network order) agree? */
function prefixEqual(a: usize, b: usize, bits: u32): bool {
  const whole = <usize>(bits >> 3);
  if (!bytesEqual(a, b, whole)) return false;
  const rest = bits & 7;
  if (rest == 0) return true;
  const mask = <u32>(0xff00 >> rest) & 0xff;
  return ((<u32>load<u8>(a + whole) ^ <u32>load<u8>(b + whole)) & mask) == 0;
}

/**
 * Does the attribute value (s, n) match value record `v` of table `t`? `ignoreCase`: the
 * value is lower-case and the attribute compared lower-cased (request.host); `presentOnly`:
 * Presence holds for an empty value too (a header or the host that is present).
 */
function valueMatches(t: usize, v: usize, s: usize, n: usize, ignoreCase: bool, presentOnly: bool): bool {
  const kind = <u32>load<u8>(v + VA_KIND);
  const p = t + <usize>load<u32>(v + VA_OFF);
  const m = <usize>load<u32>(v + VA_LEN);
  switch (kind) {
    case Kind.Exact:
      if (n != m) return false;
      break;
    case Kind.Prefix:
      if (n < m) return false;
      break;
    case Kind.Suffix:
      if (n < m) return false;
      s += n - m;
      break;
    case Kind.Presence:
      return presentOnly || n > 0;
    case Kind.Template:
      return templateMatches(s, n, p, m);
    case Kind.Cidr:
      return n == m && prefixEqual(s, p, load<u32>(v + VA_AUX));
    case Kind.Port:
      return n == 4 && load<u32>(s) == load<u32>(v + VA_AUX);
    default:
      return false;
  }
  return ignoreCase ? bytesEqualLower(s, p, m) : bytesEqual(s, p, m);
}

/** Does (s, n) match any of the `count` values from index `first`? */
function anyValue(t: usize, first: u32, count: u32, s: usize, n: usize, ignoreCase: bool, presentOnly: bool): bool {
  let v = rec(t, AH_VALUES, first, VALUE_SIZE);
  for (let i: u32 = 0; i < count; i++, v += <usize>VALUE_SIZE) {
    if (valueMatches(t, v, s, n, ignoreCase, presentOnly)) return true;
  }
  return false;
}

/** Does any value of the field's attribute match any of `count` values from `first`? */
function attributeMatches(t: usize, f: usize, rv: usize, attrs: usize, pathLen: usize, first: u32, count: u32): bool {
  const key = load<u32>(f + FI_ATTR);
  const attr = key & 0xff;
  switch (attr) {
    case Attr.RequestMethod:
      return anyValue(t, first, count, <usize>load<u32>(rv + RV_METHOD_PTR), <usize>load<u32>(rv + RV_METHOD_LEN), false, false);
    case Attr.RequestPath:
      return anyValue(t, first, count, <usize>load<u32>(rv + RV_PATH_PTR), pathLen, false, false);
    case Attr.RequestHost:
      return anyValue(t, first, count, <usize>load<u32>(rv + RV_AUTHORITY_PTR), <usize>load<u32>(rv + RV_AUTHORITY_LEN), true, true);
    case Attr.RequestHeaders: {
      const name = t + <usize>load<u32>(f + FI_KEY_OFF);
      const nameLen = load<u32>(f + FI_KEY_LEN);
      const n = load<u32>(rv + RV_HEADER_COUNT);
      let h = rv + <usize>RV_HEADERS;
      for (let i: u32 = 0; i < n; i++, h += <usize>RV_HEADER_ENTRY) {
        if (load<u32>(h + 4) != nameLen || !bytesEqual(<usize>load<u32>(h), name, <usize>nameLen)) continue;
        if (anyValue(t, first, count, <usize>load<u32>(h + 8), <usize>load<u32>(h + 12), false, true)) return true;
      }
      return false;
    }
    default: {
      const n = entryCount(attrs);
      let e = attrs + <usize>AT_ENTRIES;
      for (let i: u32 = 0; i < n; i++, e += <usize>AT_ENTRY) {
        if (load<u32>(e) != key) continue;
        if (anyValue(t, first, count, <usize>load<u32>(e + 4), <usize>load<u32>(e + 8), false, false)) return true;
      }
      return false;
    }
  }
}

/** Istio's field: some value matches (when values are given) and no notValue matches. */
export function fieldHolds(t: usize, f: usize, rv: usize, attrs: usize, pathLen: usize): bool {
  const first = load<u32>(f + FI_FIRST_VALUE);
  const values = load<u32>(f + FI_VALUE_COUNT);
  const nots = load<u32>(f + FI_NOT_COUNT);
  if (values > 0 && !attributeMatches(t, f, rv, attrs, pathLen, first, values)) return false;
  if (nots > 0 && attributeMatches(t, f, rv, attrs, pathLen, first + values, nots)) return false;
  return true;
}
