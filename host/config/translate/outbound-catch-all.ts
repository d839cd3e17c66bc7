// What a sidecar's outbound side does with a host the mesh does not know, as Istio generates
// it (meshConfig.outboundTrafficPolicy, or a Sidecar's): a virtual host matching `*`, searched
// last (Envoy's order), whose one route either forwards to `PassthroughCluster` (ALLOW_ANY:
// the original destination) or answers 502 from route `block_all` (REGISTRY_ONLY). Istio
// defines both clusters on every sidecar whatever the mode; `BlackHoleCluster` has no
// endpoints (Istio sends blocked TCP there; blocked HTTP is the direct 502).
import { noHeaderOps, type Cluster, type VirtualHost } from '../../model/mesh.js';
import type { OutboundTrafficMode } from '../../model/mesh-settings.js';
import { istioDefaultRetryPolicy } from '../../model/istio-defaults.js';
import { clusterPolicyOf } from './traffic-policy.js';

import { ALLOW_ANY_ROUTE, BLACKHOLE_CLUSTER, BLOCK_ALL_ROUTE, PASSTHROUGH_CLUSTER } from '../../model/catch-all.js';

export { ALLOW_ANY_ROUTE, BLACKHOLE_CLUSTER, BLOCK_ALL_ROUTE, PASSTHROUGH_CLUSTER, isCatchAllCluster } from '../../model/catch-all.js';

/**
 * The two catch-all clusters. PassthroughCluster is an original-destination cluster: no
 * endpoints listed, each request's is taken from its authority (host/upstream/hash-key.ts
 * originalDestination, with the proxy's own ports refused by the cluster manager).
 */
export function catchAllClusters(): Cluster[] {
  // Istio's defaults (10 s connect timeout, its circuit-breaker limits): no DestinationRule
  // can name these clusters.
  const { policy } = clusterPolicyOf({});
  return [
    { name: BLACKHOLE_CLUSTER, host: BLACKHOLE_CLUSTER, port: 0, subset: null, endpoints: [], lb: 'ROUND_ROBIN', policy },
    { name: PASSTHROUGH_CLUSTER, host: PASSTHROUGH_CLUSTER, port: 0, subset: null, endpoints: [], lb: 'PASSTHROUGH', policy: structuredClone(policy), destinationFromAuthorityName: true },
  ];
}


/** The `*` virtual host of `mode` (Istio's BuildCatchAllVirtualHost). */
export function catchAllVirtualHost(mode: OutboundTrafficMode): VirtualHost {
  if (mode === 'REGISTRY_ONLY') {
    return {
      name: BLOCK_ALL_ROUTE,
      domains: ['*'],
      routes: [{ name: BLOCK_ALL_ROUTE, matches: [], destinations: [], requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null, directResponse: { status: 502, body: null } }],
    };
  }
  return {
    name: ALLOW_ANY_ROUTE,
    domains: ['*'],
    routes: [
      {
        name: ALLOW_ANY_ROUTE,
        matches: [],
        destinations: [{ cluster: PASSTHROUGH_CLUSTER, weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
        requestHeaders: noHeaderOps(),
        responseHeaders: noHeaderOps(),
        // Istio's passthrough route has no timeout (0s) and no retry policy of its own.
        timeoutMs: null,
        retry: { ...istioDefaultRetryPolicy(), retries: 0 },
      },
    ],
  };
}
