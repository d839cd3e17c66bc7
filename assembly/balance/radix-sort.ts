// LSD radix sort of u64 keys carrying a u32 payload, for the ring-hash ring: linear time, so
// an 8M-point ring sorts in a few passes instead of n·log n comparisons, and deterministic.

/**
 * Sorts `n` u64 keys at `keys` ascending, moving the u32 at `vals` with each key. Uses
 * `tmpKeys` (8n bytes) and `tmpVals` (4n bytes) as scratch; the result ends in keys/vals.
 * Equal keys keep their input order (the sort is stable).
 */
export function radixSort64(keys: usize, vals: usize, tmpKeys: usize, tmpVals: usize, n: u32): void {
  if (n < 2) return;
  // All eight 256-entry histograms in one pass over the keys.
  const hist = heap.alloc(8 * 256 * 4);
  memory.fill(hist, 0, 8 * 256 * 4);
  for (let i: u32 = 0; i < n; i++) {
    const k = load<u64>(keys + (<usize>i << 3));
    for (let d: u32 = 0; d < 8; d++) {
      const slot = hist + ((<usize>d << 10) + ((<usize>((k >> (<u64>d << 3)) & 0xff)) << 2));
      store<u32>(slot, load<u32>(slot) + 1);
    }
  }
  let srcK = keys, srcV = vals, dstK = tmpKeys, dstV = tmpVals;
  for (let d: u32 = 0; d < 8; d++) {
    const h = hist + (<usize>d << 10);
    // A digit that every key shares moves nothing: skip the pass (the high bytes of small
    // rings often do not, but the check is free).
    let skip = false;
    let sum: u32 = 0;
    for (let b: u32 = 0; b < 256; b++) {
      const c = load<u32>(h + (<usize>b << 2));
      if (c == n) skip = true;
      store<u32>(h + (<usize>b << 2), sum);
      sum += c;
    }
    if (skip) continue;
    const shift = <u64>d << 3;
    for (let i: u32 = 0; i < n; i++) {
      const k = load<u64>(srcK + (<usize>i << 3));
      const slot = h + ((<usize>((k >> shift) & 0xff)) << 2);
      const at = load<u32>(slot);
      store<u32>(slot, at + 1);
      store<u64>(dstK + (<usize>at << 3), k);
      store<u32>(dstV + (<usize>at << 2), load<u32>(srcV + (<usize>i << 2)));
    }
    const tk = srcK; srcK = dstK; dstK = tk;
    const tv = srcV; srcV = dstV; dstV = tv;
  }
  if (srcK != keys) {
    memory.copy(keys, srcK, <usize>n << 3);
    memory.copy(vals, srcV, <usize>n << 2);
  }
  heap.free(hist);
}
