// The dashboard's PromQL: label values escaped as Prometheus string literals (a workload name
// cannot break out of its matcher), ranges checked, Kiali's reporter and Istio's dashboards' shapes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { edgeLatencyQuantile, edgeRequestRate, promRange, promString, workloadSignals } from '../../host/dashboard/promql.js';

/** A double-quoted literal read back: for \\, \" and \n, Prometheus' Go-style escapes are JSON's. */
function unquote(lit: string): string {
  expect(lit.startsWith('"') && lit.endsWith('"')).toBe(true);
  return JSON.parse(lit) as string;
}

describe('promString', () => {
  it('round-trips any value and never leaves an unescaped quote inside', () => {
    fc.assert(fc.property(fc.string(), (v) => {
      const lit = promString(v);
      expect(unquote(lit)).toBe(v);
      expect(/(^|[^\\])(\\\\)*"/.test(lit.slice(1, -1))).toBe(false);
    }));
  });
});

describe('promRange', () => {
  it('accepts Prometheus durations and refuses anything else', () => {
    for (const ok of ['30s', '1m', '5m', '1h', '500ms', '7d']) expect(promRange(ok)).toBe(ok);
    for (const bad of ['', '0m', '1', '1m]', '1m) or vector(1', '-1m', '1w', 'm']) expect(() => promRange(bad)).toThrow(/not a Prometheus duration/);
  });
});

describe('queries', () => {
  it('graph queries group by both workloads on one reporter', () => {
    expect(edgeRequestRate('destination', '1m')).toBe(
      'sum(rate(istio_requests_total{reporter="destination"}[1m])) by (source_workload, source_workload_namespace, source_canonical_service, source_canonical_revision, ' +
      'destination_workload, destination_workload_namespace, destination_canonical_service, destination_canonical_revision, destination_service, response_code, grpc_response_status, connection_security_policy)');
    expect(edgeLatencyQuantile('source', '5m')).toMatch(/^histogram_quantile\(0\.99, sum\(rate\(istio_request_duration_milliseconds_bucket\{reporter="source"\}\[5m\]\)\) by \(le, source_workload, /);
  });

  it('workload signals select the workload\'s inbound traffic, escaped', () => {
    const q = workloadSignals({ namespace: 'default', workload: 'a"b' }, '1m');
    expect(q.requests).toBe('sum(rate(istio_requests_total{reporter="destination", destination_workload="a\\"b", destination_workload_namespace="default"}[1m]))');
    expect(q.errors).toContain('response_code=~"5.."');
    expect(q.p99).toBe('histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload="a\\"b", destination_workload_namespace="default"}[1m])) by (le))');
  });
});
