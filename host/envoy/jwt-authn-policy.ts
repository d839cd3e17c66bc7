// RequestAuthentication for stock Envoy: the jwtRules as Envoy's envoy.filters.http.jwt_authn,
// in the shape Istio generates (pilot's authn policy applier): one provider per rule
// (`origins-<i>`), payload_in_metadata `payload` (where the RBAC filters read requestPrincipals and
// request.auth.*: Istio writes it per issuer and copies it with its istio_authn filter, which
// stock Envoy lacks, so every provider writes the one key RBAC reads, rbac-policy.ts),
// bypass_cors_preflight, and one requirement for every path, requires_any [each provider,
// allow_missing] — with several issuers, Istio's requires_any [each provider, requires_all
// [requires_any [provider, allow_missing] per provider]] —, so a request without a token passes
// and a token no provider verifies fails (401). Inline keys are local_jwks; a jwksUri is
// remote_jwks fetched by Envoy through a cluster of its own (`jwks|<host>|<port>`), cached for
// 20 minutes (Istio's refresh interval), TLS for https with the system CA bundle.
import { JWT_PAYLOAD_KEY } from './rbac-policy.js';
import type { JwtRule } from '../model/jwt-rules.js';
import type { Obj } from './istio-resources.js';
import { TLS_TRANSPORT_SOCKET } from './upstream-tls-context.js';

const JWT_AUTHN = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
/** Where Debian (and the Envoy images) keep the system CAs, which verify a JWKS server's certificate. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The cluster Envoy fetches `uri`'s key set through. */
export function jwksClusterName(uri: string): string {
  const u = new URL(uri);
  return `jwks|${u.hostname}|${jwksPort(u)}`;
}

function jwksPort(u: URL): number {
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** The jwt_authn filter for `rules` (non-empty) and the clusters its remote key sets need. */
/**
 * `clearRouteCache`: Istio sets it for every proxy but sidecars (its JwtFilter(proxy.Type !=
 * SidecarProxy)), so a gateway's route is chosen again once the payload is in the metadata, which
 * JWT claim routing (`@request.auth.claims.…` header matches, route-match.ts) reads.
 */
export function envoyJwtAuthn(rules: readonly JwtRule[], clearRouteCache = false): { filter: Obj; clusters: Obj[] } {
  const providers: Obj = {};
  const clusters = new Map<string, Obj>();
  const names: string[] = [];
  rules.forEach((rule, i) => {
    const name = `origins-${i}`;
    names.push(name);
    const p: Obj = {
      issuer: rule.issuer,
      ...(rule.audiences.length > 0 ? { audiences: [...rule.audiences] } : {}),
      forward: rule.forwardOriginalToken,
      payload_in_metadata: JWT_PAYLOAD_KEY,
      ...(clearRouteCache ? { clear_route_cache: true } : {}),
    };
    if (rule.jwks !== null) p.local_jwks = { inline_string: rule.jwks };
    else {
      const uri = rule.jwksUri!;
      const cluster = jwksClusterName(uri);
      p.remote_jwks = { http_uri: { uri, cluster, timeout: `${rule.timeoutMs / 1000}s` }, cache_duration: '1200s' };
      if (!clusters.has(cluster)) clusters.set(cluster, jwksCluster(cluster, new URL(uri)));
    }
    if (rule.fromHeaders.length > 0) p.from_headers = rule.fromHeaders.map((h) => ({ name: h.name, ...(h.prefix !== '' ? { value_prefix: h.prefix } : {}) }));
    if (rule.fromParams.length > 0) p.from_params = [...rule.fromParams];
    if (rule.fromCookies.length > 0) p.from_cookies = [...rule.fromCookies];
    if (rule.outputPayloadToHeader !== null) p.forward_payload_header = rule.outputPayloadToHeader;
    if (rule.outputClaimToHeaders.length > 0) p.claim_to_headers = rule.outputClaimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim }));
    providers[name] = p;
  });
  const allowMissing = { allow_missing: {} };
  const requirements: Obj[] = names.map((n) => ({ provider_name: n }));
  if (names.length === 1) requirements.push(allowMissing);
  else requirements.push({ requires_all: { requirements: names.map((n) => ({ requires_any: { requirements: [{ provider_name: n }, allowMissing] } })) } });
  const filter: Obj = {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': JWT_AUTHN,
      providers,
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements } } }],
      bypass_cors_preflight: true,
    },
  };
  return { filter, clusters: [...clusters.values()] };
}

function jwksCluster(name: string, u: URL): Obj {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = jwksPort(u);
  const ip = /^[\d.]+$/.test(host) || host.includes(':');
  const c: Obj = {
    name,
    type: ip ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '10s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }] },
  };
  if (u.protocol === 'https:') {
    c.transport_socket = {
      name: TLS_TRANSPORT_SOCKET,
      typed_config: { '@type': UPSTREAM_TLS, sni: host, common_tls_context: { validation_context: { trusted_ca: { filename: SYSTEM_CA_BUNDLE } } } },
    };
  }
  return c;
}
