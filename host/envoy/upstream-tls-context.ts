// A cluster's TLS origination (host/model/cluster-tls.ts: DestinationRule tls or auto mTLS) as
// Envoy's `envoy.transport_sockets.tls` with an UpstreamTlsContext, the way Istio's cluster
// builder writes it (pilot cluster_tls.go): ISTIO_MUTUAL takes the workload certificate
// (`default`) and the mesh's roots (`ROOTCA`) over SDS from the agent's `sds-grpc` cluster, the
// roots combined with the expected SPIFFE IDs as URI SAN matchers; SIMPLE and MUTUAL name their
// PEM files inline, as Istio does for a DestinationRule's file paths. Each mode checks the server
// as a wasmesh proxy does (host/upstream/transport/tls.ts), so both data planes refuse the same
// peers.
import { isIP } from 'node:net';
import type { Cluster } from '../model/mesh.js';
import type { ClusterTls } from '../model/cluster-tls.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import type { Obj } from './istio-resources.js';
import { sdsSecretConfig } from './sds-config.js';
import { H2_ALPN, ISTIO_MUTUAL_H2_ALPN, upstreamProtocol } from '../upstream/upstream-protocol.js';
import { carriedAs } from '../model/port-protocol.js';

/** Istio's ALPN for mesh mTLS carrying HTTP/1.1 (what wasmesh's upstream offers too). */
export const ISTIO_MUTUAL_ALPN: readonly string[] = ['istio-http/1.1', 'istio', 'http/1.1'];
/**
 * ALPN of a TCP port's cluster (tcp_proxy): Istio's in-mesh TCP name without `istio-peer-exchange`,
 * as Istio's clusters offer it when they carry no metadata exchange filter — stock Envoy has none,
 * so offering it would send a peer's header to the app. The control plane widens it to
 * `istio-peer-exchange, istio` for an Envoy whose TCP stats filter runs the exchange
 * (tcp-peer-exchange.ts; docs/tcp.md "Between the planes").
 */
export const ISTIO_MUTUAL_TCP_NO_EXCHANGE_ALPN: readonly string[] = ['istio'];

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** Each expected name as an exact URI and an exact DNS SAN matcher (Istio's ConstructSubjectAltNameMatcher). */
function sanMatchers(names: readonly string[], types: ReadonlyArray<'URI' | 'DNS'>): Obj[] {
  return names.flatMap((name) => types.map((san_type) => ({ san_type, matcher: { exact: name } })));
}

/**
 * The SNI a wasmesh proxy sends when the DestinationRule names none: the endpoint's host name
 * (none for an IP). Envoy's is per cluster, so endpoints with different names cannot all get
 * theirs: refused rather than sent a wrong one.
 */
function defaultSni(c: Cluster): string | undefined {
  const names = [...new Set(c.endpoints.map((e) => e.address).filter((a) => isIP(a) === 0))];
  if (names.length === 0) return undefined;
  const ips = c.endpoints.some((e) => isIP(e.address) !== 0);
  if (names.length > 1 || ips) {
    throw new EnvoyConfigError('envoy_config_tls_untranslated', `cluster ${c.name}`,
      `tls mode ${c.tls!.mode} without sni: wasmesh sends each endpoint's host name (${names.join(', ')})${ips ? ' and none to IP addresses' : ''}, Envoy one SNI per cluster; set the DestinationRule's tls.sni`);
  }
  return names[0];
}

/**
 * The transport socket of cluster `c`, or null for plaintext (no tls, or DISABLE). Throws
 * EnvoyConfigError (located at the cluster) for what Envoy cannot do as wasmesh does.
 */
export function envoyUpstreamTransportSocket(c: Cluster): Obj | null {
  const tls: ClusterTls | undefined = c.tls;
  if (tls === undefined || tls.mode === 'DISABLE') return null;
  const context: Obj = {};
  const common: Obj = {};
  if (tls.mode === 'ISTIO_MUTUAL') {
    if (tls.caCertificates !== undefined || tls.clientCertificate !== undefined || tls.privateKey !== undefined) {
      throw new EnvoyConfigError('envoy_config_tls_untranslated', `cluster ${c.name}`, 'tls mode ISTIO_MUTUAL takes certificate, key and roots from the workload identity; caCertificates, clientCertificate and privateKey must be absent');
    }
    common.tls_certificate_sds_secret_configs = [sdsSecretConfig('default')];
    const expected = tls.subjectAltNames ?? [];
    common.combined_validation_context = {
      // An empty default context: any certificate from the mesh's roots (the chain alone decides), as wasmesh.
      default_validation_context: expected.length > 0 ? { match_typed_subject_alt_names: sanMatchers(expected, ['URI']) } : {},
      validation_context_sds_secret_config: sdsSecretConfig('ROOTCA'),
    };
    // An HTTP/2 cluster offers Istio's istio-h2 first, as wasmesh's HTTP/2 pool does; a TCP port's
    // cluster Istio's TCP name, so the peer's inbound takes it as TCP (not its HTTP path).
    common.alpn_protocols = c.protocol !== undefined && carriedAs(c.protocol) === 'tcp' ? [...ISTIO_MUTUAL_TCP_NO_EXCHANGE_ALPN]
      : upstreamProtocol(c) === 'http2' ? [...ISTIO_MUTUAL_H2_ALPN] : [...ISTIO_MUTUAL_ALPN];
    // Istio's routing name outbound_.<port>_.<subset>_.<host>, never checked as a host name.
    if (tls.sni !== undefined) context.sni = tls.sni;
  } else {
    if (tls.mode === 'MUTUAL') {
      if (tls.clientCertificate === undefined || tls.privateKey === undefined) {
        throw new EnvoyConfigError('envoy_config_tls_untranslated', `cluster ${c.name}`, 'tls mode MUTUAL needs clientCertificate and privateKey');
      }
      common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
    }
    const sni = tls.sni ?? defaultSni(c);
    if (sni !== undefined) context.sni = sni;
    // insecureSkipVerify: no validation context, Envoy checks nothing (as wasmesh, and as Istio).
    if (tls.insecureSkipVerify !== true) {
      // wasmesh verifies against Node's bundled public roots when no file is named; Envoy has no
      // such bundle (and refuses SAN checks against its system store), so the file is required.
      if (tls.caCertificates === undefined) {
        throw new EnvoyConfigError('envoy_config_tls_untranslated', `cluster ${c.name}`, `tls mode ${tls.mode} without caCertificates: wasmesh verifies the server against Node's bundled public roots, which Envoy does not have; name the roots in the DestinationRule's tls.caCertificates (or serve this cluster with a wasmesh proxy)`);
      }
      const validation: Obj = { trusted_ca: { filename: tls.caCertificates } };
      const expected = tls.subjectAltNames ?? [];
      // With no expected names, an SNI given is checked as the server's host name (wasmesh does the same).
      if (expected.length > 0) validation.match_typed_subject_alt_names = sanMatchers(expected, ['URI', 'DNS']);
      else if (tls.sni !== undefined) validation.match_typed_subject_alt_names = sanMatchers([tls.sni], ['DNS']);
      common.validation_context = validation;
    }
  }
  // SIMPLE/MUTUAL to an HTTP/2 cluster: ALPN h2, as Istio (ALPNH2Only) and wasmesh's pool offer.
  if (tls.mode !== 'ISTIO_MUTUAL' && upstreamProtocol(c) === 'http2') common.alpn_protocols = [...H2_ALPN];
  context.common_tls_context = common;
  return { name: TLS_TRANSPORT_SOCKET, typed_config: { '@type': UPSTREAM_TLS, ...context } };
}
