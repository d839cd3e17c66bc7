// /clusters?format=json in Envoy's admin.v3.Clusters shape, and istioctl's live endpoint view of it.
import { describe, expect, it } from 'vitest';

/* eslint-disable @typescript-eslint/no-explicit-any */
import { envoyClustersJson } from '../../host/admin/clusters-json.js';
import { liveEndpointsTable } from '../../host/cli/proxy-config/live-endpoints-view.js';
import { clusterStatus as cluster, endpointStatus as ep } from '../helpers/cluster-status.js';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';

describe('envoyClustersJson', () => {
  it('writes Envoy\'s host statuses: address, gauges (zero values left out), EDS health, failed_outlier_check while ejected, weight ≥ 1', () => {
    const json = envoyClustersJson([cluster(V1, [ep('10.0.0.1', 9080, true, { activeRequests: 2, connections: { active: 3, idle: 0, connecting: 0 }, weight: 5 }), ep('10.0.0.2', 9080, false)]), cluster('empty', [])]);
    expect(json).toEqual({
      cluster_statuses: [
        {
          name: V1,
          observability_name: V1,
          host_statuses: [
            { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } }, stats: [{ type: 'GAUGE', name: 'cx_active', value: '3' }, { type: 'GAUGE', name: 'rq_active', value: '2' }], health_status: { eds_health_status: 'HEALTHY' }, weight: 5, locality: {} },
            { address: { socket_address: { address: '10.0.0.2', port_value: 9080 } }, stats: [{ type: 'GAUGE', name: 'cx_active' }, { type: 'GAUGE', name: 'rq_active' }], health_status: { eds_health_status: 'HEALTHY', failed_outlier_check: true }, weight: 1, locality: {} },
          ],
        },
        { name: 'empty', observability_name: 'empty' },
      ],
    });
  });

  it('istioctl\'s live view shows the ejected host FAILED, sorted by address, port, cluster; filtered as istioctl', () => {
    const json = envoyClustersJson([
      cluster(V1, [ep('10.0.0.2', 9080, false), ep('10.0.0.1', 9080, true)]),
      cluster('outbound|9080||reviews.default.svc.cluster.local', [ep('10.0.0.1', 9080, true), ep('10.0.0.1', 80, true)]),
    ]) as any;
    expect(liveEndpointsTable(json, {}).split('\n')).toEqual([
      'ENDPOINT          STATUS      OUTLIER CHECK     CLUSTER',
      '10.0.0.1:80       HEALTHY     OK                outbound|9080||reviews.default.svc.cluster.local',
      '10.0.0.1:9080     HEALTHY     OK                outbound|9080|v1|reviews.default.svc.cluster.local',
      '10.0.0.1:9080     HEALTHY     OK                outbound|9080||reviews.default.svc.cluster.local',
      '10.0.0.2:9080     HEALTHY     FAILED            outbound|9080|v1|reviews.default.svc.cluster.local',
      '',
    ]);
    // --address is the IP alone (istioctl's live filter), --cluster case-insensitive, --status on the EDS health.
    expect(liveEndpointsTable(json, { address: '10.0.0.2' }).split('\n').slice(1, -1)).toEqual(['10.0.0.2:9080     HEALTHY     FAILED            outbound|9080|v1|reviews.default.svc.cluster.local']);
    expect(liveEndpointsTable(json, { address: '10.0.0.2:9080' }).split('\n')).toHaveLength(2);
    expect(liveEndpointsTable(json, { port: 80, cluster: 'OUTBOUND|9080||reviews.default.svc.cluster.local' }).split('\n').slice(1, -1)).toEqual(['10.0.0.1:80     HEALTHY     OK                outbound|9080||reviews.default.svc.cluster.local']);
    expect(liveEndpointsTable(json, { status: 'unhealthy' }).split('\n')).toHaveLength(2);
  });
});
