import { describe, expect, it } from 'vitest';
import { IstioMetrics, MAX_SERIES, SecurityPolicy, mergeIstio } from '../../host/telemetry/istio-metrics.js';
import { GRPC_NOT, GRPC_NO_STATUS, UNKNOWN_WORKLOAD, serviceOfCluster, serviceOfHost, hostOfAuthority, type WorkloadLabels } from '../../host/telemetry/istio-labels.js';
import { ISTIO_BUCKETS, newHistogram, observe, cumulative, histogramCount, histogramSum } from '../../host/telemetry/istio-histogram.js';
import { renderIstioPrometheus } from '../../host/admin/istio-prometheus-text.js';
import { parseSamples, sumOf } from '../helpers/prometheus-samples.js';

const self: WorkloadLabels = { workload: 'productpage-v1', namespace: 'default', app: 'productpage', version: 'v1', canonicalService: 'productpage', canonicalRevision: 'v1', cluster: 'Kubernetes' };
const peer: WorkloadLabels = { workload: 'reviews-v1', namespace: 'default', app: 'reviews', version: 'v1', canonicalService: 'reviews', canonicalRevision: 'v1', cluster: 'Kubernetes' };
const svc = serviceOfHost('reviews.default.svc.cluster.local');

describe('Istio histogram', () => {
  it('puts a value in the first bucket whose bound is >= it (le), +Inf past the last', () => {
    const h = newHistogram();
    for (const v of [0, 0.5, 0.6, 1, 3600000, 3600001]) observe(h, v);
    const c: number[] = [];
    cumulative(h, c);
    expect(c[0]).toBe(2); // le=0.5: 0 and 0.5
    expect(c[1]).toBe(4); // le=1: + 0.6, 1
    expect(c[ISTIO_BUCKETS.length - 1]).toBe(5);
    expect(c[ISTIO_BUCKETS.length]).toBe(6);
    expect(histogramCount(h)).toBe(6);
    expect(histogramSum(h)).toBeCloseTo(7200003.1);
  });
});

describe('IstioMetrics', () => {
  it('labels a source reporter\'s series with itself as source and the peer as destination', () => {
    const m = new IstioMetrics('source', self, () => 'spiffe://cluster.local/ns/default/sa/productpage');
    m.record(peer, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 12, 100, 2000);
    m.record(peer, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 7, 100, 2000);
    m.record(peer, 'unknown', svc, 503, GRPC_NOT, 'UF,URX', SecurityPolicy.Unknown, 7, 100, 0);
    const s = parseSamples(renderIstioPrometheus(m.snapshot()));
    const labels = { reporter: 'source', source_workload: 'productpage-v1', source_principal: 'spiffe://cluster.local/ns/default/sa/productpage', destination_workload: 'reviews-v1', destination_service_name: 'reviews', destination_service_namespace: 'default' };
    expect(sumOf(s, 'istio_requests_total', { ...labels, response_code: '200', response_flags: '-' })).toBe(2);
    expect(sumOf(s, 'istio_requests_total', { ...labels, response_code: '503', response_flags: 'UF,URX' })).toBe(1);
    expect(sumOf(s, 'istio_request_duration_milliseconds_bucket', { ...labels, response_code: '200', le: '10' })).toBe(1);
    expect(sumOf(s, 'istio_request_duration_milliseconds_bucket', { ...labels, response_code: '200', le: '25' })).toBe(2);
    expect(sumOf(s, 'istio_request_duration_milliseconds_sum', { ...labels, response_code: '200' })).toBe(19);
    expect(sumOf(s, 'istio_response_bytes_sum', labels)).toBe(4000);
  });

  it('a destination reporter names the peer as source, with the peer principal', () => {
    const m = new IstioMetrics('destination', peer, () => 'spiffe://cluster.local/ns/default/sa/reviews');
    m.record(self, 'spiffe://cluster.local/ns/default/sa/productpage', svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    m.record(UNKNOWN_WORKLOAD, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.None, 1, 1, 1);
    const s = parseSamples(renderIstioPrometheus(m.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { reporter: 'destination', source_workload: 'productpage-v1', source_principal: 'spiffe://cluster.local/ns/default/sa/productpage', destination_principal: 'spiffe://cluster.local/ns/default/sa/reviews', connection_security_policy: 'mutual_tls' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { source_workload: 'unknown', connection_security_policy: 'none' })).toBe(1);
  });

  it('one series per label set, whichever path finds it (another principal for the same peer, flags)', () => {
    const m = new IstioMetrics('destination', peer, () => 'x');
    m.record(self, 'a', svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    m.record(self, 'b', svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    m.record(self, 'a', svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    // A distinct object with equal labels (the peer cache was cleared) lands in the same series.
    m.record({ ...self }, 'a', serviceOfHost('reviews.default.svc.cluster.local'), 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    expect(m.size).toBe(2);
    const s = parseSamples(renderIstioPrometheus(m.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { source_principal: 'a' })).toBe(3);
  });

  it('caps the series, counting what it could not keep', () => {
    const m = new IstioMetrics('source', self, () => 'x');
    for (let i = 0; i < MAX_SERIES + 10; i++) m.record(peer, 'unknown', svc, 200, GRPC_NOT, `F${i}`, SecurityPolicy.Unknown, 1, 1, 1);
    expect(m.size).toBe(MAX_SERIES);
    expect(m.overflow).toBe(10);
    expect(renderIstioPrometheus({ series: [], overflow: 3 })).toContain('wasmesh_istio_series_overflow_total 3');
  });

  it('merges workers\' snapshots by label set', () => {
    const a = new IstioMetrics('source', self, () => 'x');
    const b = new IstioMetrics('source', self, () => 'x');
    a.record(peer, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 3, 1, 1);
    b.record(peer, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 300, 1, 1);
    b.record(peer, 'unknown', svc, 500, GRPC_NOT, '-', SecurityPolicy.Unknown, 3, 1, 1);
    // Through JSON, as a worker's snapshot travels.
    const merged = mergeIstio([a.snapshot(), JSON.parse(JSON.stringify(b.snapshot()))]);
    const s = parseSamples(renderIstioPrometheus(merged));
    expect(sumOf(s, 'istio_requests_total', { response_code: '200' })).toBe(2);
    expect(sumOf(s, 'istio_requests_total', { response_code: '500' })).toBe(1);
    expect(sumOf(s, 'istio_request_duration_milliseconds_bucket', { response_code: '200', le: '5' })).toBe(1);
    expect(sumOf(s, 'istio_request_duration_milliseconds_bucket', { response_code: '200', le: '500' })).toBe(2);
    expect(renderIstioPrometheus({ series: [], overflow: 0 })).toBe('');
  });
});

describe('IstioMetrics: the last series reused', () => {
  const other: WorkloadLabels = { ...peer, workload: 'ratings-v1', app: 'ratings', canonicalService: 'ratings' };
  const svc2 = serviceOfHost('ratings.default.svc.cluster.local');
  const count = (m: IstioMetrics, part: string): number => m.snapshot().series.filter((s) => s.labels.includes(part)).reduce((a, s) => a + s.requests, 0);

  it('counts each request in its own series whatever the previous request was', () => {
    const m = new IstioMetrics('destination', self, () => 'spiffe://cluster.local/ns/default/sa/productpage');
    // Runs of equal labels (the reused series) broken by every kind of change.
    const seq: Array<[WorkloadLabels, typeof svc, number, number, string, SecurityPolicy]> = [
      [peer, svc, 200, GRPC_NOT, '-', SecurityPolicy.None], [peer, svc, 200, GRPC_NOT, '-', SecurityPolicy.None],
      [other, svc, 200, GRPC_NOT, '-', SecurityPolicy.None], [peer, svc2, 200, GRPC_NOT, '-', SecurityPolicy.None],
      [peer, svc, 503, GRPC_NOT, '-', SecurityPolicy.None], [peer, svc, 200, 0, '-', SecurityPolicy.None],
      [peer, svc, 200, GRPC_NOT, 'UF', SecurityPolicy.None], [peer, svc, 200, GRPC_NOT, 'UF', SecurityPolicy.None],
      [peer, svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls], [peer, svc, 200, GRPC_NOT, '-', SecurityPolicy.None],
    ];
    for (const [p, s, code, g, flags, policy] of seq) m.record(p, 'unknown', s, code, g, flags, policy, 1, 1, 1);
    expect(m.size).toBe(7);
    expect(count(m, 'source_workload="ratings-v1"')).toBe(1);
    expect(count(m, 'destination_service_name="ratings"')).toBe(1);
    expect(count(m, 'response_code="503"')).toBe(1);
    expect(count(m, 'grpc_response_status="0"')).toBe(1);
    expect(count(m, 'response_flags="UF"')).toBe(2);
    expect(count(m, 'connection_security_policy="mutual_tls"')).toBe(1);
    // The plain series: requests 1, 2 and 10 of the sequence.
    const plain = m.snapshot().series.find((s) => s.labels.includes('source_workload="reviews-v1"') && s.labels.includes('destination_service_name="reviews"') && s.labels.includes('response_code="200"') && s.labels.includes('response_flags="-"') && s.labels.includes('connection_security_policy="none"') && s.labels.includes('grpc_response_status=""'))!;
    expect(plain.requests).toBe(3);
  });

  it('does not give a request with another peer principal the last request\'s series', () => {
    const m = new IstioMetrics('destination', self, () => 'spiffe://cluster.local/ns/default/sa/productpage');
    for (const principal of ['spiffe://a', 'spiffe://a', 'spiffe://b', 'spiffe://b', 'spiffe://a']) m.record(peer, principal, svc, 200, GRPC_NOT, '-', SecurityPolicy.MutualTls, 1, 1, 1);
    expect(count(m, 'source_principal="spiffe://a"')).toBe(3);
    expect(count(m, 'source_principal="spiffe://b"')).toBe(2);
  });

  it('does not reuse a series when the series cap turned a request away', () => {
    const m = new IstioMetrics('source', self, () => 'unknown');
    for (let i = 0; i < MAX_SERIES; i++) m.record(peer, 'unknown', svc, 100 + (i % 500), Math.floor(i / 500), '-', SecurityPolicy.Unknown, 1, 1, 1);
    const before = m.size;
    expect(before).toBe(MAX_SERIES);
    m.record(other, 'unknown', svc2, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(other, 'unknown', svc2, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 1, 1, 1);
    expect(m.size).toBe(before);
    expect(m.overflow).toBe(2);
  });
});

describe('destination service labels', () => {
  it('from Istio\'s outbound cluster names, the passthrough cluster, and hosts', () => {
    expect(serviceOfCluster('outbound|9080|v1|reviews.default.svc.cluster.local')).toEqual({ service: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' });
    expect(serviceOfCluster('PassthroughCluster')).toEqual({ service: 'PassthroughCluster', name: 'PassthroughCluster', namespace: 'unknown' });
    expect(serviceOfCluster('inbound|5005||')).toBeNull();
    expect(serviceOfHost('httpbin.org')).toEqual({ service: 'httpbin.org', name: 'httpbin.org', namespace: 'unknown' });
    expect(hostOfAuthority('reviews:9080')).toBe('reviews');
    expect(hostOfAuthority('[::1]:80')).toBe('[::1]');
  });
});

describe('gRPC labels', () => {
  it('request_protocol="grpc" with grpc_response_status the number; HTTP keeps "http" and an empty status; each status its own series', () => {
    const m = new IstioMetrics('source', self, () => 'x');
    m.record(peer, 'unknown', svc, 200, 0, '-', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(peer, 'unknown', svc, 200, 0, '-', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(peer, 'unknown', svc, 200, 14, 'UH', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(peer, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(peer, 'unknown', svc, 0, GRPC_NO_STATUS, 'DC', SecurityPolicy.Unknown, 1, 1, 1);
    // A user-defined status past the cached range still gets its own series.
    m.record(peer, 'unknown', svc, 200, 100, '-', SecurityPolicy.Unknown, 1, 1, 1);
    m.record(peer, 'unknown', svc, 200, 100, '-', SecurityPolicy.Unknown, 1, 1, 1);
    const s = parseSamples(renderIstioPrometheus(m.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '0', response_code: '200' })).toBe(2);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '14', response_flags: 'UH' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'http', grpc_response_status: '' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '', response_flags: 'DC' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '100' })).toBe(2);
    expect(m.size).toBe(5);
  });
});
