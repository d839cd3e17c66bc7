// Header edit lists: the compiled form of a route's HeaderOps (remove / set / add), encoded
// once by the host at config compile time and read by the head writer and the response head
// filter. Several lists apply in order, as if each entry were applied to the header list in
// turn; the writers evaluate that without building the list (see `killedAfter`).
import { equalsFold } from './char-class';

// Layout of one list (u32), at its handle address:
//   +0  count
//   +4  entries, count × 20 bytes: op, namePtr, nameLen, valuePtr, valueLen
//       (names lower-case ASCII, absolute addresses; the bytes follow the entries)
export const EL_COUNT: u32 = 0;
export const EL_ENTRIES: u32 = 4;
export const EL_ENTRY: u32 = 20;

/** What an entry does to the headers named by it. */
export const enum EditOp {
  /** Drops every header of that name. */
  Remove = 0,
  /** Drops every header of that name, then adds this one. */
  Set = 1,
  /** Adds this header, keeping the others. */
  Add = 2,
}

// The edit lists of the current call (set by the writer or filter from its args struct).
export const MAX_EDIT_LISTS: u32 = 8;
export const editLists: usize = memory.data(MAX_EDIT_LISTS * 4);
export let editListCount: u32 = 0;

/** Sets how many handles at `editLists` apply to the current call. */
export function setEditListCount(n: u32): void {
  editListCount = n;
}

// @ts-ignore: decorator
@inline export function entryAt(list: usize, k: u32): usize {
  return list + EL_ENTRIES + k * EL_ENTRY;
}

/**
 * Whether a Remove or Set for `name` comes after position (list `li`, entry `k`) — that is,
 * whether a header placed at that position is gone once every edit has applied. The
 * original headers sit before every edit: pass li = -1.
 */
export function killedAfter(name: usize, nameLen: usize, li: i32, k: i32): bool {
  for (let l: i32 = li < 0 ? 0 : li; l < <i32>editListCount; l++) {
    const list = <usize>load<u32>(editLists + (<usize>l << 2));
    const n = <i32>load<u32>(list, EL_COUNT);
    for (let j: i32 = l == li ? k + 1 : 0; j < n; j++) {
      const e = entryAt(list, <u32>j);
      if (load<u32>(e) == EditOp.Add) continue;
      if (equalsFold(name, nameLen, <usize>load<u32>(e, 4), <usize>load<u32>(e, 8))) return true;
    }
  }
  return false;
}
