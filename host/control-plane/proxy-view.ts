// One proxy's view of the mesh, as istiod computes it from the proxy's node: a gateway (`router`)
// serves the Gateway its WASMESH_GATEWAY names, or the Gateway whose selector matches its labels;
// a sidecar serves the mesh with its namespace and labels (sourceLabels, sourceNamespace). The
// view becomes the snapshot its kind of client reads: wasmesh's resources, Envoy's four types
// from the same translation `wasmesh envoy-config` prints, or, for a proxyless gRPC client (always
// a sidecar's view: it has no Gateway to serve), the same four types as gRPC reads them, one
// listener per `host:port` it may dial.
import { inboundAccessLogsOf, inboundTracingOf } from '../model/mesh.js';
import { inlineGatewayCredentials } from './inline-credentials.js';
import { resolveConfig, type ReadConfig } from '../config/index.js';
import type { LoadedConfig, LoadOptions } from '../config/loaded-config.js';
import type { GatewaySpec } from '../config/istio-schemas.js';
import { envoyBootstrap } from '../envoy/bootstrap.js';
import { defaultFiltersWasmPath, envoyFiltersBootstrap } from '../envoy/filters-bootstrap.js';
import { appLoopback, listenWildcards } from '../model/ip-families.js';
import { withOtherWildcards } from '../envoy/listener-wildcards.js';
import { envoyInbound, SIDECAR_INBOUND_PORT } from '../envoy/inbound-listener.js';
import { envoyXdsResources, type EnvoyXdsResources } from '../envoy/xds-resources.js';
import { grpcXdsResources } from '../envoy/grpc-xds-resources.js';
import type { XdsNode } from '../xds/xds-node.js';
import type { ProxySnapshot } from '../xds/snapshot.js';
import { envoySnapshot, wasmeshSnapshot, type ResourceEncoder } from './snapshots.js';
import { envoyIstioStats, withInboundIstioStats, withOutboundPeerExchange, withOutboundTcpIstioStats, withTcpExchange } from './envoy-istio-stats.js';

/** The port a sidecar's outbound listener takes (Istio's 15001). */
export const SIDECAR_OUTBOUND_PORT = 15001;

export interface ProxyView {
  options: LoadOptions;
  snapshot: ProxySnapshot;
  warnings: string[];
  /** Gateway ports the proxy listens on (Envoy routers), or the outbound port of a sidecar. */
  ports: number[];
}

export interface ViewContext {
  /** The control plane's config version (in wasmesh's resource). */
  version: string;
  allowUnenforcedSecurity: boolean;
  /** The mesh has a CA: ISTIO_MUTUAL, auto mTLS and STRICT are enforced (LoadOptions.workloadIdentity). */
  workloadIdentity?: boolean;
  /** The CA's trust domain (LoadOptions.trustDomain). */
  trustDomain?: string;
  /** `--credentials-dir`: where Gateways' credentialName secrets are found. */
  credentialsDir?: string;
  /** Reuses the encoding of resources unchanged since the last version (the control plane's). */
  encoder?: ResourceEncoder;
  /**
   * Resolves the mesh for the options (default resolveConfig): the control plane's shares one
   * resolution between the views that differ only in kind of client (a wasmesh and an Envoy
   * sidecar of a namespace resolve the same mesh).
   */
  resolve?: (read: ReadConfig, options: LoadOptions) => LoadedConfig;
  /** The proxies connected so far: an Envoy's wasmesh_stats filter recognises their peer metadata (envoy-istio-stats.ts). */
  connectedNodes?: () => readonly XdsNode[];
}

/** Gateways (namespace/name) whose selector matches `labels`: every selector pair among them. */
export function matchingGateways(read: ReadConfig, labels: Record<string, string>): Array<{ ref: string; spec: GatewaySpec }> {
  const out: Array<{ ref: string; spec: GatewaySpec }> = [];
  for (const r of read.effective) {
    if (r.resource.kind !== 'Gateway') continue;
    const spec = r.resource.spec as GatewaySpec;
    const selector = (spec as { selector?: Record<string, string> }).selector ?? {};
    if (Object.keys(selector).length === 0) continue;
    if (Object.entries(selector).every(([k, v]) => labels[k] === v)) out.push({ ref: `${r.resource.namespace}/${r.resource.name}`, spec });
  }
  return out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

function gatewaySpec(read: ReadConfig, ref: string, namespace: string): GatewaySpec | null {
  const wanted = ref.includes('/') ? ref : `${namespace}/${ref}`;
  const r = read.effective.find((x) => x.resource.kind === 'Gateway' && `${x.resource.namespace}/${x.resource.name}` === wanted);
  return r ? (r.resource.spec as GatewaySpec) : null;
}

/** The load options for a proxy, and what was decided on the way (several Gateways match …). */
export function loadOptionsFor(node: XdsNode, read: ReadConfig, ctx: ViewContext): { options: LoadOptions; warnings: string[] } {
  const warnings: string[] = [];
  const options: LoadOptions = { namespace: node.namespace, labels: node.labels, allowUnenforcedSecurity: ctx.allowUnenforcedSecurity, ...(ctx.workloadIdentity ? { workloadIdentity: true } : {}), ...(ctx.trustDomain !== undefined ? { trustDomain: ctx.trustDomain } : {}), ...(ctx.credentialsDir !== undefined ? { credentialsDir: ctx.credentialsDir } : {}) };
  if (node.kind === 'grpc') {
    // A gRPC client routes its own calls to the mesh's services; it listens for nothing.
    if (node.type === 'router') warnings.push(`proxy ${node.id}: a proxyless gRPC client is given the mesh's routes (a sidecar's view); its router type is ignored`);
    return { options, warnings };
  }
  if (node.type === 'router') {
    if (node.gateway !== null) options.gateway = node.gateway;
    else {
      const matched = matchingGateways(read, node.labels);
      if (matched.length === 0) warnings.push(`proxy ${node.id}: no Gateway's selector matches its labels ${JSON.stringify(node.labels)}; it serves nothing`);
      else {
        options.gateway = matched[0]!.ref;
        if (matched.length > 1) warnings.push(`proxy ${node.id}: the selectors of ${matched.map((m) => m.ref).join(', ')} match its labels; it serves ${matched[0]!.ref} only (one Gateway per proxy for now)`);
      }
    }
  }
  return { options, warnings };
}

/**
 * The view of `node` over `read`. Throws ConfigError when the mesh cannot be resolved for this
 * proxy (its Gateway does not exist …): the caller keeps the proxy's previous view.
 */
export function proxyView(node: XdsNode, read: ReadConfig, ctx: ViewContext): ProxyView {
  const { options, warnings } = loadOptionsFor(node, read, ctx);
  if (node.kind === 'grpc') {
    const loaded = (ctx.resolve ?? resolveConfig)(read, options);
    const { resources, warnings: w } = grpcXdsResources({ mesh: loaded.mesh, warnings: [...warnings, ...loaded.warnings] });
    return { options, snapshot: envoySnapshot(resources, ctx.encoder), warnings: w, ports: [] };
  }
  if (node.type === 'router' && options.gateway === undefined) {
    // Nothing to serve: an empty view (no listeners), not an error.
    const empty = { clusters: [], virtualHosts: [] };
    const snapshot = node.kind === 'wasmesh'
      ? wasmeshSnapshot({ version: ctx.version, mesh: empty, warnings })
      : envoySnapshot({ listeners: [], routes: [], clusters: [], endpoints: [] });
    return { options, snapshot, warnings, ports: [] };
  }
  const loaded = (ctx.resolve ?? resolveConfig)(read, options);
  const all = [...warnings, ...loaded.warnings];
  if (node.kind === 'wasmesh') {
    return { options, snapshot: wasmeshSnapshot({ version: ctx.version, mesh: inlineGatewayCredentials(loaded.mesh), warnings: all }), warnings: all, ports: [] };
  }
  // Envoy: a gateway listens on each of its Gateway's server ports (as Istio does without a
  // Service to map them), a sidecar on the outbound capture port; all on 0.0.0.0.
  // A Gateway server's `bind` sets the address (Istio's field); otherwise the pod's wildcard (`::`
  // on an IPv6-only gateway pod; 0.0.0.0 with `::` as an additional address on a dual-stack one). A node's
  // WASMESH_LISTEN (`envoy-bootstrap --listen`) puts its one listener there instead, as
  // `wasmesh envoy-config --listen` and a wasmesh proxy's `--listen` do.
  // A sidecar binds its pod's wildcard (`::` on an IPv6-only pod; 0.0.0.0 with `::` as an
  // additional address on a dual-stack one) and reaches its app on the pod's loopback.
  const wildcards = listenWildcards(node.ipFamilies ?? { ipv4: true, ipv6: false });
  let binds: Array<{ host: string; port: number }> = [{ host: wildcards[0]!, port: SIDECAR_OUTBOUND_PORT }];
  if (node.listen !== null) binds = [node.listen];
  else if (options.gateway !== undefined) {
    const spec = gatewaySpec(read, options.gateway, node.namespace);
    const byKey = new Map<string, { host: string; port: number }>();
    for (const s of spec?.servers ?? []) {
      const host = (s as { bind?: string }).bind ?? wildcards[0]!;
      byKey.set(`${host}:${s.port.number}`, { host, port: s.port.number });
    }
    binds = [...byKey.values()].sort((a, b) => a.port - b.port);
  }
  const ports = binds.map((b) => b.port);
  // A Gateway's TLS passthrough ports get their tls_inspector + tcp_proxy listeners, and its TCP
  // servers (TCP, MONGO, MYSQL, REDIS) their tcp_proxy listeners, on their binds (written with
  // the first HTTP listener's translation), never an HTTP listener.
  const gw = node.listen === null && options.gateway !== undefined;
  const passthroughPorts = new Set(gw ? (loaded.mesh.gatewayPassthroughListeners ?? []).map((l) => l.port) : []);
  const tcpServerPorts = new Set(gw ? (loaded.mesh.gatewayTcpListeners ?? []).map((l) => l.port) : []);
  const passthroughBinds = binds.filter((b) => passthroughPorts.has(b.port) || tcpServerPorts.has(b.port));
  const httpBinds = binds.filter((b) => !passthroughPorts.has(b.port) && !tcpServerPorts.has(b.port));
  const merged: EnvoyXdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const seen = new Set<string>();
  const translations = httpBinds.length > 0 ? httpBinds.map((listen, i) => ({ listen, http: true, withL4: i === 0 })) : passthroughBinds.slice(0, 1).map((listen) => ({ listen, http: false, withL4: true }));
  for (const { listen, http, withL4 } of translations) {
    const o = {
      listen, admin: { host: '127.0.0.1', port: 15000 }, gateway: options.gateway, namespace: node.namespace,
      ...(withL4 && passthroughBinds.length > 0 ? { gatewayPorts: passthroughBinds.map((b) => ({ port: b.port, at: b })) } : {}),
      ...(http ? {} : { httpListener: false }),
      // The TCP and passthrough listeners once, with the first translation (the others would bind them again).
      ...(withL4 ? {} : { l4Listeners: false }),
      // A sidecar behind capture (no WASMESH_LISTEN): Istio's virtualOutbound and per-destination
      // listeners, with the wasmesh filters too (their connection manager on every HTTP listener).
      ...(node.type === 'sidecar' && node.listen === null ? { sidecarOutbound: { transparent: node.interceptionMode === 'TPROXY', wildcards } } : {}),
    };
    // WASMESH_FILTERS (`envoy-bootstrap --filters`): routing by wasmesh's proxy-wasm filters, their
    // plugin configuration (the compiled route table) inside the listener that arrives over LDS.
    const { config, warnings: w } = node.metadata.WASMESH_FILTERS !== undefined && http
      ? envoyFiltersBootstrap(loaded, { ...o, wasmPath: defaultFiltersWasmPath(), istioStats: withTcpExchange(envoyIstioStats(node, ctx.connectedNodes?.() ?? [], ctx.trustDomain)) })
      : envoyBootstrap(loaded, o);
    for (const x of w) if (!all.includes(x)) all.push(x);
    // The tcp_proxy chains of a node with Istio's metrics get the TCP stats filter (the filters
    // bootstrap put it there already; a node with TCP ports only takes the native translation).
    const statics = (config as { static_resources: { listeners?: Array<Record<string, unknown>> } }).static_resources;
    const withTcpStats = { ...config, static_resources: { ...statics, listeners: (statics.listeners ?? []).map((l) => withOutboundTcpIstioStats(l, node, ctx.connectedNodes?.() ?? [], ctx.trustDomain, loaded.mesh.metricsOverrides)) } };
    const r = envoyXdsResources(withTcpStats as Record<string, unknown>);
    // A sidecar's outbound listeners name their wildcards themselves; a gateway's get them here.
    merged.listeners.push(...(node.type === 'sidecar' ? r.listeners : r.listeners.map((l) => withOtherWildcards(l, wildcards))));
    merged.routes.push(...r.routes);
    for (const c of withOutboundPeerExchange(r.clusters, node)) if (!seen.has(`c:${String(c.name)}`)) (seen.add(`c:${String(c.name)}`), merged.clusters.push(c));
    for (const e of r.endpoints) if (!seen.has(`e:${String(e.cluster_name)}`)) (seen.add(`e:${String(e.cluster_name)}`), merged.endpoints.push(e));
  }
  // An Envoy sidecar with app ports (WASMESH_APP_PORTS) gets Istio's virtualInbound too, under the
  // PeerAuthentication mode composed for it; without a workload identity (no CA) it is plaintext,
  // as a wasmesh sidecar's inbound is without one.
  if (node.type === 'sidecar' && node.appPorts.length > 0) {
    const { listener, clusters } = envoyInbound({
      listen: node.inbound ?? { host: wildcards[0]!, port: SIDECAR_INBOUND_PORT },
      ...(node.inbound === null && wildcards.length > 1 ? { additionalWildcards: wildcards.slice(1) } : {}),
      appPorts: node.appPorts,
      appAddress: appLoopback(node.ipFamilies ?? { ipv4: true, ipv6: false }),
      mode: loaded.mesh.inboundMtlsMode ?? 'DISABLE',
      ...(loaded.mesh.authorization !== undefined ? { authorization: loaded.mesh.authorization } : {}),
      ...(loaded.mesh.extAuthzProviders !== undefined ? { extAuthzProviders: loaded.mesh.extAuthzProviders } : {}),
      meshClusters: loaded.mesh.clusters,
      warnings: all,
      ...(loaded.mesh.pathNormalization !== undefined ? { pathNormalization: loaded.mesh.pathNormalization } : {}),
      ...(loaded.mesh.jwtRules !== undefined ? { jwtRules: loaded.mesh.jwtRules } : {}),
      ...(inboundTracingOf(loaded.mesh) !== undefined ? { tracing: inboundTracingOf(loaded.mesh)! } : {}),
      ...(inboundAccessLogsOf(loaded.mesh) !== undefined ? { accessLogs: inboundAccessLogsOf(loaded.mesh)! } : {}),
      ...(loaded.mesh.inboundRateLimit !== undefined ? { rateLimit: loaded.mesh.inboundRateLimit } : {}),
      // Behind iptables capture (no WASMESH_LISTEN), as the outbound side: Istio's original_dst
      // and InboundPassthroughCluster for the ports the workload does not declare.
      ...(node.listen === null ? { originalDestinations: { transparent: node.interceptionMode === 'TPROXY' } } : {}),
    });
    const r = envoyXdsResources({ static_resources: { listeners: [withInboundIstioStats(listener, node, ctx.connectedNodes?.() ?? [], ctx.trustDomain, loaded.mesh.metricsOverrides)], clusters } });
    merged.listeners.push(...r.listeners);
    merged.routes.push(...r.routes);
    // The outbound side may have named the same cluster already (the tracing collector's).
    for (const c of r.clusters) if (!seen.has(`c:${String(c.name)}`)) (seen.add(`c:${String(c.name)}`), merged.clusters.push(c));
    for (const e of r.endpoints) if (!seen.has(`e:${String(e.cluster_name)}`)) (seen.add(`e:${String(e.cluster_name)}`), merged.endpoints.push(e));
  }
  return { options, snapshot: envoySnapshot(merged, ctx.encoder), warnings: all, ports };
}
