import { describe, expect, it } from 'vitest';
import { SERIES_PER_LABEL_SET, bytesPerLabelSet, filledRegistry, istioSuite } from '../../bench/istio-suite.js';
import { renderIstioPrometheus } from '../../host/admin/istio-prometheus-text.js';
import { parseSamples } from '../helpers/prometheus-samples.js';

describe('the Istio metrics benchmark', () => {
  it('counts Prometheus series as the text has them: 67 per label set', () => {
    const text = renderIstioPrometheus(filledRegistry(3).snapshot());
    expect(parseSamples(text)).toHaveLength(3 * SERIES_PER_LABEL_SET);
    expect(SERIES_PER_LABEL_SET).toBe(67);
  });

  it('builds its registry of about 10,000 series and measures a positive heap size per label set', () => {
    const suite = istioSuite();
    expect(suite.groups.map((g) => g.cases.length)).toEqual([4, 1]);
    expect(suite.groups[1]!.cases[0]!.name).toMatch(/scrape: 10050 series/);
    expect(bytesPerLabelSet(500)).toBeGreaterThan(0);
  });
});
