// Which HTTP version a cluster speaks to its endpoints (Envoy's cluster protocol options, as
// Istio sets them): HTTP/2 when the service port's protocol is HTTP2, GRPC or GRPC_WEB (port name or
// appProtocol `http2`, `grpc`, `grpc-web`; host/model/port-protocol.ts) or the DestinationRule asks
// http.h2UpgradePolicy UPGRADE; else HTTP/1.1. With TLS origination, an HTTP/2 cluster offers
// ALPN h2 (Istio's in-mesh istio-h2 first for ISTIO_MUTUAL).
import type { Cluster } from '../model/mesh.js';
import { carriedAs } from '../model/port-protocol.js';
import type { UpstreamTlsSettings } from '../tls/tls-settings.js';
import { ISTIO_MUTUAL_TCP_ALPN } from '../telemetry/tcp-metadata-exchange.js';

export type UpstreamProtocol = 'http1' | 'http2';

export function upstreamProtocol(c: Cluster): UpstreamProtocol {
  if (c.policy?.connection.h2Upgrade === true) return 'http2';
  return c.protocol !== undefined && carriedAs(c.protocol) === 'http2' ? 'http2' : 'http1';
}

/** ALPN for an HTTP/2 cluster's TLS (an explicit DestinationRule/programmatic list is kept). */
export const ISTIO_MUTUAL_H2_ALPN: readonly string[] = ['istio-h2', 'istio', 'h2'];
export const H2_ALPN: readonly string[] = ['h2'];

/**
 * ALPN for a byte proxy's (tcp_proxy's) TLS to a mesh endpoint: what Istio's client offers for
 * TCP, `istio-peer-exchange` (its TCP metadata exchange) then `istio`, so the peer's inbound
 * takes the connection as TCP (host/sidecar/inbound-alpn.ts). Other modes offer none; an
 * explicit list is kept.
 */
export function withTcpAlpn(settings: UpstreamTlsSettings | null): UpstreamTlsSettings | null {
  if (settings === null || settings.alpn !== undefined || settings.mode !== 'ISTIO_MUTUAL') return settings;
  return { ...settings, alpn: ISTIO_MUTUAL_TCP_ALPN };
}

export function withH2Alpn(settings: UpstreamTlsSettings | null): UpstreamTlsSettings | null {
  if (settings === null || settings.alpn !== undefined) return settings;
  return { ...settings, alpn: settings.mode === 'ISTIO_MUTUAL' ? ISTIO_MUTUAL_H2_ALPN : H2_ALPN };
}
