// `wasmesh envoy-config --filters`: the "stock Envoy + wasmesh filters" data plane. Routing is
// decided inside Envoy by the wasmesh proxy-wasm filters (filters/, built from the same
// assembly/route code as the core) on the same route table the uWebSockets.js host loads;
// Envoy's own route table only forwards by the headers they set (x-wasmesh-route → the route's
// action with cluster_header x-wasmesh-cluster). Everything else — clusters, route actions
// (timeouts, retries, header operations, direct responses), the connection manager — is the
// native translation's (bootstrap.ts), reused as is.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeshConfig } from '../model/mesh.js';
import { compileRouteTable } from '../compile/route-table.js';
import { RouteCompileError } from '../compile/route-compile-error.js';
import { bootstrapResult, envoyBootstrap, usesGrpcWeb, type EnvoyBootstrap, type EnvoyBootstrapOptions, type LoadedMesh } from './bootstrap.js';
import { encodeFiltersPluginConfig } from './filters-plugin-config.js';
import { FiltersConfigError } from './filters-config-error.js';
import { isObj, type Obj } from './istio-resources.js';
import { envoySidecarOutboundListeners } from './sidecar-outbound-listeners.js';
import { websocketUpgradeFields } from './websocket-upgrade.js';
import { encodeStatsPluginConfig, upsertedLabels, type StatsPluginOptions } from './stats-plugin-config.js';
import { istioStatsTags } from './stats-tags.js';
import { wasmPluginConfig } from './wasm-plugin-config.js';
import { withTcpIstioStats } from './tcp-stats-filter.js';

/** Request headers the router filter sets and Envoy's routes match (removed before upstream). */
export const ROUTE_HEADER = 'x-wasmesh-route';
export const CLUSTER_HEADER = 'x-wasmesh-cluster';
export const DEST_HEADER = 'x-wasmesh-dest';
/** The filters' root_ids (filters/router/router-filter.ts, filters/fault/fault-filter.ts). */
export const ROUTER_ROOT_ID = 'wasmesh_router';
export const FAULT_ROOT_ID = 'wasmesh_fault';
/** Istio's standard metrics from inside Envoy (filters/stats/stats-filter.ts). */
export const STATS_ROOT_ID = 'wasmesh_stats';
/** One vm_id for both filters: they share one VM per worker. */
export const FILTERS_VM_ID = 'wasmesh';
/** The stats filter's module and VM (filters/wasmesh-stats.ts): apart, so the router's module exports no response or log callbacks. */
export const STATS_VM_ID = 'wasmesh_stats';
export const STATS_WASM_FILE = 'wasmesh-stats.wasm';

export interface EnvoyFiltersBootstrapOptions extends EnvoyBootstrapOptions {
  /** Absolute path of the built module; default build/filters/wasmesh-filters.wasm in the checkout. */
  wasmPath?: string;
  /** Seeds the fault filter's draws (tests); absent: seeded from the clock in each worker. */
  faultSeed?: number;
  /** Istio's standard metrics (istio_requests_total, …) by the wasmesh_stats filter; absent: not emitted. */
  istioStats?: StatsPluginOptions;
  /** Absolute path of the stats module; default wasmesh-stats.wasm next to `wasmPath`. */
  statsWasmPath?: string;
}

/** The checkout's built filters module (npm run build:filters). */
export function defaultFiltersWasmPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) break;
    dir = dirname(dir);
  }
  return join(dir, 'build', 'filters', 'wasmesh-filters.wasm');
}

const HEADER_OPS = ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'] as const;

function hasHeaderOps(o: Obj): boolean {
  return HEADER_OPS.some((k) => Array.isArray(o[k]) && (o[k] as unknown[]).length > 0);
}

/** `a`'s header operations followed by `b`'s (Envoy applies a list in order: `b` wins a `set`). */
function mergeHeaderOps(a: Obj, b: Obj): Obj {
  const out: Obj = {};
  for (const k of HEADER_OPS) {
    const list = [...((a[k] as unknown[] | undefined) ?? []), ...((b[k] as unknown[] | undefined) ?? [])];
    if (list.length > 0) out[k] = list;
  }
  return out;
}

function headerMatch(name: string, value: number): Obj {
  return { name, string_match: { exact: String(value) } };
}

function withoutHeaderOps(o: Obj): Obj {
  const out: Obj = { ...o };
  for (const k of HEADER_OPS) delete out[k];
  return out;
}

/** The native route action with its cluster choice handed to the filter (cluster_header). */
function clusterHeaderAction(action: Obj): Obj {
  const out: Obj = { ...action, cluster_header: CLUSTER_HEADER };
  delete out.cluster;
  delete out.weighted_clusters;
  return out;
}

/**
 * The match of a filter route: x-wasmesh-route (and x-wasmesh-dest) on any path, or, when the
 * action depends on what matched (a prefix rewrite replaces the matched prefix), the native
 * match with those headers added: the filter chose the route, Envoy finds the block again.
 */
function filterMatch(native: Obj, keepMatch: boolean, headers: Obj[]): Obj {
  if (!keepMatch || !isObj(native.match)) return { prefix: '/', headers };
  const m = native.match;
  return { ...m, headers: [...(Array.isArray(m.headers) ? m.headers : []), ...headers] };
}

/**
 * Envoy's routes for wasmesh route `index`, made from the native translation's route for it:
 * its action, matched by x-wasmesh-route (and x-wasmesh-dest when destinations carry their
 * own header operations). Returns the routes and whether they are per destination.
 */
function filterRoutes(native: Obj, index: number, keepMatch: boolean): { routes: Obj[]; perDestination: boolean } {
  const strip = { request_headers_to_remove: [ROUTE_HEADER, CLUSTER_HEADER, DEST_HEADER] };
  const base = withoutHeaderOps(native);
  delete base.match;
  // The fault is the wasm filter's: drop any per-route config of Envoy's own fault filter.
  if (isObj(base.typed_per_filter_config)) {
    const perFilter = { ...base.typed_per_filter_config };
    delete perFilter['envoy.filters.http.fault'];
    base.typed_per_filter_config = perFilter;
  }
  const action = isObj(native.route) ? native.route : null;
  const weighted = action && isObj(action.weighted_clusters) && Array.isArray(action.weighted_clusters.clusters)
    ? (action.weighted_clusters.clusters as Obj[]) : null;
  if (action && weighted && weighted.some(hasHeaderOps)) {
    return {
      perDestination: true,
      routes: weighted.map((w, slot) => ({
        ...base,
        name: `${String(native.name)}#dest${slot}`,
        match: filterMatch(native, keepMatch, [headerMatch(ROUTE_HEADER, index), headerMatch(DEST_HEADER, slot)]),
        route: clusterHeaderAction(action),
        ...mergeHeaderOps(mergeHeaderOps(native, w), strip),
      })),
    };
  }
  const route: Obj = {
    ...base,
    match: filterMatch(native, keepMatch, [headerMatch(ROUTE_HEADER, index)]),
    ...mergeHeaderOps(native, strip),
  };
  if (action) route.route = clusterHeaderAction(action);
  return { perDestination: false, routes: [route] };
}

/**
 * The one Envoy route standing for all of `routes` when they differ only in name and match and
 * all forward (cluster_header), matched by x-wasmesh-cluster alone; else null.
 */
function sharedRoute(routes: Obj[]): Obj | null {
  if (routes.length === 0) return null;
  const action = (r: Obj): string => {
    const { name: _n, match: _m, ...rest } = r;
    return JSON.stringify(rest);
  };
  const first = action(routes[0]);
  if (!isObj(routes[0].route) || routes.some((r) => action(r) !== first)) return null;
  return {
    ...routes[0],
    name: routes.length === 1 ? routes[0].name : 'wasmesh_all_routes',
    match: { prefix: '/', headers: [{ name: CLUSTER_HEADER, present_match: true }] },
  };
}

/** The native virtual hosts' own settings (e.g. include_request_attempt_count), names, domains and routes aside. */
function virtualHostSettings(nativeHosts: Obj[]): Obj {
  if (nativeHosts.length === 0) return {};
  const { name: _n, domains: _d, routes: _r, ...settings } = nativeHosts[0];
  return settings;
}

function wasmFilter(rootId: string, wasmPath: string, configuration: Uint8Array, vmId: string = FILTERS_VM_ID): Obj {
  return {
    name: 'envoy.filters.http.wasm',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
      config: wasmPluginConfig(rootId, wasmPath, configuration, vmId),
    },
  };
}

/**
 * Envoy's grpc_stats filter as Istio's sidecars have it before the stats filter: it counts a
 * gRPC request's messages into filter state (emit_filter_state), which wasmesh_stats reads for
 * istio_request_messages_total / istio_response_messages_total (filters/stats/grpc-message-counts.ts);
 * no per-method stats of its own.
 */
export const GRPC_STATS_FILTER: Obj = {
  name: 'envoy.filters.http.grpc_stats',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig',
    emit_filter_state: true,
    stats_for_all_methods: false,
  },
};

/** The wasmesh_stats HTTP filter (its own module and VM) for a connection manager's chain, before the router. */
export function statsHttpFilter(o: StatsPluginOptions, statsWasmPath: string): Obj {
  return wasmFilter(STATS_ROOT_ID, statsWasmPath, new TextEncoder().encode(encodeStatsPluginConfig(o)), STATS_VM_ID);
}

/** grpc_stats then wasmesh_stats: what a connection manager's chain gets for Istio's HTTP metrics. */
export function statsHttpFilters(o: StatsPluginOptions, statsWasmPath: string): Obj[] {
  return [GRPC_STATS_FILTER, statsHttpFilter(o, statsWasmPath)];
}

/** `stats_config` with Istio's tag extractors added (any other settings kept). */
function withIstioStatsTags(existing: unknown, extra: readonly string[]): Obj {
  const base = isObj(existing) ? existing : {};
  const tags = Array.isArray(base.stats_tags) ? (base.stats_tags as Obj[]) : [];
  return { ...base, stats_tags: [...tags, ...istioStatsTags(extra)] };
}

/**
 * The bootstrap for stock Envoy with the wasmesh filters: same listener, admin, clusters and
 * route actions as envoyBootstrap, routing decided by the filters.
 * @throws FiltersConfigError when the mesh does not compile into the filters' configuration.
 */
export function envoyFiltersBootstrap(loaded: LoadedMesh, opts: EnvoyFiltersBootstrapOptions): EnvoyBootstrap {
  const { mesh } = loaded;
  // The filter matches routes over the request's headers only; a claim condition would never
  // hold there (a silent difference from the native translation), so it is refused.
  for (const vh of mesh.virtualHosts) {
    for (const route of vh.routes) {
      const claim = route.matches.flatMap((m) => m.headers).find((h) => h.claim !== undefined);
      if (claim !== undefined) throw new FiltersConfigError('filters_config_claim_match', route.name, `${claim.name}: JWT claim routing is not served by the filters (use the native translation)`);
    }
  }
  let table: Uint8Array;
  try {
    table = compileRouteTable(mesh, { listenerPort: opts.listen.port });
  } catch (e) {
    if (!(e instanceof RouteCompileError)) throw e;
    throw new FiltersConfigError('filters_config_route_table', e.where, `${e.field}: ${e.message} (${e.code})`, { cause: e });
  }

  // One virtual host per route with a private domain: the native translation then gives the
  // Envoy routes of each wasmesh route apart, in index order. Matches are dropped (the filter
  // matched: one Envoy route each) unless a uri rewrite needs Envoy to know the matched prefix.
  const flat = mesh.virtualHosts.flatMap((vh) => vh.routes);
  const keepMatch = flat.map((r) => typeof r.rewrite?.uri === 'string' && r.matches.length > 0);
  const oneRouteEach: MeshConfig = {
    clusters: mesh.clusters,
    ...(mesh.jwtRules !== undefined ? { jwtRules: mesh.jwtRules } : {}),
    ...(mesh.authorization !== undefined ? { authorization: mesh.authorization } : {}),
    ...(mesh.extAuthzProviders !== undefined ? { extAuthzProviders: mesh.extAuthzProviders } : {}),
    // TLS passthrough ports are no HTTP: their native listeners (tls-passthrough-listener.ts) stay as they are.
    ...(mesh.gatewayPassthroughListeners !== undefined ? { gatewayPassthroughListeners: mesh.gatewayPassthroughListeners } : {}),
    ...(mesh.tlsRoutes !== undefined ? { tlsRoutes: mesh.tlsRoutes } : {}),
    // TCP servers: the native tcp_proxy listeners (the filters are HTTP filters).
    ...(mesh.gatewayTcpListeners !== undefined ? { gatewayTcpListeners: mesh.gatewayTcpListeners } : {}),
    ...(mesh.tcpRoutes !== undefined ? { tcpRoutes: mesh.tcpRoutes } : {}),
    virtualHosts: flat.map((r, i) => ({ name: `wasmesh_route_${i}`, domains: [`route-${i}.wasmesh.invalid`], routes: [keepMatch[i] ? r : { ...r, matches: [] }] })),
  };
  // gRPC-Web is decided on the full mesh (the gateway's listeners are not in oneRouteEach).
  // The native translation writes the one HTTP listener whose connection manager the filters
  // take over; a sidecar's outbound layout is laid around that connection manager below.
  const { sidecarOutbound, ...nativeOpts } = opts;
  const native = envoyBootstrap({ ...loaded, mesh: oneRouteEach }, { ...nativeOpts, grpcWeb: usesGrpcWeb(mesh, opts.gateway !== undefined) });
  // Faults are served by the fault filter here, so the native "not translated" notes about them do not apply.
  const warnings = native.warnings.filter((w) => !/\.fault: not translated to Envoy$/.test(w));

  const staticResources = native.config.static_resources as Obj;
  const listener = (staticResources.listeners as Obj[])[0];
  const chain = (listener.filter_chains as Obj[])[0];
  const hcmFilter = (chain.filters as Obj[])[0];
  const hcm = hcmFilter.typed_config as Obj;
  const nativeRouteConfig = hcm.route_config as Obj;
  const nativeHosts = nativeRouteConfig.virtual_hosts as Obj[];

  const routes: Obj[] = [];
  const destRoutes: boolean[] = [];
  flat.forEach((r, i) => {
    const host = nativeHosts.find((h) => h.name === `wasmesh_route_${i}`);
    const nativeRoutes = host && Array.isArray(host.routes) ? (host.routes as Obj[]) : [];
    if (nativeRoutes.length === 0) throw new Error(`wasmesh envoy-config --filters: the native translation gave no route for ${r.name} (index ${i})`);
    let perDestination = false;
    for (const nativeRoute of keepMatch[i] ? nativeRoutes : nativeRoutes.slice(0, 1)) {
      const made = filterRoutes(nativeRoute, i, keepMatch[i]);
      perDestination ||= made.perDestination;
      routes.push(...made.routes);
    }
    destRoutes.push(perDestination);
  });

  const hasFault = flat.some((r) => r.fault && (r.fault.delay || r.fault.abort));
  // When every route gets the same Envoy action (the common case: one rule, or rules that only
  // differ in where they send), one Envoy route serves them all and the router skips
  // x-wasmesh-route: a header edit less per request. The fault filter needs the route header.
  const shared = hasFault || keepMatch.some((k) => k) ? null : sharedRoute(routes);
  const configuration = encodeFiltersPluginConfig(mesh, table, { routeHeader: shared === null, destRoutes, faultSeed: opts.faultSeed });
  const wasmPath = opts.wasmPath ?? defaultFiltersWasmPath();
  // RequestAuthentication and AuthorizationPolicy first, as in the native chain (Envoy's own
  // jwt_authn, ext_authz and RBAC filters): a refused request reaches no routing.
  const security = new Set(['envoy.filters.http.jwt_authn', 'envoy.filters.http.ext_authz', 'envoy.filters.http.rbac']);
  // grpc_web too, before the wasm filters: they see (and answer) the gRPC request it makes, as
  // wasmesh's own chain puts its grpc_web filter first.
  const before = new Set([...security, 'envoy.filters.http.grpc_web']);
  const nativeFilters = (hcm.http_filters as Obj[]).filter((f) => f.name !== 'envoy.filters.http.fault' && !before.has(f.name as string));
  const authnFilters = (hcm.http_filters as Obj[]).filter((f) => before.has(f.name as string));
  const filters = [wasmFilter(ROUTER_ROOT_ID, wasmPath, configuration)];
  // The fault filter only where a route has a fault: it costs a VM call per request.
  if (hasFault) filters.push(wasmFilter(FAULT_ROOT_ID, wasmPath, configuration));
  // After the router filter: it reads the cluster the router chose (x-wasmesh-cluster).
  // The mesh's Telemetry overrides for this proxy, unless the caller gave its own; this bootstrap
  // carries the stats tags, so upserts of new labels get theirs.
  const istioStats: StatsPluginOptions | undefined = opts.istioStats === undefined ? undefined
    : { ...(mesh.metricsOverrides !== undefined ? { overrides: mesh.metricsOverrides } : {}), newLabels: true, ...opts.istioStats };
  const statsWasmPath = opts.statsWasmPath ?? join(dirname(wasmPath), STATS_WASM_FILE);
  // The HTTP filter has no TCP exchange (`tcpExchange` is for the TCP filter's chains only).
  if (istioStats !== undefined) filters.push(...statsHttpFilters({ ...istioStats, tcpExchange: false }, statsWasmPath));

  const routeConfig: Obj = {
    name: nativeRouteConfig.name,
    // One host: the filter matched the authority already; a request it did not route (no
    // x-wasmesh-route) matches nothing here and gets Envoy's 404 (NR), never a guess.
    virtual_hosts: [{ ...virtualHostSettings(nativeHosts), name: 'wasmesh_filters', domains: ['*'], routes: shared === null ? routes : [shared] }],
  };
  const httpFilters = [...authnFilters, ...filters, ...nativeFilters];
  // The upgrade's own filter chain is the listener's (websocket-upgrade.ts): the wasm filters too.
  const newHcm: Obj = { ...hcm, route_config: routeConfig, http_filters: httpFilters, ...websocketUpgradeFields(httpFilters) };
  // A sidecar behind capture (the control plane's view without WASMESH_LISTEN): Istio's outbound
  // layout (sidecar-outbound-listeners.ts) from the full mesh, every HTTP listener with the
  // filters' connection manager and its one route configuration (the filter routes by Host, so
  // there is no table per port: the same object for every port, served once).
  const httpListeners: Obj[] = sidecarOutbound !== undefined && opts.gateway === undefined
    ? envoySidecarOutboundListeners({ mesh, listen: opts.listen, hcm: newHcm, routeConfigFor: () => routeConfig, transparent: sidecarOutbound.transparent, ...(sidecarOutbound.wildcards !== undefined ? { wildcards: sidecarOutbound.wildcards } : {}), warnings })
      .map((l) => (istioStats === undefined ? l : withTcpIstioStats(l, istioStats, statsWasmPath)))
    : [{ ...listener, filter_chains: [{ ...chain, filters: [{ ...hcmFilter, typed_config: newHcm }] }] }];
  const config: Obj = {
    ...native.config,
    ...(istioStats !== undefined ? { stats_config: withIstioStatsTags(native.config.stats_config, upsertedLabels(istioStats.overrides)) } : {}),
    static_resources: {
      ...staticResources,
      // The TCP listeners (Gateway TCP servers) after the HTTP one, as the native translation's.
      // With Istio's metrics, their tcp_proxy chains get the wasmesh_tcp_stats network filter.
      listeners: [...httpListeners,
        ...(staticResources.listeners as Obj[]).slice(1).map((l) => (istioStats === undefined ? l : withTcpIstioStats(l, istioStats, statsWasmPath)))],
    },
  };

  const header = [
    '# Envoy v3 bootstrap generated by `wasmesh envoy-config --filters`: stock Envoy with the wasmesh',
    `# proxy-wasm filters (${wasmPath}); run with: envoy -c <this file>`,
    `# listener ${opts.listen.host}:${opts.listen.port}${opts.gateway === undefined ? ' (mesh outbound)' : ` (gateway ${opts.gateway})`}, admin ${opts.admin.host}:${opts.admin.port}`,
    ...warnings.map((w) => `# warning: ${w}`),
  ].join('\n');
  return bootstrapResult(header, config, warnings);
}
