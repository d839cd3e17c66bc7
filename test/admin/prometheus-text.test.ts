// The Prometheus exposition of the stats: Envoy's names, tag labels, escaping and TYPE lines.
import { describe, expect, it } from 'vitest';
import { renderPrometheus, sanitizeName } from '../../host/admin/prometheus-text.js';
import type { StatRecord } from '../../host/telemetry/stats.js';

const rec = (name: string, value: number, kind: 'counter' | 'gauge', tagName = name, tags: Array<[string, string]> = []): StatRecord => ({ name, value, kind, used: true, tagName, tags });

describe('renderPrometheus', () => {
  it('sanitises names to [a-zA-Z0-9_] under envoy_', () => {
    expect(sanitizeName('outlier_detection.ejections_active')).toBe('outlier_detection_ejections_active');
    expect(sanitizeName('http.inbound_0.0.0.0_15006.x')).toBe('http_inbound_0_0_0_0_15006_x');
    expect(renderPrometheus([rec('circuit_breakers.default.cx_open', 0, 'gauge')])).toBe('# TYPE envoy_circuit_breakers_default_cx_open gauge\nenvoy_circuit_breakers_default_cx_open 0\n');
  });

  it('escapes label values (backslash, quote, newline) and sanitises label names', () => {
    const out = renderPrometheus([rec('cluster.a"b\\c\nd.upstream_rq_total', 1, 'counter', 'cluster.upstream_rq_total', [['envoy.cluster_name', 'a"b\\c\nd']])]);
    expect(out).toBe('# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="a\\"b\\\\c\\nd"} 1\n');
  });

  it('takes response codes and classes out of the name as Envoy\'s default tags, one TYPE per metric', () => {
    const out = renderPrometheus([
      rec('cluster.c.upstream_rq_200', 4, 'counter', 'cluster.upstream_rq_200', [['envoy.cluster_name', 'c']]),
      rec('cluster.c.upstream_rq_404', 1, 'counter', 'cluster.upstream_rq_404', [['envoy.cluster_name', 'c']]),
      rec('downstream_rq_4xx', 1, 'counter'),
      // Envoy's extractor wants `_rq_<code>`: wasmesh's own route stats (`route.<r>.rq_200`) keep the code in the name.
      rec('route.r.rq_200', 4, 'counter', 'route.rq_200', [['wasmesh.route_name', 'r']]),
    ]);
    expect(out).toBe(
      [
        '# TYPE envoy_cluster_upstream_rq counter',
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="c"} 4',
        'envoy_cluster_upstream_rq{envoy_response_code="404",envoy_cluster_name="c"} 1',
        '# TYPE envoy_downstream_rq_xx counter',
        'envoy_downstream_rq_xx{envoy_response_code_class="4"} 1',
        '# TYPE envoy_route_rq_200 counter',
        'envoy_route_rq_200{wasmesh_route_name="r"} 4',
        '',
      ].join('\n'),
    );
  });

  it('never gives one metric two TYPEs: a gauge that sanitises onto a counter\'s name is left out', () => {
    const out = renderPrometheus([rec('a.b', 1, 'counter'), rec('a_b', 2, 'gauge')]);
    expect(out).toBe('# TYPE envoy_a_b counter\nenvoy_a_b 1\n');
    expect(renderPrometheus([])).toBe('');
  });
});
