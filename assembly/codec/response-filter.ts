// The downstream response head filter: from a parsed upstream response head and the route's
// edit lists, lists the (name, value) spans to send, so that the host hands Uint8Array views
// straight to uWebSockets.js `res.writeHeader` with no JS string per header.
import { Status } from '../status';
import { equalsLower } from './char-class';
import { EditOp, EL_COUNT, editLists, editListCount, entryAt, killedAfter } from './edit-list';
import { isHopByHop, isConnection, namedInConnection } from './hop-by-hop';
import { loadEditLists, WA_FILTER_FLAGS } from './head-writer';
import { PH_HEADER_COUNT, PH_HEADERS, PH_HEADER_ENTRY } from './parsed-head';

/** Bits of the args' filterFlags. */
export const enum FilterFlag {
  /**
   * Keep Content-Length. By default it is dropped because uWebSockets.js frames the body
   * itself; a response to HEAD (or a 304) should keep it to describe the representation.
   */
  KeepContentLength = 1,
}

/** Bytes per output pair: namePtr, nameLen, valuePtr, valueLen (u32 each). */
export const RF_PAIR: u32 = 16;

/**
 * Writes the fields to forward for the parsed response head at `parsed` as pairs at `out`
 * (room for `capPairs`). Returns the number of pairs, or the negated status: -OutputTooSmall
 * or -TooManyEditLists. Pairs point into the parsed input or into the edit lists.
 *
 * Dropped: hop-by-hop fields, fields named in Connection, content-length (unless
 * KeepContentLength), and fields removed or set by the edits; edit set/add entries follow
 * the upstream's fields in order.
 */
export function filter_response_head(parsed: usize, args: usize, out: usize, capPairs: u32): i32 {
  if (!loadEditLists(args)) return -Status.TooManyEditLists;
  const keepCl = (load<u32>(args, WA_FILTER_FLAGS) & FilterFlag.KeepContentLength) != 0;
  const count = load<u32>(parsed, PH_HEADER_COUNT);
  let hasConnection = false;
  for (let i: u32 = 0; i < count; i++) {
    const h = parsed + PH_HEADERS + i * PH_HEADER_ENTRY;
    if (isConnection(<usize>load<u32>(h), <usize>load<u32>(h, 4))) { hasConnection = true; break; }
  }
  let n: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const h = parsed + PH_HEADERS + i * PH_HEADER_ENTRY;
    const name = <usize>load<u32>(h);
    const nameLen = <usize>load<u32>(h, 4);
    const value = <usize>load<u32>(h, 8);
    const valueLen = <usize>load<u32>(h, 12);
    if (isHopByHop(name, nameLen, value, valueLen)) continue;
    if (!keepCl && nameLen == 14 && equalsLower(name, 14, 'content-length')) continue;
    if (hasConnection && namedInParsedConnection(parsed, count, name, nameLen)) continue;
    if (editListCount != 0 && killedAfter(name, nameLen, -1, 0)) continue;
    if (n == capPairs) return -Status.OutputTooSmall;
    storePair(out + n * RF_PAIR, name, nameLen, value, valueLen);
    n++;
  }
  for (let l: u32 = 0; l < editListCount; l++) {
    const list = <usize>load<u32>(editLists + (l << 2));
    const m = load<u32>(list, EL_COUNT);
    for (let k: u32 = 0; k < m; k++) {
      const e = entryAt(list, k);
      if (load<u32>(e) == EditOp.Remove) continue;
      const name = <usize>load<u32>(e, 4);
      const nameLen = <usize>load<u32>(e, 8);
      // The body framing belongs to uWebSockets.js; edits cannot add hop-by-hop fields.
      if (isHopByHop(name, nameLen, 0, 0) || (nameLen == 14 && equalsLower(name, 14, 'content-length'))) continue;
      if (killedAfter(name, nameLen, <i32>l, <i32>k)) continue;
      if (n == capPairs) return -Status.OutputTooSmall;
      storePair(out + n * RF_PAIR, name, nameLen, <usize>load<u32>(e, 12), <usize>load<u32>(e, 16));
      n++;
    }
  }
  return <i32>n;
}

// @ts-ignore: decorator
@inline function storePair(at: usize, name: usize, nameLen: usize, value: usize, valueLen: usize): void {
  store<u32>(at, <u32>name);
  store<u32>(at, <u32>nameLen, 4);
  store<u32>(at, <u32>value, 8);
  store<u32>(at, <u32>valueLen, 12);
}

function namedInParsedConnection(parsed: usize, count: u32, name: usize, nameLen: usize): bool {
  for (let i: u32 = 0; i < count; i++) {
    const h = parsed + PH_HEADERS + i * PH_HEADER_ENTRY;
    if (!isConnection(<usize>load<u32>(h), <usize>load<u32>(h, 4))) continue;
    if (namedInConnection(name, nameLen, <usize>load<u32>(h, 8), <usize>load<u32>(h, 12))) return true;
  }
  return false;
}
