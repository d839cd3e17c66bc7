// Metrics overrides applied to the istio_* series on a scrape: a disabled metric has no series
// for its reporter, a removed label merges series, an upserted one is set or appended; the
// label text parser round-trips what istio-labels.ts renders (property test).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { overriddenSeries, parseLabels, relabel } from '../../host/telemetry/istio-metric-overrides.js';
import { renderIstioPrometheus } from '../../host/admin/istio-prometheus-text.js';
import { escapeLabel } from '../../host/telemetry/istio-labels.js';
import { newHistogram, observe } from '../../host/telemetry/istio-histogram.js';
import type { IstioSeriesSnapshot } from '../../host/telemetry/istio-metrics.js';
import type { MetricOverride, MetricsOverrides } from '../../host/model/metrics-overrides.js';

function series(labels: string, requests: number, ms: number): IstioSeriesSnapshot {
  const h = newHistogram();
  for (let i = 0; i < requests; i++) observe(h, ms);
  return { labels, requests, duration: Array.from(h), requestBytes: Array.from(h), responseBytes: Array.from(h) };
}

const SRC200 = 'reporter="source",source_workload="a",response_code="200"';
const SRC503 = 'reporter="source",source_workload="a",response_code="503"';
const DST200 = 'reporter="destination",source_workload="a",response_code="200"';
const ALL = [series(SRC200, 2, 3), series(SRC503, 1, 3), series(DST200, 4, 3)];
const none: MetricOverride = { disabled: false, remove: [], upsert: [] };

describe('overriddenSeries', () => {
  test('no overrides, or none for the metric: the very same list', () => {
    expect(overriddenSeries(ALL, 'REQUEST_COUNT', undefined)).toBe(ALL);
    expect(overriddenSeries(ALL, 'REQUEST_COUNT', { client: { REQUEST_SIZE: { ...none, disabled: true } }, server: {} })).toBe(ALL);
  });

  test('disabled for CLIENT: the source reporter\'s series are gone, the destination\'s stay', () => {
    const out = overriddenSeries(ALL, 'REQUEST_DURATION', { client: { REQUEST_DURATION: { ...none, disabled: true } }, server: {} });
    expect(out.map((s) => s.labels)).toEqual([DST200]);
  });

  test('REMOVE merges the series that then share labels; UPSERT replaces in place or appends', () => {
    const o: MetricsOverrides = { client: { REQUEST_COUNT: { disabled: false, remove: ['response_code'], upsert: [['source_workload', 'w'], ['mesh_id', 'm"1']] } }, server: {} };
    const out = overriddenSeries(ALL, 'REQUEST_COUNT', o);
    expect(out.map((s) => [s.labels, s.requests])).toEqual([
      ['reporter="source",source_workload="w",mesh_id="m\\"1"', 3],
      [DST200, 4],
    ]);
  });
});

describe('renderIstioPrometheus with overrides', () => {
  test('a disabled family has no TYPE line nor samples; the others are unchanged', () => {
    const o: MetricsOverrides = { client: { REQUEST_SIZE: { ...none, disabled: true } }, server: { REQUEST_SIZE: { ...none, disabled: true } } };
    const text = renderIstioPrometheus({ series: ALL, overflow: 0 }, o);
    expect(text).not.toMatch(/istio_request_bytes/);
    const plain = renderIstioPrometheus({ series: ALL, overflow: 0 });
    expect(plain).toMatch(/# TYPE istio_request_bytes histogram/);
    expect(text).toBe(plain.split('\n').filter((l) => !l.includes('istio_request_bytes')).join('\n'));
  });
});

describe('TCP families with overrides', () => {
  const tcp = [
    { labels: 'reporter="source",source_workload="a",response_flags="-"', opened: 2, closed: 2, sent: 30, received: 10 },
    { labels: 'reporter="source",source_workload="a",response_flags="UF"', opened: 1, closed: 1, sent: 0, received: 0 },
    { labels: 'reporter="destination",source_workload="a",response_flags="-"', opened: 5, closed: 4, sent: 7, received: 9 },
  ];
  test('a disabled TCP metric has no family for its reporter; REMOVE merges by sum; UPSERT sets', () => {
    const o: MetricsOverrides = {
      client: { TCP_OPENED_CONNECTIONS: { ...none, disabled: true }, TCP_SENT_BYTES: { disabled: false, remove: ['response_flags'], upsert: [['mesh_id', 'm1']] } },
      server: { TCP_OPENED_CONNECTIONS: { ...none, disabled: true } },
    };
    const text = renderIstioPrometheus({ series: [], overflow: 0, tcp }, o);
    expect(text).not.toMatch(/istio_tcp_connections_opened_total/);
    expect(text).toContain('istio_tcp_sent_bytes_total{reporter="source",source_workload="a",mesh_id="m1"} 30\n');
    expect(text).toContain('istio_tcp_sent_bytes_total{reporter="destination",source_workload="a",response_flags="-"} 7\n');
    // Other families as without overrides.
    expect(text).toContain('istio_tcp_connections_closed_total{reporter="source",source_workload="a",response_flags="UF"} 1\n');
    const plain = renderIstioPrometheus({ series: [], overflow: 0, tcp });
    expect(renderIstioPrometheus({ series: [], overflow: 0, tcp }, { client: {}, server: {} })).toBe(plain);
  });
});

describe('label text', () => {
  test('parse round-trips rendered labels (escapes included)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    fc.assert(fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 12 })), { minLength: 1, maxLength: 6 }), (pairs) => {
      const text = pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      expect(parseLabels(text)).toEqual(pairs);
      expect(relabel(text, { disabled: false, remove: [], upsert: [['zz_new', 'x']] })).toBe(`${text},zz_new="x"`);
    }));
  });

  test('malformed text is null', () => {
    expect(parseLabels('a="b')).toBeNull();
    expect(parseLabels('a="b"x')).toBeNull();
    expect(parseLabels('a')).toBeNull();
  });
});
