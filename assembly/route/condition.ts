// One match condition (a record of the route table) evaluated against the request view:
// pick the subject's bytes, compare them by the condition's op (a regex runs its compiled
// program as a full match), invert if asked.
import {
  RV_METHOD_PTR, RV_METHOD_LEN, RV_PATH_PTR, RV_AUTHORITY_PTR, RV_AUTHORITY_LEN,
  RV_HEADER_COUNT, RV_HEADERS, RV_HEADER_ENTRY,
} from '../abi';
import {
  CD_SUBJECT, CD_OP, CD_FLAGS, CD_NAME_OFF, CD_NAME_LEN, CD_VALUE_OFF, CD_VALUE_LEN, CD_AUX,
  FLAG_INVERT, FLAG_IGNORE_CASE, Subject, Op,
} from './table';
import { bytesEqual, bytesEqualLower } from './bytes';
import { runProgram } from '../regex/run';

const QUESTION: u32 = 0x3f; // ?
const HASH: u32 = 0x23; // #

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
