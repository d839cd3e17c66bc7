// `wasmesh envoy-config`: the resolved mesh as a static Envoy v3 bootstrap, the way Istio's
// Pilot would program Envoy for the same YAML, so stock Envoy can serve what `wasmesh proxy`
// serves (our baseline). Everything is read from the model host/config resolved (what wasmesh
// does not serve, the loader has warned about already); what Envoy cannot do as wasmesh does
// is reported as a warning, never dropped silently.
import { istioConfigMetadata } from './istio-config-metadata.js';
import { envoyJwtAuthn } from './jwt-authn-policy.js';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { envoyHcmTracing, envoyTracingClusters } from './tracing-config.js';
import { envoyHcmAccessLog } from './access-log-config.js';
import type { Cluster, HeaderOps, MeshConfig, Route, RouteDestination } from '../model/mesh.js';
import { hcmPathNormalization, PATH_RUNTIME_FLAGS } from './path-normalization.js';
import { envoyClusterPolicy } from './cluster-policy.js';
import { CORS_FILTER_NAME, corsFilter, envoyCorsPolicy } from './cors-policy.js';
import { envoyDuration } from './duration.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import { envoyFault, FAULT_FILTER_NAME, faultFilter } from './fault-policy.js';
import { fractionalPercent } from './fractional-percent.js';
import { envoyHashPolicy } from './hash-policy.js';
import type { Obj } from './istio-resources.js';
import { ENVOY_DIRECT_RESPONSE_BODY_LIMIT, envoyDirectResponse, envoyRedirect } from './local-reply.js';
import { envoyRetryPolicy } from './retry-policy.js';
import { envoyRewrite } from './rewrite-action.js';
import { envoyAuthorizationFilters } from './authorization-filters.js';
import { envoyRouteMatch } from './route-match.js';
import { envoyTcpListeners, type GatewayPortAt } from './tcp-proxy-listeners.js';
import { envoyUpstreamTransportSocket } from './upstream-tls-context.js';
import { envoyDomains } from './virtual-host-domains.js';
import { envoyRouteRateLimits, rateLimitClusters, rateLimitHttpFilters } from './rate-limit-policy.js';
import { envoyPassthroughListeners } from './tls-passthrough-listener.js';
import { envoySidecarOutboundListeners } from './sidecar-outbound-listeners.js';
import { portRouteName, virtualHostsForPort } from './sidecar-port-routes.js';
import { carriedAs, type PortProtocol } from '../model/port-protocol.js';
import { isCatchAllCluster } from '../model/catch-all.js';
import { websocketUpgradeFields } from './websocket-upgrade.js';
import { envoyHttp2Limits, untranslatedLimitWarnings } from './http2-limits.js';
import type { Limits } from '../common/limits.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * What host/config's loadConfig returns. `resources` (the Istio resources it read) are not
 * needed by this translation, which reads the model; callers may pass them along.
 */
export interface LoadedMesh {
  mesh: MeshConfig;
  resources?: readonly unknown[];
  warnings?: readonly string[];
}

export interface EnvoyBootstrapOptions {
  listen: HostPort;
  admin: HostPort;
  /** The Gateway served (`--gateway`), or undefined for the mesh's outbound proxy. */
  gateway?: string;
  /** Namespace of resources that name none (the loader's default). */
  namespace?: string;
  /**
   * With `gateway`: where the Gateway's TCP and TLS passthrough ports listen (`--port-map`, as
   * `wasmesh proxy --port-map` maps them). A TCP port not listed listens on the listen host at its
   * own number; a passthrough port not listed is not translated; an entry for an HTTP server is
   * warned about and not used (the HTTP servers share the one listener at `listen`).
   */
  gatewayPorts?: ReadonlyArray<{ port: number; at: HostPort }>;
  /** false: no HTTP listener at `listen` (a gateway whose ports are all passthrough, over xDS); default true. */
  httpListener?: boolean;
  /**
   * Deprecated (`envoy-config --tcp-ports`): TCP ports only, each entry required to be a TCP
   * server; `gatewayPorts` now maps TCP ports too. Taken before `gatewayPorts` for the same port.
   */
  tcpPorts?: readonly GatewayPortAt[];
  /** Whether the HTTP listener gets grpc_web; default usesGrpcWeb(mesh) (the filters translation decides on the full mesh). */
  grpcWeb?: boolean;
  /** false: no listeners for the Gateway's TCP servers and TLS passthrough ports (another translation of the same gateway, over xDS, writes them); default true. */
  l4Listeners?: boolean;
  /**
   * A sidecar behind iptables capture (no `gateway`): Istio's outbound layout instead of one HTTP
   * listener at `listen` — virtualOutbound there with use_original_dst, and a listener per service
   * address and HTTP port (sidecar-outbound-listeners.ts); `transparent` for TPROXY interception.
   */
  sidecarOutbound?: { transparent: boolean; wildcards?: readonly string[] };
  /**
   * The proxy's `--limit`s: the HTTP/2 flood limits and keepalive go into the HCM's and the
   * HTTP/2 clusters' http2_protocol_options (http2-limits.ts); others set are warned about.
   */
  limits?: Readonly<Partial<Limits>>;
}

export interface EnvoyBootstrap {
  /** The bootstrap, ready for `envoy -c`. */
  yaml: string;
  /** The same bootstrap as a plain object, for tests and tooling. */
  config: Obj;
  /** The loader's warnings, then this translation's: what Envoy will not do as wasmesh does. */
  warnings: string[];
}

/**
 * Gateway TLS termination and httpsRedirect are not translated for Envoy yet (listeners with
 * filter chains per SNI and SDS secrets): refused, never served as plaintext by Envoy.
 */
function refuseGatewayTls(mesh: LoadedMesh['mesh']): void {
  for (const l of mesh.gatewayListeners ?? []) {
    for (const s of l.servers) {
      if (s.tls === null && !s.httpsRedirect) continue;
      const what = s.tls !== null ? `TLS ${s.tls.mode} (credential ${s.tls.credential.name ?? s.tls.credential.certificateChain})` : 'httpsRedirect';
      throw new EnvoyConfigError('envoy_config_gateway_tls', `Gateway server ${s.name} on port ${l.port}`, `${what} is not translated for stock Envoy yet; serve this Gateway with a wasmesh proxy (wasmesh proxy --gateway)`);
    }
  }
}

/** Envoy's gRPC-Web bridge: gRPC-Web (binary and text) in, gRPC over HTTP/2 upstream, trailers as a trailer frame. */
export const GRPC_WEB_FILTER: Obj = { name: 'envoy.filters.http.grpc_web', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb' } };

/** Does the HTTP listener get grpc_web? A gateway: one of its HTTP servers is GRPC-Web; the mesh: a GRPC_WEB cluster. */
export function usesGrpcWeb(mesh: LoadedMesh['mesh'], gateway: boolean): boolean {
  return gateway ? (mesh.gatewayListeners ?? []).some((l) => l.grpcWeb === true) : mesh.clusters.some((c) => c.protocol === 'GRPC_WEB');
}

export function envoyBootstrap(loaded: LoadedMesh, opts: EnvoyBootstrapOptions): EnvoyBootstrap {
  checkHostPort(opts.listen, '--listen');
  checkHostPort(opts.admin, '--admin');
  refuseGatewayTls(loaded.mesh);
  const warnings: string[] = [...(loaded.warnings ?? []), ...untranslatedLimitWarnings(opts.limits)];
  const { mesh } = loaded;
  const ctx: RouteContext = {
    listenerPort: opts.listen.port, clusters: new Map(mesh.clusters.map((c) => [c.name, c])), warnings,
    usesFault: false, usesCors: false, maxDirectBody: 0, mesh,
  };

  // A sidecar behind capture routes with a table per port (sidecar-port-routes.ts), made here
  // before the connection manager (its fault and CORS filters follow from their routes); the
  // shared table is then not built (every route would be translated twice).
  const sidecar = opts.sidecarOutbound !== undefined && opts.gateway === undefined && opts.httpListener !== false;
  const portTables = new Map<number, Obj>();
  if (sidecar) for (const port of sidecarHttpPorts(mesh)) portTables.set(port, sidecarPortRouteConfig(port, ctx));
  const domains = envoyDomains(sidecar ? [] : mesh.virtualHosts, warnings);
  const virtualHosts: Obj[] = [];
  (sidecar ? [] : mesh.virtualHosts).forEach((vh, i) => {
    if (domains.perHost[i].length === 0) return;
    virtualHosts.push({
      name: vh.name,
      domains: domains.perHost[i],
      routes: vh.routes.flatMap((r) => envoyRoutes(r, ctx)),
      // As Istio: upstream requests carry x-envoy-attempt-count (1 on the first try), as wasmesh's do.
      include_request_attempt_count: true,
    });
  });

  const knownClusters = new Set(mesh.clusters.map((c) => c.name));
  for (const vh of mesh.virtualHosts) {
    for (const r of vh.routes) {
      for (const d of r.destinations) {
        if (!knownClusters.has(d.cluster)) warnings.push(`route ${r.name}: destination cluster ${d.cluster} is not among the mesh's clusters; Envoy will reject the route table`);
      }
    }
  }

  const name = opts.gateway === undefined ? `outbound_${opts.listen.port}` : `gateway_${opts.gateway.replace(/[^A-Za-z0-9_.-]/g, '_')}_${opts.listen.port}`;
  const routeConfig: Obj = { name: String(opts.listen.port), virtual_hosts: virtualHosts };
  if (domains.ignorePortInHostMatching) routeConfig.ignore_port_in_host_matching = true;
  // Envoy refuses direct-response bodies over 4 KiB unless the route table allows more (Istio
  // allows 1 MiB; wasmesh serves any size, so the limit is the largest body).
  if (ctx.maxDirectBody > ENVOY_DIRECT_RESPONSE_BODY_LIMIT) routeConfig.max_direct_response_body_size_bytes = ctx.maxDirectBody;

  // Istio's chain order: fault, then CORS, then the router. The fault and CORS filters act only
  // through per-route configs, so they are left out when no route has one (a no-op filter still
  // costs every request, and this bootstrap is the benchmark's baseline).
  // Istio's security filters at a gateway: jwt_authn (RequestAuthentication) first, then the
  // AuthorizationPolicies (ext_authz for CUSTOM, then RBAC), before fault and CORS; a sidecar's
  // run on its inbound listener (inbound-listener.ts), the mesh's outbound listener enforces none.
  const httpFilters: Obj[] = [];
  const jwt = opts.gateway !== undefined && (mesh.jwtRules ?? []).length > 0 ? envoyJwtAuthn(mesh.jwtRules!, true) : null;
  if (jwt !== null) httpFilters.push(jwt.filter);
  const authz = opts.gateway !== undefined ? envoyAuthorizationFilters(mesh.authorization, { ...(mesh.extAuthzProviders !== undefined ? { providers: mesh.extAuthzProviders } : {}), clusters: mesh.clusters, warnings }) : { custom: [], rbac: [] };
  httpFilters.push(...authz.custom, ...authz.rbac);
  // grpc_web where Istio puts it (after the security filters, before fault, CORS and the router):
  // on a listener whose port protocol is GRPC-Web. Envoy's translation serves every HTTP server of
  // a gateway on one listener, so one GRPC-Web server turns it on for all of them (gRPC-Web
  // requests only: anything else passes the filter untouched); for the mesh's outbound listener,
  // when a service has a grpc-web port (a GRPC_WEB cluster) — the same rule as wasmesh's
  // (host/server/http-filters.ts).
  if (opts.grpcWeb ?? usesGrpcWeb(mesh, opts.gateway !== undefined)) httpFilters.push(GRPC_WEB_FILTER);
  if (ctx.usesFault) httpFilters.push(faultFilter());
  if (ctx.usesCors) httpFilters.push(corsFilter());
  // RateLimitPolicy: local_ratelimit, then one ratelimit filter per service (rate-limit-policy.ts).
  httpFilters.push(...rateLimitHttpFilters(mesh, warnings));
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } });

  const hcm: Obj = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: name,
    // wasmesh serves HTTP/1.1 (and 1.0, which Envoy refuses unless told) and HTTP/2 (h2c by its
    // preface): AUTO, as Istio's HCMs, picks the codec from the connection's first bytes.
    codec_type: 'AUTO',
    http_protocol_options: { accept_http_10: true },
    // As wasmesh does: append the peer to x-forwarded-for, set x-forwarded-proto, and add an
    // x-request-id only when the client sent none.
    use_remote_address: true,
    xff_num_trusted_hops: 0,
    generate_request_id: true,
    preserve_external_request_id: true,
    route_config: routeConfig,
    http_filters: httpFilters,
    // WebSocket upgrades on every route, as Istio configures its HCMs (and wasmesh tunnels them),
    // and over HTTP/2 (RFC 8441) as wasmesh carries them (websocket-upgrade.ts).
    ...websocketUpgradeFields(httpFilters),
    // meshConfig pathNormalization, as Istio sets it (and as wasmesh normalizes).
    ...hcmPathNormalization(mesh.pathNormalization),
    // Telemetry API tracing (tracing-config.ts), as the wasmesh proxies trace.
    ...envoyHcmTracing(mesh.tracing, name),
    // meshConfig / Telemetry API access logs (access-log-config.ts), as the wasmesh proxies write them.
    ...envoyHcmAccessLog(mesh.accessLogs),
  };
  // The proxy's HTTP/2 limits beside allow_connect (websocketUpgradeFields).
  hcm.http2_protocol_options = { ...(hcm.http2_protocol_options as Obj | undefined), ...envoyHttp2Limits(opts.limits, 'downstream') };

  // Gateway TCP servers and tcp: routes: tcp_proxy listeners (tcp-proxy-listeners.ts).
  // One port map for every kind (`--port-map`): TCP entries to the tcp_proxy listeners,
  // passthrough entries to theirs; `tcpPorts` (the deprecated --tcp-ports) first.
  const tcpServerPorts = new Set((mesh.gatewayTcpListeners ?? []).map((l) => l.port));
  const passthroughServerPorts = new Set((mesh.gatewayPassthroughListeners ?? []).map((l) => l.port));
  for (const p of opts.gatewayPorts ?? []) {
    if (!tcpServerPorts.has(p.port) && !passthroughServerPorts.has(p.port)) {
      warnings.push(`--port-map ${p.port}: Gateway port ${p.port} is not a TCP or TLS passthrough server of the Gateway; Envoy's translation serves the Gateway's HTTP servers on one listener (--listen), so this entry is not used`);
    }
  }
  const tcpMap = [...(opts.tcpPorts ?? []), ...(opts.gatewayPorts ?? []).filter((p) => tcpServerPorts.has(p.port) && !(opts.tcpPorts ?? []).some((t) => t.port === p.port))];
  const upstreamHttp2 = envoyHttp2Limits(opts.limits, 'upstream');
  const tcpListeners = opts.l4Listeners === false ? [] : envoyTcpListeners(mesh, name, opts.listen.host, tcpMap, warnings, opts.tcpPorts);
  const config: Obj = {
    node: { id: `wasmesh-envoy-${name}`, cluster: 'wasmesh' },
    admin: { address: socketAddress(opts.admin) },
    static_resources: {
      listeners: [...(opts.httpListener === false ? [] : opts.sidecarOutbound !== undefined && opts.gateway === undefined
        ? envoySidecarOutboundListeners({ mesh, listen: opts.listen, hcm, routeConfigFor: (port) => portTables.get(port) ?? sidecarPortRouteConfig(port, ctx), transparent: opts.sidecarOutbound.transparent, ...(opts.sidecarOutbound.wildcards !== undefined ? { wildcards: opts.sidecarOutbound.wildcards } : {}), warnings })
        : [{
          name,
          address: socketAddress(opts.listen),
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
        }]),
      ...tcpListeners,
      // Gateway TLS passthrough ports: tls_inspector, filter chains by SNI, tcp_proxy.
      ...(opts.gateway !== undefined && opts.l4Listeners !== false ? envoyPassthroughListeners(mesh, opts.gateway, opts.gatewayPorts ?? [], socketAddress, warnings) : [])],
      clusters: [...mesh.clusters.map((c) => envoyCluster(c, warnings, upstreamHttp2)), ...(jwt?.clusters ?? []), ...rateLimitClusters(mesh, (h) => isIP(h) !== 0), ...envoyTracingClusters(mesh.tracing, (h) => isIP(h) !== 0)],
    },
    // Istio's bootstrap lifts Envoy's downstream-connection limit the same way.
    layered_runtime: { layers: [{ name: 'global config', static_layer: { 'overload.global_downstream_max_connections': 2147483647, ...PATH_RUNTIME_FLAGS } }] },
  };

  const header = [
    '# Envoy v3 bootstrap generated by `wasmesh envoy-config`; run with: envoy -c <this file>',
    `# listener ${opts.listen.host}:${opts.listen.port}${opts.gateway === undefined ? ' (mesh outbound)' : ` (gateway ${opts.gateway})`}, admin ${opts.admin.host}:${opts.admin.port}`,
    ...warnings.map((w) => `# warning: ${w}`),
  ].join('\n');
  return bootstrapResult(header, config, warnings);
}

/**
 * The bootstrap with its YAML made on first read: the control plane takes only `config` (for
 * xDS), and stringifying a 1,000-service bootstrap costs more than translating it.
 */
export function bootstrapResult(header: string, config: Obj, warnings: string[]): EnvoyBootstrap {
  let yaml: string | null = null;
  return {
    get yaml(): string {
      // YAML 1.1 because Envoy reads YAML 1.1: a plain `on`, `no` or `0755` would arrive as a bool
      // or a number; the 1.1 schema makes the stringifier quote such strings.
      yaml ??= `${header}\n${yamlStringify()(config, { lineWidth: 0, version: '1.1' })}`;
      return yaml;
    },
    config,
    warnings,
  };
}

/**
 * The YAML writer, loaded on first use: a proxy process translates its applied mesh for its
 * Envoy-shaped /config_dump (host/runtime/envoy-config-view.ts) and never writes YAML, and the
 * proxy process loads no yaml package (test/control/isolated-load.test.ts).
 */
function yamlStringify(): typeof import('yaml').stringify {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).stringify;
}

function checkHostPort(hp: HostPort, flag: string): void {
  if (typeof hp.host !== 'string' || hp.host === '' || !Number.isInteger(hp.port) || hp.port < 0 || hp.port > 65535) {
    throw new EnvoyConfigError('envoy_config_bad_listen', flag, `expected host and port 0-65535, got ${JSON.stringify(hp)}`);
  }
}

function socketAddress(hp: HostPort): Obj {
  return { socket_address: { address: hp.host, port_value: hp.port } };
}

/** What building the routes needs to know beyond one route, and what it found out. */
interface RouteContext {
  listenerPort: number;
  clusters: ReadonlyMap<string, Cluster>;
  warnings: string[];
  usesFault: boolean;
  usesCors: boolean;
  /** The largest direct-response body, in bytes. */
  maxDirectBody: number;
  /** The mesh (its proxy-wide rate limits apply to every route). */
  mesh: MeshConfig;
}

/** The ports an Envoy sidecar's outbound layout may route HTTP on: every service port that is HTTP or sniffed. */
function sidecarHttpPorts(mesh: MeshConfig): number[] {
  const ports = new Set<number>();
  const add = (port: number, protocol: PortProtocol | undefined): void => {
    const carried = carriedAs(protocol ?? 'HTTP');
    if (port > 0 && (carried === 'http1' || carried === 'http2' || carried === 'sniff')) ports.add(port);
  };
  for (const c of mesh.clusters) if (!isCatchAllCluster(c.name)) add(c.port, c.protocol);
  for (const e of mesh.serviceAddresses ?? []) add(e.port, e.protocol);
  return [...ports].sort((a, b) => a - b);
}

/**
 * An Envoy sidecar's route configuration of one port (sidecar-port-routes.ts): the virtual hosts
 * of the services with that port, their routes built as the shared table's with the port as the
 * listener port; what its routes need (the fault and CORS filters, the direct-response body
 * limit) is noted on the shared context, as the shared table's routes do.
 */
function sidecarPortRouteConfig(port: number, base: RouteContext): Obj {
  // A route in several tables (a VirtualService with several ports) warns once.
  const ctx: RouteContext = { ...base, listenerPort: port, warnings: [], usesFault: false, usesCors: false, maxDirectBody: 0 };
  const virtualHosts = virtualHostsForPort(ctx.mesh, port, ctx.warnings).map((vh) => ({
    name: vh.name,
    domains: vh.domains,
    routes: vh.routes.flatMap((r) => envoyRoutes(r, ctx)),
    include_request_attempt_count: true,
  }));
  for (const w of ctx.warnings) if (!base.warnings.includes(w)) base.warnings.push(w);
  base.usesFault ||= ctx.usesFault;
  base.usesCors ||= ctx.usesCors;
  base.maxDirectBody = Math.max(base.maxDirectBody, ctx.maxDirectBody);
  const routeConfig: Obj = { name: portRouteName(port), virtual_hosts: virtualHosts };
  if (ctx.maxDirectBody > ENVOY_DIRECT_RESPONSE_BODY_LIMIT) routeConfig.max_direct_response_body_size_bytes = ctx.maxDirectBody;
  return routeConfig;
}

/** One Envoy route per ORed match block of a wasmesh route (Envoy routes take one match each). */
function envoyRoutes(route: Route, ctx: RouteContext): Obj[] {
  const action = envoyRouteAction(route, ctx);
  const matches = route.matches.length === 0 ? [null] : route.matches;
  const metadata = istioConfigMetadata('virtual-service', route.virtualService);
  return matches.map((m, i) => ({
    name: route.matches.length > 1 ? `${route.name}#${i}` : route.name,
    match: envoyRouteMatch(m, ctx.listenerPort),
    ...action,
    ...(metadata !== null && { metadata }),
  }));
}

/**
 * The parts of an Envoy route other than name and match: the action (`route`, `redirect` or
 * `direct_response`), header operations, and the fault and CORS filters' per-route configs.
 */
function envoyRouteAction(route: Route, ctx: RouteContext): Obj {
  const out: Obj = {};
  const where = `route ${route.name}`;
  const { warnings } = ctx;
  let requestOps = route.requestHeaders;
  let responseOps = route.responseHeaders;

  if (route.redirect) {
    out.redirect = envoyRedirect(route.redirect, ctx.listenerPort, where, warnings);
  } else if (route.directResponse) {
    out.direct_response = envoyDirectResponse(route.directResponse);
    ctx.maxDirectBody = Math.max(ctx.maxDirectBody, Buffer.byteLength(route.directResponse.body ?? ''));
  } else if (route.destinations.length === 0) {
    warnings.push(`${where}: no destination; Envoy answers 503 (direct_response)`);
    out.direct_response = { status: 503 };
  } else {
    const action: Obj = {};
    if (route.destinations.length === 1) {
      action.cluster = route.destinations[0].cluster;
      // As Istio does for a lone destination: its header operations join the route's, after them.
      requestOps = concatOps(route.requestHeaders, route.destinations[0].requestHeaders);
      responseOps = concatOps(route.responseHeaders, route.destinations[0].responseHeaders);
    } else {
      action.weighted_clusters = { clusters: route.destinations.map((d) => envoyClusterWeight(d, where, warnings)) };
    }
    // Istio's default for HTTP routes is no timeout, which Envoy spells 0s (its own default is 15s).
    action.timeout = route.timeoutMs === null ? '0s' : envoyDuration(route.timeoutMs);
    if (route.rewrite) Object.assign(action, envoyRewrite(route.rewrite));
    const retry = envoyRetryPolicy(route.retry);
    if (retry !== null) action.retry_policy = retry;
    const hash = routeHashPolicy(route, ctx);
    if (hash !== null) action.hash_policy = [hash];
    if (route.mirrors && route.mirrors.length > 0) {
      action.request_mirror_policies = route.mirrors.map((m) => {
        if (!ctx.clusters.has(m.cluster)) warnings.push(`${where}: mirror cluster ${m.cluster} is not among the mesh's clusters; Envoy will reject the route table`);
        // Envoy appends "-shadow" to the mirror's Host, as wasmesh does.
        return { cluster: m.cluster, runtime_fraction: { default_value: fractionalPercent(m.percentage) } };
      });
    }
    out.route = action;
  }

  const perFilter: Obj = {};
  const fault = route.fault ? envoyFault(route.fault) : null;
  if (fault !== null) {
    perFilter[FAULT_FILTER_NAME] = fault;
    ctx.usesFault = true;
  }
  if (route.cors) {
    perFilter[CORS_FILTER_NAME] = envoyCorsPolicy(route.cors);
    ctx.usesCors = true;
    if (fault !== null) {
      warnings.push(`${where}: fault and corsPolicy together: Envoy runs the fault filter before CORS (current Istio's order), so preflights are faulted too; wasmesh answers CORS first`);
    }
  }
  const rateLimits = envoyRouteRateLimits(ctx.mesh, route, out.route !== undefined, warnings);
  Object.assign(perFilter, rateLimits.perFilter);
  if (rateLimits.rateLimits.length > 0) (out.route as Obj).rate_limits = rateLimits.rateLimits;
  if (Object.keys(perFilter).length > 0) out.typed_per_filter_config = perFilter;
  addHeaderOps(out, requestOps, responseOps, where, warnings);
  return out;
}

/**
 * The hash_policy of a route: the request value its consistent-hash destinations hash. Envoy
 * has one list per route (it applies to whichever cluster is picked), so destinations whose
 * DestinationRules name different keys cannot all be honoured: the first one's is used.
 */
function routeHashPolicy(route: Route, ctx: RouteContext): Obj | null {
  const keyed: Array<{ cluster: string; policy: Obj }> = [];
  for (const d of route.destinations) {
    const c = ctx.clusters.get(d.cluster);
    if (c?.lb !== 'CONSISTENT_HASH' || !c.policy?.hash) continue;
    const policy = envoyHashPolicy(c.policy.hash.key);
    if (policy !== null) keyed.push({ cluster: c.name, policy });
  }
  if (keyed.length === 0) return null;
  const first = JSON.stringify(keyed[0].policy);
  const other = keyed.find((k) => JSON.stringify(k.policy) !== first);
  if (other) {
    ctx.warnings.push(`route ${route.name}: destinations hash different request values (${keyed[0].cluster} vs ${other.cluster}); Envoy has one hash policy per route, the first destination's is used for all`);
  }
  return keyed[0].policy;
}

function envoyClusterWeight(d: RouteDestination, where: string, warnings: string[]): Obj {
  if (!Number.isInteger(d.weight) || d.weight < 0) {
    throw new EnvoyConfigError('envoy_config_bad_weight', `${where} destination ${d.cluster}`, `weight must be a non-negative integer, got ${d.weight}`);
  }
  const out: Obj = { name: d.cluster, weight: d.weight };
  addHeaderOps(out, d.requestHeaders, d.responseHeaders, `${where} destination ${d.cluster}`, warnings);
  return out;
}

function concatOps(a: HeaderOps, b: HeaderOps): HeaderOps {
  return { set: [...a.set, ...b.set], add: [...a.add, ...b.add], remove: [...a.remove, ...b.remove] };
}

/** Envoy's header_value_option list: `set` overwrites, `add` appends. */
function headerValues(ops: HeaderOps, where: string, warnings: string[]): Obj[] {
  const option = (key: string, value: string, append_action: string): Obj => {
    // Envoy reads %…% in header values as command operators; wasmesh writes values literally.
    if (value.includes('%')) warnings.push(`${where}: header ${key} value has "%", escaped as "%%" so Envoy sends it literally`);
    return { header: { key, value: value.replaceAll('%', '%%') }, append_action };
  };
  return [
    ...ops.set.map(([k, v]) => option(k, v, 'OVERWRITE_IF_EXISTS_OR_ADD')),
    ...ops.add.map(([k, v]) => option(k, v, 'APPEND_IF_EXISTS_OR_ADD')),
  ];
}

function addHeaderOps(out: Obj, request: HeaderOps, response: HeaderOps, where: string, warnings: string[]): void {
  const reqAdd = headerValues(request, `${where} request headers`, warnings);
  const resAdd = headerValues(response, `${where} response headers`, warnings);
  if (reqAdd.length > 0) out.request_headers_to_add = reqAdd;
  if (request.remove.length > 0) out.request_headers_to_remove = [...request.remove];
  if (resAdd.length > 0) out.response_headers_to_add = resAdd;
  if (response.remove.length > 0) out.response_headers_to_remove = [...response.remove];
}

function envoyCluster(c: Cluster, warnings: string[], http2Limits: Obj): Obj {
  // TLS origination (DestinationRule tls, auto mTLS); what cannot be translated throws, located.
  const transport = envoyUpstreamTransportSocket(c);
  const tls = transport === null ? {} : { transport_socket: transport };
  const policy = envoyClusterPolicy(c, warnings, http2Limits);
  const metadata = istioConfigMetadata('destination-rule', c.destinationRule);
  const meta = metadata === null ? {} : { metadata };
  // ORIGINAL_DST finds its hosts in each request: no endpoints to list.
  if (policy.type === 'ORIGINAL_DST') return { name: c.name, ...policy, ...tls, ...meta };
  // STATIC needs IP literals; a host name (allowed by a STATIC ServiceEntry endpoint) needs DNS.
  const named = c.endpoints.filter((e) => isIP(e.address) === 0);
  // ServiceEntry resolution DNS → STRICT_DNS, DNS_ROUND_ROBIN → LOGICAL_DNS (one target only,
  // as Envoy requires), with Istio's DNS settings: the record's TTL, else meshConfig
  // dnsRefreshRate (60 s), IPv4 (Istio's default lookup family without dual stack).
  let type: string = named.length > 0 ? 'STRICT_DNS' : 'STATIC';
  if (c.dnsResolution !== undefined) type = c.dnsResolution === 'LOGICAL_DNS' && c.endpoints.length !== 1 ? 'STRICT_DNS' : c.dnsResolution;
  else if (named.length > 0) warnings.push(`cluster ${c.name}: endpoint address ${named[0].address} is not an IP; cluster emitted as STRICT_DNS (Envoy resolves it periodically)`);
  if (c.dnsResolution === 'LOGICAL_DNS' && type !== 'LOGICAL_DNS') warnings.push(`cluster ${c.name}: DNS_ROUND_ROBIN with ${c.endpoints.length} endpoints; Envoy's LOGICAL_DNS takes exactly one, emitted as STRICT_DNS`);
  const dns = type === 'STATIC' ? {} : { dns_refresh_rate: '60s', respect_dns_ttl: true, dns_lookup_family: 'V4_ONLY' };
  return {
    name: c.name,
    type,
    ...dns,
    ...policy,
    ...tls,
    ...meta,
    load_assignment: {
      cluster_name: c.name,
      endpoints: [{
        lb_endpoints: c.endpoints.map((e) => {
          const ep: Obj = { endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } } };
          // Envoy wants weights ≥ 1; Istio treats an unset (0) weight as 1.
          if (e.weight > 1) ep.load_balancing_weight = Math.round(e.weight);
          return ep;
        }),
      }],
    },
  };
}
