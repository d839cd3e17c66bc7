// Mesh TLS carrying TCP on an Envoy sidecar's inbound, as Istio's virtualInbound tells it from
// HTTP: by the ALPN the ClientHello offers (the listener's tls_inspector reads it). Istio's HTTP
// clients offer `istio-http/1.x` / `istio-h2` (and the plain names after them), so the HTTP
// chains match those; every other mesh TLS connection — Istio's TCP clients' `istio-peer-exchange,
// istio`, `istio` alone, or no ALPN at all — takes the TCP chain: terminated and proxied by
// tcp_proxy to the app port's `inbound|<port>||` cluster, behind the workload's AuthorizationPolicies
// (RBAC network filter), as host/sidecar/inbound-alpn.ts routes the same ClientHellos on a
// wasmesh sidecar. This chain's TLS agrees on `istio` only: stock Envoy has no
// istio.metadata_exchange filter, so a peer offering the exchange is told, by the ALPN agreed,
// that there is none (Istio's own behaviour when its cluster offers no exchange). An Envoy with
// the wasmesh TCP stats filter gets, from the control plane, a copy of this chain for
// ClientHellos offering `istio-peer-exchange` whose filter runs the exchange
// (tcp-peer-exchange.ts; docs/tcp.md "Between the planes").
import type { AccessLogTarget } from '../model/access-logging.js';
import type { AuthzPolicy } from '../model/authorization.js';
import type { Obj } from './istio-resources.js';
import { envoyRbacNetworkFilters } from './rbac-network-policy.js';
import { tcpProxyFilter } from './tcp-proxy-listeners.js';

/** The ALPN the inbound's HTTP chains match: Istio's in-mesh HTTP names and the plain ones. */
export const INBOUND_HTTP_ALPN: readonly string[] = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'http/1.0', 'http/1.1', 'h2'];
/** What the TCP chain's TLS agrees on: Istio's in-mesh TCP name without the metadata exchange (tcp-peer-exchange.ts adds the chain with it). */
export const INBOUND_TCP_TLS_ALPN: readonly string[] = ['istio'];

/** The TCP chain for mesh TLS to `cluster` (an app port's inbound cluster); `tls` is its DownstreamTlsContext socket. */
export function inboundTcpTlsChain(cluster: string, tls: Obj, accessLogs?: readonly AccessLogTarget[], authorization?: readonly AuthzPolicy[]): Obj {
  return {
    filter_chain_match: { transport_protocol: 'tls' },
    transport_socket: tls,
    filters: [
      ...envoyRbacNetworkFilters(authorization),
      tcpProxyFilter({ name: cluster, hosts: [], matches: [], destinations: [{ cluster, weight: 100 }] }, accessLogs),
    ],
  };
}

/** The match of an HTTP chain for mesh TLS: transport tls and an HTTP ALPN offered. */
export function inboundHttpTlsMatch(): Obj {
  return { transport_protocol: 'tls', application_protocols: [...INBOUND_HTTP_ALPN] };
}
