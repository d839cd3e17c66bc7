// The requests a fault filter root context holds paused: (stream, deadline, abort status)
// records in one growable block, kept unordered (a delayed request is rare next to the others;
// a scan per tick is cheaper than keeping order). The list itself is a small struct in linear
// memory (no managed object), so root contexts can come and go without growing the heap.

const RECORD: usize = 16; // u32 stream id, u32 abort status (0 = continue), u64 deadline (ns)
const INITIAL: u32 = 16;

// List struct: block pointer, capacity, count.
const L_BLOCK: usize = 0;
const L_CAPACITY: usize = 4;
const L_COUNT: usize = 8;
export const LIST_SIZE: usize = 12;

/** Initialises an empty list at `l` (LIST_SIZE bytes). */
export function listInit(l: usize): void {
  store<u32>(l + L_BLOCK, 0);
  store<u32>(l + L_CAPACITY, 0);
  store<u32>(l + L_COUNT, 0);
}

@inline function block(l: usize): usize {
  return <usize>load<u32>(l + L_BLOCK);
}

@inline function rec(l: usize, i: i32): usize {
  return block(l) + <usize>i * RECORD;
}

export function listCount(l: usize): u32 {
  return load<u32>(l + L_COUNT);
}

export function listAdd(l: usize, stream: u32, abortStatus: u32, deadlineNs: u64): void {
  const n = listCount(l);
  const capacity = load<u32>(l + L_CAPACITY);
  if (n == capacity) {
    const grown = capacity == 0 ? INITIAL : capacity * 2;
    const b = heap.alloc(<usize>grown * RECORD);
    if (block(l) != 0) {
      memory.copy(b, block(l), <usize>n * RECORD);
      heap.free(block(l));
    }
    store<u32>(l + L_BLOCK, <u32>b);
    store<u32>(l + L_CAPACITY, grown);
  }
  const r = rec(l, <i32>n);
  store<u32>(r, stream);
  store<u32>(r + 4, abortStatus);
  store<u64>(r + 8, deadlineNs);
  store<u32>(l + L_COUNT, n + 1);
}

/** Index of a record whose deadline is at or before `nowNs`, or -1. */
export function listDue(l: usize, nowNs: u64): i32 {
  const n = <i32>listCount(l);
  for (let i = 0; i < n; i++) {
    if (load<u64>(rec(l, i) + 8) <= nowNs) return i;
  }
  return -1;
}

/** Index of `stream`'s record, or -1. */
export function listFind(l: usize, stream: u32): i32 {
  const n = <i32>listCount(l);
  for (let i = 0; i < n; i++) {
    if (load<u32>(rec(l, i)) == stream) return i;
  }
  return -1;
}

export function listStream(l: usize, i: i32): u32 {
  return load<u32>(rec(l, i));
}

export function listAbortStatus(l: usize, i: i32): u32 {
  return load<u32>(rec(l, i) + 4);
}

/** The earliest deadline (u64 max when empty). */
export function listEarliest(l: usize): u64 {
  let min: u64 = u64.MAX_VALUE;
  const n = <i32>listCount(l);
  for (let i = 0; i < n; i++) {
    const d = load<u64>(rec(l, i) + 8);
    if (d < min) min = d;
  }
  return min;
}

/** Removes record `i` (the last record takes its place). */
export function listRemove(l: usize, i: i32): void {
  const n = listCount(l) - 1;
  store<u32>(l + L_COUNT, n);
  if (<u32>i != n) memory.copy(rec(l, i), rec(l, <i32>n), RECORD);
}

/** Frees the records' block (the root context is going away). */
export function listRelease(l: usize): void {
  if (block(l) != 0) heap.free(block(l));
  listInit(l);
}
