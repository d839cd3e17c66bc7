// The hash load-balancer block: its format (documented once, here; mirrored by
// host/core/balance/hash-balancer.ts), its statuses, and the load-time check that makes every
// later read in-bounds so ring and Maglev builds and picks never trap on a bad block.
//
// ── Format, version 1 ───────────────────────────────────────────────────────────────────
// One block per cluster using consistentHash, written by the host at an address `b` from
// `alloc`. Integers are little-endian u32 unless noted; *Off are byte offsets from `b`;
// *Ptr are absolute addresses of arrays the CORE allocates (heap.alloc) and frees.
//
// Header (HEADER_SIZE bytes), written by the host:
//    0 magic 0x42484D57 ("WMHB")   4 format (1)        8 byteLength of the block
//   12 kind (LbTable)              16 endpointCount   20 endpointsOff
//   24 poolOff                     28 poolLen
//   32 size: ring minimumRingSize | maglev tableSize (prime)
//   36 ring maximumRingSize (0 for maglev)
//   40 flags (FLAG_RING_STABLE)
// Core state (the host writes zeros; hash_lb_check insists):
//   44 0                           48 u64 random state (xorshift64, for the no-key pick)
//   56 tablePtr: ring u64 hash[activeSize] sorted | maglev u32 endpoint[activeSize]
//   60 ownersPtr: ring u32 endpoint[activeSize] (0 for maglev)
//   64 activeSize: ring points / maglev slots in use; 0 = no live endpoint, picks return -1
//   68 liveCount: endpoints in the current build
//   72 minPerHost  76 maxPerHost   (Envoy's min/max_hashes_per_host, min/max_entries_per_host)
//   80 fullHashPtr 84 fullOwnersPtr 88 fullSize  (FLAG_RING_STABLE: the ring over ALL endpoints)
//   92 0
// Endpoint record (ENDPOINT_SIZE = 16): keyOff, keyLen (the Envoy host key, "ip:port"),
//   weight (>= 1), u8 healthy (1 = in the table), 3 × 0.
// Pool: key bytes.
//
// Rebuild semantics (hash_lb_rebuild, after set_health):
//   Maglev: Envoy's — a new table over the healthy endpoints (sorted by key, as Envoy sorts).
//   Ring, default (FLAG_RING_STABLE clear): Envoy's — a new ring over the healthy endpoints;
//     the scale is recomputed from the healthy weights, so a surviving host's point count can
//     change and some keys move between survivors.
//   Ring, FLAG_RING_STABLE: the ring over all endpoints is built once (identical to Envoy's
//     with every endpoint healthy); a rebuild keeps exactly the points of healthy endpoints, so
//     only the keys of a removed endpoint move. O(points), no hashing or sorting.

export const HASH_LB_MAGIC: u32 = 0x42484d57;
export const HASH_LB_FORMAT: u32 = 1;
export const HEADER_SIZE: u32 = 96;

export const B_MAGIC: u32 = 0;
export const B_FORMAT: u32 = 4;
export const B_LENGTH: u32 = 8;
export const B_KIND: u32 = 12;
export const B_ENDPOINT_COUNT: u32 = 16;
export const B_ENDPOINTS: u32 = 20;
export const B_POOL: u32 = 24;
export const B_POOL_LEN: u32 = 28;
export const B_SIZE: u32 = 32;
export const B_MAX_SIZE: u32 = 36;
export const B_FLAGS: u32 = 40;
export const B_RANDOM: u32 = 48; // u64
export const B_TABLE_PTR: u32 = 56;
export const B_OWNERS_PTR: u32 = 60;
export const B_ACTIVE_SIZE: u32 = 64;
export const B_LIVE_COUNT: u32 = 68;
export const B_MIN_PER_HOST: u32 = 72;
export const B_MAX_PER_HOST: u32 = 76;
export const B_FULL_HASH_PTR: u32 = 80;
export const B_FULL_OWNERS_PTR: u32 = 84;
export const B_FULL_SIZE: u32 = 88;

export const ENDPOINT_SIZE: u32 = 16;
export const EP_KEY_OFF: u32 = 0;
export const EP_KEY_LEN: u32 = 4;
export const EP_WEIGHT: u32 = 8;
export const EP_HEALTHY: u32 = 12; // u8

export const FLAG_RING_STABLE: u32 = 1;

/** The table kinds. Values are part of the format. */
export const enum LbTable {
  RingHash = 1,
  Maglev = 2,
}

// Envoy's limits: ring sizes (ring_hash.proto: maximum_ring_size <= 8M), Maglev's table size
// (Istio refuses >= 5000011); a host key is an address, so 4 KiB is generous.
export const MAX_RING_SIZE: u32 = 8388608;
export const MAX_MAGLEV_SIZE: u32 = 5000011;
export const MAX_KEY_LEN: u32 = 4096;

/**
 * Statuses of the balance exports; negative so calls returning an endpoint index can return
 * them too. Mirrored by host/core/balance/hash-balancer.ts (HashLbStatus).
 */
export const enum HashLbStatus {
  Ok = 0,
  /** The block is shorter than its header or its byteLength is not the length given. */
  BadLength = -1,
  /** The first four bytes are not "WMHB". */
  BadMagic = -2,
  /** Another format version than this core reads. */
  BadFormat = -3,
  /** A section or key lies outside the block, a state field is not zero, or a weight is 0. */
  Corrupt = -4,
  /** An unknown kind, a ring size outside 1..8M with min <= max, or a Maglev size not prime. */
  Unsupported = -5,
  /** An endpoint index out of range in a call. */
  BadIndex = -6,
}

@inline export function u32At(b: usize, off: u32): u32 {
  return load<u32>(b + <usize>off);
}

/** Absolute address of endpoint record `e`. */
@inline export function endpointRec(b: usize, e: u32): usize {
  return b + <usize>u32At(b, B_ENDPOINTS) + <usize>e * <usize>ENDPOINT_SIZE;
}

/** Absolute address of endpoint `e`'s key bytes. */
@inline export function keyPtr(b: usize, e: u32): usize {
  return b + <usize>load<u32>(endpointRec(b, e) + EP_KEY_OFF);
}

/** Envoy's isPrime (source/common/common/utility.cc), which Istio's validation copies. */
export function isPrime(x: u32): bool {
  if (x != 0 && x < 4) return true;
  if ((x & 1) == 0) return false;
  for (let f: u32 = 3; <u64>f * <u64>f <= <u64>x; f += 2) {
    if (x % f == 0) return false;
  }
  return true;
}

/**
 * Checks a block of `len` bytes at `b` before any other call may use it. Returns
 * HashLbStatus.Ok or the first problem. Never traps for bytes inside [b, b+len).
 */
export function checkBlock(b: usize, len: u32): i32 {
  if (len < HEADER_SIZE) return HashLbStatus.BadLength;
  if (u32At(b, B_MAGIC) != HASH_LB_MAGIC) return HashLbStatus.BadMagic;
  if (u32At(b, B_FORMAT) != HASH_LB_FORMAT) return HashLbStatus.BadFormat;
  if (u32At(b, B_LENGTH) != len) return HashLbStatus.BadLength;
  // Core-owned state must start empty: a non-zero pointer would later be freed.
  for (let off: u32 = 44; off < HEADER_SIZE; off += 4) {
    if (off != B_RANDOM && off != B_RANDOM + 4 && u32At(b, off) != 0) return HashLbStatus.Corrupt;
  }
  const n = u32At(b, B_ENDPOINT_COUNT);
  const epOff = <u64>u32At(b, B_ENDPOINTS);
  if ((epOff & 3) != 0 || epOff < <u64>HEADER_SIZE || epOff + <u64>n * <u64>ENDPOINT_SIZE > <u64>len) return HashLbStatus.Corrupt;
  const poolOff = <u64>u32At(b, B_POOL);
  const poolLen = <u64>u32At(b, B_POOL_LEN);
  if (poolOff < <u64>HEADER_SIZE || poolOff + poolLen > <u64>len) return HashLbStatus.Corrupt;
  // Envoy refuses weight sums above u32 (normalizeHostWeights).
  let sum: u64 = 0;
  for (let e: u32 = 0; e < n; e++) {
    const r = endpointRec(b, e);
    const off = <u64>load<u32>(r + EP_KEY_OFF);
    const klen = <u64>load<u32>(r + EP_KEY_LEN);
    if (off < poolOff || off + klen > poolOff + poolLen) return HashLbStatus.Corrupt;
    if (klen == 0 || klen > <u64>MAX_KEY_LEN) return HashLbStatus.Corrupt;
    const w = load<u32>(r + EP_WEIGHT);
    if (w == 0) return HashLbStatus.Corrupt;
    sum += <u64>w;
    if (load<u8>(r + EP_HEALTHY) > 1) return HashLbStatus.Corrupt;
  }
  if (sum > 0xffffffff) return HashLbStatus.Corrupt;
  const kind = u32At(b, B_KIND);
  const size = u32At(b, B_SIZE);
  if (kind == LbTable.RingHash) {
    const max = u32At(b, B_MAX_SIZE);
    if (size == 0 || size > max || max > MAX_RING_SIZE) return HashLbStatus.Unsupported;
    if ((u32At(b, B_FLAGS) & ~FLAG_RING_STABLE) != 0) return HashLbStatus.Unsupported;
  } else if (kind == LbTable.Maglev) {
    if (size < 2 || size >= MAX_MAGLEV_SIZE || !isPrime(size)) return HashLbStatus.Unsupported;
    if (u32At(b, B_MAX_SIZE) != 0 || u32At(b, B_FLAGS) != 0) return HashLbStatus.Unsupported;
  } else {
    return HashLbStatus.Unsupported;
  }
  if (load<u64>(b + B_RANDOM) == 0) store<u64>(b + B_RANDOM, 0x9e3779b97f4a7c15);
  return HashLbStatus.Ok;
}
