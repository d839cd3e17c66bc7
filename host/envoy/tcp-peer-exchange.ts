// Istio's TCP metadata exchange (ALPN `istio-peer-exchange`) on an Envoy with the wasmesh TCP
// stats filter (filters/stats/tcp-exchange.ts): the shapes of its listeners and clusters that
// tell the filter's peer, by the ALPN agreed, that the exchange runs — as Istio's own proxies do.
//
// - Inbound (Istio's virtualInbound): the TCP chain for mesh TLS is split. A ClientHello offering
//   `istio-peer-exchange` takes a chain of its own whose TLS agrees on it (then `istio`), with the
//   filter configured to exchange; every other mesh TLS connection (`istio` alone, no ALPN) keeps
//   the chain that agrees on `istio` only, without the exchange. The filter, which cannot see the
//   ALPN agreed, thus exchanges exactly when its peer agreed to.
// - Outbound: a TCP port's ISTIO_MUTUAL cluster offers `istio-peer-exchange, istio` instead of
//   `istio`, as Istio's clusters do when they carry the exchange; the filter sends its header
//   only to an upstream that showed a mesh certificate. A peer that agrees on `istio` only (an
//   Envoy without the filters, an Istio proxy with the exchange off) would take the header as
//   application data: such a peer is outside what this control plane configures (docs/tcp.md).
import { PEER_EXCHANGE_ALPN, ISTIO_MUTUAL_TCP_ALPN } from '../telemetry/tcp-metadata-exchange.js';
import { ISTIO_MUTUAL_TCP_NO_EXCHANGE_ALPN } from './upstream-tls-context.js';
import { TCP_PROXY_FILTER } from './tcp-proxy-listeners.js';
import type { Obj } from './istio-resources.js';

function sameList(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function withAlpn(socket: Obj, alpn: readonly string[]): Obj {
  const typed = socket.typed_config as Obj;
  const common = typed.common_tls_context as Obj;
  return { ...socket, typed_config: { ...typed, common_tls_context: { ...common, alpn_protocols: [...alpn] } } };
}

/** Whether `chain` is an inbound TCP chain for mesh TLS without an ALPN condition (inbound-tcp-chain.ts). */
function isMeshTcpChain(chain: Obj): boolean {
  const match = (chain.filter_chain_match ?? {}) as Obj;
  const filters = Array.isArray(chain.filters) ? (chain.filters as Obj[]) : [];
  return match.transport_protocol === 'tls' && match.application_protocols === undefined && chain.transport_socket !== undefined
    && filters.some((f) => f.name === TCP_PROXY_FILTER);
}

/**
 * `listener` (an Envoy sidecar's inbound) with, before each mesh TLS TCP chain, its copy for
 * ClientHellos offering `istio-peer-exchange`: TLS agreeing on it, `exchangeFilter` (the TCP
 * stats filter configured to exchange) before its tcp_proxy.
 */
export function withInboundPeerExchangeChains(listener: Obj, exchangeFilter: Obj): Obj {
  const chains = Array.isArray(listener.filter_chains) ? (listener.filter_chains as Obj[]) : [];
  if (!chains.some(isMeshTcpChain)) return listener;
  const out = chains.flatMap((chain) => {
    if (!isMeshTcpChain(chain)) return [chain];
    const filters = chain.filters as Obj[];
    const at = filters.findIndex((f) => f.name === TCP_PROXY_FILTER);
    const exchange: Obj = {
      ...chain,
      ...(typeof chain.name === 'string' ? { name: `${chain.name}-peer-exchange` } : {}),
      filter_chain_match: { ...(chain.filter_chain_match as Obj), application_protocols: [PEER_EXCHANGE_ALPN] },
      transport_socket: withAlpn(chain.transport_socket as Obj, ISTIO_MUTUAL_TCP_ALPN),
      filters: [...filters.slice(0, at), exchangeFilter, ...filters.slice(at)],
    };
    return [exchange, chain];
  });
  return { ...listener, filter_chains: out };
}

/** `cluster` offering `istio-peer-exchange, istio` when it is a TCP port's ISTIO_MUTUAL cluster (ALPN `istio`); else as it is. */
export function withPeerExchangeAlpn(cluster: Obj): Obj {
  const socket = cluster.transport_socket as Obj | undefined;
  const common = ((socket?.typed_config as Obj | undefined)?.common_tls_context ?? {}) as Obj;
  if (socket === undefined || !sameList(common.alpn_protocols, ISTIO_MUTUAL_TCP_NO_EXCHANGE_ALPN)) return cluster;
  return { ...cluster, transport_socket: withAlpn(socket, ISTIO_MUTUAL_TCP_ALPN) };
}
