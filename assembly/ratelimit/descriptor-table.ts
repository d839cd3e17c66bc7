// Per-descriptor token buckets (Envoy's dynamic descriptors, bounded by max_dynamic_descriptors):
// a fixed-size table of buckets keyed by the 64-bit xxHash of the descriptor's bytes, each
// new descriptor value starting with a full bucket. Up to 64 entries the table is one fully
// associative set (exact LRU); beyond, sets of 8 ways chosen by the hash, LRU within the set,
// so a lookup touches at most 64 (or 8) entries and never allocates. When full, the least
// recently used entry's bucket is reset for the new value (Envoy's LRU cache forgets it too).
// Two values with the same 64-bit hash share a bucket; with xxHash64 that is not a practical
// concern for the bounded number of live values.
import { xxh64 } from '../balance/xxhash64';
import { BUCKET_SIZE, bucketInit } from './token-bucket';

export const TABLE_MAGIC: u32 = 0x524c_5431; // 'RLT1'
const MAX_FULLY_ASSOCIATIVE: u32 = 64;
const WAYS: u32 = 8;

// Header.
const T_MAGIC: usize = 0; // u32
const T_SETS: usize = 4; // u32
const T_WAYS: usize = 8; // u32
const T_MAX: usize = 12; // u32 template bucket: maxTokens
const T_PER_FILL: usize = 16; // u32
const T_FILL_MS: usize = 20; // u32
const T_CLOCK: usize = 24; // u64: use counter, the LRU order
const T_HEADER: usize = 32;

// Entry: hash, last use (0: empty), then the bucket.
const E_HASH: usize = 0;
const E_USED: usize = 8;
const E_BUCKET: usize = 16;
const ENTRY_SIZE: usize = 16 + <usize>BUCKET_SIZE;

function shapeOf(maxEntries: u32): u64 {
  if (maxEntries <= MAX_FULLY_ASSOCIATIVE) return (<u64>1 << 32) | <u64>maxEntries;
  const sets = (maxEntries + WAYS - 1) / WAYS;
  return (<u64>sets << 32) | <u64>WAYS;
}

/** Bytes of a table for `maxEntries` values (1..100,000; 0 for anything else). */
export function tableSize(maxEntries: u32): u32 {
  if (maxEntries == 0 || maxEntries > 100_000) return 0;
  const shape = shapeOf(maxEntries);
  return <u32>T_HEADER + <u32>(shape >> 32) * <u32>shape * <u32>ENTRY_SIZE;
}

/** Formats the table at `t` (tableSize(maxEntries) bytes), every bucket to be made from the template. False on bad values. */
export function tableInit(t: usize, maxEntries: u32, maxTokens: u32, tokensPerFill: u32, fillMs: u32): bool {
  const size = tableSize(maxEntries);
  if (size == 0 || fillMs == 0 || tokensPerFill == 0) return false;
  memory.fill(t, 0, size);
  const shape = shapeOf(maxEntries);
  store<u32>(t + T_SETS, <u32>(shape >> 32));
  store<u32>(t + T_WAYS, <u32>shape);
  store<u32>(t + T_MAX, maxTokens);
  store<u32>(t + T_PER_FILL, tokensPerFill);
  store<u32>(t + T_FILL_MS, fillMs);
  store<u32>(t + T_MAGIC, TABLE_MAGIC);
  return true;
}

export function isTable(t: usize): bool {
  return t != 0 && load<u32>(t + T_MAGIC) == TABLE_MAGIC;
}

/** Entries in use (for tests and stats). */
export function tableCount(t: usize): u32 {
  const n = load<u32>(t + T_SETS) * load<u32>(t + T_WAYS);
  let used: u32 = 0;
  for (let i: u32 = 0; i < n; i++) if (load<u64>(t + T_HEADER + <usize>i * ENTRY_SIZE + E_USED) != 0) used++;
  return used;
}

/** The bucket of the descriptor whose bytes are `len` at `key`: found, or made (full) in a free or the least recently used entry. */
export function tableBucket(t: usize, key: usize, len: usize): usize {
  const hash = xxh64(key, len, 0);
  const sets = load<u32>(t + T_SETS);
  const ways = load<u32>(t + T_WAYS);
  const clock = load<u64>(t + T_CLOCK) + 1;
  store<u64>(t + T_CLOCK, clock);
  const first = t + T_HEADER + <usize>(<u32>(hash % <u64>sets) * ways) * ENTRY_SIZE;
  let victim: usize = first;
  let oldest: u64 = U64.MAX_VALUE;
  for (let w: u32 = 0; w < ways; w++) {
    const e = first + <usize>w * ENTRY_SIZE;
    const used = load<u64>(e + E_USED);
    if (used != 0 && load<u64>(e + E_HASH) == hash) {
      store<u64>(e + E_USED, clock);
      return e + E_BUCKET;
    }
    if (used < oldest) {
      oldest = used;
      victim = e;
    }
  }
  store<u64>(victim + E_HASH, hash);
  store<u64>(victim + E_USED, clock);
  bucketInit(victim + E_BUCKET, load<u32>(t + T_MAX), load<u32>(t + T_PER_FILL), load<u32>(t + T_FILL_MS));
  return victim + E_BUCKET;
}
