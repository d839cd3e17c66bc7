// A small seedable PRNG (mulberry32) for the data path's percentage draws (fault injection,
// mirroring): one per server, so a test can fix the seed and assert counts. Not for secrets.

export class Random {
  #s: number;

  /** `seed` fixes the sequence; absent, a random seed is taken. */
  constructor(seed?: number) {
    // Kept as a signed 32-bit integer (the same bits as the unsigned state): a small integer
    // in the field, where an unsigned one above 2^31 would be a heap number on every draw.
    this.#s = (seed ?? Math.floor(Math.random() * 0x100000000)) | 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }

  /**
   * The next draw's top 24 bits as an integer: `Math.floor(next() * 2 ** 24)` of the same draw,
   * without the double (a small integer is no heap allocation, a double returned from a call
   * that is not inlined is one).
   */
  uint24(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 8;
  }

  /** True for `percent` % of draws (0..100, fractions allowed, as Istio's Percent). */
  chance(percent: number): boolean {
    // No draw at the ends, so 0 and 100 are exact whatever the sequence.
    if (percent >= 100) return true;
    if (percent <= 0) return false;
    return this.next() * 100 < percent;
  }
}
