// A latency histogram the protocol benchmark's load processes can merge: log-spaced buckets
// (each 1 % wider than the one before, from 1 µs), so that several load processes (or threads)
// each record their own and the runner adds the counts and reads p50 / p99 of the whole load —
// percentiles cannot be averaged, and shipping every latency between processes is megabytes per
// window. A percentile is the upper edge of its bucket: at most 1 % above the nearest-rank value
// of the raw latencies (and never below it). Serialised sparse ({ bucket: count }) as JSON.

/** Relative width of a bucket. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** The smallest latency told apart (ms): everything at or below it lands in bucket 0. */
const FLOOR_MS = 0.001;

export interface HistogramJson {
  /** Bucket index → count (only buckets with a count). */
  buckets: Record<string, number>;
  count: number;
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private n = 0;

  get count(): number {
    return this.n;
  }

  /** The bucket of `ms`: the smallest i with FLOOR_MS × GROWTH^i ≥ ms. */
  static bucketOf(ms: number): number {
    if (!(ms > FLOOR_MS)) return 0;
    const i = Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH);
    // Floating point can land one bucket low at an exact edge.
    return FLOOR_MS * GROWTH ** i < ms ? i + 1 : i;
  }

  /** The upper edge of bucket `i` (ms). */
  static upperEdge(i: number): number {
    return FLOOR_MS * GROWTH ** i;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency histogram: cannot record ${ms} ms (a latency is a finite number ≥ 0)`);
    const i = LatencyHistogram.bucketOf(ms);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    this.n++;
  }

  /** Adds another histogram's counts to this one. */
  merge(other: LatencyHistogram): this {
    for (const [i, c] of other.counts) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
    this.n += other.n;
    return this;
  }

  /** Percentile `p` (0–100), nearest rank over the buckets; NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
    let seen = 0;
    for (const i of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(i)!;
      if (seen >= rank) return LatencyHistogram.upperEdge(i);
    }
    return NaN; // not reached: the counts add up to n
  }

  toJSON(): HistogramJson {
    const buckets: Record<string, number> = {};
    for (const [i, c] of this.counts) buckets[String(i)] = c;
    return { buckets, count: this.n };
  }

  /** Reads toJSON()'s form back; `where` names the source in the error of a malformed one. */
  static fromJSON(j: HistogramJson, where: string): LatencyHistogram {
    const h = new LatencyHistogram();
    if (j === null || typeof j !== 'object' || j.buckets === null || typeof j.buckets !== 'object') {
      throw new Error(`${where}: latency histogram is not { buckets, count }`);
    }
    for (const [k, c] of Object.entries(j.buckets)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || !Number.isInteger(c) || c <= 0) throw new Error(`${where}: latency histogram bucket "${k}": ${c} is not a count ≥ 1 of a bucket ≥ 0`);
      h.counts.set(i, c);
      h.n += c;
    }
    if (h.n !== j.count) throw new Error(`${where}: latency histogram counts add up to ${h.n}, but its count says ${j.count}`);
    return h;
  }
}
