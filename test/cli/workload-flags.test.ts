import { describe, expect, it } from 'vitest';
import { workloadFromFlags, istioMetricsFromFlags } from '../../host/cli/workload-flags.js';
import { statsFromFlags, mergedStatsFromFlags } from '../../host/cli/stats-flag.js';
import { workloadNameOfPod } from '../../host/model/workload-name.js';
import { UsageError } from '../../host/cli/args.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';

describe('--workload and the workload\'s metadata', () => {
  it('takes --workload, namespace and labels; the principal from the CA identity; Istio\'s env for the rest', () => {
    const identity = { kind: 'ca' as const, tokenFile: 't', address: 'a:1', rootsPem: '', identity: spiffeId('shop', 'reviews', 'corp.example'), ttlMs: 1 };
    const w = workloadFromFlags('wasmesh sidecar', { workload: 'reviews-v2', namespace: 'shop' }, identity, { app: 'reviews', version: 'v2' },
      { POD_NAME: 'reviews-v2-7d9f8c6b5-x2k4q', INSTANCE_IP: '10.0.0.7', ISTIO_META_CLUSTER_ID: 'east' });
    expect(w).toMatchObject({
      name: 'reviews-v2', namespace: 'shop', app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2', cluster: 'east',
      principal: 'spiffe://corp.example/ns/shop/sa/reviews', meshId: 'corp.example', instanceIp: '10.0.0.7',
      nodeId: 'sidecar~10.0.0.7~reviews-v2-7d9f8c6b5-x2k4q.shop~shop.svc.cluster.local',
    });
  });

  it('defaults the name as Istio does: ISTIO_META_WORKLOAD_NAME, else the pod\'s Deployment', () => {
    expect(workloadFromFlags('c', {}, null, undefined, { ISTIO_META_WORKLOAD_NAME: 'ratings-v1', POD_NAME: 'x' }).name).toBe('ratings-v1');
    expect(workloadFromFlags('c', {}, null, undefined, { POD_NAME: 'details-v1-5f4d584748-9xk2p' }).name).toBe('details-v1');
    expect(workloadFromFlags('c', {}, null, undefined, { POD_NAME: 'x' }).principal).toBeNull();
    expect(workloadNameOfPod('web')).toBe('web');
    expect(workloadNameOfPod('job-x2k4q')).toBe('job');
    expect(workloadNameOfPod('web-stage')).toBe('web-stage');
  });

  it('refuses a name Kubernetes would refuse, and --istio-metrics other than on/off', () => {
    expect(() => workloadFromFlags('c', { workload: 'Not_A_Name' }, null, undefined, {})).toThrow(UsageError);
    expect(istioMetricsFromFlags('c', {})).toBe(true);
    expect(istioMetricsFromFlags('c', { 'istio-metrics': 'off' })).toBe(false);
    expect(() => istioMetricsFromFlags('c', { 'istio-metrics': 'no' })).toThrow(/--istio-metrics/);
  });

  it('--stats: Istio\'s 15090 on every interface by default (optional), an explicit address must bind, off for none', () => {
    expect(statsFromFlags('c', {})).toEqual({ at: { host: '0.0.0.0', port: 15090 }, required: false });
    expect(statsFromFlags('c', { stats: '127.0.0.1:9999' })).toEqual({ at: { host: '127.0.0.1', port: 9999 }, required: true });
    expect(statsFromFlags('c', { stats: 'off' })).toBeUndefined();
    expect(() => statsFromFlags('c', { stats: 'nope' })).toThrow(UsageError);
  });

  it('--merged-stats and --app-metrics: Istio\'s 15020 with the app\'s prometheus.io/port and path', () => {
    expect(mergedStatsFromFlags('c', {})).toEqual({ at: { host: '0.0.0.0', port: 15020 }, required: false });
    expect(mergedStatsFromFlags('c', { 'app-metrics': '9100' })).toMatchObject({ app: { port: 9100, path: '/metrics' } });
    expect(mergedStatsFromFlags('c', { 'merged-stats': '127.0.0.1:0', 'app-metrics': '8080/actuator/prometheus' })).toEqual({ at: { host: '127.0.0.1', port: 0 }, required: true, app: { port: 8080, path: '/actuator/prometheus', host: '127.0.0.1' } });
    // The app is reached at the sidecar's --app-address (::1 on an IPv6-only pod).
    expect(mergedStatsFromFlags('c', { 'app-metrics': '9100' }, '::1')).toMatchObject({ app: { port: 9100, path: '/metrics', host: '::1' } });
    expect(() => mergedStatsFromFlags('c', { 'app-metrics': '70000' })).toThrow(UsageError);
    expect(() => mergedStatsFromFlags('c', { 'app-metrics': 'x' })).toThrow(UsageError);
    expect(() => mergedStatsFromFlags('c', { 'merged-stats': 'off', 'app-metrics': '9100' })).toThrow(/--app-metrics/);
  });
});
