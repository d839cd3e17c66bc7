// The sampling decision as Envoy takes it: the propagated decision first, then
// x-client-trace-id, then the random draw against the percentage (no draw at 0 and 100).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decideSampling, SamplingReason } from '../../../host/telemetry/tracing/sampling.js';
import { SpanIds } from '../../../host/telemetry/tracing/span-ids.js';

const never = (): number => {
  throw new Error('drew');
};

describe('decideSampling', () => {
  it('the upstream decision wins over x-client-trace-id and the draw', () => {
    expect(decideSampling(false, true, 100, never)).toEqual({ sampled: false, reason: SamplingReason.Upstream });
    expect(decideSampling(true, false, 0, never)).toEqual({ sampled: true, reason: SamplingReason.Upstream });
  });

  it('x-client-trace-id forces a trace without a draw', () => {
    expect(decideSampling(null, true, 0, never)).toEqual({ sampled: true, reason: SamplingReason.ClientForced });
  });

  it('0 and 100 are exact; in between, the draw against the percentage', () => {
    expect(decideSampling(null, false, 0, never).sampled).toBe(false);
    expect(decideSampling(null, false, 100, never).sampled).toBe(true);
    expect(decideSampling(null, false, 1, () => 0.0099).reason).toBe(SamplingReason.Random);
    expect(decideSampling(null, false, 1, () => 0.01).reason).toBe(SamplingReason.NotTraceable);
  });

  it('Istio\'s 1 %: about 1 in 100 requests over many draws', () => {
    const ids = new SpanIds(7);
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (decideSampling(null, false, 1, () => ids.draw()).sampled) n++;
    expect(n).toBeGreaterThan(850);
    expect(n).toBeLessThan(1150);
  });

  it('property: sampled exactly when draw·100 < percent', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (p, d) => {
      expect(decideSampling(null, false, p, () => d).sampled).toBe(p >= 100 || (p > 0 && d * 100 < p));
    }));
  });
});

describe('SpanIds', () => {
  it('16 and 32 hex digits, never all zero, distinct', () => {
    const ids = new SpanIds();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const s = ids.spanId();
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(10_000);
    expect(ids.traceId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a seed repeats the sequence', () => {
    expect(new SpanIds(3).traceId()).toBe(new SpanIds(3).traceId());
    expect(new SpanIds(3).traceId()).not.toBe(new SpanIds(4).traceId());
  });
});
