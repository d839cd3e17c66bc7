// An Envoy sidecar's inbound for ports the workload does not declare, as Istio (≥ 1.10) lays out
// virtualInbound behind iptables capture: the `original_dst` listener filter gives each
// connection the port it was sent to; the declared app ports and the inbound port itself keep
// the HTTP chains (inbound-listener.ts), each copy matched by its `destination_port`; any other
// port is passed to where it was going — `InboundPassthroughCluster`, an ORIGINAL_DST cluster
// whose connections leave from 127.0.0.6, or ::6 for IPv6 (the source Istio's iptables lets through from the
// proxy to the pod's own address, docker/iptables-init.sh INBOUND_PASSTHROUGH_SRC) — as TCP,
// behind the PeerAuthentication mode: STRICT terminates mesh mTLS first, PERMISSIVE terminates
// TLS and passes plaintext as it came, DISABLE passes everything as it came.
// Where the workload has AuthorizationPolicies each passthrough chain runs Envoy's RBAC network
// filter before tcp_proxy (rbac-network-policy.ts), as Istio's do and as the wasmesh sidecar
// enforces them on the same connections.
import type { AccessLogTarget } from '../model/access-logging.js';
import { INBOUND_PASSTHROUGH_BIND_IPV4, INBOUND_PASSTHROUGH_BIND_IPV6, INBOUND_PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import type { Obj } from './istio-resources.js';
import { tcpProxyFilter } from './tcp-proxy-listeners.js';
import type { AuthzPolicy } from '../model/authorization.js';
import { envoyRbacNetworkFilters } from './rbac-network-policy.js';

export { INBOUND_PASSTHROUGH_CLUSTER };

export const ORIGINAL_DST_LISTENER_FILTER: Obj = {
  name: 'envoy.filters.listener.original_dst',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
};

/** The ORIGINAL_DST cluster connections to undeclared ports go to (Istio's, with its 10 s connect timeout). */
export function inboundPassthroughCluster(): Obj {
  return {
    name: INBOUND_PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '10s',
    // Istio's dual-stack bind: 127.0.0.6 for IPv4 destinations, ::6 for IPv6 ones (Envoy picks the
    // source of the upstream's family among source_address and extra_source_addresses).
    upstream_bind_config: {
      source_address: { address: INBOUND_PASSTHROUGH_BIND_IPV4, port_value: 0 },
      extra_source_addresses: [{ address: { address: INBOUND_PASSTHROUGH_BIND_IPV6, port_value: 0 } }],
    },
  };
}

/** `chains` once per destination port (the declared app ports and the inbound port), each copy matching its port. */
export function chainsByDestinationPort(chains: readonly Obj[], ports: readonly number[]): Obj[] {
  return ports.flatMap((port) => chains.map((c) => ({
    ...c,
    ...(c.name !== undefined ? { name: `${String(c.name)}-${port}` } : {}),
    filter_chain_match: { destination_port: port, ...((c.filter_chain_match as Obj | undefined) ?? {}) },
  })));
}

/**
 * The chains for every other port: a tcp_proxy to InboundPassthroughCluster, mesh mTLS
 * terminated first by `mode` (`tls` is the downstream TLS transport socket of the HTTP chains),
 * the workload's AuthorizationPolicies (`authorization`) as RBAC network filters before it.
 */
export function inboundPassthroughChains(mode: EffectiveMtlsMode, tls: () => Obj, accessLogs?: readonly AccessLogTarget[], authorization?: readonly AuthzPolicy[]): Obj[] {
  const rbac = envoyRbacNetworkFilters(authorization);
  const proxy = (): Obj => tcpProxyFilter({ name: INBOUND_PASSTHROUGH_CLUSTER, hosts: [], matches: [], destinations: [{ cluster: INBOUND_PASSTHROUGH_CLUSTER, weight: 100 }] }, accessLogs);
  const name = 'virtualInbound-passthrough';
  switch (mode) {
    case 'STRICT':
      return [{ name: `${name}-tls`, transport_socket: tls(), filters: [...rbac, proxy()] }];
    case 'PERMISSIVE':
      return [
        { name: `${name}-tls`, filter_chain_match: { transport_protocol: 'tls' }, transport_socket: tls(), filters: [...rbac, proxy()] },
        { name, filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [...rbac, proxy()] },
      ];
    case 'DISABLE':
      return [{ name, filters: [...rbac, proxy()] }];
  }
}
