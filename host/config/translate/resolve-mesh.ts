// Istio resources in effect → the MeshConfig one proxy serves. Gateway mode serves the
// VirtualServices bound to one Gateway, on the hosts both agree on; mesh mode serves those
// bound to the mesh, under every name a Kubernetes client may use, plus plain forwarding to
// each ServiceEntry host no VirtualService claims. Output order depends only on the input.
import { carriedAs, portProtocol, type PortProtocol } from '../../model/port-protocol.js';
import type { ServiceAddress } from '../../model/service-address.js';
import { telemetryTracing } from './telemetry-tracing.js';
import { telemetryMetrics } from './telemetry-metrics.js';
import { telemetryAccessLogging } from './telemetry-access-logging.js';
import type { ConfigIssue } from '../config-error.js';
import { expandHost, intersectHosts, meshDomains } from './host-name.js';
import type { GatewaySpec, VirtualServiceSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { LoadOptions } from '../loaded-config.js';
import { DEFAULT_NAMESPACE } from '../loaded-config.js';
import type { SourcedResource } from '../read-resource.js';
import {
  appliesToMesh,
  buildRoutes,
  clusterName,
  resolveGatewayRef,
  validateVirtualService,
  type Binding,
  type ClusterRef,
  type RouteContext,
} from './route-builder.js';
import { buildServiceRegistry, endpointsFor, type ServiceHost } from './service-registry.js';
import { addKubeServices } from './kube-registry.js';
import type { KubeSourced } from '../read-resource.js';
import { buildSubsetRegistry, type SubsetRegistry } from './subset-registry.js';
import { clusterTlsOf } from './cluster-tls-policy.js';
import { peerAuthenticationPolicies } from './peer-authentication.js';
import { inboundMtls, strictestMode } from '../../model/inbound-mtls.js';
import { clusterPolicyOf, mergeTrafficPolicy, validateTrafficPolicies } from './traffic-policy.js';
import { unservedFieldWarnings } from '../unserved-fields.js';
import { GATEWAY_HTTP_PROTOCOLS, gatewayListeners, isServedServer } from './gateway-tls.js';
import type { GatewayListener } from '../../model/gateway-listener.js';
import { checkGatewayTls, checkSecurityResource } from '../security-checks.js';
import type { SecurityGate } from '../security-gate.js';
import { noHeaderOps, type Cluster, type Endpoint, type MeshConfig, type VirtualHost } from '../../model/mesh.js';
import { istioDefaultRetryPolicy } from '../../model/istio-defaults.js';
import type { MeshSettings } from '../../model/mesh-settings.js';
import { authorizationPolicies, DEFAULT_TRUST_DOMAIN } from './authorization.js';
import { requestAuthenticationRules } from './request-authentication.js';
import { resolveRateLimits } from './rate-limit.js';
import type { RateLimitConfig } from '../../model/rate-limit.js';
import { catchAllClusters, catchAllVirtualHost } from './outbound-catch-all.js';
import { selectSidecar, sidecarScope, type SidecarScope } from './sidecar-scope.js';
import { buildTcpRoutes, validateTcpRoutes } from './tcp-route.js';
import { GATEWAY_TCP_PROTOCOLS, gatewayTcpListeners } from './gateway-tcp.js';
import type { GatewayTcpListener, TcpRoute } from '../../model/tcp-route.js';
import { buildTlsRoutes, validateTlsRoutes } from './tls-route.js';
import { gatewayPassthroughListeners, passthroughMode } from './gateway-passthrough.js';
import type { GatewayPassthroughListener } from '../../model/tls-route.js';


export interface ResolveInput {
  /** Resources in effect, in load order. */
  resources: readonly SourcedResource[];
  /** Kubernetes Services, EndpointSlices, Endpoints and Pods (file mode's Kubernetes registry); none when absent. */
  kube?: readonly KubeSourced[];
  options: LoadOptions;
  issues: ConfigIssue[];
  warnings: string[];
  /** `Kind ns/name` of documents that failed validation: not reported again as missing. */
  invalid: ReadonlySet<string>;
  /** meshConfig (rootNamespace, pathNormalization, outboundTrafficPolicy, extension providers). */
  settings: MeshSettings;
}

/** A gateway's L4 side: TCP ports and `tcp:` routes, TLS passthrough ports and `tls:` routes. */
interface GatewayL4 {
  routes: TcpRoute[];
  listeners: GatewayTcpListener[];
  tlsRoutes: TcpRoute[];
  passthrough: GatewayPassthroughListener[];
}

function ofKind(resources: readonly SourcedResource[], kind: string): SourcedResource[] {
  return resources.filter((r) => r.resource.kind === kind);
}

export function resolveMesh(input: ResolveInput): MeshConfig {
  const { resources, options, issues, warnings } = input;
  const proxyNamespace = options.namespace ?? DEFAULT_NAMESPACE;
  const kube = input.kube ?? [];
  const knownNamespaces = new Set<string>([proxyNamespace, ...resources.map((r) => r.resource.namespace), ...kube.map((k) => k.namespace)]);
  const registry = { issues, warnings, knownNamespaces, ...(options.trustDomain !== undefined ? { trustDomain: options.trustDomain } : {}) };
  const services = buildServiceRegistry(ofKind(resources, 'ServiceEntry'), ofKind(resources, 'WorkloadEntry'), registry);
  if (kube.length > 0) addKubeServices(services, kube, registry);
  const subsets = buildSubsetRegistry(ofKind(resources, 'DestinationRule'), { issues, warnings, knownNamespaces });
  const virtualServices = ofKind(resources, 'VirtualService');
  for (const vs of virtualServices) {
    validateVirtualService(vs, issues, warnings);
    validateTcpRoutes(vs, issues);
    validateTlsRoutes(vs, issues, warnings);
  }
  for (const r of resources) warnings.push(...unservedFieldWarnings(r));
  // Every resource in effect is checked, whichever proxy this is: files are shared by the
  // mesh's proxies, and none may serve open what the config asks to protect.
  const gate: SecurityGate = { allowUnenforced: options.allowUnenforcedSecurity === true, workloadIdentity: options.workloadIdentity === true, ...(options.credentialsDir !== undefined ? { credentialsDir: options.credentialsDir } : {}), issues, warnings };
  for (const r of resources) checkSecurityResource(r, gate);
  for (const gw of ofKind(resources, 'Gateway')) checkGatewayTls(gw, gate);
  for (const dr of ofKind(resources, 'DestinationRule')) validateTrafficPolicies(dr, gate);

  const ctx: RouteContext = {
    issues, warnings, knownNamespaces, services, subsets, clusterRefs: new Map<string, ClusterRef>(),
    proxy: { namespace: proxyNamespace, labels: options.labels ?? {}, binding: { kind: 'mesh' } },
  };
  const listeners: GatewayListener[] = [];
  const tcp: GatewayL4 = { routes: [], listeners: [], tlsRoutes: [], passthrough: [] };
  // A sidecar's Sidecar resource (sidecar-scope.ts); gateways are not scoped by one.
  const sidecarResource = options.gateway !== undefined ? null : selectSidecar(ofKind(resources, 'Sidecar'), proxyNamespace, options.labels ?? {}, input.settings.rootNamespace, { issues, warnings });
  const scope = sidecarResource === null ? null : sidecarScope(sidecarResource, proxyNamespace, input.settings.rootNamespace, { issues, warnings });
  const virtualHosts =
    options.gateway !== undefined
      ? gatewayVirtualHosts(options.gateway, proxyNamespace, resources, virtualServices, ctx, input, listeners, tcp)
      : meshVirtualHosts(proxyNamespace, virtualServices, ctx, scope, tcp.routes, tcp.tlsRoutes);
  let clusters = buildClusters(services, subsets, ctx.clusterRefs, options.workloadIdentity === true, options.credentialsDir);
  if (scope !== null) clusters = scopedClusters(clusters, virtualHosts, services, scope);
  const mesh: MeshConfig = { virtualHosts, clusters };
  if (tcp.routes.length > 0) mesh.tcpRoutes = tcp.routes;
  if (tcp.listeners.length > 0) mesh.gatewayTcpListeners = tcp.listeners;
  if (tcp.tlsRoutes.length > 0) mesh.tlsRoutes = tcp.tlsRoutes;
  if (tcp.passthrough.length > 0) mesh.gatewayPassthroughListeners = tcp.passthrough;
  const inboundRateLimit: { inbound: RateLimitConfig | null } = { inbound: null };
  const rateLimit = resolveRateLimits({ resources, options, rootNamespace: input.settings.rootNamespace, issues }, virtualHosts.flatMap((vh) => vh.routes), inboundRateLimit);
  if (rateLimit !== null) mesh.rateLimit = rateLimit;
  if (inboundRateLimit.inbound !== null) mesh.inboundRateLimit = inboundRateLimit.inbound;
  if (options.gateway !== undefined) mesh.gatewayListeners = listeners;
  else {
    // A sidecar's outbound side: hosts the mesh does not know pass through or are refused.
    const mode = scope?.outboundTrafficPolicy ?? input.settings.outboundTrafficPolicy;
    mesh.virtualHosts.push(catchAllVirtualHost(mode));
    mesh.clusters.push(...catchAllClusters());
    mesh.outboundTrafficPolicy = mode;
    const addresses = serviceAddresses(ctx.services, scope);
    if (addresses.length > 0) mesh.serviceAddresses = addresses;
    if (input.settings.protocolDetectionTimeoutMs !== undefined) mesh.protocolDetectionTimeoutMs = input.settings.protocolDetectionTimeoutMs;
  }
  // Without a workload identity the inbound port is plaintext (STRICT was refused by the loader,
  // or let through by --allow-unenforced-security, which serves without it).
  if (options.gateway === undefined && options.workloadIdentity === true) mesh.inboundMtlsMode = strictestMode(inboundMtls(peerAuthenticationPolicies(resources), { namespace: proxyNamespace, labels: options.labels ?? {} }));
  const authorization = authorizationPolicies(resources, {
    settings: input.settings, issues, warnings,
    proxy: {
      namespace: proxyNamespace,
      labels: proxyLabels(options, resources, proxyNamespace),
      trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
      // Callers present a mesh identity to a sidecar over its mTLS inbound, to a gateway with client certificates.
      peerIdentity: options.gateway !== undefined ? listeners.some((l) => l.servers.some((s) => s.tls !== null && s.tls.mode !== 'SIMPLE')) : options.workloadIdentity === true && mesh.inboundMtlsMode !== 'DISABLE',
    },
  });
  if (authorization.length > 0) mesh.authorization = authorization;
  const named = new Set(authorization.map((p) => p.provider).filter((p): p is string => p !== null));
  if (named.size > 0) mesh.extAuthzProviders = input.settings.extAuthzProviders.filter((p) => named.has(p.name));
  const jwtRules = requestAuthenticationRules(resources, { namespace: proxyNamespace, labels: options.labels ?? {}, rootNamespace: input.settings.rootNamespace, ...(options.gateway !== undefined ? { gateway: options.gateway.includes('/') ? options.gateway : `${proxyNamespace}/${options.gateway}` } : {}) }, issues, warnings);
  if (jwtRules.length > 0) mesh.jwtRules = jwtRules;
  const tracing = telemetryTracing(resources, { namespace: proxyNamespace, labels: proxyLabels(options, resources, proxyNamespace), ...(options.gateway !== undefined ? { gateway: options.gateway.includes('/') ? options.gateway : `${proxyNamespace}/${options.gateway}` } : {}) }, input.settings, issues, warnings);
  // `tracing` serves the traffic the workload sends (and a gateway's); the inbound listener's is
  // written only where Telemetry's SERVER mode makes it differ (null: none).
  if (tracing.client !== undefined) mesh.tracing = tracing.client;
  if (JSON.stringify(tracing.server) !== JSON.stringify(tracing.client)) mesh.inboundTracing = tracing.server ?? null;
  const accessLogs = telemetryAccessLogging(resources, { namespace: proxyNamespace, labels: proxyLabels(options, resources, proxyNamespace), ...(options.gateway !== undefined ? { gateway: options.gateway.includes('/') ? options.gateway : `${proxyNamespace}/${options.gateway}` } : {}) }, input.settings, issues, warnings);
  if (accessLogs.client.length > 0) mesh.accessLogs = accessLogs.client;
  if (JSON.stringify(accessLogs.server) !== JSON.stringify(accessLogs.client)) mesh.inboundAccessLogs = accessLogs.server;
  const metricsOverrides = telemetryMetrics(resources, { namespace: proxyNamespace, labels: proxyLabels(options, resources, proxyNamespace), ...(options.gateway !== undefined ? { gateway: options.gateway.includes('/') ? options.gateway : `${proxyNamespace}/${options.gateway}` } : {}) }, input.settings.rootNamespace, issues, warnings);
  if (metricsOverrides !== undefined) mesh.metricsOverrides = metricsOverrides;
  // Absent means BASE: only a non-default mode is written, so meshes without meshConfig compare equal.
  if (input.settings.pathNormalization !== 'BASE') mesh.pathNormalization = input.settings.pathNormalization;
  return mesh;
}

/**
 * The proxy's workload labels, as policies select them: --labels, and for a gateway proxy the
 * labels its Gateway's selector names (the gateway workload carries them, or it would not serve it).
 */
function proxyLabels(options: LoadOptions, resources: readonly SourcedResource[], proxyNamespace: string): Record<string, string> {
  const own = options.labels ?? {};
  if (options.gateway === undefined) return own;
  const wanted = options.gateway.includes('/') ? options.gateway : `${proxyNamespace}/${options.gateway}`;
  const gateway = ofKind(resources, 'Gateway').find((g) => `${g.resource.namespace}/${g.resource.name}` === wanted);
  return { ...((gateway?.resource.spec as GatewaySpec | undefined)?.selector ?? {}), ...own };
}

/**
 * Adds the VirtualService's `routes` to the virtual host of `key`, creating it; merging keeps
 * rule order. The first host of a VirtualService takes the routes built for it; every further
 * host takes copies, so no two virtual hosts share route objects (cloning each one every time
 * was half of resolving a 1,000-service mesh, where a VirtualService has one host).
 */
function addRoutes(hosts: Map<string, VirtualHost>, key: string, domains: string[], routes: RoutesOfOne): void {
  const existing = hosts.get(key);
  // A new array either way: a virtual host merges other VirtualServices' rules into its own.
  const copies = routes.taken ? routes.list.map((r) => structuredClone(r)) : [...routes.list];
  routes.taken = true;
  if (existing === undefined) hosts.set(key, { name: key, domains, routes: copies });
  else existing.routes.push(...copies);
}

/** The routes built for one VirtualService, and whether a virtual host already holds them. */
interface RoutesOfOne {
  list: VirtualHost['routes'];
  taken: boolean;
}

function gatewayVirtualHosts(
  gatewayOption: string,
  proxyNamespace: string,
  resources: readonly SourcedResource[],
  virtualServices: readonly SourcedResource[],
  ctx: RouteContext,
  input: ResolveInput,
  listeners: GatewayListener[],
  tcp: GatewayL4,
): VirtualHost[] {
  const wanted = gatewayOption.includes('/') ? gatewayOption : `${proxyNamespace}/${gatewayOption}`;
  const gateway = ofKind(resources, 'Gateway').find((g) => `${g.resource.namespace}/${g.resource.name}` === wanted);
  if (gateway === undefined) {
    if (!input.invalid.has(`Gateway ${wanted}`)) {
      const known = ofKind(resources, 'Gateway').map((g) => `${g.resource.namespace}/${g.resource.name}`);
      ctx.issues.push({
        code: 'unknown_gateway',
        file: null,
        doc: null,
        line: null,
        kind: 'Gateway',
        name: wanted,
        path: '--gateway',
        reason: `no Gateway ${wanted} in the loaded files (${known.length === 0 ? 'none defined' : `defined: ${known.join(', ')}`})`,
      });
    }
    return [];
  }
  const gwSpec = gateway.resource.spec as GatewaySpec;
  const gwNamespace = gateway.resource.namespace;
  // Each server host is `[namespace/]host`; the namespace limits which VirtualServices may bind.
  const serverHosts: Array<{ namespace: string; host: string }> = [];
  gwSpec.servers.forEach((server, i) => {
    const protocol = server.port.protocol.toUpperCase();
    if (GATEWAY_TCP_PROTOCOLS.has(protocol)) return; // a byte-proxy port (gateway-tcp.ts)
    if (passthroughMode(server) !== null) return; // routed by SNI (gateway-passthrough.ts)
    if (!GATEWAY_HTTP_PROTOCOLS.has(protocol)) {
      ctx.warnings.push(warningAt(gateway.ref, ['spec', 'servers', i, 'port', 'protocol'], `${server.port.protocol} servers are not served yet; server skipped`));
      return;
    }
    if (!isServedServer(server)) return; // its TLS mode is refused (security-checks.ts)
    for (const entry of server.hosts) {
      const slash = entry.indexOf('/');
      const ns = slash < 0 ? '*' : entry.slice(0, slash);
      serverHosts.push({ namespace: ns === '.' ? gwNamespace : ns, host: (slash < 0 ? entry : entry.slice(slash + 1)).toLowerCase() });
    }
  });
  listeners.push(...gatewayListeners(gateway, { issues: ctx.issues, credentialsDir: input.options.credentialsDir }));
  tcp.listeners.push(...gatewayTcpListeners(gateway, ctx.issues));
  const tcpPorts = new Set(tcp.listeners.map((l) => l.port));
  tcp.passthrough.push(...gatewayPassthroughListeners(gateway, ctx.issues, ctx.warnings));
  // The hosts a passthrough server takes, with the namespace a VirtualService must be in (`*`: any).
  const passthroughHosts = new Map<number, Array<{ namespace: string; host: string }>>();
  gwSpec.servers.forEach((server) => {
    if (passthroughMode(server) !== 'PASSTHROUGH') return;
    const list = passthroughHosts.get(server.port.number) ?? [];
    for (const entry of server.hosts) {
      const slash = entry.indexOf('/');
      const ns = slash < 0 ? '*' : entry.slice(0, slash);
      list.push({ namespace: ns === '.' ? gwNamespace : ns, host: (slash < 0 ? entry : entry.slice(slash + 1)).toLowerCase() });
    }
    passthroughHosts.set(server.port.number, list);
  });
  const passthroughPorts = new Set(tcp.passthrough.filter((l) => l.mode === 'PASSTHROUGH').map((l) => l.port));
  const binding: Binding = { kind: 'gateway', namespace: gwNamespace, name: gateway.resource.name };
  ctx.proxy.binding = binding;
  const hosts = new Map<string, VirtualHost>();
  for (const vs of virtualServices) {
    const spec = vs.resource.spec as VirtualServiceSpec;
    const ns = vs.resource.namespace;
    if (!(spec.gateways ?? []).some((g) => g !== 'mesh' && resolveGatewayRef(g, ns) === wanted)) continue;
    const tcpRoutes = buildTcpRoutes(vs, ctx);
    tcpRoutes.forEach((r) => {
      const ports = r.matches.map((m) => m.port).filter((p): p is number => p !== null);
      const unserved = ports.filter((p) => !tcpPorts.has(p));
      if (unserved.length > 0 || tcpPorts.size === 0) {
        const i = Number(r.name.slice(r.name.lastIndexOf('-') + 1));
        ctx.warnings.push(warningAt(vs.ref, ['spec', 'tcp', i], `${unserved.length > 0 ? `port ${unserved.join(', ')} is` : 'no port is'} a TCP server port of Gateway ${wanted}${tcpPorts.size > 0 ? ` (${[...tcpPorts].join(', ')})` : ''}: connections there are not routed by this rule`));
      }
    });
    tcp.routes.push(...tcpRoutes);
    for (const r of buildTlsRoutes(vs, ctx)) {
      const narrowed = gatewayTlsRoute(r, ns, passthroughPorts, passthroughHosts);
      if (narrowed !== null) tcp.tlsRoutes.push(narrowed);
      else {
        const i = Number(r.name.slice(r.name.lastIndexOf('-') + 1));
        ctx.warnings.push(warningAt(vs.ref, ['spec', 'tls', i], `no PASSTHROUGH server of Gateway ${wanted}${passthroughPorts.size > 0 ? ` (ports ${[...passthroughPorts].join(', ')})` : ''} takes these sniHosts on this port: connections are not routed by this rule`));
      }
    }
    if (spec.http === undefined) continue;
    const built: RoutesOfOne = { list: buildRoutes(vs, ctx), taken: false };
    (spec.hosts ?? []).forEach((raw, i) => {
      const host = expandHost(raw, ns, ctx.knownNamespaces);
      const served = new Set<string>();
      for (const sh of serverHosts) {
        if (sh.namespace !== '*' && sh.namespace !== ns) continue;
        const common = intersectHosts(host, sh.host);
        if (common !== null) served.add(common);
      }
      if (served.size === 0) {
        ctx.warnings.push(warningAt(vs.ref, ['spec', 'hosts', i], `host ${host} matches no HTTP server host of Gateway ${wanted}; not served`));
      }
      for (const h of served) addRoutes(hosts, h, [h], built);
    });
  }
  return [...hosts.values()];
}

/**
 * `r` as the gateway serves it (Istio's gateway TLS filter chains): each match once per
 * PASSTHROUGH port it applies to (its own port, or every one), its sniHosts narrowed to the
 * hosts the port's servers take from the VirtualService's namespace; null when nothing is left.
 */
function gatewayTlsRoute(r: TcpRoute, vsNamespace: string, ports: ReadonlySet<number>, hostsByPort: ReadonlyMap<number, Array<{ namespace: string; host: string }>>): TcpRoute | null {
  const matches: TcpRoute['matches'][number][] = [];
  for (const m of r.matches) {
    for (const port of ports) {
      if (m.port !== null && m.port !== port) continue;
      const sni = new Set<string>();
      for (const pattern of m.sniHosts) {
        for (const sh of hostsByPort.get(port) ?? []) {
          if (sh.namespace !== '*' && sh.namespace !== vsNamespace) continue;
          const common = intersectHosts(pattern, sh.host);
          if (common !== null) sni.add(common);
        }
      }
      if (sni.size > 0) matches.push({ port, destinationSubnets: m.destinationSubnets, sniHosts: [...sni] });
    }
  }
  return matches.length === 0 ? null : { ...r, matches };
}

function meshVirtualHosts(proxyNamespace: string, virtualServices: readonly SourcedResource[], ctx: RouteContext, scope: SidecarScope | null, tcpRoutes: TcpRoute[], tlsRoutes: TcpRoute[]): VirtualHost[] {
  ctx.proxy.binding = { kind: 'mesh' };
  const hosts = new Map<string, VirtualHost>();
  const owner = new Map<string, SourcedResource>();
  for (const vs of virtualServices) {
    const spec = vs.resource.spec as VirtualServiceSpec;
    if (!appliesToMesh(spec) || (spec.hosts ?? []).length === 0) continue;
    // Outside the Sidecar's egress hosts: not even built (most of a scoped proxy's mesh).
    if (scope !== null && !(spec.hosts ?? []).some((raw) => scope.visible(expandHost(raw, vs.resource.namespace, ctx.knownNamespaces), vs.resource.namespace))) continue;
    tcpRoutes.push(...buildTcpRoutes(vs, ctx));
    // `tls:` rules bound to the mesh: the sidecar's outbound capture routes TLS by SNI with them.
    tlsRoutes.push(...buildTlsRoutes(vs, ctx));
    const built: RoutesOfOne = { list: buildRoutes(vs, ctx), taken: false };
    (spec.hosts ?? []).forEach((raw, i) => {
      const host = expandHost(raw, vs.resource.namespace, ctx.knownNamespaces);
      if (host === '*') return; // rejected by validation already
      if (scope !== null && !scope.visible(host, vs.resource.namespace)) return; // outside the Sidecar's egress hosts
      const service = ctx.services.get(host);
      const ports = (service?.ports ?? []).map((p) => p.number);
      const first = owner.get(host);
      if (first !== undefined && first !== vs) {
        // Istio keeps only the oldest VirtualService of a host on sidecars; without creation
        // times we merge in load order, and say so.
        ctx.warnings.push(warningAt(vs.ref, ['spec', 'hosts', i], `host ${host} is also routed by VirtualService ${first.ref.name}; rules are merged in load order`));
      }
      owner.set(host, first ?? vs);
      addRoutes(hosts, host, host.startsWith('*.') ? [host] : meshDomains(host, proxyNamespace, ports), built);
    });
  }
  // Plain forwarding to every known service no VirtualService claims.
  const unclaimed = [...ctx.services.values()].filter((s) => !hosts.has(s.host) && (scope === null || scope.visible(s.host, s.namespace))).sort((a, b) => (a.host < b.host ? -1 : 1));
  for (const service of unclaimed) {
    for (const vh of forwardingVirtualHosts(service, proxyNamespace)) hosts.set(vh.name, vh);
  }
  return [...hosts.values()];
}

/**
 * The service ports a sidecar can tell by original destination: every port at each of a
 * ServiceEntry's `addresses` (VIPs or CIDRs), and, for a service without addresses, its
 * TCP-carried ports at any address (Istio's `0.0.0.0_<port>` listeners); HTTP ports without an
 * address are routed by Host as before. Sorted by host, so the output depends only on the input.
 */
function serviceAddresses(services: ReadonlyMap<string, ServiceHost>, scope: SidecarScope | null): ServiceAddress[] {
  const out: ServiceAddress[] = [];
  const sorted = [...services.values()].filter((s) => scope === null || scope.visible(s.host, s.namespace)).sort((a, b) => (a.host < b.host ? -1 : 1));
  for (const service of sorted) {
    const addresses = service.spec.addresses ?? [];
    for (const port of service.ports) {
      const protocol = portProtocol(port);
      const entry = { port: port.number, protocol, host: service.host, cluster: clusterName(port.number, null, service.host) };
      if (addresses.length > 0) for (const address of addresses) out.push({ address, ...entry });
      else if (carriedAs(protocol) === 'tcp') out.push({ address: null, ...entry });
    }
  }
  return out;
}

/**
 * Catch-all routes to a service's default clusters. One port: one virtual host for the host's
 * names with and without the port. Several: one per port, named with the port; the bare names
 * (a client omits the port only for 80) go to port 80 when the service has it.
 */
function forwardingVirtualHosts(service: ServiceHost, proxyNamespace: string): VirtualHost[] {
  const { host, ports } = service;
  const wildcard = host.startsWith('*.');
  return ports.map((port) => {
    const bare = ports.length === 1 || port.number === 80;
    let domains = wildcard ? [host] : meshDomains(host, proxyNamespace, [port.number]);
    if (!bare) domains = domains.filter((d) => d.endsWith(`:${port.number}`));
    else if (wildcard) domains = [host];
    return {
      name: ports.length === 1 ? host : `${host}:${port.number}`,
      domains,
      routes: [
        {
          name: `${service.namespace}/${service.source.name}/forward-${port.number}`,
          matches: [],
          destinations: [{ cluster: clusterName(port.number, null, host), weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
          requestHeaders: noHeaderOps(),
          responseHeaders: noHeaderOps(),
          timeoutMs: null,
          retry: istioDefaultRetryPolicy(),
        },
      ],
    };
  });
}

/**
 * Every service port's default and subset clusters, plus the clusters routes and mirrors name
 * that nothing defines (no endpoints: 503). Each gets its lb and policy from the
 * DestinationRule of its host, merged for its port and subset (traffic-policy.ts); a cluster
 * no rule speaks about gets Istio's defaults.
 */
function buildClusters(services: ReadonlyMap<string, ServiceHost>, subsets: SubsetRegistry, refs: ReadonlyMap<string, ClusterRef>, workloadIdentity: boolean, credentialsDir: string | undefined): Cluster[] {
  const clusters = new Map<string, Cluster>();
  const add = (host: string, port: number, subset: string | null, endpoints: Endpoint[], protocol?: PortProtocol): void => {
    const name = clusterName(port, subset, host);
    const info = subset === null ? null : (subsets.subsetsFor(host).get(subset) ?? null);
    const merged = mergeTrafficPolicy(subsets.policyFor(host), info, port);
    const { lb, policy } = clusterPolicyOf(merged);
    const spec = services.get(host)?.spec;
    // Istio: no auto mTLS to a MESH_EXTERNAL service (its endpoints have no sidecar); a
    // DestinationRule's explicit tls still applies.
    const autoMtls = workloadIdentity && !(spec?.location === 'MESH_EXTERNAL' && merged.tls === undefined);
    const tls = clusterTlsOf(merged.tls?.value as Parameters<typeof clusterTlsOf>[0], { host, port, subset, endpoints }, autoMtls, credentialsDir);
    // resolution NONE (the default): Istio's ORIGINAL_DST cluster, whatever the lb asked for.
    const passthrough = spec !== undefined && (spec.resolution ?? 'NONE') === 'NONE';
    const dns = spec?.resolution === 'DNS' ? 'STRICT_DNS' : spec?.resolution === 'DNS_ROUND_ROBIN' ? 'LOGICAL_DNS' : undefined;
    const rule = subsets.ruleFor(host);
    clusters.set(name, { name, host, port, subset, endpoints, lb: passthrough ? 'PASSTHROUGH' : lb, policy, ...(rule !== null && { destinationRule: rule }), ...(tls !== undefined && { tls }), ...(passthrough && { destinationFromAuthorityName: true }), ...(dns !== undefined && { dnsResolution: dns }), ...(protocol !== undefined && protocol !== 'HTTP' && { protocol }) });
  };
  for (const service of services.values()) {
    for (const port of service.ports) {
      const protocol = portProtocol(port);
      add(service.host, port.number, null, endpointsFor(service, port, {}), protocol);
      for (const s of subsets.subsetsFor(service.host).values()) add(service.host, port.number, s.name, endpointsFor(service, port, s.labels), protocol);
    }
  }
  for (const ref of refs.values()) {
    if (!clusters.has(ref.name)) add(ref.host, ref.port, ref.subset, []);
  }
  return [...clusters.values()].sort((a, b) =>
    a.host !== b.host ? (a.host < b.host ? -1 : 1) : a.port !== b.port ? a.port - b.port : (a.subset ?? '') < (b.subset ?? '') ? -1 : (a.subset ?? '') > (b.subset ?? '') ? 1 : 0,
  );
}

/**
 * The clusters a Sidecar-scoped proxy gets: those of the services its egress hosts make
 * visible, plus those its visible routes and mirrors name. A route to a hidden service keeps
 * its cluster without endpoints (503; Istio has no such cluster on the proxy, 503 NC).
 */
function scopedClusters(clusters: Cluster[], virtualHosts: readonly VirtualHost[], services: ReadonlyMap<string, ServiceHost>, scope: SidecarScope): Cluster[] {
  const named = new Set<string>();
  for (const vh of virtualHosts) {
    for (const r of vh.routes) {
      for (const d of r.destinations) named.add(d.cluster);
      for (const m of r.mirrors ?? []) named.add(m.cluster);
    }
  }
  const out: Cluster[] = [];
  for (const c of clusters) {
    const service = services.get(c.host);
    if (service === undefined || scope.visible(service.host, service.namespace)) out.push(c);
    else if (named.has(c.name)) out.push({ ...c, endpoints: [] });
  }
  return out;
}
