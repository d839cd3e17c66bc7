// One match condition (a record of the route table) evaluated against the request view:
// pick the subject's bytes, compare them by the condition's op (a regex runs its compiled
// program as a full match), invert if asked.
import {
  RV_METHOD_PTR, RV_METHOD_LEN, RV_PATH_PTR, RV_PATH_LEN, RV_AUTHORITY_PTR, RV_AUTHORITY_LEN,
  RV_HEADER_COUNT, RV_HEADERS, RV_HEADER_ENTRY,
} from '../abi';
import {
  CD_SUBJECT, CD_OP, CD_FLAGS, CD_NAME_OFF, CD_NAME_LEN, CD_VALUE_OFF, CD_VALUE_LEN, CD_AUX,
  FLAG_INVERT, FLAG_IGNORE_CASE, H_LISTENER_PORT, Subject, Op, u32At,
} from './table';
import { bytesEqual, bytesEqualLower } from './bytes';
import { authorityPort, NO_PORT } from './authority';
import { runProgram } from '../regex/run';

const QUESTION: u32 = 0x3f; // ?
const HASH: u32 = 0x23; // #
const AMPERSAND: u32 = 0x26; // &
const EQUALS: u32 = 0x3d; // =

/** Does the span (s, n) satisfy `op` against the pattern (p, m), or the regex program at `rx`? */
function compare(op: u32, ignoreCase: bool, s: usize, n: usize, p: usize, m: usize, rx: usize): bool {
  switch (op) {
    case Op.Regex:
      // checkTable ran regex_check on the program; ignoreCase does not apply (see table.ts).
      return runProgram(rx, s, n);
    case Op.Exact:
      if (n != m) return false;
      break;
    case Op.Prefix:
      if (n < m) return false;
      break;
    case Op.Suffix:
      if (n < m) return false;
      s += n - m;
      break;
    case Op.Present:
      return true;
    default:
      // Op.Never is handled by conditionHolds before any subject is read.
      // checkTable refuses other ops; never reached for a loaded table.
      return false;
  }
  return ignoreCase ? bytesEqualLower(s, p, m) : bytesEqual(s, p, m);
}

/** Length of the path part of the request-target: up to `?` (or `#`), as Envoy matches paths. */
export function pathLength(p: usize, n: usize): usize {
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i);
    if (b == QUESTION || b == HASH) return i;
  }
  return n;
}

/**
 * Query parameter `name` (nameLen bytes) of the request-target at `s` (n bytes, path part
 * pathLen bytes): the query is what follows a `?` that ends the path, up to `#`; elements are
 * split at `&` only, an element's name is up to its first `=` and its value the rest, both
 * raw (not percent-decoded, `+` not a space). `name` and `name=` are present with the empty
 * value. Only the FIRST element with the name is compared, as Envoy's query matcher does;
 * a request without the parameter matches no op (Present included).
 */
function queryParamHolds(op: u32, s: usize, n: usize, pathLen: usize, name: usize, nameLen: usize, p: usize, m: usize, rx: usize): bool {
  if (pathLen >= n || <u32>load<u8>(s + pathLen) != QUESTION) return false;
  let end = n;
  for (let j = pathLen + 1; j < n; j++) {
    if (<u32>load<u8>(s + j) == HASH) {
      end = j;
      break;
    }
  }
  let i = pathLen + 1;
  while (i <= end) {
    let j = i;
    while (j < end && <u32>load<u8>(s + j) != AMPERSAND) j++;
    let eq = i;
    while (eq < j && <u32>load<u8>(s + eq) != EQUALS) eq++;
    if (eq - i == nameLen && bytesEqual(s + i, name, nameLen)) {
      const v = eq < j ? eq + 1 : j;
      return compare(op, false, s + v, j - v, p, m, rx);
    }
    i = j + 1;
  }
  return false;
}

/**
 * Evaluates condition record `c` of table `t` against the request view at `rv`, whose path
 * part is `pathLen` bytes long (computed once per request by the matcher, not per condition).
 * Headers: the condition holds when ANY occurrence of the named header satisfies it (each
 * value compared on its own, not Envoy's comma-joined value), and Present holds when the
 * header occurs at all. Invert (Istio's withoutHeaders) negates the whole result, so an
 * inverted condition holds when the header is absent.
 */
export function conditionHolds(t: usize, c: usize, rv: usize, pathLen: usize): bool {
  const subject = <u32>load<u8>(c + CD_SUBJECT);
  const op = <u32>load<u8>(c + CD_OP);
  const flags = load<u8>(c + CD_FLAGS);
  const ignoreCase = (flags & FLAG_IGNORE_CASE) != 0;
  const p = t + <usize>load<u32>(c + CD_VALUE_OFF);
  const m = <usize>load<u32>(c + CD_VALUE_LEN);
  const rx = t + <usize>load<u32>(c + CD_AUX);
  // Decided at compile time: no request, and no invert flag, can make it hold.
  if (op == Op.Never) return false;
  let result = false;
  switch (subject) {
    case Subject.Uri: {
      result = compare(op, ignoreCase, <usize>load<u32>(rv + RV_PATH_PTR), pathLen, p, m, rx);
      break;
    }
    case Subject.Method:
      result = compare(op, ignoreCase, <usize>load<u32>(rv + RV_METHOD_PTR), <usize>load<u32>(rv + RV_METHOD_LEN), p, m, rx);
      break;
    case Subject.Authority:
      result = compare(op, ignoreCase, <usize>load<u32>(rv + RV_AUTHORITY_PTR), <usize>load<u32>(rv + RV_AUTHORITY_LEN), p, m, rx);
      break;
    case Subject.QueryParam:
      result = queryParamHolds(
        op, <usize>load<u32>(rv + RV_PATH_PTR), <usize>load<u32>(rv + RV_PATH_LEN), pathLen,
        t + <usize>load<u32>(c + CD_NAME_OFF), <usize>load<u32>(c + CD_NAME_LEN), p, m, rx,
      );
      break;
    case Subject.Port: {
      // The port the request addressed: its authority's, else the listener's (0 when the
      // compiler was not told, which equals no port a condition holds: those are 1..65535).
      let port = authorityPort(<usize>load<u32>(rv + RV_AUTHORITY_PTR), <usize>load<u32>(rv + RV_AUTHORITY_LEN));
      if (port == NO_PORT) port = u32At(t, H_LISTENER_PORT);
      result = port == load<u32>(c + CD_AUX);
      break;
    }
    case Subject.Header: {
      const name = t + <usize>load<u32>(c + CD_NAME_OFF);
      const nameLen = load<u32>(c + CD_NAME_LEN);
      const count = load<u32>(rv + RV_HEADER_COUNT);
      let h = rv + <usize>RV_HEADERS;
      for (let i: u32 = 0; i < count; i++, h += <usize>RV_HEADER_ENTRY) {
        // Names in the view and in the pool are both lower-case: plain equality.
        if (load<u32>(h + 4) != nameLen || !bytesEqual(<usize>load<u32>(h), name, <usize>nameLen)) continue;
        if (compare(op, ignoreCase, <usize>load<u32>(h + 8), <usize>load<u32>(h + 12), p, m, rx)) {
          result = true;
          break;
        }
      }
      break;
    }
    default:
      // checkTable refuses reserved subjects; never reached for a loaded table.
      return false;
  }
  return (flags & FLAG_INVERT) != 0 ? !result : result;
}
