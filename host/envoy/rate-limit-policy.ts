// wasmesh's RateLimitPolicy as stock Envoy's filters, the way an Istio user writes them with
// EnvoyFilter: local rules become envoy.filters.http.local_ratelimit (an empty filter in the
// chain; each route's token buckets and descriptors in its typed_per_filter_config, with the
// route's rate_limits actions at stage LOCAL_STAGE producing the descriptors), and each rate
// limit service one envoy.filters.http.ratelimit filter (its domain, timeout, failure mode and a
// gRPC cluster to the service) fed by the route's rate_limits at that service's stage.
// Semantics kept: every applicable local rule takes a token (the first rule without descriptor
// is the route's token_bucket, always consumed; the others are descriptors, a rule without
// descriptor as a generic_key descriptor of its own), descriptor values without a fixed value
// get a bucket each (Envoy's dynamic descriptors, max_dynamic_descriptors), and a request that
// does not produce a descriptor is not limited by its rule. The filter configs are sent as
// TypedStruct (Envoy converts them against its own API): the Envoy API bundled for xDS encoding
// predates max_dynamic_descriptors.
import type { MeshConfig, Route } from '../model/mesh.js';
import { rateLimitServiceKey, type DescriptorSource, type LocalRateLimitRule, type RateLimitService } from '../model/rate-limit.js';
import { envoyDuration } from './duration.js';
import type { Obj } from './istio-resources.js';

export const LOCAL_RATE_LIMIT_FILTER = 'envoy.filters.http.local_ratelimit';
export const RATE_LIMIT_FILTER = 'envoy.filters.http.ratelimit';
const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const GLOBAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';
/** The rate_limits stage of local descriptors (global services take 0, 1, …; Envoy allows 0..10). */
export const LOCAL_STAGE = 10;
const MAX_SERVICES = LOCAL_STAGE;
const ALWAYS = { default_value: { numerator: 100, denominator: 'HUNDRED' } };
/** A token bucket that never empties: Envoy needs one per local config; wasmesh rules all have descriptors. */
const UNLIMITED = { max_tokens: 4_294_967_295, tokens_per_fill: 4_294_967_295, fill_interval: '1s' };
const ENVOY_DEFAULT_DYNAMIC_DESCRIPTORS = 20;

function typedStruct(typeUrl: string, value: Obj): Obj {
  return { '@type': TYPED_STRUCT, type_url: typeUrl, value };
}

/** The cluster Envoy reaches a rate limit service through. */
export function rateLimitClusterName(s: RateLimitService): string {
  return `outbound|${s.port}||ratelimit.${s.host}`;
}

function tokenBucket(rule: LocalRateLimitRule): Obj {
  return { max_tokens: rule.bucket.maxTokens, tokens_per_fill: rule.bucket.tokensPerFill, fill_interval: envoyDuration(rule.bucket.fillIntervalMs) };
}

/** One descriptor source as an Envoy rate limit action (route rate_limits[].actions[]). */
function action(source: DescriptorSource, where: string, warnings: string[]): Obj {
  switch (source.kind) {
    case 'requestHeader':
      return { request_headers: { header_name: source.header, descriptor_key: source.key } };
    case 'path':
      return { request_headers: { header_name: ':path', descriptor_key: source.key } };
    case 'genericKey':
      return { generic_key: { descriptor_value: source.value, descriptor_key: source.key } };
    case 'remoteAddress':
      if (source.key !== 'remote_address') warnings.push(`${where}: Envoy's remote_address action always uses the key remote_address, not ${source.key}`);
      return { remote_address: {} };
    case 'sourcePrincipal':
      // Envoy has no action for the peer's identity; its CEL descriptor reads the URI SAN (with spiffe://).
      warnings.push(`${where}: sourcePrincipal is sent by Envoy as the peer certificate's URI SAN, spiffe:// included (wasmesh sends it without)`);
      return {
        extension: {
          name: 'envoy.rate_limit_descriptors.expr',
          typed_config: typedStruct('type.googleapis.com/envoy.extensions.rate_limit_descriptors.expr.v3.Descriptor', { descriptor_key: source.key, text: 'connection.uri_san_peer_certificate' }),
        },
      };
  }
}

/** The descriptor entries a local rule's bucket is keyed by: keys only (each value its bucket), fixed values for generic keys. */
function localEntries(rule: LocalRateLimitRule): Obj[] {
  return rule.descriptor.map((d) => (d.kind === 'genericKey' ? { key: d.key, value: d.value } : { key: d.key }));
}

/** What the route translation adds to a route and learns about the chain. */
export interface RouteRateLimitParts {
  /** typed_per_filter_config entries. */
  readonly perFilter: Obj;
  /** RouteAction.rate_limits. */
  readonly rateLimits: Obj[];
}

/**
 * A route's local and global rate limits: the proxy-wide local rules (mesh.rateLimit.local)
 * then the route's own, and the route's global descriptors (which include each service's
 * proxy-wide rules). Empty when none applies.
 */
export function envoyRouteRateLimits(mesh: MeshConfig, route: Pick<Route, 'name' | 'rateLimit'>, hasRouteAction: boolean, warnings: string[]): RouteRateLimitParts {
  const where = `route ${route.name}`;
  const perFilter: Obj = {};
  const rateLimits: Obj[] = [];
  const local = [...(mesh.rateLimit?.local ?? []), ...(route.rateLimit?.local ?? [])];
  if (local.length > 0) {
    const plain = local.filter((r) => r.descriptor.length === 0);
    const first = plain[0];
    const descriptors: Obj[] = [];
    for (const rule of local) {
      if (rule === first) continue;
      // A second bucket for every request: a generic_key descriptor that every request produces.
      const sources: DescriptorSource[] = rule.descriptor.length > 0 ? [...rule.descriptor] : [{ kind: 'genericKey', key: 'wasmesh_local_rule', value: rule.name }];
      const entries = rule.descriptor.length > 0 ? localEntries(rule) : [{ key: 'wasmesh_local_rule', value: rule.name }];
      descriptors.push({ entries, token_bucket: tokenBucket(rule) });
      rateLimits.push({ stage: LOCAL_STAGE, actions: sources.map((s) => action(s, where, warnings)) });
    }
    // Envoy bounds dynamic descriptors per filter config, wasmesh per rule: the largest bound is taken.
    const dynamic = local.filter((r) => r !== first && r.descriptor.some((d) => d.kind !== 'genericKey'));
    const maxDynamic = dynamic.length === 0 ? ENVOY_DEFAULT_DYNAMIC_DESCRIPTORS : Math.max(...dynamic.map((r) => r.maxDynamicDescriptors));
    const config: Obj = {
      stat_prefix: 'http_local_rate_limiter',
      stage: LOCAL_STAGE,
      token_bucket: first !== undefined ? tokenBucket(first) : UNLIMITED,
      filter_enabled: { ...ALWAYS, runtime_key: 'local_rate_limit_enabled' },
      filter_enforced: { ...ALWAYS, runtime_key: 'local_rate_limit_enforced' },
      descriptors,
    };
    if (local.some((r) => r.responseHeaders)) config.enable_x_ratelimit_headers = 'DRAFT_VERSION_03';
    if (maxDynamic !== ENVOY_DEFAULT_DYNAMIC_DESCRIPTORS) config.max_dynamic_descriptors = maxDynamic;
    perFilter[LOCAL_RATE_LIMIT_FILTER] = typedStruct(LOCAL_TYPE, config);
  }
  const services = rateLimitServices(mesh).map(rateLimitServiceKey);
  for (const { service, rule } of route.rateLimit?.global ?? []) {
    const stage = services.indexOf(rateLimitServiceKey(service));
    if (stage < 0) continue;
    rateLimits.push({ stage, actions: rule.descriptor.map((s) => action(s, where, warnings)) });
  }
  if (rateLimits.length > 0 && !hasRouteAction) {
    warnings.push(`${where}: its rate limit descriptors are not sent by Envoy (a redirect or direct response has no rate_limits); only its token bucket applies`);
    rateLimits.length = 0;
  }
  return { perFilter, rateLimits };
}

/** The services Envoy gets a ratelimit filter for (stages 0..9, in the mesh's order). */
export function rateLimitServices(mesh: MeshConfig): readonly RateLimitService[] {
  return (mesh.rateLimit?.services ?? []).slice(0, MAX_SERVICES);
}

/** Whether any route has local rules (the chain then carries the local_ratelimit filter). */
export function usesLocalRateLimit(mesh: MeshConfig): boolean {
  return (mesh.rateLimit?.local.length ?? 0) > 0 || mesh.virtualHosts.some((vh) => vh.routes.some((r) => (r.rateLimit?.local.length ?? 0) > 0));
}

/** The HTTP filters for the chain, in order: local_ratelimit (when used), then one ratelimit filter per service. */
export function rateLimitHttpFilters(mesh: MeshConfig, warnings: string[]): Obj[] {
  const out: Obj[] = [];
  if (usesLocalRateLimit(mesh)) out.push({ name: LOCAL_RATE_LIMIT_FILTER, typed_config: typedStruct(LOCAL_TYPE, { stat_prefix: 'http_local_rate_limiter' }) });
  const all = mesh.rateLimit?.services ?? [];
  if (all.length > MAX_SERVICES) warnings.push(`${all.length} rate limit services: Envoy's stages allow ${MAX_SERVICES}; ${all.slice(MAX_SERVICES).map((s) => s.policy).join(', ')} not translated`);
  rateLimitServices(mesh).forEach((s, stage) => {
    out.push({
      name: RATE_LIMIT_FILTER,
      typed_config: typedStruct(GLOBAL_TYPE, {
        domain: s.domain,
        stage,
        timeout: envoyDuration(s.timeoutMs),
        failure_mode_deny: s.failureModeDeny,
        ...(s.responseHeaders ? { enable_x_ratelimit_headers: 'DRAFT_VERSION_03' } : {}),
        // The service's own name as :authority (the cluster name, Envoy's default, has `|`, which gRPC servers such as grpc-js refuse).
        rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: rateLimitClusterName(s), authority: `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}` } }, transport_api_version: 'V3' },
      }),
    });
  });
  return out;
}

/** The gRPC clusters of the rate limit services (HTTP/2; DNS-resolved when the host is a name). */
export function rateLimitClusters(mesh: MeshConfig, isIp: (host: string) => boolean): Obj[] {
  const seen = new Set<string>();
  const out: Obj[] = [];
  for (const s of rateLimitServices(mesh)) {
    const name = rateLimitClusterName(s);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({
      name,
      type: isIp(s.host) ? 'STATIC' : 'STRICT_DNS',
      connect_timeout: '1s',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
      load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: s.host, port_value: s.port } } } }] }] },
    });
  }
  return out;
}
