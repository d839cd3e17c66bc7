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
import { defaultFiltersWasmPath, statsHttpFilters, STATS_WASM_FILE } from '../envoy/filters-bootstrap.js';
import { tcpStatsNetworkFilter, withTcpIstioStats } from '../envoy/tcp-stats-filter.js';
import { withInboundPeerExchangeChains, withPeerExchangeAlpn } from '../envoy/tcp-peer-exchange.js';
import type { MetricsOverrides } from '../model/metrics-overrides.js';
import { dirname, join } from 'node:path';
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
export function envoyIstioStats(node: XdsNode, peers: readonly XdsNode[], trustDomain?: string, reporter: 'source' | 'destination' = 'source', overrides?: MetricsOverrides): StatsPluginOptions | undefined {
  if (!wantsIstioStats(node)) return undefined;
  return {
    reporter,
    ...(overrides !== undefined ? { overrides } : {}),
    // The bootstrap (`wasmesh envoy-bootstrap --filters`) extracts Istio's labels only.
    newLabels: false,
    self: workloadOfNode(node, trustDomain),
    peers: peers.filter((p) => p.id !== node.id && p.kind !== 'grpc').map((p) => workloadOfNode(p, trustDomain)),
  };
}

type Obj = Record<string, unknown>;

/**
 * An Envoy sidecar's inbound listener (inbound-listener.ts, Istio's virtualInbound) with the
 * wasmesh_stats filter as the destination reporter, before the router of each chain's connection
 * manager; the listener as it was when the node gets no filter.
 */
export function withInboundIstioStats(listener: Obj, node: XdsNode, peers: readonly XdsNode[], trustDomain?: string, overrides?: MetricsOverrides): Obj {
  const o = envoyIstioStats(node, peers, trustDomain, 'destination', overrides);
  if (o === undefined) return listener;
  const filters = statsHttpFilters(o, statsWasmPath());
  const chains = (listener.filter_chains as Obj[]).map((chain) => ({
    ...chain,
    filters: (chain.filters as Obj[]).map((f) => {
      if (f.name !== 'envoy.filters.network.http_connection_manager') return f;
      const hcm = f.typed_config as Obj;
      const list = hcm.http_filters as Obj[];
      const router = list.findIndex((h) => h.name === 'envoy.filters.http.router');
      if (router < 0) throw new Error(`inbound listener ${String(listener.name)}: no router filter to put wasmesh_stats before`);
      return { ...f, typed_config: { ...hcm, http_filters: [...list.slice(0, router), ...filters, ...list.slice(router)] } };
    }),
  }));
  // Mesh TLS TCP chains get a copy for peers that agreed on Istio's TCP metadata exchange, whose
  // TCP filter exchanges (tcp-peer-exchange.ts); the other chains that proxy TCP (the one agreeing
  // on `istio`, InboundPassthroughCluster behind capture: inbound-passthrough.ts) get the filter without it.
  const exchanging = withInboundPeerExchangeChains({ ...listener, filter_chains: chains }, tcpStatsNetworkFilter({ ...o, tcpExchange: true }, statsWasmPath()));
  return withTcpIstioStats(exchanging, o, statsWasmPath());
}

function statsWasmPath(): string {
  return join(dirname(defaultFiltersWasmPath()), STATS_WASM_FILE);
}

/**
 * A listener of an Envoy gateway or sidecar (source reporter) with the wasmesh_tcp_stats network
 * filter before each tcp_proxy (Gateway TCP and TLS passthrough ports, TCP routes' listeners); as
 * it was when the node gets no Istio metrics or the listener proxies no TCP.
 */
export function withOutboundTcpIstioStats(listener: Obj, node: XdsNode, peers: readonly XdsNode[], trustDomain?: string, overrides?: MetricsOverrides): Obj {
  const o = envoyIstioStats(node, peers, trustDomain, 'source', overrides);
  // The filter runs Istio's TCP metadata exchange toward upstreams that show a mesh certificate
  // (their clusters offer it: withOutboundPeerExchange).
  return o === undefined ? listener : withTcpIstioStats(listener, withTcpExchange(o)!, statsWasmPath());
}

/** `o` with its TCP filter running Istio's TCP metadata exchange (outbound: this control plane's clusters offer it, withOutboundPeerExchange). */
export function withTcpExchange(o: StatsPluginOptions | undefined): StatsPluginOptions | undefined {
  return o === undefined ? undefined : { ...o, tcpExchange: true };
}

/** The clusters of `node`: with its TCP stats filter, TCP ports' ISTIO_MUTUAL clusters offer `istio-peer-exchange, istio` (tcp-peer-exchange.ts). */
export function withOutboundPeerExchange(clusters: readonly Obj[], node: XdsNode): Obj[] {
  return wantsIstioStats(node) ? clusters.map(withPeerExchangeAlpn) : [...clusters];
}
