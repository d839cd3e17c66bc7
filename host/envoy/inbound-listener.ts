// An Envoy sidecar's inbound side, as Istio's virtualInbound (15006) does it, kept to what the
// wasmesh sidecar does: one listener that hands each request to the app on 127.0.0.1 — the port
// of the Host header when it is one of the app ports, else the first app port — through one
// `inbound|<port>||` cluster per app port. PeerAuthentication decides the transport (the
// strictest of the workload's modes, MeshConfig.inboundMtlsMode): STRICT terminates mesh mTLS
// only (a client certificate from SDS ROOTCA required, the workload certificate from SDS
// default); PERMISSIVE tells TLS from plaintext by the first bytes (tls_inspector, filter chains
// by transport_protocol); DISABLE is plaintext. Mesh TLS is HTTP or TCP by the ALPN offered
// (inbound-tcp-chain.ts: Istio's TCP chain, tcp_proxy to the app port). x-forwarded-client-cert as the wasmesh sidecar
// (host/tls/forward-client-cert.ts) and Istio's sidecar inbound set it: over mTLS the peer's
// element (Subject, URI, DNS) appended to what came in; over plaintext whatever came in dropped.
// Behind iptables capture (`originalDestinations`) the listener reads each connection's original
// destination: the app ports and the inbound port keep these chains, any other port is passed
// through to where it was going (InboundPassthroughCluster, inbound-passthrough.ts).
import type { AuthzPolicy } from '../model/authorization.js';
import type { PathNormalization } from '../model/mesh-settings.js';
import { hcmPathNormalization } from './path-normalization.js';
import { envoyHcmTracing, envoyTracingClusters } from './tracing-config.js';
import { envoyHcmAccessLog } from './access-log-config.js';
import type { AccessLogTarget } from '../model/access-logging.js';
import type { TracingConfig } from '../model/tracing.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import type { HostPort } from './bootstrap.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import { websocketUpgradeFields } from './websocket-upgrade.js';
import type { Obj } from './istio-resources.js';
import { envoyAuthorizationFilters } from './authorization-filters.js';
import type { Cluster } from '../model/mesh.js';
import type { ExtAuthzProvider } from '../model/mesh-settings.js';
import { sdsSecretConfig } from './sds-config.js';
import { TLS_TRANSPORT_SOCKET } from './upstream-tls-context.js';
import type { JwtRule } from '../model/jwt-rules.js';
import { envoyJwtAuthn } from './jwt-authn-policy.js';
import { isIP } from 'node:net';
import type { MeshConfig } from '../model/mesh.js';
import type { RateLimitConfig, RouteGlobalRule } from '../model/rate-limit.js';
import { envoyRouteRateLimits, LOCAL_RATE_LIMIT_FILTER, rateLimitClusters, rateLimitHttpFilters } from './rate-limit-policy.js';
import { inboundHttpTlsMatch, inboundTcpTlsChain, INBOUND_TCP_TLS_ALPN } from './inbound-tcp-chain.js';
import { chainsByDestinationPort, inboundPassthroughChains, inboundPassthroughCluster, ORIGINAL_DST_LISTENER_FILTER } from './inbound-passthrough.js';

/** Istio's inbound capture port. */
export const SIDECAR_INBOUND_PORT = 15006;
export const INBOUND_LISTENER_NAME = 'virtualInbound';

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TLS_INSPECTOR = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
/** ALPN the inbound accepts, in the wasmesh listener's order (HTTP/1.1 inside, Istio's names too). */
const INBOUND_ALPN = ['http/1.1', 'istio-http/1.1', 'istio'];

export interface InboundOptions {
  /** Where the listener binds (Istio's 0.0.0.0:15006; `[::]` on an IPv6-only pod). */
  listen: HostPort;
  /** The pod's other wildcards (`::` on a dual-stack pod): the listener's additional_addresses when it binds the first. */
  additionalWildcards?: readonly string[];
  /** The app's ports on `appAddress` (the first takes requests whose Host names no app port). */
  appPorts: readonly number[];
  /** Where the app is reached: 127.0.0.1 unless told (::1 on an IPv6-only pod: host/model/ip-families.ts). */
  appAddress?: string;
  /** The PeerAuthentication mode the listener enforces. */
  mode: EffectiveMtlsMode;
  /** The AuthorizationPolicies of the workload (MeshConfig.authorization): Envoy's RBAC filters before the router. */
  authorization?: readonly AuthzPolicy[];
  /** CUSTOM policies: their providers (MeshConfig.extAuthzProviders) and the mesh's clusters, one of which serves each provider. */
  extAuthzProviders?: readonly ExtAuthzProvider[];
  meshClusters?: readonly Cluster[];
  /** What the authorization translation warns about (a CUSTOM provider it answers with deny rules). */
  warnings?: string[];
  /** meshConfig pathNormalization (MeshConfig.pathNormalization; absent: BASE), as Istio sets it on the connection manager. */
  pathNormalization?: PathNormalization;
  /** RequestAuthentication rules that select the workload (jwt_authn before the router); absent: none. */
  jwtRules?: readonly JwtRule[];
  /** Telemetry API tracing (MeshConfig.tracing): the connection manager's tracing and the collector's cluster; absent: none. */
  tracing?: TracingConfig;
  /** Access logs of the inbound listener (inboundAccessLogsOf: meshConfig / Telemetry accessLogging); absent: none. */
  accessLogs?: readonly AccessLogTarget[];
  /** RateLimitPolicy for the inbound (MeshConfig.inboundRateLimit): local_ratelimit and ratelimit filters after RBAC; absent: none. */
  rateLimit?: RateLimitConfig;
  /**
   * Behind iptables capture (an Envoy sidecar served by the control plane): original_dst, the
   * chains above per app port and for the inbound port, InboundPassthroughCluster for any other
   * port (inbound-passthrough.ts); `transparent` for TPROXY interception. Absent: one listener
   * for whatever reaches it, routed by the Host's port.
   */
  originalDestinations?: { transparent: boolean };
}

/** The inbound's rate limits as the mesh shape rate-limit-policy.ts reads. */
function rateLimitMesh(o: InboundOptions): MeshConfig {
  return { virtualHosts: [], clusters: [], ...(o.rateLimit !== undefined ? { rateLimit: o.rateLimit } : {}) };
}

/** Istio's inbound cluster name for an app port. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The inbound listener and its clusters, as static bootstrap resources (the xDS split names the routes and endpoints). */
export function envoyInbound(o: InboundOptions): { listener: Obj; clusters: Obj[] } {
  const where = `inbound listener ${o.listen.host}:${o.listen.port}`;
  if (o.appPorts.length === 0) throw new EnvoyConfigError('envoy_config_bad_listen', where, 'no app port to hand requests to');
  for (const p of o.appPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new EnvoyConfigError('envoy_config_bad_listen', where, `app port ${JSON.stringify(p)} is not 1-65535`);
    if (p === o.listen.port) throw new EnvoyConfigError('envoy_config_bad_listen', where, `app port ${p} is the inbound port itself (requests would loop)`);
  }
  if (new Set(o.appPorts).size !== o.appPorts.length) throw new EnvoyConfigError('envoy_config_bad_listen', where, `app ports ${o.appPorts.join(',')} name a port twice`);

  // Mesh TLS: HTTP chains for the HTTP ALPN, the TCP chain for the rest (inbound-tcp-chain.ts),
  // which proxies to `tcpPort`'s inbound cluster; plaintext is HTTP (PERMISSIVE, DISABLE).
  // The HTTP chains are built once: their copies per destination port share one route table (xDS split).
  const httpTls: Obj | null = o.mode === 'DISABLE' ? null : { filter_chain_match: inboundHttpTlsMatch(), transport_socket: downstreamTls(INBOUND_ALPN), filters: [hcm(o, 'tls')] };
  const plaintext: Obj | null = o.mode === 'STRICT' ? null : {
    ...(o.mode === 'PERMISSIVE' ? { filter_chain_match: { transport_protocol: 'raw_buffer' } } : {}),
    filters: [hcm(o, 'plaintext')],
  };
  const chainsFor = (tcpPort: number): Obj[] => [
    ...(httpTls !== null ? [httpTls, inboundTcpTlsChain(inboundClusterName(tcpPort), downstreamTls(INBOUND_TCP_TLS_ALPN), o.accessLogs, o.authorization)] : []),
    ...(plaintext !== null ? [plaintext] : []),
  ];
  // The tls_inspector reads the transport and the ALPN the chains match on.
  const tlsInspector = o.mode !== 'DISABLE' ? [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR } }] : [];
  const listener: Obj = {
    name: INBOUND_LISTENER_NAME,
    address: { socket_address: { address: o.listen.host, port_value: o.listen.port } },
    ...((o.additionalWildcards ?? []).length > 0 ? { additional_addresses: o.additionalWildcards!.map((a) => ({ address: { socket_address: { address: a, port_value: o.listen.port } } })) } : {}),
    ...(tlsInspector.length > 0 ? { listener_filters: tlsInspector } : {}),
    // Without original destinations TCP goes to the first app port (as HTTP whose Host names none).
    filter_chains: chainsFor(o.appPorts[0]!),
  };
  const passthrough: Obj[] = [];
  if (o.originalDestinations !== undefined) {
    // A passthrough to the inbound port itself would loop back here: the port must be known.
    if (o.listen.port === 0) throw new EnvoyConfigError('envoy_config_bad_listen', where, 'behind iptables capture the inbound port must be fixed (port 0 cannot be told from the ports passed through)');
    listener.listener_filters = [ORIGINAL_DST_LISTENER_FILTER, ...tlsInspector];
    if (o.originalDestinations.transparent) listener.transparent = true;
    // Each app port's TCP goes to its own inbound cluster; the inbound port's to the first app port.
    const withPorts = [...o.appPorts, o.listen.port].flatMap((port) => chainsByDestinationPort(chainsFor(port === o.listen.port ? o.appPorts[0]! : port), [port]));
    // AuthorizationPolicy holds on the passthrough too: Envoy's RBAC network filter on its chains.
    listener.filter_chains = [...withPorts, ...inboundPassthroughChains(o.mode, () => downstreamTls(INBOUND_ALPN), o.accessLogs, o.authorization)];
    passthrough.push(inboundPassthroughCluster());
  }
  const jwksClusters = (o.jwtRules ?? []).length > 0 ? envoyJwtAuthn(o.jwtRules!).clusters : [];
  const rlClusters = rateLimitClusters(rateLimitMesh(o), (h) => isIP(h) !== 0);
  const clusters = o.appPorts.map((port) => ({
    name: inboundClusterName(port),
    type: 'STATIC',
    connect_timeout: '10s',
    load_assignment: { cluster_name: inboundClusterName(port), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: o.appAddress ?? '127.0.0.1', port_value: port } } } }] }] },
  }));
  return { listener, clusters: [...clusters, ...passthrough, ...jwksClusters, ...rlClusters, ...envoyTracingClusters(o.tracing, (h) => isIP(h) !== 0)] };
}

/** Mesh mTLS termination agreeing on `alpn`: the workload certificate, a client certificate from the mesh's roots required. */
function downstreamTls(alpn: readonly string[]): Obj {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: {
      '@type': DOWNSTREAM_TLS,
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sdsSecretConfig('default')],
        // Any certificate from the mesh's roots: who may call is authorization's question, not the handshake's.
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sdsSecretConfig('ROOTCA') },
        alpn_protocols: [...alpn],
      },
    },
  };
}

/** The connection manager of one filter chain: XFCC by transport, routes by the Host's port. */
function hcm(o: InboundOptions, transport: 'tls' | 'plaintext'): Obj {
  // RateLimitPolicy: the local buckets are the local_ratelimit filter's own config, one set for
  // every request of the chain (as wasmesh's inbound checks them before routing), and every route
  // produces the descriptors (local ones, each service's).
  const rlMesh = rateLimitMesh(o);
  const warnings = o.warnings ?? [];
  const global: RouteGlobalRule[] = rlMesh.rateLimit === undefined ? [] : rlMesh.rateLimit.services.flatMap((service) => service.rules.map((rule) => ({ service, rule })));
  const rl = rlMesh.rateLimit === undefined ? null : envoyRouteRateLimits(rlMesh, { name: 'inbound', rateLimit: { local: [], global } }, true, warnings);
  const route = (port: number): Obj => {
    const out: Obj = { match: { prefix: '/' }, route: { cluster: inboundClusterName(port), timeout: '0s' } };
    if (rl !== null && rl.rateLimits.length > 0) (out.route as Obj).rate_limits = rl.rateLimits;
    return out;
  };
  const rateLimitFilters = rateLimitHttpFilters(rlMesh, warnings).map((f) =>
    f.name === LOCAL_RATE_LIMIT_FILTER && rl?.perFilter[LOCAL_RATE_LIMIT_FILTER] !== undefined ? { ...f, typed_config: rl.perFilter[LOCAL_RATE_LIMIT_FILTER] } : f);
  const virtualHosts: Obj[] = o.appPorts.map((port) => ({ name: `inbound|http|${port}`, domains: [`*:${port}`], routes: [route(port)] }));
  const authz = envoyAuthorizationFilters(o.authorization, { ...(o.extAuthzProviders !== undefined ? { providers: o.extAuthzProviders } : {}), clusters: o.meshClusters ?? [], warnings: o.warnings ?? [] });
  virtualHosts.push({ name: 'inbound|http|default', domains: ['*'], routes: [route(o.appPorts[0]!)] });
  const httpFilters: Obj[] = [
    ...((o.jwtRules ?? []).length > 0 ? [envoyJwtAuthn(o.jwtRules!).filter] : []),
    ...authz.custom,
    ...authz.rbac,
    ...rateLimitFilters,
    { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
  ];
  const config: Obj = {
    '@type': HCM,
    stat_prefix: `inbound_${o.listen.host}_${o.listen.port}`,
    // HTTP/1.x and h2c (by preface) on the same port, as the wasmesh sidecar's inbound serves them.
    codec_type: 'AUTO',
    http_protocol_options: { accept_http_10: true },
    generate_request_id: true,
    preserve_external_request_id: true,
    // Names differ per chain: the xDS split serves each listener's route tables over RDS by name.
    route_config: { name: `inbound|${o.listen.port}|${transport}`, virtual_hosts: virtualHosts },
    http_filters: httpFilters,
    // WebSocket upgrades on every route, as Istio configures its HCMs, and RFC 8441 (websocket-upgrade.ts).
    ...websocketUpgradeFields(httpFilters),
    ...hcmPathNormalization(o.pathNormalization),
    ...envoyHcmTracing(o.tracing, INBOUND_LISTENER_NAME),
    ...envoyHcmAccessLog(o.accessLogs),
  };
  if (transport === 'tls') {
    config.forward_client_cert_details = 'APPEND_FORWARD';
    config.set_current_client_cert_details = { subject: true, uri: true, dns: true };
  } else {
    // Nothing vouches for an XFCC that arrived in plaintext.
    config.forward_client_cert_details = 'SANITIZE';
  }
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: config };
}
