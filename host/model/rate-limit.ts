// wasmesh's RateLimitPolicy (policy.wasmesh.io/v1alpha1) as one proxy enforces it: the local
// token buckets and the global rate limit service calls of the policies that select this
// workload, already scoped by host/config (root namespace, namespace, selector) and with their
// routes resolved. Istio has no resource for this (its users write EnvoyFilter); the semantics
// are Envoy's local_ratelimit and ratelimit filters, so host/envoy can emit those for stock Envoy.

/** Envoy's type.v3.TokenBucket: refilled continuously at tokensPerFill per fillIntervalMs, capped at maxTokens (also the initial content). */
export interface TokenBucketSpec {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/**
 * Where one entry of a descriptor takes its value (Envoy's rate_limits actions). A request for
 * which an entry has no value (a header absent, no peer certificate) does not produce the
 * descriptor, and the rule does not apply to it (Envoy's behaviour for actions).
 */
export type DescriptorSource =
  /** Envoy `request_headers`: the header's value under `key`. */
  | { readonly kind: 'requestHeader'; readonly header: string; readonly key: string }
  /** Envoy `remote_address`: the downstream address (trusted x-forwarded-for hop or the peer), key `remote_address`. */
  | { readonly kind: 'remoteAddress'; readonly key: string }
  /** The peer's SPIFFE ID without `spiffe://` (mutual TLS), key `source_principal`. */
  | { readonly kind: 'sourcePrincipal'; readonly key: string }
  /** Envoy `request_headers` on `:path`: the path as sent, query included, key `path`. */
  | { readonly kind: 'path'; readonly key: string }
  /** Envoy `generic_key`: a fixed value, key `generic_key` unless named. */
  | { readonly kind: 'genericKey'; readonly key: string; readonly value: string };

/** One local limit: a token bucket for the requests it covers, one bucket per descriptor value when it has entries. */
export interface LocalRateLimitRule {
  /** Stable identity (`<namespace>/<policy>/local/<rule name or index>`): bucket state is kept across reloads while name and bucket are unchanged. */
  readonly name: string;
  readonly bucket: TokenBucketSpec;
  /** Empty: one bucket for every request the rule covers; else one bucket per distinct descriptor (bounded by maxDynamicDescriptors, least recently used evicted). */
  readonly descriptor: readonly DescriptorSource[];
  /** Envoy's max_dynamic_descriptors (default 20): the distinct descriptor values with a bucket of their own. */
  readonly maxDynamicDescriptors: number;
  /** x-ratelimit-limit/-remaining/-reset on responses (Envoy's DRAFT_VERSION_03), or none. */
  readonly responseHeaders: boolean;
}

/** One descriptor sent to the rate limit service (Envoy route `rate_limits[].actions`). */
export interface GlobalRateLimitRule {
  readonly name: string;
  readonly descriptor: readonly DescriptorSource[];
}

/** One rate limit service and the domain its requests name (Envoy's ratelimit filter). */
export interface RateLimitService {
  /** The policy that configured it, `<namespace>/<name>` (stats, logs). */
  readonly policy: string;
  /** host:port of a gRPC server speaking envoy.service.ratelimit.v3.RateLimitService. */
  readonly host: string;
  readonly port: number;
  readonly domain: string;
  /** Envoy's default 20 ms. */
  readonly timeoutMs: number;
  /** Envoy's failure_mode_deny, default false: an unreachable service lets the request through (counted `ratelimit.failure_mode_allowed`). */
  readonly failureModeDeny: boolean;
  /** x-ratelimit-* from the service's statuses on responses (Envoy's DRAFT_VERSION_03), or none. */
  readonly responseHeaders: boolean;
  /** Rules for every request of the workload (also copied into every route's RouteRateLimits.global, where the filter reads them). */
  readonly rules: readonly GlobalRateLimitRule[];
}

/** One descriptor a route sends, and the service it goes to. */
export interface RouteGlobalRule {
  readonly service: RateLimitService;
  readonly rule: GlobalRateLimitRule;
}

/** A route's rate limits (Envoy's per-route typed_per_filter_config and route rate_limits). */
export interface RouteRateLimits {
  /** The local rules that name this route (the proxy-wide ones are in RateLimitConfig.local). */
  readonly local: readonly LocalRateLimitRule[];
  /** Every descriptor the route's requests send: each service's proxy-wide rules, then those naming the route. */
  readonly global: readonly RouteGlobalRule[];
}

/** MeshConfig.rateLimit: what applies to every request this proxy serves. */
export interface RateLimitConfig {
  /** Local rules for every request, checked before routing, in policy load order. */
  readonly local: readonly LocalRateLimitRule[];
  /** The rate limit services, one per policy with a `global` section. */
  readonly services: readonly RateLimitService[];
}

/** Envoy's defaults. */
export const DEFAULT_MAX_DYNAMIC_DESCRIPTORS = 20;
export const DEFAULT_RLS_TIMEOUT_MS = 20;

/** The descriptor entry keys Envoy's actions use when none is named. */
export const DESCRIPTOR_KEYS = { remoteAddress: 'remote_address', sourcePrincipal: 'source_principal', path: 'path', genericKey: 'generic_key' } as const;

/**
 * What identifies a rate limit service across copies of the model (a route's copy after
 * structured clone or msgpack is not the same object as the proxy's): its policy, address and domain.
 */
export function rateLimitServiceKey(s: RateLimitService): string {
  return `${s.policy}|${s.host}|${s.port}|${s.domain}`;
}
