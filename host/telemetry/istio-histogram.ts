// A Prometheus histogram with Istio's buckets, kept as plain numbers in one typed array per
// series (no object per observation). Istio's istio_* histograms take Envoy's default bucket
// bounds (source/common/stats/histogram_impl.h, ConstSupportedBuckets::default), the same list
// for durations in milliseconds and for sizes in bytes.

/** Envoy's default histogram bounds, which Istio's stats plugin uses for every istio_* histogram. */
export const ISTIO_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** Slots: one count per bound (not cumulative: summed when rendered), then +Inf's own, sum, count. */
const SLOTS = ISTIO_BUCKETS.length + 3;
const INF = ISTIO_BUCKETS.length;
const SUM = ISTIO_BUCKETS.length + 1;
const COUNT = ISTIO_BUCKETS.length + 2;

/** A histogram's state: per-bucket counts, sum and count in one Float64Array. */
export type HistogramData = Float64Array;

export function newHistogram(): HistogramData {
  return new Float64Array(SLOTS);
}

/** Values up to this bound find their bucket in BUCKET_OF (a request's sizes and durations, nearly always). */
const TABLE_MAX = 10000;

/**
 * BUCKET_OF[k]: the bucket of an integer k in 1…TABLE_MAX, the first bound ≥ k. Every bound from
 * index 1 on is an integer, so a value v in (1, TABLE_MAX] falls in BUCKET_OF[ceil(v)]: one read
 * where the scan compared up to 12 bounds (a 1 KiB response).
 */
const BUCKET_OF = ((): Uint8Array => {
  const t = new Uint8Array(TABLE_MAX + 1);
  let i = 1;
  for (let k = 1; k <= TABLE_MAX; k++) {
    while (k > ISTIO_BUCKETS[i]!) i++;
    t[k] = i;
  }
  return t;
})();

/** The first bucket whose bound is ≥ value (INF past the last bound); NaN counts in the first, as a scan of `value > bound` puts it. */
export function bucketOf(value: number): number {
  if (!(value > ISTIO_BUCKETS[0]!)) return 0;
  if (value <= TABLE_MAX) return value <= 1 ? 1 : BUCKET_OF[Math.ceil(value)]!;
  let i = BUCKET_OF[TABLE_MAX]! + 1;
  while (i < INF && value > ISTIO_BUCKETS[i]!) i++;
  return i;
}

/** Records one value: the first bucket whose bound is ≥ value (Prometheus' `le`). */
export function observe(h: HistogramData, value: number): void {
  h[bucketOf(value)]!++;
  h[SUM] += value;
  h[COUNT]!++;
}

/** Adds `from` into `into` (workers' series merged when scraped). */
export function addHistogram(into: number[] | HistogramData, from: ArrayLike<number>): void {
  for (let i = 0; i < SLOTS; i++) into[i] = into[i]! + from[i]!;
}

/** Cumulative count of bucket `i` (i = ISTIO_BUCKETS.length: +Inf), as Prometheus' `_bucket{le}`. */
export function cumulative(h: ArrayLike<number>, out: number[]): void {
  let c = 0;
  for (let i = 0; i <= INF; i++) {
    c += h[i]!;
    out[i] = c;
  }
}

export function histogramSum(h: ArrayLike<number>): number {
  return h[SUM]!;
}

export function histogramCount(h: ArrayLike<number>): number {
  return h[COUNT]!;
}
