// Consistent-hash load balancing exports (xxHash64, ring hash, Maglev): the numeric calls the
// host makes on a hash-LB block from `alloc` that hash_lb_check accepted. Format and statuses:
// hash-lb-layout.ts. AssemblyScript callers (the data path) import xxh64 from './xxhash64' and
// hashLbPick / nextRandom64 from './hash-lb' directly (not re-exported: they would become Wasm
// exports taking i64).
//
// Request flow: the data path extracts the key Istio's consistentHash names (header value,
// cookie value, client IP, query parameter value), hashes it with xxh64(ptr, len, 0) and picks
// with hashLbPick(block, hash, attempt). When the request carries no key, Envoy hashes a random
// number instead: hash_lb_pick_random (or hashLbPick with nextRandom64).
import {
  HashLbStatus, B_ENDPOINT_COUNT, B_ACTIVE_SIZE, B_LIVE_COUNT, B_MIN_PER_HOST, B_MAX_PER_HOST,
  B_RANDOM, B_TABLE_PTR, B_OWNERS_PTR, B_FULL_SIZE, checkBlock, u32At,
} from './hash-lb-layout';
import { xxh64 } from './xxhash64';
import { setHealth, rebuild, hashLbPick, nextRandom64, releaseTables } from './hash-lb';

/** xxHash64 (seed 0) of `len` bytes at `ptr`: Envoy's hash of a request key. JS receives a BigInt. */
export function hash_key(ptr: usize, len: u32): u64 {
  return xxh64(ptr, <usize>len, 0);
}

/**
 * xxHash64 with a seed, for chaining: Envoy hashes several values of one header by sorting
 * them and feeding each hash as the next value's seed.
 */
export function hash_key_seeded(ptr: usize, len: u32, seed: u64): u64 {
  return xxh64(ptr, <usize>len, seed);
}

/**
 * Validates the block of `len` bytes at `block` (once, after the host wrote it). Returns
 * HashLbStatus: Ok (0), BadLength, BadMagic, BadFormat, Corrupt or Unsupported. No other
 * hash_lb call may be given a block this did not accept. Builds nothing: call hash_lb_rebuild.
 */
export function hash_lb_check(block: usize, len: u32): i32 {
  return checkBlock(block, len);
}

/** Seeds the no-key random stream (0 is replaced by a fixed non-zero seed). */
export function hash_lb_seed(block: usize, lo: u32, hi: u32): void {
  const s = (<u64>hi << 32) | <u64>lo;
  store<u64>(block + B_RANDOM, s == 0 ? 0x9e3779b97f4a7c15 : s);
}

/** Marks endpoint `endpoint` healthy (1) or not (0) for the next rebuild. Ok or BadIndex. */
export function hash_lb_set_health(block: usize, endpoint: u32, healthy: u32): i32 {
  if (endpoint >= u32At(block, B_ENDPOINT_COUNT)) return HashLbStatus.BadIndex;
  setHealth(block, endpoint, healthy != 0);
  return HashLbStatus.Ok;
}

/**
 * Rebuilds the ring or table over the healthy endpoints. Returns the entries now in use (ring
 * points or Maglev slots; 0 when no endpoint is healthy, and then every pick returns -1).
 * Allocates: the host re-reads its memory views afterwards. Cost: Maglev O(M log M) for table
 * size M; ring O(points) hashing + a radix sort, or O(points) with FLAG_RING_STABLE.
 */
export function hash_lb_rebuild(block: usize): i32 {
  rebuild(block);
  return <i32>u32At(block, B_ACTIVE_SIZE);
}

/** The endpoint for the hash (lo, hi) and retry attempt, or -1 when none is live. */
export function hash_lb_pick(block: usize, lo: u32, hi: u32, attempt: u32): i32 {
  return hashLbPick(block, (<u64>hi << 32) | <u64>lo, attempt);
}

/** Hashes the `len` key bytes at `ptr` (xxHash64, seed 0) and picks: one call for the host. */
export function hash_lb_pick_key(block: usize, ptr: usize, len: u32, attempt: u32): i32 {
  return hashLbPick(block, xxh64(ptr, <usize>len, 0), attempt);
}

/** Envoy's pick for a request without a hash key: a random hash through the same table. */
export function hash_lb_pick_random(block: usize): i32 {
  return hashLbPick(block, nextRandom64(block), 0);
}

/**
 * Facts about the current build, for stats and tests: 0 entries in use, 1 live endpoints,
 * 2 min and 3 max entries per live endpoint (Envoy's ring_hash_lb.min/max_hashes_per_host,
 * maglev_lb.min/max_entries_per_host), 4 table address, 5 owners address (ring), 6 points of
 * the full ring (FLAG_RING_STABLE). Other values: 0.
 */
export function hash_lb_info(block: usize, which: u32): u32 {
  switch (which) {
    case 0: return u32At(block, B_ACTIVE_SIZE);
    case 1: return u32At(block, B_LIVE_COUNT);
    case 2: return u32At(block, B_MIN_PER_HOST);
    case 3: return u32At(block, B_MAX_PER_HOST);
    case 4: return u32At(block, B_TABLE_PTR);
    case 5: return u32At(block, B_OWNERS_PTR);
    case 6: return u32At(block, B_FULL_SIZE);
    default: return 0;
  }
}

/**
 * Frees the block's ring/table arrays and the block itself; the block must not be used again.
 * Only for blocks hash_lb_check accepted: a refused block holds no tables and is freed with `free`.
 */
export function hash_lb_free(block: usize): void {
  releaseTables(block);
  heap.free(block);
}
