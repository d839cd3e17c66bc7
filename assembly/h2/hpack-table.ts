// HPACK's indexing tables (RFC 7541 §2.3): the static table and one connection direction's
// dynamic table. The dynamic table is a FIFO of entries whose bytes live in one buffer of
// twice the table's capacity: new entries are appended, evicted ones are forgotten, and when
// the tail reaches the end the live bytes (at most the capacity) move back to the front. So
// every entry's name and value are contiguous and an insertion costs amortised O(length).
// Each dynamic entry carries a hash of its name and one of its value, and the static names are
// indexed by their hash: the encoder's search for a field (tableFind, every field of every
// block) compares bytes only where the hashes agree.
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
export const HT_ENTRIES: u32 = 36; //   address of the ring: SLOT-byte slots (logical start, nameLen, valueLen, name hash, value hash)
export const HT_PENDING_MIN: u32 = 40; // encoder: smallest limit set since the last block
export const HT_PENDING: u32 = 44; //   encoder: 1 when a table size update must start the next block
export const HT_HEADER: u32 = 48;

/** Bytes per ring slot: logical start, name length, value length, fnv1a of the name and of the value (u32 each). */
const SLOT: u32 = 20;
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
  const t = heap.alloc(<usize>HT_HEADER + <usize>entryCap * SLOT + <usize>capacity * 2);
  memory.fill(t, 0, <usize>HT_HEADER);
  store<u32>(t + HT_CAPACITY, capacity);
  store<u32>(t + HT_LIMIT, capacity);
  store<u32>(t + HT_PENDING_MIN, capacity);
  store<u32>(t + HT_ENTRY_CAP, entryCap);
  store<u32>(t + HT_ENTRIES, <u32>(t + <usize>HT_HEADER));
  store<u32>(t + HT_BYTES, <u32>(t + <usize>HT_HEADER + <usize>entryCap * SLOT));
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
  return <usize>load<u32>(t + HT_ENTRIES) + <usize>s * SLOT;
}

/** FNV-1a of `n` bytes at `p`: what tableFind compares before the bytes themselves. */
export function fnv1a(p: usize, n: u32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0, e = <usize>n; i < e; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h;
}

/** fnv1a of each static entry's name (u32 each), filled on the first tableFind. */
const STATIC_HASHES: usize = memory.data(<i32>STATIC_COUNT * 4, 4);
/** Open addressing over the static names' hashes: 1 + the index of a name's first entry, 0 empty. */
const STATIC_INDEX_SLOTS: u32 = 128;
const STATIC_INDEX: usize = memory.data(<i32>STATIC_INDEX_SLOTS * 4, 4);
let staticHashed = false;

// @ts-ignore: decorator
@inline function staticName(i: u32): usize {
  return STATIC_BYTES + <usize>load<u16>(STATIC_ENTRIES + <usize>i * 6);
}

// @ts-ignore: decorator
@inline function staticNameLen(i: u32): u32 {
  return <u32>load<u16>(STATIC_ENTRIES + <usize>i * 6 + 2);
}

function hashStatic(): void {
  for (let i: u32 = 0; i < STATIC_COUNT; i++) {
    const h = fnv1a(staticName(i), staticNameLen(i));
    store<u32>(STATIC_HASHES + <usize>i * 4, h);
    // Entries of one name are adjacent (RFC 7541 Appendix A): only the first is indexed.
    if (i > 0 && staticNameLen(i - 1) == staticNameLen(i) && bytesEqual(staticName(i - 1), staticName(i), <usize>staticNameLen(i))) continue;
    let s = h & (STATIC_INDEX_SLOTS - 1);
    while (load<u32>(STATIC_INDEX + <usize>s * 4) != 0) s = (s + 1) & (STATIC_INDEX_SLOTS - 1);
    store<u32>(STATIC_INDEX + <usize>s * 4, i + 1);
  }
  staticHashed = true;
}

/** The index (0-based) of the first static entry named (namePtr, nameLen) of hash `h`, or -1. */
function staticFirst(h: u32, namePtr: usize, nameLen: u32): i32 {
  let s = h & (STATIC_INDEX_SLOTS - 1);
  let v = load<u32>(STATIC_INDEX + <usize>s * 4);
  while (v != 0) {
    const i = v - 1;
    if (load<u32>(STATIC_HASHES + <usize>i * 4) == h && staticNameLen(i) == nameLen && bytesEqual(staticName(i), namePtr, <usize>nameLen)) return <i32>i;
    s = (s + 1) & (STATIC_INDEX_SLOTS - 1);
    v = load<u32>(STATIC_INDEX + <usize>s * 4);
  }
  return -1;
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
  const e = <usize>load<u32>(t + HT_ENTRIES) + <usize>head * SLOT;
  store<u32>(e, next);
  store<u32>(e + 4, nameLen);
  store<u32>(e + 8, valueLen);
  store<u32>(e + 12, fnv1a(namePtr, nameLen));
  store<u32>(e + 16, fnv1a(valuePtr, valueLen));
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
 * every field of every block: the static table is looked up by the name's hash, and the ring
 * (newest first, without a division per entry) rejects an entry by its hashes and lengths;
 * bytes are compared only where they agree (and a name is not compared again once one matched).
 */
export function tableFind(t: usize, namePtr: usize, nameLen: u32, valuePtr: usize, valueLen: u32): u32 {
  if (!staticHashed) hashStatic();
  let nameIndex: u32 = 0;
  const hash = fnv1a(namePtr, nameLen);
  const first = staticFirst(hash, namePtr, nameLen);
  if (first >= 0) {
    nameIndex = <u32>first + 1;
    // The name's entries are adjacent: the first and those after it with the same name.
    for (let i = <u32>first; i < STATIC_COUNT; i++) {
      if (i != <u32>first && (load<u32>(STATIC_HASHES + <usize>i * 4) != hash || staticNameLen(i) != nameLen || !bytesEqual(staticName(i), namePtr, <usize>nameLen))) break;
      const e = STATIC_ENTRIES + <usize>i * 6;
      if (<u32>load<u16>(e + 4) == valueLen && bytesEqual(staticName(i) + <usize>nameLen, valuePtr, <usize>valueLen)) return i + 1;
    }
  }
  const count = load<u32>(t + HT_COUNT);
  if (count == 0) return nameIndex == 0 ? 0 : 0x80000000 | nameIndex;
  const vhash = fnv1a(valuePtr, valueLen);
  const cap = load<u32>(t + HT_ENTRY_CAP);
  const entries = <usize>load<u32>(t + HT_ENTRIES);
  const bytes = <usize>load<u32>(t + HT_BYTES);
  const base = load<u32>(t + HT_BASE);
  let s = load<u32>(t + HT_HEAD);
  for (let i: u32 = 1; i <= count; i++) {
    const e = entries + <usize>s * SLOT;
    s = s == 0 ? cap - 1 : s - 1;
    if (load<u32>(e + 12) != hash || load<u32>(e + 4) != nameLen) continue;
    const whole = load<u32>(e + 16) == vhash && load<u32>(e + 8) == valueLen;
    // Not a whole match and the name already has an index: nothing to learn from this entry.
    if (!whole && nameIndex != 0) continue;
    const np = bytes + <usize>(load<u32>(e) - base);
    if (!bytesEqual(np, namePtr, <usize>nameLen)) continue;
    if (whole && bytesEqual(np + <usize>nameLen, valuePtr, <usize>valueLen)) return STATIC_COUNT + i;
    if (nameIndex == 0) nameIndex = STATIC_COUNT + i;
  }
  return nameIndex == 0 ? 0 : 0x80000000 | nameIndex;
}
