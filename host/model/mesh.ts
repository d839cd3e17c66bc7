// The resolved mesh: what host/config makes of Istio resources, what host/compile turns into
// the core's binary tables, and what the data path serves. Envoy's vocabulary throughout:
// virtual hosts → routes → weighted clusters → endpoints.
//
// Fields added for traffic management (issue 3) are optional: absent means "none" (or, for
// retries, Istio's default policy), so meshes written before them stay valid.
//
// Index contract shared by the compiler, the core and the data path (do not reorder):
//  - route index    = position in the flattening of virtualHosts[*].routes, in order;
//  - destination    = position in route.destinations;
//  - cluster index  = position in MeshConfig.clusters (RouteDestination.cluster names one);
//  - endpoint index = position in Cluster.endpoints.

import type { ClusterTls } from './cluster-tls.js';
import type { GatewayListener } from './gateway-listener.js';
import type { EffectiveMtlsMode } from './inbound-mtls.js';
import type { CircuitBreakerLimits } from './circuit-breaker-limits.js';
import type { HashLbDescriptor } from './hash-lb.js';
import type { OutlierSettings } from './outlier-settings.js';
import type { RetryPolicySpec } from './retry-policy.js';
import type { AuthzPolicy } from './authorization.js';
import type { ExtAuthzProvider, OutboundTrafficMode, PathNormalization } from './mesh-settings.js';
import type { JwtRule } from './jwt-rules.js';
import type { RateLimitConfig, RouteRateLimits } from './rate-limit.js';
import type { TracingConfig } from './tracing.js';
import type { MetricsOverrides } from './metrics-overrides.js';
import type { AccessLogTarget } from './access-logging.js';
import type { ServiceAddress } from './service-address.js';
import type { PortProtocol } from './port-protocol.js';
import type { GatewayTcpListener, TcpRoute } from './tcp-route.js';
import type { GatewayPassthroughListener } from './tls-route.js';

export type StringMatchKind = 'exact' | 'prefix' | 'regex';

export interface StringMatch {
  kind: StringMatchKind;
  value: string;
}

export interface HeaderMatch {
  /** Lower-case header name. */
  name: string;
  /** null: the header must be present, any value. */
  match: StringMatch | null;
  /** true for Istio's withoutHeaders: the condition holds when the header does NOT match. */
  invert: boolean;
  /**
   * Istio's `@request.auth.claims.<a>.<b>` (or `[a][b]`) header name: the condition is on the
   * verified JWT's claim at this path (a string claim, or any string element of a list claim),
   * not on a header; `name` keeps the name as written. Absent for a plain header.
   */
  claim?: readonly string[];
}

export interface QueryParamMatch {
  /** Parameter name as sent (case-sensitive, not decoded). */
  name: string;
  /** null: the parameter must be present (Istio's empty match); exact/prefix/regex on the raw value. */
  match: StringMatch | null;
}

/**
 * One Istio HTTPMatchRequest: every condition must hold (AND). `sourceLabels`,
 * `sourceNamespace` and `gateways` are decided by host/config when it builds the routes for
 * one proxy (its --labels, --namespace and --gateway), so a block that cannot apply to this
 * proxy never reaches the model.
 */
export interface RouteMatch {
  uri: StringMatch | null;
  ignoreUriCase: boolean;
  headers: HeaderMatch[];
  /** HTTP method (exact/prefix/regex, case-sensitive as Envoy's :method match). */
  method?: StringMatch | null;
  /** The request's authority (Host), as sent, port included. */
  authority?: StringMatch | null;
  /** Request scheme; a plain-HTTP listener serves scheme "http". */
  scheme?: StringMatch | null;
  queryParams?: QueryParamMatch[];
  /** The port the request addressed: the authority's port, else the listener's port. */
  port?: number | null;
}

export interface HeaderOps {
  set: Array<[string, string]>;
  add: Array<[string, string]>;
  remove: string[];
}

/** Istio HTTPRewrite. */
export interface Rewrite {
  /** Replaces the matched uri prefix (or the whole path for exact/regex matches), as Istio. */
  uri?: string;
  /** Istio uriRegexRewrite: RE2 `match` over the path, `rewrite` with \1-style groups. */
  uriRegex?: { match: string; rewrite: string };
  authority?: string;
}

/** Istio HTTPRedirect (answered by the proxy, no upstream). */
export interface Redirect {
  uri?: string;
  authority?: string;
  port?: number;
  /** Istio derivePort: FROM_PROTOCOL_DEFAULT | FROM_REQUEST_PORT. */
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  /** Default 301. */
  redirectCode: number;
}

/** Istio HTTPDirectResponse. */
export interface DirectResponse {
  status: number;
  /** Body bytes as text (Istio body.string, or body.bytes decoded from base64 as latin1). */
  body: string | null;
}

/** Istio CorsPolicy, resolved (origins as string matches). */
export interface CorsPolicy {
  allowOrigins: StringMatch[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds: number | null;
  allowCredentials: boolean | null;
  /** Istio unmatchedPreflights: FORWARD (default) | IGNORE. */
  unmatchedPreflights: 'FORWARD' | 'IGNORE';
}

/** Istio HTTPFaultInjection; percentages are 0..100 (fractions allowed). */
export interface FaultPolicy {
  delay: { fixedDelayMs: number; percentage: number } | null;
  abort: { httpStatus: number; percentage: number } | null;
}

/** One mirror: fire-and-forget copy to `cluster` for `percentage` (0..100) of requests. */
export interface MirrorPolicy {
  cluster: string;
  percentage: number;
}

/**
 * The largest total of one route's destination weights: the core's smooth weighted round robin
 * keeps each destination's credit in a signed 32-bit integer, which stays within ±total.
 */
export const MAX_ROUTE_WEIGHT_TOTAL = 0x3fffffff;

export interface RouteDestination {
  /** Name of a Cluster in MeshConfig.clusters. */
  cluster: string;
  /**
   * Istio weight, relative: the destination gets weight/total of the route's requests, any
   * positive total (a lone destination has 100; 0 gets nothing).
   */
  weight: number;
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
}

/** The Istio resource a route or cluster came from (Envoy's `filter_metadata.istio.config`, which istioctl shows). */
export interface IstioConfigName {
  namespace: string;
  name: string;
}

export interface Route {
  /** Stable name for stats and logs: `<namespace>/<virtualservice>/<rule name or index>`. */
  name: string;
  /** The VirtualService this route was written in; absent: a route wasmesh made (no VirtualService). */
  virtualService?: IstioConfigName;
  /** ORed match blocks; empty means the route matches every request. */
  matches: RouteMatch[];
  destinations: RouteDestination[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Istio `timeout` in ms; null means none (Istio's default for HTTP routes). */
  timeoutMs: number | null;
  /**
   * Resolved retry policy (Istio `retries` through retryPolicyFromIstio). Absent: Istio's
   * default policy (istioDefaultRetryPolicy in istio-defaults.ts). `retries: 0` disables.
   */
  retry?: RetryPolicySpec;
  /** A route with a redirect or a direct response has no destinations. */
  redirect?: Redirect | null;
  directResponse?: DirectResponse | null;
  rewrite?: Rewrite | null;
  cors?: CorsPolicy | null;
  /** When set, retries and the route timeout do not apply to the injected fault (as Istio). */
  fault?: FaultPolicy | null;
  /** Istio mirror/mirrorPercentage/mirrors; the copy's Host gets `-shadow` appended. */
  mirrors?: MirrorPolicy[];
  /** RateLimitPolicy rules that name this route (host/model/rate-limit.ts); absent: none. */
  rateLimit?: RouteRateLimits | null;
}

export interface VirtualHost {
  name: string;
  /**
   * Authority patterns, matched case-insensitively: `host`, `host:port`, `*.suffix`,
   * `*.suffix:port`, `*`. A pattern without a port matches the authority with or without
   * one; a pattern with a port matches only that port. Search order is Envoy's: exact
   * patterns first, then suffix wildcards longest first, then `*`.
   */
  domains: string[];
  /** Ordered: the first route whose match holds wins. */
  routes: Route[];
}

export interface Endpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
  weight: number;
  /** The workload's SPIFFE ID (its entry's serviceAccount), which mesh mTLS to it must see. */
  spiffeId?: string;
  /**
   * Envoy's Endpoint.hostname: the DNS name `address` was resolved from (DNS clusters,
   * host/upstream/dns-endpoints.ts); TLS origination sends it as SNI when the cluster sets none.
   */
  hostname?: string;
}

/** Istio loadBalancer.simple (LEAST_REQUEST is Istio's default) or a consistent hash. */
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH' | 'CONSISTENT_HASH';

/** TCP and HTTP connection settings of DestinationRule connectionPool (resolved). */
export interface ConnectionSettings {
  /** Istio tcp.connectTimeout, default 10 s. */
  connectTimeoutMs: number;
  /** Istio http.idleTimeout (upstream connections), default 1 h. */
  idleTimeoutMs: number;
  /** tcp.tcpKeepalive; null: off. */
  tcpKeepalive: { timeMs: number; intervalMs: number; probes: number } | null;
  /** http.h2UpgradePolicy UPGRADE: HTTP/2 upstream whatever the port's protocol; absent: no. */
  h2Upgrade?: boolean;
  /** http.maxConcurrentStreams (HTTP/2 streams per upstream connection); absent: Envoy's 2^31 - 1. */
  maxConcurrentStreams?: number;
}

/**
 * A cluster's merged traffic policy (service level ← subset level ← portLevelSettings, merged
 * the way Istio merges them: a more specific level replaces each whole sub-policy it sets).
 */
export interface ClusterPolicy {
  connection: ConnectionSettings;
  limits: CircuitBreakerLimits;
  /** null: outlier detection off (no outlierDetection block). */
  outlier: OutlierSettings | null;
  /** Set when lb is CONSISTENT_HASH. */
  hash: HashLbDescriptor | null;
}

export interface Cluster {
  /** Istio's naming: `outbound|<port>|<subset>|<fqdn host>` (subset empty when none). */
  name: string;
  /** Fully qualified service host, e.g. `web.default.svc.cluster.local`. */
  host: string;
  port: number;
  subset: string | null;
  endpoints: Endpoint[];
  lb: LbPolicy;
  /** Absent: Istio's defaults (10 s connect timeout, no limits, no outlier detection). */
  policy?: ClusterPolicy;
  /** The DestinationRule that applies to this cluster's host (the first, when several merge); absent: none. */
  destinationRule?: IstioConfigName;
  /** TLS origination (DestinationRule tls or auto mTLS, host/model/cluster-tls.ts); absent: plaintext. */
  tls?: ClusterTls;
  /**
   * PASSTHROUGH only: the destination may be a DNS name with a default port 80 (the sidecar's
   * PassthroughCluster, standing in for SO_ORIGINAL_DST); absent: an `ip:port` authority only,
   * as Envoy's ORIGINAL_DST reading a header (DestinationRule PASSTHROUGH).
   */
  destinationFromAuthorityName?: boolean;
  /**
   * ServiceEntry resolution DNS (STRICT_DNS: every address a name resolves to is an endpoint)
   * or DNS_ROUND_ROBIN (LOGICAL_DNS: one connection target, the first address); absent:
   * addresses as given (STATIC).
   */
  dnsResolution?: 'STRICT_DNS' | 'LOGICAL_DNS';
  /**
   * The service port's protocol (host/model/port-protocol.ts: ServiceEntry `protocol`, port
   * name prefix); absent: HTTP (HTTP/1.1 upstream), as before protocols were told apart.
   */
  protocol?: PortProtocol;
}

export interface MeshConfig {
  virtualHosts: VirtualHost[];
  clusters: Cluster[];
  /** Gateway mode only: the Gateway's ports and their servers (TLS, httpsRedirect). */
  gatewayListeners?: GatewayListener[];
  /**
   * Mesh mode: the mutual TLS this workload's inbound listener requires (PeerAuthentication
   * composed for its namespace and labels, host/model/inbound-mtls.ts; the strictest of its
   * port-level modes, as one listener serves every app port). Absent: PERMISSIVE.
   */
  inboundMtlsMode?: EffectiveMtlsMode;
  /**
   * The AuthorizationPolicies that select this workload (host/model/authorization.ts), in
   * Istio's evaluation order within each action; absent or empty: no policy, every request allowed.
   */
  authorization?: readonly AuthzPolicy[];
  /**
   * The meshConfig extension providers this workload's CUSTOM policies name (AuthzPolicy.provider),
   * so the proxy (and the Envoy translation's ext_authz filter) need no other copy of meshConfig;
   * absent: no CUSTOM policy.
   */
  extAuthzProviders?: readonly ExtAuthzProvider[];
  /** RequestAuthentication jwtRules that select this proxy (host/model/jwt-rules.ts); absent or empty: no JWT filter. */
  jwtRules?: readonly JwtRule[];
  /** meshConfig pathNormalization, applied before routing and authorization; absent: BASE. */
  pathNormalization?: PathNormalization;
  /** meshConfig (or Sidecar) outboundTrafficPolicy for hosts the mesh does not know; absent: ALLOW_ANY. */
  outboundTrafficPolicy?: OutboundTrafficMode;
  /** RateLimitPolicy (policy.wasmesh.io) for every request of this proxy; absent: no rate limits. */
  rateLimit?: RateLimitConfig;
  /** RateLimitPolicy with context SIDECAR_INBOUND or ANY: what a sidecar's inbound listener enforces (every request; no per-route rules). */
  inboundRateLimit?: RateLimitConfig;
  /** Distributed tracing for this workload (Telemetry API + meshConfig providers); absent: no spans, trace headers forwarded untouched. */
  tracing?: TracingConfig;
  /**
   * A sidecar's inbound listener's tracing when Telemetry's SERVER mode makes it differ from
   * `tracing` (null: none there); absent: the same as `tracing`.
   */
  inboundTracing?: TracingConfig | null;
  /** Access logs (meshConfig accessLogFile / envoyFileAccessLog providers, Telemetry accessLogging) of the traffic this workload sends and a gateway's; absent: none. */
  accessLogs?: readonly AccessLogTarget[];
  /** A sidecar's inbound listener's access logs where Telemetry's SERVER mode makes them differ from `accessLogs` ([]: none); absent: the same. */
  inboundAccessLogs?: readonly AccessLogTarget[];
  /** Telemetry API metrics overrides (per reporter) applied to the istio_* metrics when scraped; absent: Istio's defaults. */
  metricsOverrides?: MetricsOverrides;
  /** VirtualService `tcp:` routes (host/model/tcp-route.ts) in order; absent or empty: none. */
  tcpRoutes?: readonly TcpRoute[];
  /** VirtualService `tls:` routes (SNI matches, passed through without termination); absent or empty: none. */
  tlsRoutes?: readonly TcpRoute[];
  /** Gateway mode only: the Gateway's TCP (MONGO, MYSQL, REDIS) ports, served by a byte proxy (host/model/tcp-route.ts); absent or empty: none. */
  gatewayTcpListeners?: readonly GatewayTcpListener[];
  /** Gateway mode only: the Gateway's TLS passthrough ports (PASSTHROUGH, AUTO_PASSTHROUGH), routed by SNI (host/model/tls-route.ts); absent or empty: none. */
  gatewayPassthroughListeners?: readonly GatewayPassthroughListener[];
  /**
   * Mesh mode: the service ports by the address a client dials (ServiceEntry `addresses`, and
   * the TCP ports of services without one), for a sidecar that sees original destinations
   * (host/model/service-address.ts); absent or empty: none.
   */
  serviceAddresses?: readonly ServiceAddress[];
  /**
   * meshConfig protocolDetectionTimeout: how long a connection to a port of unknown protocol may
   * stay silent before it is taken as TCP (server-first protocols); absent or 0: no timeout (Istio's default 0s).
   */
  protocolDetectionTimeoutMs?: number;
}

/** The access logs a sidecar's inbound listener writes (MeshConfig.inboundAccessLogs, else accessLogs). */
export function inboundAccessLogsOf(mesh: MeshConfig): readonly AccessLogTarget[] | undefined {
  return mesh.inboundAccessLogs ?? mesh.accessLogs;
}

/** The tracing a sidecar's inbound listener applies (MeshConfig.inboundTracing, else tracing). */
export function inboundTracingOf(mesh: MeshConfig): TracingConfig | undefined {
  return mesh.inboundTracing === undefined ? mesh.tracing : mesh.inboundTracing ?? undefined;
}

/** An empty HeaderOps, for routes and destinations without header manipulation. */
export function noHeaderOps(): HeaderOps {
  return { set: [], add: [], remove: [] };
}
