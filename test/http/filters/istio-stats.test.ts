// The Istio stats filter on a fake stream: what it takes out of the request, what it answers a
// mesh caller, and the destination service it counts, per reporter.
import { describe, expect, it } from 'vitest';
import { istioStatsFilter, type IstioStatsDeps } from '../../../host/http/filters/istio-stats.js';
import { IstioMetrics } from '../../../host/telemetry/istio-metrics.js';
import { PeerCache, encodePeerMetadata } from '../../../host/telemetry/peer-metadata.js';
import { workloadLabelsOf } from '../../../host/telemetry/istio-labels.js';
import { workloadMetadata } from '../../../host/model/workload-metadata.js';
import { renderIstioPrometheus } from '../../../host/admin/istio-prometheus-text.js';
import { fakeStream } from '../../helpers/fake-stream.js';
import { parseSamples, sumOf } from '../../helpers/prometheus-samples.js';

const me = workloadMetadata({ name: 'reviews-v1', namespace: 'shop', labels: { app: 'reviews' } });
const caller = encodePeerMetadata(workloadMetadata({ name: 'productpage-v1', namespace: 'shop', labels: { app: 'productpage' } }));

function deps(reporter: 'source' | 'destination'): IstioStatsDeps {
  return { metrics: new IstioMetrics(reporter, workloadLabelsOf(me), () => 'unknown'), peers: new PeerCache(), ownId: 'sidecar~1~reviews.shop~shop.svc.cluster.local', ownMetadata: 'OWN', namespace: 'shop' };
}

function finish(stream: ReturnType<typeof fakeStream>, status = 200): void {
  Object.assign(stream.downstream, { status, startTime: Date.now(), headBytes: 40, bytesReceived: 0, bytesSent: 2, security: null });
  Object.assign(stream, { upstreamCluster: '-', flags: [] });
}

describe('istio stats filter, destination reporter', () => {
  it('takes the caller\'s metadata out of the request, answers it with its own, and names it', () => {
    const d = deps('destination');
    const f = istioStatsFilter(d);
    const s = fakeStream({ headers: { host: 'reviews:9080', 'x-envoy-peer-metadata': caller, 'x-envoy-peer-metadata-id': 'sidecar~2~pp.shop~shop.svc.cluster.local' } });
    f.onRequestHeaders!(s);
    expect(s.requestHeader('x-envoy-peer-metadata')).toBeNull();
    expect(s.requestHeader('x-envoy-peer-metadata-id')).toBeNull();
    expect(s.responseHeaders).toEqual([['x-envoy-peer-metadata-id', d.ownId], ['x-envoy-peer-metadata', 'OWN']]);
    finish(s);
    f.onLog!(s);
    const samples = parseSamples(renderIstioPrometheus(d.metrics.snapshot()));
    expect(sumOf(samples, 'istio_requests_total', { source_workload: 'productpage-v1', destination_workload: 'reviews-v1', destination_service: 'reviews.shop.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'shop', connection_security_policy: 'none' })).toBe(1);
  });

  it('a client without metadata gets none back; past 256 distinct hosts a new one counts as unknown', () => {
    const d = deps('destination');
    const f = istioStatsFilter(d);
    for (let i = 0; i < 300; i++) {
      const s = fakeStream({ headers: { host: `h${i}.example` } });
      f.onRequestHeaders!(s);
      expect(s.responseHeaders).toEqual([]);
      finish(s);
      f.onLog!(s);
    }
    const samples = parseSamples(renderIstioPrometheus(d.metrics.snapshot()));
    expect(sumOf(samples, 'istio_requests_total', { destination_service: 'unknown' })).toBe(44);
    expect(d.metrics.size).toBe(257);
    // One filter per server: a new config version gets the same caches.
    expect(istioStatsFilter(d)).toBe(f);
  });
});

describe('istio stats filter, source reporter', () => {
  it('removes what the app sent, asks the stream for the callee\'s metadata, and counts the cluster\'s service', () => {
    const d = deps('source');
    const f = istioStatsFilter(d);
    const s = fakeStream({ headers: { host: 'ratings', 'x-envoy-peer-metadata': caller } });
    let taken: readonly string[] = [];
    let read = -1;
    s.takeResponseHeaders = (names, r) => ((taken = names), (read = r ?? names.length));
    s.takenResponseHeader = (name) => (name === 'x-envoy-peer-metadata' ? caller : null);
    f.onRequestHeaders!(s);
    expect(s.requestHeader('x-envoy-peer-metadata')).toBeNull();
    // The callee's metadata is read; its id is only taken out (not decoded).
    expect(taken).toEqual(['x-envoy-peer-metadata', 'x-envoy-peer-metadata-id']);
    expect(read).toBe(1);
    expect(s.responseHeaders).toEqual([]);
    finish(s, 503);
    Object.assign(s, { upstreamCluster: 'outbound|9080|v2|ratings.shop.svc.cluster.local', flags: ['UF', 'URX'] });
    f.onLog!(s);
    const samples = parseSamples(renderIstioPrometheus(d.metrics.snapshot()));
    expect(sumOf(samples, 'istio_requests_total', { reporter: 'source', source_workload: 'reviews-v1', destination_workload: 'productpage-v1', destination_service: 'ratings.shop.svc.cluster.local', response_code: '503', response_flags: 'UF,URX', connection_security_policy: 'unknown' })).toBe(1);
  });
});
