// The hash load balancer of one cluster: dispatch on the block's table kind (ring hash or
// Maglev) for rebuild and pick, the per-endpoint health flag, the no-key random pick, and
// teardown. The data path calls hashLbPick with the hash of the request's key.
import {
  B_KIND, B_FLAGS, B_RANDOM, B_TABLE_PTR, B_OWNERS_PTR, B_ACTIVE_SIZE, B_FULL_HASH_PTR,
  B_FULL_OWNERS_PTR, B_FULL_SIZE, EP_HEALTHY, FLAG_RING_STABLE, LbTable, u32At, endpointRec,
} from './hash-lb-layout';
import { buildRing, filterRing, freeRingArrays, ringPick } from './ring-hash';
import { buildMaglev, freeMaglev, maglevPick } from './maglev';

/** Sets endpoint `e`'s health flag; takes effect at the next rebuild. */
export function setHealth(b: usize, e: u32, healthy: bool): void {
  store<u8>(endpointRec(b, e) + EP_HEALTHY, healthy ? 1 : 0);
}

/** Rebuilds the table over the healthy endpoints (see the rebuild semantics in hash-lb-layout.ts). */
export function rebuild(b: usize): void {
  if (u32At(b, B_KIND) == LbTable.Maglev) {
    buildMaglev(b);
  } else if ((u32At(b, B_FLAGS) & FLAG_RING_STABLE) != 0) {
    filterRing(b);
  } else {
    buildRing(b, false, B_TABLE_PTR, B_OWNERS_PTR, B_ACTIVE_SIZE);
  }
}

/** The endpoint for request hash `hash` (retry `attempt`, 0 for the first try), or -1 when none is live. */
export function hashLbPick(b: usize, hash: u64, attempt: u32): i32 {
  return u32At(b, B_KIND) == LbTable.Maglev ? maglevPick(b, hash, attempt) : ringPick(b, hash, attempt);
}

/** xorshift64 over the block's random state: the hash for a request without a key. */
export function nextRandom64(b: usize): u64 {
  let x = load<u64>(b + B_RANDOM);
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  store<u64>(b + B_RANDOM, x);
  return x;
}

/** Frees every array the core allocated for the block (not the block itself). */
export function releaseTables(b: usize): void {
  if (u32At(b, B_KIND) == LbTable.Maglev) {
    freeMaglev(b);
  } else {
    freeRingArrays(b, B_TABLE_PTR, B_OWNERS_PTR, B_ACTIVE_SIZE);
    freeRingArrays(b, B_FULL_HASH_PTR, B_FULL_OWNERS_PTR, B_FULL_SIZE);
  }
}
