import { describe, expect, it } from 'vitest';
import { workloadMetadata, UNKNOWN } from '../../host/model/workload-metadata.js';

describe('workloadMetadata', () => {
  it('takes the canonical service and revision from the labels in Istio\'s order', () => {
    const m = workloadMetadata({ name: 'reviews-v2', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v2' } });
    expect(m.canonicalService).toBe('reviews');
    expect(m.canonicalRevision).toBe('v2');
    expect(m.app).toBe('reviews');
    expect(m.version).toBe('v2');
    const explicit = workloadMetadata({
      name: 'w',
      labels: { app: 'a', 'app.kubernetes.io/name': 'k', 'service.istio.io/canonical-name': 'c', version: 'v1', 'service.istio.io/canonical-revision': 'r7' },
    });
    expect(explicit.canonicalService).toBe('c');
    expect(explicit.canonicalRevision).toBe('r7');
    expect(workloadMetadata({ name: 'w', labels: { 'app.kubernetes.io/name': 'k', 'app.kubernetes.io/version': '3' } })).toMatchObject({ canonicalService: 'k', canonicalRevision: '3' });
  });

  it('falls back to the workload name, `latest` and `unknown` as Istio does', () => {
    const m = workloadMetadata({ name: 'ratings-v1', namespace: 'prod' });
    expect(m).toMatchObject({ canonicalService: 'ratings-v1', canonicalRevision: 'latest', app: UNKNOWN, version: UNKNOWN, cluster: 'Kubernetes', meshId: 'cluster.local', principal: null });
    expect(m.nodeId).toBe('sidecar~unknown~ratings-v1.prod~prod.svc.cluster.local');
    expect(workloadMetadata({}).name).toBe(UNKNOWN);
  });
});
