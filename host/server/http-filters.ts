// The HTTP filter chain, listed once as data, in Istio's order: which filters run before routing
// (for every request), which a route gets (each only when its config asks for it, so a filter
// that is off for a route costs nothing there), and which filter ends the route's chain. A new
// filter is a file in host/http/filters/ and one entry here.
import type { Route } from '../model/mesh.js';
import type { FaultDice } from '../core/fault/fault.js';
import type { StatScope, DownstreamStat } from '../telemetry/stats.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { HttpFilter, HttpFilterFactory } from '../http/filter.js';
import type { ExtAuthzCheck } from '../http/ext-authz-check.js';
import type { Log } from '../common/log.js';
import { forwardedHeaders } from '../http/filters/forwarded-headers.js';
import { grpcWebFilter } from '../http/filters/grpc-web.js';
import { accessLogFilter } from '../http/filters/access-log.js';
import { telemetryAccessLogFilter } from '../http/filters/telemetry-access-log.js';
import type { AccessLogFiles } from '../telemetry/access-log-files.js';
import { httpsRedirectFilter, serverHostsFilter } from '../http/filters/server-hosts.js';
import type { GatewayListener } from '../model/gateway-listener.js';
import { corsFilter } from '../http/filters/cors.js';
import { faultFilter } from '../http/filters/fault.js';
import { redirectFilter, directResponseFilter } from '../http/filters/direct-response.js';
import { routerFilter, type RouterContext, type RouterRoute } from '../router/router-filter.js';
import type { JwtRule } from '../model/jwt-rules.js';
import { jwtAuthnFilter } from '../http/filters/jwt-authn.js';
import type { JwksRegistry } from '../http/filters/jwks-source.js';
import type { MeshConfig } from '../model/mesh.js';
import type { LocalRateLimiter } from '../core/ratelimit/local-rate-limiter.js';
import { localRateLimitFilter } from '../http/filters/local-rate-limit.js';
import { rateLimitFilter } from '../http/filters/rate-limit.js';
import type { RateLimitClients } from '../xds/rate-limit-client.js';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import { workloadMetadata } from '../model/workload-metadata.js';
import type { TracingConfig } from '../model/tracing.js';
import type { SpanExporters } from '../telemetry/tracing/span-exporter.js';
import type { SpanIds } from '../telemetry/tracing/span-ids.js';
import type { SpanKind } from '../telemetry/tracing/span.js';
import { Tracer } from '../telemetry/tracing/tracer.js';
import { tracingFilter } from '../http/filters/tracing.js';
import { istioStatsFilter, type IstioStatsDeps } from '../http/filters/istio-stats.js';


/** What the filters of one server are built with. */
export interface FilterDeps {
  readonly stats: StatScope<DownstreamStat>;
  readonly faults: FaultDice;
  readonly router: RouterContext;
  readonly listenerPort: () => number;
  readonly accessLog: ((entry: AccessLogEntry) => void) | undefined;
  /** Which finished streams accessLog gets an entry for (status, flags); absent: all. */
  readonly accessLogOnly?: (code: number, flags: readonly string[]) => boolean;
  /** AuthorizationPolicy CUSTOM: the ext_authz checker of a meshConfig extension provider, or null (denied: fail closed). */
  readonly extAuthz?: (provider: string) => ExtAuthzCheck | null;
  /** The operational log (AUDIT matches, dry-run results). */
  readonly operationalLog?: Log;
  /** The server's JWKS sources, shared by its config versions (RequestAuthentication). */
  readonly jwks?: JwksRegistry;
  /** The core's token buckets for local rate limits (kept across versions while a rule is unchanged). */
  readonly localRateLimiter: LocalRateLimiter;
  /** Channels to the rate limit services of global rate limits, one per address. */
  readonly rateLimitClients: RateLimitClients;
  /** Who this proxy's workload is (Istio metrics labels, peer metadata, span tags); absent: `unknown` everywhere. */
  readonly workload?: WorkloadMetadata;
  /** The server's span exporters (one per collector, kept across versions), ids and stream span kind; absent: no tracing. */
  readonly tracing?: { readonly exporters: SpanExporters; readonly ids: SpanIds; readonly kind: SpanKind };
  /** Istio's standard metrics of this server (absent: off). */
  readonly istio?: IstioStatsDeps;
  /** This workload's peer metadata, sent on requests to mesh services (source reporters only; absent: none): the route's request edits carry it. */
  readonly peerMetadata?: { readonly id: string; readonly metadata: string };
  /** The files MeshConfig.accessLogs write to (shared by the process's servers); absent: those logs are not written. */
  readonly accessLogFiles?: AccessLogFiles;
}

/** Policy filters of one config version, built by jwtFilterFor and the like, placed by listenerFilters. */
export interface ListenerPolicyFilters {
  /** RequestAuthentication (before authorization); absent when no rule applies. */
  readonly jwt?: HttpFilter | null;
  /**
   * The version's AuthorizationPolicy filter (host/http/filters/authorization.ts); null when the
   * proxy has no policy or does not serve its workload's inbound traffic.
   */
  readonly authorization?: HttpFilter | null;
  /** The version's mesh: its RateLimitPolicy local rules for every request (absent: none). */
  readonly mesh?: MeshConfig;
}

/**
 * The JWT filter for a version's jwtRules, or null when there are none (no filter: zero cost);
 * its key sets are let go through `disposers` when the version ends. Throws on an inline JWKS
 * that does not parse (the loader checked it already).
 */
export function jwtFilterFor(rules: readonly JwtRule[] | undefined, deps: FilterDeps, disposers: Array<() => void>): HttpFilter | null {
  if (rules === undefined || rules.length === 0 || deps.jwks === undefined) return null;
  const { filter, dispose } = jwtAuthnFilter(rules, deps.jwks, { stats: deps.stats });
  disposers.push(dispose);
  return filter;
}

/** The tracing filter for a version's tracing config, or null when it has none (no filter: zero cost). */
export function tracingFilterFor(config: TracingConfig | undefined, deps: FilterDeps): HttpFilter | null {
  const t = deps.tracing;
  if (config === undefined || t === undefined) return null;
  const exporter = config.disableSpanReporting ? null : t.exporters.for(config.provider);
  return tracingFilter(new Tracer({
    config,
    workload: deps.workload ?? workloadMetadata({}),
    ids: t.ids,
    report: exporter === null ? () => {} : (span) => exporter.report(span),
    stats: deps.stats,
    kind: t.kind,
  }));
}

/** Filters for every request, before the route is chosen (the x-forwarded-* fields route on). */
export function listenerFilters(deps: FilterDeps, gateway: GatewayListener | null | undefined = undefined, policy: ListenerPolicyFilters = {}): HttpFilter[] {
  const filters: HttpFilter[] = [forwardedHeaders];
  // grpc_web where Istio puts it: on a listener whose port protocol is GRPC-Web — a gateway port
  // with a GRPC-Web server; for a sidecar or a standalone proxy (one listener for every port),
  // when the version has a grpc-web service port (a GRPC_WEB cluster). First after the forwarded
  // headers, so that what answers a gRPC-Web request from here on (host checks, policies,
  // routing) answers in gRPC-Web. Absent otherwise (zero cost): gRPC-Web then goes upstream as it came.
  const grpcWeb = gateway !== undefined && gateway !== null ? gateway.grpcWeb === true : policy.mesh?.clusters.some((c) => c.protocol === 'GRPC_WEB') === true;
  if (grpcWeb) filters.push(grpcWebFilter);
  if (deps.accessLog) filters.push(accessLogFilter(deps.accessLog, deps.accessLogOnly));
  const files = deps.accessLogFiles;
  if (files !== undefined && policy.mesh?.accessLogs !== undefined && policy.mesh.accessLogs.length > 0) filters.push(telemetryAccessLogFilter(policy.mesh.accessLogs, (path) => files.writer(path), deps.listenerPort));
  // Tracing (Envoy's connection manager tracing): after the request id is set, before any policy answers.
  const tracing = tracingFilterFor(policy.mesh?.tracing, deps);
  if (tracing !== null) filters.push(tracing);
  if (deps.istio) filters.push(istioStatsFilter(deps.istio));
  // A gateway port (undefined: not a gateway, or a mesh without Gateway ports): redirected to
  // https where a server says so, then the Host checked against the port's (or SNI's) servers.
  if (gateway !== undefined) {
    const redirect = gateway === null ? null : httpsRedirectFilter(gateway);
    if (redirect !== null) filters.push(redirect);
    filters.push(serverHostsFilter(gateway));
  }
  // Istio's policy filters, in its order: jwt-authn (RequestAuthentication: sets
  // stream.requestAuth), then AuthorizationPolicy, CUSTOM (ext_authz) first, then DENY/ALLOW
  // (RBAC), one filter; then local rate limits.
  if (policy.jwt) filters.push(policy.jwt);
  if (policy.authorization) filters.push(policy.authorization);
  // RateLimitPolicy local rules for every request (absent when there are none).
  const local = localRateLimitFilter(policy.mesh?.rateLimit?.local, deps.localRateLimiter, deps.stats);
  if (local !== null) filters.push(local.create());
  return filters;
}

/** A route's filter: its factory for that route, or null when the route does not use it. */
interface RouteFilterConfig {
  readonly name: string;
  forRoute(route: Route, deps: FilterDeps): HttpFilterFactory | null;
}

/**
 * Istio's order: CORS, then fault injection, then the route's rate limits (where an EnvoyFilter
 * inserts them in Istio, before the router), then (terminal) the router or a direct response.
 */
export const ROUTE_FILTERS: readonly RouteFilterConfig[] = [
  { name: 'cors', forRoute: (r, d) => (r.cors ? corsFilter(r.cors, r.name, d.stats) : null) },
  { name: 'fault', forRoute: (r, d) => faultFilter(r.fault, d.faults, d.stats) },
  { name: 'local_ratelimit', forRoute: (r, d) => localRateLimitFilter(r.rateLimit?.local, d.localRateLimiter, d.stats) },
  { name: 'ratelimit', forRoute: (r, d) => rateLimitFilter(r.rateLimit, d.rateLimitClients, d.stats) },
];

/**
 * The filter that answers a route's requests: its redirect or direct response (with the
 * route-level response header operations), or the router with `upstream` (built only then).
 */
export function terminalFilter(route: Route, deps: FilterDeps, upstream: () => RouterRoute): HttpFilterFactory {
  const local = (): Array<readonly [string, string]> =>
    [...route.responseHeaders.set, ...route.responseHeaders.add].map(([n, v]) => [n.toLowerCase(), v] as const);
  if (route.redirect) return redirectFilter(route.redirect, local(), deps.listenerPort, deps.stats);
  if (route.directResponse) return directResponseFilter(route.directResponse, local(), deps.stats);
  return routerFilter(deps.router, upstream());
}
