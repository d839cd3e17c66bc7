// Envoy's Maglev (maglev_lb, "original" table): each live endpoint, taken in key order, walks
// its own permutation of the table (offset = xxHash64(key) mod M, skip = xxHash64(key, seed 1)
// mod (M−1) + 1) claiming free slots in weighted turns until the table is full; a request hash
// picks table[hash mod M].
import {
  B_ENDPOINT_COUNT, B_SIZE, B_TABLE_PTR, B_ACTIVE_SIZE, B_LIVE_COUNT, B_MIN_PER_HOST,
  B_MAX_PER_HOST, EP_KEY_LEN, EP_WEIGHT, EP_HEALTHY, u32At, endpointRec, keyPtr,
} from './hash-lb-layout';
import { xxh64 } from './xxhash64';

const EMPTY: u32 = 0xffffffff;

// Scratch record per live endpoint during a build (BUILD_SIZE bytes).
const BUILD_SIZE: usize = 48;
const BE_OFFSET: usize = 0; // u64
const BE_SKIP: usize = 8; // u64
const BE_NEXT: usize = 16; // u64
const BE_WEIGHT: usize = 24; // f64, normalized
const BE_TARGET: usize = 32; // f64
const BE_ENDPOINT: usize = 40; // u32
const BE_COUNT: usize = 44; // u32

/** Byte-wise comparison of two endpoints' keys, as std::string_view compares. */
function compareKeys(b: usize, x: u32, y: u32): i32 {
  const lx = load<u32>(endpointRec(b, x) + EP_KEY_LEN);
  const ly = load<u32>(endpointRec(b, y) + EP_KEY_LEN);
  const px = keyPtr(b, x), py = keyPtr(b, y);
  const n = min(lx, ly);
  for (let i: u32 = 0; i < n; i++) {
    const d = <i32>load<u8>(px + <usize>i) - <i32>load<u8>(py + <usize>i);
    if (d != 0) return d;
  }
  return lx < ly ? -1 : lx > ly ? 1 : <i32>x - <i32>y;
}

/** Sorts the `n` endpoint indices at `ids` by key (bottom-up merge sort; `tmp` holds n u32). */
function sortByKey(b: usize, ids: usize, tmp: usize, n: u32): void {
  let src = ids, dst = tmp;
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width << 1) {
      const mid = min(lo + width, n), hi = min(lo + (width << 1), n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const a = load<u32>(src + (<usize>i << 2)), c = load<u32>(src + (<usize>j << 2));
        if (compareKeys(b, a, c) <= 0) { store<u32>(dst + (<usize>k << 2), a); i++; }
        else { store<u32>(dst + (<usize>k << 2), c); j++; }
        k++;
      }
      while (i < mid) { store<u32>(dst + (<usize>k << 2), load<u32>(src + (<usize>i << 2))); i++; k++; }
      while (j < hi) { store<u32>(dst + (<usize>k << 2), load<u32>(src + (<usize>j << 2))); j++; k++; }
    }
    const t = src; src = dst; dst = t;
  }
  if (src != ids) memory.copy(ids, src, <usize>n << 2);
}

/** Frees the current table, if any. */
export function freeMaglev(b: usize): void {
  const t = u32At(b, B_TABLE_PTR);
  if (t != 0) heap.free(<usize>t);
  store<u32>(b + B_TABLE_PTR, 0);
  store<u32>(b + B_ACTIVE_SIZE, 0);
}

/** Builds the table over the healthy endpoints (Envoy rebuilds over its healthy host set). */
export function buildMaglev(b: usize): void {
  freeMaglev(b);
  const n = u32At(b, B_ENDPOINT_COUNT);
  const m = <u64>u32At(b, B_SIZE);
  store<u32>(b + B_LIVE_COUNT, 0);
  store<u32>(b + B_MIN_PER_HOST, 0);
  store<u32>(b + B_MAX_PER_HOST, 0);
  let liveN: u32 = 0;
  let sum: u64 = 0;
  for (let e: u32 = 0; e < n; e++) {
    const r = endpointRec(b, e);
    if (load<u8>(r + EP_HEALTHY) != 0) { liveN++; sum += <u64>load<u32>(r + EP_WEIGHT); }
  }
  if (liveN == 0) return;

  const ids = heap.alloc(<usize>liveN << 2);
  const tmp = heap.alloc(<usize>liveN << 2);
  let k: u32 = 0;
  for (let e: u32 = 0; e < n; e++) {
    if (load<u8>(endpointRec(b, e) + EP_HEALTHY) != 0) { store<u32>(ids + (<usize>k << 2), e); k++; }
  }
  // Envoy sorts by key so the fill order, and so the table, does not depend on host order.
  sortByKey(b, ids, tmp, liveN);
  heap.free(tmp);

  const entries = heap.alloc(<usize>liveN * BUILD_SIZE);
  let maxW: f64 = 0;
  for (let i: u32 = 0; i < liveN; i++) {
    const e = load<u32>(ids + (<usize>i << 2));
    const r = endpointRec(b, e);
    const p = entries + <usize>i * BUILD_SIZE;
    const kp = keyPtr(b, e), kl = <usize>load<u32>(r + EP_KEY_LEN);
    store<u64>(p + BE_OFFSET, xxh64(kp, kl, 0) % m);
    store<u64>(p + BE_SKIP, xxh64(kp, kl, 1) % (m - 1) + 1);
    store<u64>(p + BE_NEXT, 0);
    const w = <f64>load<u32>(r + EP_WEIGHT) * 1.0 / <f64>sum;
    store<f64>(p + BE_WEIGHT, w);
    store<f64>(p + BE_TARGET, 0);
    store<u32>(p + BE_ENDPOINT, e);
    store<u32>(p + BE_COUNT, 0);
    if (w > maxW) maxW = w;
  }
  heap.free(ids);

  const table = heap.alloc(<usize>m << 2);
  memory.fill(table, 0xff, <usize>m << 2);
  // Envoy's loop: in each iteration every entry whose weight has caught up with its target
  // claims the next free slot of its permutation; the heaviest claims one per iteration.
  let filled: u64 = 0;
  for (let iteration: u32 = 1; filled < m; iteration++) {
    for (let i: u32 = 0; i < liveN && filled < m; i++) {
      const p = entries + <usize>i * BUILD_SIZE;
      if (<f64>iteration * load<f64>(p + BE_WEIGHT) < load<f64>(p + BE_TARGET)) continue;
      store<f64>(p + BE_TARGET, load<f64>(p + BE_TARGET) + maxW);
      const offset = load<u64>(p + BE_OFFSET), skip = load<u64>(p + BE_SKIP);
      let next = load<u64>(p + BE_NEXT);
      let c = (offset + skip * next) % m;
      while (load<u32>(table + (<usize>c << 2)) != EMPTY) {
        next++;
        c = (offset + skip * next) % m;
      }
      store<u32>(table + (<usize>c << 2), load<u32>(p + BE_ENDPOINT));
      store<u64>(p + BE_NEXT, next + 1);
      store<u32>(p + BE_COUNT, load<u32>(p + BE_COUNT) + 1);
      filled++;
    }
  }
  let minPer: u32 = u32.MAX_VALUE, maxPer: u32 = 0;
  for (let i: u32 = 0; i < liveN; i++) {
    const c = load<u32>(entries + <usize>i * BUILD_SIZE + BE_COUNT);
    if (c < minPer) minPer = c;
    if (c > maxPer) maxPer = c;
  }
  heap.free(entries);
  store<u32>(b + B_TABLE_PTR, <u32>table);
  store<u32>(b + B_ACTIVE_SIZE, <u32>m);
  store<u32>(b + B_LIVE_COUNT, liveN);
  store<u32>(b + B_MIN_PER_HOST, minPer);
  store<u32>(b + B_MAX_PER_HOST, maxPer);
}

/**
 * table[hash mod M]; a retry `attempt` > 0 first flips the hash as Envoy does
 * (hash ^= ~0 − attempt + 1). -1 when no endpoint is live.
 */
export function maglevPick(b: usize, hash: u64, attempt: u32): i32 {
  const size = u32At(b, B_ACTIVE_SIZE);
  if (size == 0) return -1;
  let h = hash;
  if (attempt > 0) h ^= ~(<u64>0) - <u64>attempt + 1;
  return <i32>load<u32>(<usize>u32At(b, B_TABLE_PTR) + (<usize>(h % <u64>size) << 2));
}
