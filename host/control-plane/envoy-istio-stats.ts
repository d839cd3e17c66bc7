// Istio's standard metrics for an Envoy that routes by wasmesh's filters (WASMESH_FILTERS): the
// control plane delivers the wasmesh_stats filter with the node's own workload (its xDS node, as
// a wasmesh proxy without workload flags takes it: workloadOfIdentity) and the workloads of the
// proxies connected so far, whose x-envoy-peer-metadata the filter then recognises. On by
// default, as on a wasmesh proxy; WASMESH_ISTIO_METRICS=off turns it off (`--istio-metrics off`).
// A proxy connecting later is recognised from the next config version (views are computed per
// version); until then it counts as `unknown`, as a peer whose metadata does not decode.
import { workloadOfIdentity } from '../control/xds-config-source.js';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import type { StatsPluginOptions } from '../envoy/stats-plugin-config.js';
import type { XdsNode } from '../xds/xds-node.js';

/** The workload an xDS node names (its Istio node metadata). */
export function workloadOfNode(node: XdsNode, trustDomain?: string): WorkloadMetadata {
  return workloadOfIdentity({
    type: node.type, pod: node.pod, ip: node.ip, namespace: node.namespace, labels: node.labels,
    serviceAccount: node.serviceAccount, clusterId: node.clusterId,
    ...(node.workloadName !== undefined ? { workloadName: node.workloadName } : {}),
  }, trustDomain);
}

/** Whether an Envoy node gets the wasmesh_stats filter. */
export function wantsIstioStats(node: XdsNode): boolean {
  return node.kind === 'envoy' && node.metadata.WASMESH_FILTERS !== undefined && node.metadata.WASMESH_ISTIO_METRICS !== 'off';
}

/**
 * The wasmesh_stats options of `node`'s outbound or gateway listener (Istio's source reporter),
 * or undefined when it gets none.
 */
export function envoyIstioStats(node: XdsNode, peers: readonly XdsNode[], trustDomain?: string): StatsPluginOptions | undefined {
  if (!wantsIstioStats(node)) return undefined;
  return {
    reporter: 'source',
    self: workloadOfNode(node, trustDomain),
    peers: peers.filter((p) => p.id !== node.id && p.kind !== 'grpc').map((p) => workloadOfNode(p, trustDomain)),
  };
}
