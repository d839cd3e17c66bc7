// The resources a proxyless gRPC client is served (Istio's grpcgen role), from the same resolved
// mesh a sidecar serves: a client that dials `xds:///<host>:<port>` asks LDS for exactly that
// name, so every `host:port` authority of the mesh's virtual hosts (each name a Kubernetes client
// may use, with each service port) gets a Listener of that name whose api_listener is an
// HttpConnectionManager taking its routes over RDS, and a RouteConfiguration of that name with
// one virtual host, the one a sidecar would pick for that authority, routes decided for a gRPC
// call (grpc-route-match.ts) and actions restricted to what grpc-js-xds honours; clusters and
// endpoints as grpc-cluster.ts makes them. What a gRPC client would not do as a sidecar does is
// a warning, never silently dropped; see docs/grpc-translation.md.
import { isCatchAllCluster } from '../model/catch-all.js';
import type { Cluster, MeshConfig, Route, RouteDestination } from '../model/mesh.js';
import { istioDefaultRetryPolicy } from '../model/istio-defaults.js';
import type { RetryPolicySpec } from '../model/retry-policy.js';
import type { LoadedMesh } from './bootstrap.js';
import { envoyDuration } from './duration.js';
import { envoyFault, FAULT_FILTER_NAME, faultFilter } from './fault-policy.js';
import { GRPC_BLACKHOLE_CLUSTER, grpcBlackhole, grpcCluster, grpcLoadAssignment } from './grpc-cluster.js';
import { grpcRouteMatch, type GrpcCall } from './grpc-route-match.js';
import { envoyHashPolicy } from './hash-policy.js';
import type { Obj } from './istio-resources.js';
import { envoyRetryPolicy } from './retry-policy.js';
import { splitPort } from './virtual-host-domains.js';
import type { EnvoyXdsResources } from './xds-resources.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** retryOn conditions that are gRPC status names, the only ones grpc-js retries on (gRFC A44). */
const GRPC_RETRY_ON = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);
/** Conditions about HTTP responses or resets a gRPC client has no counterpart for (warned). */
const HTTP_RETRY_ON = new Set(['5xx', 'gateway-error', 'reset', 'retriable-4xx']);
/** grpc-js makes at most 5 attempts (its retry_max_attempts_limit default). */
const GRPC_MAX_ATTEMPTS = 5;

export interface GrpcXdsResources {
  resources: EnvoyXdsResources;
  /** The loader's warnings, then this translation's (each once). */
  warnings: string[];
}

/** A route's action for gRPC clients, computed once and shared by every listener it is served on. */
interface GrpcAction {
  fields: Obj;
  usesFault: boolean;
  blackhole: boolean;
}

export function grpcXdsResources(loaded: LoadedMesh): GrpcXdsResources {
  const warnings = new Set<string>(loaded.warnings ?? []);
  const { mesh } = loaded;
  const out: EnvoyXdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const clusters = new Map(mesh.clusters.map((c) => [c.name, c]));
  const actions = new Map<Route, GrpcAction>();
  const actionOf = (r: Route): GrpcAction => {
    let a = actions.get(r);
    if (a === undefined) actions.set(r, (a = grpcRouteAction(r, clusters, warnings)));
    return a;
  };
  let blackhole = false;
  for (const { authority, vh } of grpcAuthorities(mesh)) {
    const call: GrpcCall = { authority, port: Number(splitPort(authority).port) };
    const routes: Obj[] = [];
    let usesFault = false;
    for (const r of vh.routes) {
      const where = `route ${r.name}`;
      const blocks = r.matches.length === 0 ? [null] : r.matches;
      const kept = blocks.map((m) => grpcRouteMatch(m, call, where, warnings)).filter((m): m is Obj => m !== null);
      if (kept.length === 0) continue;
      const action = actionOf(r);
      usesFault ||= action.usesFault;
      blackhole ||= action.blackhole;
      kept.forEach((match, i) => routes.push({ name: kept.length > 1 ? `${r.name}#${i}` : r.name, match, ...action.fields }));
    }
    const httpFilters = usesFault ? [faultFilter(), ROUTER] : [ROUTER];
    out.listeners.push({
      name: authority,
      api_listener: { api_listener: { '@type': HCM, stat_prefix: authority, rds: { route_config_name: authority, config_source: ADS_SOURCE }, http_filters: httpFilters } },
    });
    // The domains a gRPC client matches against: the name it dialed (its data-plane authority),
    // and the host alone, as Istio's generator writes them.
    out.routes.push({ name: authority, virtual_hosts: [{ name: vh.name, domains: [authority, splitPort(authority).host], routes }] });
  }
  for (const c of mesh.clusters) {
    // A sidecar's catch-all for unknown hosts: a gRPC client dials only the names it is given.
    if (isCatchAllCluster(c.name)) continue;
    out.clusters.push(grpcCluster(c, warnings));
    out.endpoints.push(grpcLoadAssignment(c, warnings));
  }
  if (blackhole) {
    const b = grpcBlackhole();
    out.clusters.push(b.cluster);
    out.endpoints.push(b.endpoints);
  }
  return { resources: out, warnings: [...warnings] };
}

/**
 * Every `host:port` a gRPC client may dial, with the virtual host a sidecar picks for it: the
 * mesh's exact domains that carry a port (a sidecar ranks an exact `host:port` first, and the
 * route compiler refuses a domain in two virtual hosts). Wildcard hosts have no name to dial.
 */
export function grpcAuthorities(mesh: MeshConfig): Array<{ authority: string; vh: MeshConfig['virtualHosts'][number] }> {
  const out: Array<{ authority: string; vh: MeshConfig['virtualHosts'][number] }> = [];
  const seen = new Set<string>();
  for (const vh of mesh.virtualHosts) {
    for (const raw of vh.domains) {
      const d = raw.toLowerCase();
      if (d.includes('*') || splitPort(d).port === null || seen.has(d)) continue;
      seen.add(d);
      out.push({ authority: d, vh });
    }
  }
  return out;
}

/** What a route does for a gRPC call (cluster or split, timeout, retries, hash, fault). */
function grpcRouteAction(route: Route, clusters: ReadonlyMap<string, Cluster>, warnings: Set<string>): GrpcAction {
  const where = `route ${route.name}`;
  const failing = failingStatus(route);
  if (failing !== null) {
    // grpc-js NACKs a whole route table holding a redirect or a direct response; leaving the
    // route out would send its calls on to the next route (fail open). Instead the call is
    // aborted with the status (grpc-js maps it as it maps an HTTP response's) and, should the
    // client have fault injection turned off, sent to a cluster with no endpoints.
    warnings.add(`${where}: ${failing.why}; a gRPC client is not given it: its calls fail with HTTP ${failing.status} as a gRPC status (fault abort), and reach no backend`);
    const abort = envoyFault({ delay: null, abort: { httpStatus: failing.status, percentage: 100 } })!;
    return { fields: { route: { cluster: GRPC_BLACKHOLE_CLUSTER }, typed_per_filter_config: { [FAULT_FILTER_NAME]: abort } }, usesFault: true, blackhole: true };
  }
  const action: Obj = route.destinations.length === 1
    ? { cluster: route.destinations[0]!.cluster }
    : { weighted_clusters: { clusters: route.destinations.map((d) => ({ name: d.cluster, weight: d.weight })) } };
  if (route.timeoutMs !== null && route.timeoutMs > 0) {
    // gRFC A31: grpc-js reads the route's max_stream_duration, not `timeout`; the header max
    // caps the deadline the client set, as the sidecar's route timeout would.
    const t = envoyDuration(route.timeoutMs);
    action.max_stream_duration = { max_stream_duration: t, grpc_timeout_header_max: t };
  }
  const retry = grpcRetryPolicy(route.retry ?? istioDefaultRetryPolicy(), where, warnings);
  if (retry !== null) action.retry_policy = retry;
  const hash = grpcHashPolicy(route, clusters, where, warnings);
  if (hash !== null) action.hash_policy = [hash];

  const fields: Obj = { route: action };
  const fault = route.fault ? envoyFault(route.fault) : null;
  if (fault !== null) fields.typed_per_filter_config = { [FAULT_FILTER_NAME]: fault };
  warnUnapplied(route, where, warnings);
  return { fields, usesFault: fault !== null, blackhole: false };
}

/** The HTTP status a route answers itself with (no backend), or null for a forwarding route. */
function failingStatus(route: Route): { status: number; why: string } | null {
  if (route.redirect) return { status: route.redirect.redirectCode, why: 'a redirect' };
  if (route.directResponse) return { status: route.directResponse.status, why: 'a direct response' };
  if (route.destinations.length === 0) return { status: 503, why: 'no destination' };
  if (route.destinations.every((d) => d.weight === 0)) return { status: 503, why: 'every destination weight is 0' };
  return null;
}

/** The route's retry_policy reduced to gRPC status conditions, or null when none is left. */
function grpcRetryPolicy(spec: RetryPolicySpec, where: string, warnings: Set<string>): Obj | null {
  const envoy = envoyRetryPolicy(spec);
  if (envoy === null) return null;
  const http: string[] = spec.retryOn.filter((c) => HTTP_RETRY_ON.has(c));
  if (spec.retryOn.includes('retriable-status-codes') && spec.retriableStatusCodes.length > 0) http.push(`retriable-status-codes ${spec.retriableStatusCodes.join(',')}`);
  if (http.length > 0) warnings.add(`${where}: retryOn ${http.join(', ')} has no gRPC counterpart; gRPC clients retry on gRPC status names only`);
  // connect-failure and refused-stream are not warned: gRPC retries a stream that never reached
  // a server by itself (transparent retry) and reconnects on its own.
  const codes = spec.retryOn.filter((c) => GRPC_RETRY_ON.has(c));
  if (codes.length === 0) return null;
  if (spec.perTryTimeoutMs > 0) warnings.add(`${where}: retries.perTryTimeout is not applied by gRPC clients`);
  if (spec.retries + 1 > GRPC_MAX_ATTEMPTS) warnings.add(`${where}: ${spec.retries} retries: grpc-js makes at most ${GRPC_MAX_ATTEMPTS} attempts`);
  const out: Obj = { retry_on: codes.join(','), num_retries: spec.retries };
  if (envoy.retry_back_off !== undefined) out.retry_back_off = envoy.retry_back_off;
  return out;
}

/**
 * The hash_policy of a route to consistent-hash clusters (the cluster half, RING_HASH, is
 * grpc-cluster.ts's): a header is the only request value grpc-js hashes. As in Envoy, one
 * policy per route: the first keyed destination's.
 */
function grpcHashPolicy(route: Route, clusters: ReadonlyMap<string, Cluster>, where: string, warnings: Set<string>): Obj | null {
  for (const d of route.destinations) {
    const c = clusters.get(d.cluster);
    if (c?.lb !== 'CONSISTENT_HASH' || !c.policy?.hash) continue;
    const key = c.policy.hash.key;
    if (key.kind === 'header') return envoyHashPolicy(key);
    if (key.kind !== 'none') warnings.add(`${where}: consistentHash on ${key.kind} is not supported by gRPC clients (a header is); each call hashes a random value`);
    return null;
  }
  return null;
}

/** Route features grpc-js does not apply, said once per route. */
function warnUnapplied(route: Route, where: string, warnings: Set<string>): void {
  const unapplied: string[] = [];
  const hasOps = (o: { set: unknown[]; add: unknown[]; remove: unknown[] }): boolean => o.set.length + o.add.length + o.remove.length > 0;
  if (hasOps(route.requestHeaders) || hasOps(route.responseHeaders) || route.destinations.some((d: RouteDestination) => hasOps(d.requestHeaders) || hasOps(d.responseHeaders))) unapplied.push('header operations');
  if (route.rewrite) unapplied.push('rewrite');
  if (route.mirrors && route.mirrors.length > 0) unapplied.push('mirror');
  if (unapplied.length > 0) warnings.add(`${where}: ${unapplied.join(', ')} not applied by gRPC clients`);
}
