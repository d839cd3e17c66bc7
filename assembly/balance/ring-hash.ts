// Envoy's ring hash (ring_hash_lb): each live endpoint gets points hashed with xxHash64 from
// "<key>_<i>", as many as its share of a ring scaled so the lightest endpoint gets a whole
// number of points; a request hash picks the first point at or after it, wrapping.
import {
  B_ENDPOINT_COUNT, B_SIZE, B_MAX_SIZE, B_TABLE_PTR, B_OWNERS_PTR, B_ACTIVE_SIZE, B_LIVE_COUNT,
  B_MIN_PER_HOST, B_MAX_PER_HOST, B_FULL_HASH_PTR, B_FULL_OWNERS_PTR, B_FULL_SIZE,
  EP_KEY_LEN, EP_WEIGHT, EP_HEALTHY, u32At, endpointRec, keyPtr,
} from './hash-lb-layout';
import { xxh64 } from './xxhash64';
import { radixSort64 } from './radix-sort';

@inline function live(b: usize, e: u32, all: bool): bool {
  return all || load<u8>(endpointRec(b, e) + EP_HEALTHY) != 0;
}

/** Writes the decimal digits of `v` at `p`; returns the count (absl::StrCat's form: no sign, no padding). */
function writeDecimal(p: usize, v: u32): u32 {
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  let t = v;
  for (let k = digits; k > 0; k--) {
    store<u8>(p + <usize>(k - 1), <u8>(48 + t % 10));
    t /= 10;
  }
  return digits;
}

/**
 * The ring's scale as Envoy computes it, in the same f64 operations so point counts agree:
 * min(ceil(minW × minRing) / minW, maxRing), with weights normalized over the live set.
 * Returns 0 when no endpoint is live.
 */
function ringScale(b: usize, all: bool, sum: f64): f64 {
  const n = u32At(b, B_ENDPOINT_COUNT);
  let minW: f64 = Infinity;
  for (let e: u32 = 0; e < n; e++) {
    if (!live(b, e, all)) continue;
    const w = <f64>load<u32>(endpointRec(b, e) + EP_WEIGHT) * 1.0 / sum;
    if (w < minW) minW = w;
  }
  if (minW == Infinity) return 0;
  return Math.min(Math.ceil(minW * <f64>u32At(b, B_SIZE)) / minW, <f64>u32At(b, B_MAX_SIZE));
}

function liveWeightSum(b: usize, all: bool): f64 {
  const n = u32At(b, B_ENDPOINT_COUNT);
  let sum: u64 = 0;
  for (let e: u32 = 0; e < n; e++) if (live(b, e, all)) sum += <u64>load<u32>(endpointRec(b, e) + EP_WEIGHT);
  return <f64>sum;
}

/**
 * Builds Envoy's ring over the live endpoints (all of them when `all`) into newly allocated
 * arrays whose addresses go to header fields `hashField`/`ownersField`/`sizeField`; the old
 * arrays there are freed. Also records live count and min/max points per host.
 */
export function buildRing(b: usize, all: bool, hashField: u32, ownersField: u32, sizeField: u32): void {
  freeRingArrays(b, hashField, ownersField, sizeField);
  const n = u32At(b, B_ENDPOINT_COUNT);
  const sum = liveWeightSum(b, all);
  const scale = sum > 0 ? ringScale(b, all, sum) : 0;
  store<u32>(b + B_LIVE_COUNT, 0);
  store<u32>(b + B_MIN_PER_HOST, 0);
  store<u32>(b + B_MAX_PER_HOST, 0);
  if (scale <= 0) return;

  // Pass 1: Envoy's running sums (current_hashes / target_hashes) give each host's count; the
  // total can differ from ceil(scale) by float rounding, so count before allocating.
  let current: f64 = 0, target: f64 = 0;
  let total: u32 = 0, liveCount: u32 = 0, minPer: u32 = u32.MAX_VALUE, maxPer: u32 = 0;
  for (let e: u32 = 0; e < n; e++) {
    if (!live(b, e, all)) continue;
    target += scale * (<f64>load<u32>(endpointRec(b, e) + EP_WEIGHT) * 1.0 / sum);
    let i: u32 = 0;
    while (current < target) { i++; current += 1; }
    total += i;
    liveCount++;
    if (i < minPer) minPer = i;
    if (i > maxPer) maxPer = i;
  }
  const hashes = heap.alloc(<usize>total << 3);
  const owners = heap.alloc(<usize>total << 2);
  let maxKey: u32 = 0;
  for (let e: u32 = 0; e < n; e++) if (live(b, e, all)) maxKey = max(maxKey, load<u32>(endpointRec(b, e) + EP_KEY_LEN));
  const key = heap.alloc(<usize>maxKey + 12);

  // Pass 2: the same walk, hashing "<key>_<i>" for each point.
  current = 0;
  target = 0;
  let at: u32 = 0;
  for (let e: u32 = 0; e < n; e++) {
    if (!live(b, e, all)) continue;
    const klen = load<u32>(endpointRec(b, e) + EP_KEY_LEN);
    memory.copy(key, keyPtr(b, e), <usize>klen);
    store<u8>(key + <usize>klen, 0x5f); // '_'
    target += scale * (<f64>load<u32>(endpointRec(b, e) + EP_WEIGHT) * 1.0 / sum);
    let i: u32 = 0;
    while (current < target) {
      const digits = writeDecimal(key + <usize>klen + 1, i);
      store<u64>(hashes + (<usize>at << 3), xxh64(key, <usize>(klen + 1 + digits), 0));
      store<u32>(owners + (<usize>at << 2), e);
      at++;
      i++;
      current += 1;
    }
  }
  heap.free(key);
  const tmpK = heap.alloc(<usize>total << 3);
  const tmpV = heap.alloc(<usize>total << 2);
  radixSort64(hashes, owners, tmpK, tmpV, total);
  heap.free(tmpK);
  heap.free(tmpV);
  store<u32>(b + hashField, <u32>hashes);
  store<u32>(b + ownersField, <u32>owners);
  store<u32>(b + sizeField, total);
  store<u32>(b + B_LIVE_COUNT, liveCount);
  store<u32>(b + B_MIN_PER_HOST, minPer);
  store<u32>(b + B_MAX_PER_HOST, maxPer);
}

/** The active ring = the full ring's points whose endpoint is healthy (FLAG_RING_STABLE). */
export function filterRing(b: usize): void {
  freeRingArrays(b, B_TABLE_PTR, B_OWNERS_PTR, B_ACTIVE_SIZE);
  if (u32At(b, B_FULL_HASH_PTR) == 0) buildRing(b, true, B_FULL_HASH_PTR, B_FULL_OWNERS_PTR, B_FULL_SIZE);
  const n = u32At(b, B_ENDPOINT_COUNT);
  const fullH = <usize>u32At(b, B_FULL_HASH_PTR);
  const fullO = <usize>u32At(b, B_FULL_OWNERS_PTR);
  const fullN = u32At(b, B_FULL_SIZE);
  const perHost = heap.alloc(<usize>max<u32>(n, 1) << 2);
  memory.fill(perHost, 0, <usize>n << 2);
  let total: u32 = 0;
  for (let i: u32 = 0; i < fullN; i++) {
    const e = load<u32>(fullO + (<usize>i << 2));
    if (load<u8>(endpointRec(b, e) + EP_HEALTHY) != 0) {
      total++;
      store<u32>(perHost + (<usize>e << 2), load<u32>(perHost + (<usize>e << 2)) + 1);
    }
  }
  let liveCount: u32 = 0, minPer: u32 = u32.MAX_VALUE, maxPer: u32 = 0;
  for (let e: u32 = 0; e < n; e++) {
    if (load<u8>(endpointRec(b, e) + EP_HEALTHY) == 0) continue;
    const c = load<u32>(perHost + (<usize>e << 2));
    liveCount++;
    if (c < minPer) minPer = c;
    if (c > maxPer) maxPer = c;
  }
  heap.free(perHost);
  store<u32>(b + B_LIVE_COUNT, liveCount);
  store<u32>(b + B_MIN_PER_HOST, liveCount == 0 ? 0 : minPer);
  store<u32>(b + B_MAX_PER_HOST, maxPer);
  if (total == 0) return;
  const hashes = heap.alloc(<usize>total << 3);
  const owners = heap.alloc(<usize>total << 2);
  let at: u32 = 0;
  for (let i: u32 = 0; i < fullN; i++) {
    const e = load<u32>(fullO + (<usize>i << 2));
    if (load<u8>(endpointRec(b, e) + EP_HEALTHY) == 0) continue;
    store<u64>(hashes + (<usize>at << 3), load<u64>(fullH + (<usize>i << 3)));
    store<u32>(owners + (<usize>at << 2), e);
    at++;
  }
  store<u32>(b + B_TABLE_PTR, <u32>hashes);
  store<u32>(b + B_OWNERS_PTR, <u32>owners);
  store<u32>(b + B_ACTIVE_SIZE, total);
}

/** Frees the ring arrays held in the given header fields and zeroes them. */
export function freeRingArrays(b: usize, hashField: u32, ownersField: u32, sizeField: u32): void {
  const h = u32At(b, hashField);
  const o = u32At(b, ownersField);
  if (h != 0) heap.free(<usize>h);
  if (o != 0) heap.free(<usize>o);
  store<u32>(b + hashField, 0);
  store<u32>(b + ownersField, 0);
  store<u32>(b + sizeField, 0);
}

/**
 * The endpoint owning `hash`: the first point with point.hash >= hash, wrapping to the first
 * point (Envoy's ketama search). A retry `attempt` > 0 moves that many points on, as Envoy
 * does for retry host predicates. -1 when the ring is empty.
 */
export function ringPick(b: usize, hash: u64, attempt: u32): i32 {
  const size = u32At(b, B_ACTIVE_SIZE);
  if (size == 0) return -1;
  const hashes = <usize>u32At(b, B_TABLE_PTR);
  let lo: u32 = 0, hi: u32 = size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u64>(hashes + (<usize>mid << 3)) < hash) lo = mid + 1;
    else hi = mid;
  }
  let at = lo == size ? 0 : lo;
  if (attempt > 0) at = <u32>((<u64>at + <u64>attempt) % <u64>size);
  return <i32>load<u32>(<usize>u32At(b, B_OWNERS_PTR) + (<usize>at << 2));
}
