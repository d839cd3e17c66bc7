// /clusters text follows Envoy's `cluster::host::stat::value` lines.
import { describe, expect, it } from 'vitest';
import { renderClusters } from '../../host/admin/clusters-text.js';
import { clusterStatus, endpointStatus } from '../helpers/cluster-status.js';

describe('renderClusters', () => {
  it('writes one line per endpoint fact, health as Envoy names it', () => {
    const text = renderClusters([
      clusterStatus('outbound|5005|v1|web.default.svc.cluster.local', [
        endpointStatus('127.0.0.1', 15101, true, { activeRequests: 1, connections: { active: 1, idle: 1, connecting: 0 } }),
        endpointStatus('127.0.0.2', 15101, false, { connections: { active: 0, idle: 0, connecting: 1 } }),
      ], { connections: 2 }),
    ]);
    const c = 'outbound|5005|v1|web.default.svc.cluster.local';
    expect(text.split('\n')).toEqual([
      `${c}::cx_active::2`,
      `${c}::127.0.0.1:15101::cx_active::1`,
      `${c}::127.0.0.1:15101::cx_idle::1`,
      `${c}::127.0.0.1:15101::cx_connecting::0`,
      `${c}::127.0.0.1:15101::rq_active::1`,
      `${c}::127.0.0.1:15101::health_flags::healthy`,
      `${c}::127.0.0.2:15101::cx_active::0`,
      `${c}::127.0.0.2:15101::cx_idle::0`,
      `${c}::127.0.0.2:15101::cx_connecting::1`,
      `${c}::127.0.0.2:15101::rq_active::0`,
      `${c}::127.0.0.2:15101::health_flags::/failed_outlier_check`,
      '',
    ]);
  });

  it('prints the health flags the cluster manager set, not a guess from `healthy`', () => {
    const text = renderClusters([
      clusterStatus('c', [endpointStatus('10.0.0.1', 80, false, { healthFlags: '/failed_outlier_check/pending_dynamic_removal' })]),
    ]);
    expect(text).toContain('c::10.0.0.1:80::health_flags::/failed_outlier_check/pending_dynamic_removal\n');
    expect(text).not.toContain('health_flags::/failed_outlier_check\n');
  });
});
