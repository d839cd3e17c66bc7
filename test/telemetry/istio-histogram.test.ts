import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ISTIO_BUCKETS, bucketOf, newHistogram, observe, histogramCount } from '../../host/telemetry/istio-histogram.js';

/** The definition: the first bound >= value, +Inf (index ISTIO_BUCKETS.length) past the last; NaN in the first. */
function scan(value: number): number {
  let i = 0;
  while (i < ISTIO_BUCKETS.length && value > ISTIO_BUCKETS[i]!) i++;
  return i;
}

describe('bucketOf', () => {
  it('finds the bucket a scan of the bounds finds, at and around every bound', () => {
    for (const b of ISTIO_BUCKETS) {
      for (const v of [b, b - 1e-9, b + 1e-9, b - 0.5, b + 0.5, b - 1, b + 1, Math.floor(b), Math.ceil(b) + 1]) expect(bucketOf(v), `value ${v}`).toBe(scan(v));
    }
  });

  it('finds the bucket a scan finds for any number (fractions, the table\'s end, huge, negative, infinite, NaN)', () => {
    const values = fc.oneof(
      fc.double({ noNaN: false }),
      fc.double({ min: 0, max: 12000, noNaN: true }),
      fc.integer({ min: -5, max: 10005 }),
      fc.constantFrom(0, -0, 0.5, 1, 1.0000001, 9999.5, 10000, 10000.000001, 10001, Infinity, -Infinity, Number.NaN, Number.MAX_VALUE, Number.MIN_VALUE),
    );
    fc.assert(fc.property(values, (v) => bucketOf(v) === scan(v)), { numRuns: 5000 });
  });

  it('observe counts the value in that bucket', () => {
    const h = newHistogram();
    observe(h, 1024);
    expect(h[scan(1024)]).toBe(1);
    expect(scan(1024)).toBe(ISTIO_BUCKETS.indexOf(2500));
    expect(histogramCount(h)).toBe(1);
  });
});
