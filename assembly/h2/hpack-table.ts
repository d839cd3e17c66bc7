// HPACK's indexing tables (RFC 7541 §2.3): the static table and one connection direction's
// dynamic table. The dynamic table is a FIFO of entries whose bytes live in one buffer of
// twice the table's capacity: new entries are appended, evicted ones are forgotten, and when
// the tail reaches the end the live bytes (at most the capacity) move back to the front. So
// every entry's name and value are contiguous and an insertion costs amortised O(length).
import { STATIC_BYTES, STATIC_COUNT, STATIC_ENTRIES } from './hpack-tables';

// Table struct layout (u32 each), then the entry ring, then the byte buffer.
export const HT_CAPACITY: u32 = 0; //   the SETTINGS_HEADER_TABLE_SIZE bound: no update may exceed it
export const HT_LIMIT: u32 = 4; //      the current maximum size (last table size update)
export const HT_SIZE_USED: u32 = 8; //  sum of entry sizes (name + value + 32, §4.1)
export const HT_COUNT: u32 = 12;
export const HT_ENTRY_CAP: u32 = 16; // ring slots: capacity / 32 + 1
export const HT_HEAD: u32 = 20; //      ring slot of the newest entry
export const HT_BYTES: u32 = 24; //     address of the byte buffer (2 × capacity bytes)
export const HT_BASE: u32 = 28; //      logical position of the buffer's first byte
export const HT_NEXT: u32 = 32; //      logical position of the next appended byte
export const HT_ENTRIES: u32 = 36; //   address of the ring: 12-byte slots (logical start, nameLen, valueLen)
export const HT_PENDING_MIN: u32 = 40; // encoder: smallest limit set since the last block
export const HT_PENDING: u32 = 44; //   encoder: 1 when a table size update must start the next block
export const HT_HEADER: u32 = 48;

/** Per-entry overhead in the size count (§4.1). */
export const ENTRY_OVERHEAD: u32 = 32;
/** The default SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
export const DEFAULT_TABLE_SIZE: u32 = 4096;

// The entry that the last lookup resolved (module globals: the core is single-threaded).
export let foundNamePtr: usize = 0;
export let foundNameLen: u32 = 0;
export let foundValuePtr: usize = 0;
export let foundValueLen: u32 = 0;

/** Allocates a dynamic table of `capacity` bytes (0 takes the default 4096). */
export function hpack_table_new(capacity: u32): usize {
  if (capacity == 0) capacity = DEFAULT_TABLE_SIZE;
  const entryCap = capacity / ENTRY_OVERHEAD + 1;
  const t = heap.alloc(<usize>HT_HEADER + <usize>entryCap * 12 + <usize>capacity * 2);
  memory.fill(t, 0, <usize>HT_HEADER);
  store<u32>(t + HT_CAPACITY, capacity);
  store<u32>(t + HT_LIMIT, capacity);
  store<u32>(t + HT_PENDING_MIN, capacity);
  store<u32>(t + HT_ENTRY_CAP, entryCap);
  store<u32>(t + HT_ENTRIES, <u32>(t + <usize>HT_HEADER));
  store<u32>(t + HT_BYTES, <u32>(t + <usize>HT_HEADER + <usize>entryCap * 12));
  return t;
}

/** Releases a table that hpack_table_new returned. */
export function hpack_table_free(t: usize): void {
  heap.free(t);
}

/** A table field, for the host's tests and stats (HT_* offset). */
export function hpack_table_field(t: usize, offset: u32): u32 {
  return load<u32>(t + <usize>offset);
}

// @ts-ignore: decorator
@inline function slot(t: usize, i: u32): usize {
  // i = 1 is the newest entry.
  const cap = load<u32>(t + HT_ENTRY_CAP);
  const s = (load<u32>(t + HT_HEAD) + cap - (i - 1)) % cap;
  return <usize>load<u32>(t + HT_ENTRIES) + <usize>s * 12;
}

function evictOldest(t: usize): void {
  const count = load<u32>(t + HT_COUNT);
  const e = slot(t, count);
  const size = load<u32>(e + 4) + load<u32>(e + 8) + ENTRY_OVERHEAD;
  store<u32>(t + HT_SIZE_USED, load<u32>(t + HT_SIZE_USED) - size);
  store<u32>(t + HT_COUNT, count - 1);
}

/** Sets the table's maximum size (a table size update, §4.3): evicts until the table fits. */
export function tableSetLimit(t: usize, limit: u32): void {
  store<u32>(t + HT_LIMIT, limit);
  while (load<u32>(t + HT_SIZE_USED) > limit) evictOldest(t);
}

/**
 * Adds an entry (§4.4). The name and value must not point into this table's buffer. An entry
 * larger than the limit empties the table and is not added.
 */
export function tableInsert(t: usize, namePtr: usize, nameLen: u32, valuePtr: usize, valueLen: u32): void {
  const limit = load<u32>(t + HT_LIMIT);
  const size = nameLen + valueLen + ENTRY_OVERHEAD;
  if (size > limit) {
    store<u32>(t + HT_COUNT, 0);
    store<u32>(t + HT_SIZE_USED, 0);
    return;
  }
  while (load<u32>(t + HT_SIZE_USED) + size > limit) evictOldest(t);
  const bytes = <usize>load<u32>(t + HT_BYTES);
  const capacity = load<u32>(t + HT_CAPACITY);
  const count = load<u32>(t + HT_COUNT);
  let next = load<u32>(t + HT_NEXT);
  let base = load<u32>(t + HT_BASE);
  if (next - base + nameLen + valueLen > capacity * 2) {
    // Move the live bytes (oldest entry to the tail) back to the front of the buffer.
    const start = count == 0 ? next : load<u32>(slot(t, count));
    memory.copy(bytes, bytes + <usize>(start - base), <usize>(next - start));
    base = start;
    store<u32>(t + HT_BASE, base);
  }
  const at = bytes + <usize>(next - base);
  memory.copy(at, namePtr, <usize>nameLen);
  memory.copy(at + <usize>nameLen, valuePtr, <usize>valueLen);
  const cap = load<u32>(t + HT_ENTRY_CAP);
  const head = (load<u32>(t + HT_HEAD) + 1) % cap;
  store<u32>(t + HT_HEAD, head);
  const e = <usize>load<u32>(t + HT_ENTRIES) + <usize>head * 12;
  store<u32>(e, next);
  store<u32>(e + 4, nameLen);
  store<u32>(e + 8, valueLen);
  store<u32>(t + HT_NEXT, next + nameLen + valueLen);
  store<u32>(t + HT_COUNT, count + 1);
  store<u32>(t + HT_SIZE_USED, load<u32>(t + HT_SIZE_USED) + size);
}

/** Resolves index (1-based, static then dynamic, §2.3.3) into the found* globals; false when out of range. */
export function tableLookup(t: usize, index: u32): bool {
  if (index == 0) return false;
  if (index <= STATIC_COUNT) {
    const e = STATIC_ENTRIES + <usize>(index - 1) * 6;
    foundNamePtr = STATIC_BYTES + <usize>load<u16>(e);
    foundNameLen = <u32>load<u16>(e + 2);
    foundValuePtr = foundNamePtr + <usize>foundNameLen;
    foundValueLen = <u32>load<u16>(e + 4);
    return true;
  }
  const i = index - STATIC_COUNT;
  if (i > load<u32>(t + HT_COUNT)) return false;
  const e = slot(t, i);
  foundNamePtr = <usize>load<u32>(t + HT_BYTES) + <usize>(load<u32>(e) - load<u32>(t + HT_BASE));
  foundNameLen = load<u32>(e + 4);
  foundValuePtr = foundNamePtr + <usize>foundNameLen;
  foundValueLen = load<u32>(e + 8);
  return true;
}

/** Number of addressable entries (static + dynamic). */
export function tableLength(t: usize): u32 {
  return STATIC_COUNT + load<u32>(t + HT_COUNT);
}

function bytesEqual(a: usize, b: usize, n: usize): bool {
  return memory.compare(a, b, n) == 0;
}

/**
 * Finds the field (name, value): returns its index when a whole entry matches, or
 * 0x80000000 | index of the first entry whose name matches, or 0. The encoder asks this for
 * every field of every block, so each entry is first rejected by its name's length and first
 * byte, with the ring walked newest first without a division per entry.
 */
export function tableFind(t: usize, namePtr: usize, nameLen: u32, valuePtr: usize, valueLen: u32): u32 {
  let nameIndex: u32 = 0;
  const first: u32 = nameLen == 0 ? 0 : <u32>load<u8>(namePtr);
  for (let i: u32 = 0; i < STATIC_COUNT; i++) {
    const e = STATIC_ENTRIES + <usize>i * 6;
    if (<u32>load<u16>(e + 2) != nameLen) continue;
    const np = STATIC_BYTES + <usize>load<u16>(e);
    if (nameLen != 0 && <u32>load<u8>(np) != first) continue;
    if (!bytesEqual(np, namePtr, <usize>nameLen)) continue;
    if (<u32>load<u16>(e + 4) == valueLen && bytesEqual(np + <usize>nameLen, valuePtr, <usize>valueLen)) return i + 1;
    if (nameIndex == 0) nameIndex = i + 1;
  }
  const count = load<u32>(t + HT_COUNT);
  if (count == 0) return nameIndex == 0 ? 0 : 0x80000000 | nameIndex;
  const cap = load<u32>(t + HT_ENTRY_CAP);
  const entries = <usize>load<u32>(t + HT_ENTRIES);
  const bytes = <usize>load<u32>(t + HT_BYTES);
  const base = load<u32>(t + HT_BASE);
  let s = load<u32>(t + HT_HEAD);
  for (let i: u32 = 1; i <= count; i++) {
    const e = entries + <usize>s * 12;
    s = s == 0 ? cap - 1 : s - 1;
    if (load<u32>(e + 4) != nameLen) continue;
    const np = bytes + <usize>(load<u32>(e) - base);
    if (nameLen != 0 && <u32>load<u8>(np) != first) continue;
    if (!bytesEqual(np, namePtr, <usize>nameLen)) continue;
    if (load<u32>(e + 8) == valueLen && bytesEqual(np + <usize>nameLen, valuePtr, <usize>valueLen)) return STATIC_COUNT + i;
    if (nameIndex == 0) nameIndex = STATIC_COUNT + i;
  }
  return nameIndex == 0 ? 0 : 0x80000000 | nameIndex;
}
