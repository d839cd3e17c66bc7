// `wasmesh explain`: one request through the mesh as one proxy would serve it, every decision
// asked of the same compiled tables and core calls the proxy runs — the route table's matcher
// (and its per-block explanation calls for the rules that did not match), the smooth weighted
// round robin, the cluster's balancer, the authorization table — with the configuration read
// and resolved exactly as `wasmesh proxy -f` does. What needs runtime state the files do not
// hold (outlier ejections, active requests) is reported as what a fresh proxy starts with.
import { readConfig, resolveConfig, type ReadConfig } from '../config/load-config.js';
import { DEFAULT_NAMESPACE, type LoadOptions } from '../config/loaded-config.js';
import type { Cluster, MeshConfig, Route } from '../model/mesh.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import type { AuthzPolicy } from '../model/authorization.js';
import { istioDefaultRetryPolicy } from '../model/istio-defaults.js';
import { compileRouteTable } from '../compile/route-table.js';
import { compileAuthorization } from '../compile/authorization.js';
import { Core } from '../core/wasm.js';
import { RouteTable } from '../core/route/route-table.js';
import { RouteExplainer } from '../core/route/route-explain.js';
import { AuthzTable, EV_CUSTOM, EV_DENIED, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED } from '../core/authz/authz-table.js';
import { normalizePath } from '../http/path-normalization.js';
import type { ExplainRequestView } from './route-conditions.js';
import { firstRouteOf, walkRules, type RuleMatchVerdict } from './explain-rules.js';
export type { BlockVerdict, ConditionVerdict } from './explain-rules.js';
import { ExplainError } from './explain-error.js';
import { pickLikeProxy, type PickInput } from './explain-endpoint.js';
import { formatHostPort } from '../common/host-port.js';

export interface ExplainInput {
  /** Istio YAML files or folders, as `wasmesh proxy -f`. */
  readonly files: readonly string[];
  readonly url: string;
  /** Default GET. */
  readonly method?: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** A WorkloadEntry (`name` or `ns/name`): the request leaves through that workload's sidecar. */
  readonly from?: string;
  /** A Gateway (`name` or `ns/name`): the request enters through that ingress gateway. */
  readonly gateway?: string;
  /** Namespace of resources that name none, and of the default sidecar. Default `default`. */
  readonly namespace?: string;
  /** The source's SPIFFE identity without `spiffe://` (default: the --from workload's service account under mesh mTLS). */
  readonly principal?: string;
}

export interface RuleVerdict extends RuleMatchVerdict {
  /** `namespace/name` of the VirtualService, or null for a default route (no VirtualService). */
  readonly virtualService: string | null;
  readonly rule: string;
}

export interface DestinationVerdict {
  readonly cluster: string;
  readonly host: string;
  readonly port: number;
  readonly subset: string | null;
  readonly weight: number;
  /** weight / total × 100, rounded to 2 decimals. */
  readonly percent: number;
  /** The one the core's weighted round robin picks first. */
  readonly picked: boolean;
}

export interface EndpointVerdict {
  readonly cluster: string;
  readonly lb: string;
  /** Index in the cluster, or null when the host's hash balancer picks (CONSISTENT_HASH, PASSTHROUGH) or none is healthy. */
  readonly index: number | null;
  readonly address: string | null;
  readonly labels: Readonly<Record<string, string>> | null;
  readonly health: string;
  readonly outlierDetection: string;
  readonly endpoints: number;
  readonly note: string | null;
}

export interface AuthzVerdict {
  readonly decision: 'ALLOW' | 'DENY' | 'CUSTOM';
  /** The policy that decided (`ns/name`), or null when none did. */
  readonly policy: string | null;
  readonly action: string | null;
  /** The matching rule's index in that policy. */
  readonly rule: number | null;
  readonly reason: string;
  readonly shadow: string | null;
  /** The source principal the evaluation used (null: no mTLS identity). */
  readonly principal: string | null;
  readonly policies: readonly string[];
}

export interface ExplainReport {
  readonly request: {
    readonly method: string;
    readonly url: string;
    readonly authority: string;
    readonly path: string;
    /** The path routing and authorization see after meshConfig pathNormalization. */
    readonly normalizedPath: string;
    readonly headers: ReadonlyArray<readonly [string, string]>;
  };
  readonly proxy: { readonly kind: 'sidecar' | 'gateway'; readonly name: string; readonly namespace: string; readonly labels: Readonly<Record<string, string>> };
  readonly virtualHost: { readonly index: number; readonly name: string; readonly domains: readonly string[] } | null;
  readonly rules: readonly RuleVerdict[];
  readonly route: { readonly index: number; readonly name: string; readonly virtualService: string | null; readonly rule: string } | null;
  /** What the proxy answers: forwards upstream, redirects, answers directly, or 404 (no route) / 400 (path refused). */
  readonly action: { readonly kind: 'route' | 'redirect' | 'direct_response' | 'no_route' | 'bad_path' | 'no_destination'; readonly detail: string };
  readonly destinations: readonly DestinationVerdict[];
  readonly endpoint: EndpointVerdict | null;
  readonly timeoutMs: number | null;
  readonly retries: { readonly attempts: number; readonly retryOn: readonly string[]; readonly perTryTimeoutMs: number; readonly retriableStatusCodes: readonly number[]; readonly source: 'route' | 'istio default' } | null;
  readonly fault: { readonly delay: { readonly fixedDelayMs: number; readonly percentage: number } | null; readonly abort: { readonly httpStatus: number; readonly percentage: number } | null } | null;
  readonly mirrors: ReadonlyArray<{ readonly cluster: string; readonly percentage: number }>;
  readonly mtls: { readonly client: string; readonly auto: boolean; readonly server: EffectiveMtlsMode | null; readonly result: string } | null;
  readonly authorization: AuthzVerdict | null;
  /** --gateway: the AuthorizationPolicies selecting the gateway itself, evaluated before routing (null: none select it, or not a gateway). */
  readonly gatewayAuthorization: AuthzVerdict | null;
  readonly warnings: readonly string[];
}

export interface WorkloadRef {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string | null;
  address: string | null;
}

function workloads(read: ReadConfig): WorkloadRef[] {
  return read.effective
    .filter((r) => r.resource.kind === 'WorkloadEntry')
    .map((r) => {
      const spec = r.resource.spec as { labels?: Record<string, string>; serviceAccount?: string; address?: string };
      return { name: r.resource.name, namespace: r.resource.namespace, labels: { ...(spec.labels ?? {}) }, serviceAccount: spec.serviceAccount ?? null, address: spec.address ?? null };
    });
}

function findWorkload(read: ReadConfig, ref: string, defaultNs: string): WorkloadRef {
  const [ns, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : [null, ref];
  const all = workloads(read);
  const hits = all.filter((w) => w.name === name && (ns === null || w.namespace === ns));
  const pick = hits.length > 1 ? hits.find((w) => w.namespace === defaultNs) : hits[0];
  if (pick === undefined) {
    const known = all.map((w) => `${w.namespace}/${w.name}`).join(', ') || 'none';
    const why = hits.length > 1 ? `is ambiguous (${hits.map((w) => `${w.namespace}/${w.name}`).join(', ')}): write ns/name` : `is not a WorkloadEntry of the configuration (known: ${known})`;
    throw new ExplainError('unknown_workload', `--from ${ref} ${why}`);
  }
  return pick;
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ExplainError('bad_url', `"${url}" is not an absolute URL (write http://host[:port]/path)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ExplainError('bad_url', `"${url}": scheme ${u.protocol.slice(0, -1)} is not http or https`);
  if (u.username !== '' || u.password !== '') throw new ExplainError('bad_url', `"${url}": userinfo is not part of an HTTP request's authority`);
  return u;
}

function loadMesh(read: ReadConfig, options: LoadOptions): MeshConfig {
  return resolveConfig(read, options).mesh;
}

function routeSource(views: MeshViews, route: Route): { virtualService: string | null; rule: string } {
  const parts = route.name.split('/');
  const ns = parts[0] ?? '';
  const name = parts[1] ?? '';
  const rule = parts.slice(2).join('/');
  // Without resources (xDS): the default routes are the ones named `…/forward-<port>`.
  const isVs = views.isVirtualService(ns, name) ?? !/^forward-\d+$/.test(rule);
  return { virtualService: isVs ? `${ns}/${name}` : null, rule };
}

const pct = (n: number, total: number): number => Math.round((n / total) * 10000) / 100;

/** The namespace of a service host `name.ns.svc…`, else null. */
function namespaceOfHost(host: string): string | null {
  const parts = host.split('.');
  return parts.length >= 3 && parts[2] === 'svc' ? parts[1]! : null;
}

/**
 * Explains one request. Throws ExplainError for a bad URL, an unknown workload or gateway, and
 * ConfigError (with every located issue) for configuration that does not load.
 */
export function explainRequest(input: ExplainInput): ExplainReport {
  checkInput(input);
  return explainWithViews(input, fileViews(input));
}

/** The input checks every source shares (before any config is read or fetched). */
export function checkInput(input: ExplainInput): void {
  parseUrl(input.url);
  const method = (input.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new ExplainError('bad_method', `-X ${input.method}: an HTTP method is upper-case letters`);
  if (input.from !== undefined && input.gateway !== undefined) throw new ExplainError('bad_source', '--from and --gateway: give one (the request leaves a sidecar or enters a gateway)');
}

/** Where the meshes come from: files (fileViews) or a control plane (xds-views.ts). */
export interface MeshViews {
  readonly warnings: readonly string[];
  /** The routing proxy, its resolved mesh, and its workload when known (source principal and IP). */
  routing(): { proxy: ExplainReport['proxy']; mesh: MeshConfig; source: WorkloadRef | null };
  /** The destination workload's own view (its inbound PeerAuthentication and AuthorizationPolicies); null: not known (yet). */
  server(namespace: string, labels: Readonly<Record<string, string>>): MeshConfig | null;
  /** The WorkloadEntry behind an endpoint, when the source knows resources. */
  workloadAt(address: string, labels: Readonly<Record<string, string>>): WorkloadRef | null;
  /** Is ns/name a VirtualService? null: the source holds no resources (xDS). */
  isVirtualService(namespace: string, name: string): boolean | null;
}

/** The views of Istio YAML files, read and resolved as `wasmesh proxy -f` does. */
export function fileViews(input: ExplainInput): MeshViews {
  const defaultNs = input.namespace ?? DEFAULT_NAMESPACE;
  const read = readConfig(input.files, defaultNs);
  return {
    warnings: read.warnings,
    routing() {
      // The proxy that routes: the --from workload's sidecar, the --gateway, or (as `wasmesh proxy -f`
      // without --gateway) a sidecar in the default namespace with no labels.
      if (input.gateway !== undefined) {
        const [gns, gname] = input.gateway.includes('/') ? (input.gateway.split('/', 2) as [string, string]) : [defaultNs, input.gateway];
        if (!read.effective.some((r) => r.resource.kind === 'Gateway' && r.resource.name === gname && r.resource.namespace === gns)) {
          const known = read.effective.filter((r) => r.resource.kind === 'Gateway').map((r) => `${r.resource.namespace}/${r.resource.name}`).join(', ') || 'none';
          throw new ExplainError('unknown_gateway', `--gateway ${input.gateway} is not a Gateway of the configuration (known: ${known})`);
        }
        return { proxy: { kind: 'gateway', name: `${gns}/${gname}`, namespace: gns, labels: {} }, mesh: loadMesh(read, { gateway: input.gateway, namespace: defaultNs, workloadIdentity: true }), source: null };
      }
      if (input.from !== undefined) {
        const source = findWorkload(read, input.from, defaultNs);
        const proxy = { kind: 'sidecar' as const, name: `${source.namespace}/${source.name}`, namespace: source.namespace, labels: source.labels };
        return { proxy, mesh: loadMesh(read, { namespace: source.namespace, labels: source.labels, workloadIdentity: true }), source };
      }
      return { proxy: { kind: 'sidecar', name: '(default sidecar)', namespace: defaultNs, labels: {} }, mesh: loadMesh(read, { namespace: defaultNs, workloadIdentity: true }), source: null };
    },
    server: (namespace, labels) => loadMesh(read, { namespace, labels: { ...labels }, workloadIdentity: true }),
    workloadAt: (address, labels) => workloads(read).find((w) => w.address === address && Object.entries(w.labels).every(([k, v]) => labels[k] === v) && Object.keys(w.labels).length === Object.keys(labels).length) ?? null,
    isVirtualService: (ns, name) => read.effective.some((r) => r.resource.kind === 'VirtualService' && r.resource.namespace === ns && r.resource.name === name),
  };
}

/** Explains one request over `views` (checkInput first). */
export function explainWithViews(input: ExplainInput, views: MeshViews): ExplainReport {
  const u = parseUrl(input.url);
  const method = (input.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new ExplainError('bad_method', `-X ${input.method}: an HTTP method is upper-case letters`);
  const headers = (input.headers ?? []).map(([k, v]) => [k.trim().toLowerCase(), v.trim()] as const);
  for (const [k] of headers) if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(k)) throw new ExplainError('bad_header', `-H: "${k}" is not a header name`);
  if (input.from !== undefined && input.gateway !== undefined) throw new ExplainError('bad_source', '--from and --gateway: give one (the request leaves a sidecar or enters a gateway)');
  const defaultNs = input.namespace ?? DEFAULT_NAMESPACE;
  const warnings = [...views.warnings];
  const { proxy, mesh, source } = views.routing();

  // The request-target as sent (URL parsing would resolve `..` and re-encode, which is the
  // proxy's pathNormalization to decide); a fragment never leaves the client.
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^#]*)/i.exec(input.url)?.[1] ?? '';
  const target = raw === '' ? '/' : raw.startsWith('?') ? `/${raw}` : raw;
  if (!/^[\x21-\x7e]*$/.test(target)) throw new ExplainError('bad_url', `"${input.url}": the path holds a space, control or non-ASCII byte (percent-encode it, as a client sends it)`);
  const authority = u.host;
  if (u.protocol === 'https:') warnings.push('https: the listener is explained as plain HTTP (scheme http), as wasmesh serves it; a `scheme` match is decided for http');
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const normalized = normalizePath(target, mesh.pathNormalization ?? 'BASE');
  const request = { method, url: input.url, authority, path: target, normalizedPath: normalized ?? target, headers };
  const empty = {
    virtualHost: null, rules: [], route: null, destinations: [], endpoint: null, timeoutMs: null, retries: null,
    fault: null, mirrors: [], mtls: null, authorization: null, gatewayAuthorization: null, warnings,
  };
  if (normalized === null) {
    return { request, proxy, ...empty, action: { kind: 'bad_path', detail: `400: pathNormalization ${mesh.pathNormalization ?? 'BASE'} refuses the path` } };
  }

  const core = new Core();
  // A gateway's own policies run before routing (its RBAC filter precedes the router); the
  // caller's identity there is a client certificate's, which only --principal can give.
  const gatewayPolicies = proxy.kind === 'gateway' ? mesh.authorization ?? [] : [];
  const gatewayAuthorization = gatewayPolicies.length === 0 ? null : evaluateAuthorization(core, gatewayPolicies, request, input.principal ?? null, null, port);
  const table = RouteTable.load(core, compileRouteTable(mesh, { listenerPort: port }), 1);
  try {
    const x = new RouteExplainer(core, table);
    x.setRequest(method, normalized, authority, headers);
    const matched = x.matchedRoute();
    const vh = x.virtualHost();
    if (vh < 0) {
      const hosts = mesh.virtualHosts.map((v) => v.domains[0]).filter((d) => d !== undefined).slice(0, 8).join(', ');
      return { request, proxy, ...empty, gatewayAuthorization, action: { kind: 'no_route', detail: `404 NR: no virtual host serves authority "${authority}" (domains include ${hosts})` } };
    }
    const vhost = mesh.virtualHosts[vh]!;
    const view: ExplainRequestView = { method, path: normalized, authority, headers, port };
    const { rules: walked, chosen } = walkRules(x, mesh, vh, view);
    // The explanation walks the same calls; a disagreement would be a core bug, never shown as an answer.
    if (chosen !== matched) throw new Error(`explain: the core matched route ${matched}, its per-rule evaluation ${chosen}`);
    const rules = walked.map((r): RuleVerdict => ({ ...r, ...routeSource(views, mesh.virtualHosts[vh]!.routes[r.index - firstRouteOf(mesh, vh)]!) }));
    const first = firstRouteOf(mesh, vh);
    const base = { request, proxy, virtualHost: { index: vh, name: vhost.name, domains: vhost.domains }, rules, gatewayAuthorization, warnings };
    if (chosen < 0) {
      return { ...base, route: null, destinations: [], endpoint: null, timeoutMs: null, retries: null, fault: null, mirrors: [], mtls: null, authorization: null, action: { kind: 'no_route', detail: `404 NR: virtual host ${vhost.name} has no rule matching the request` } };
    }
    const route = vhost.routes[chosen - first]!;
    const src = routeSource(views, route);
    const common = {
      ...base,
      route: { index: chosen, name: route.name, ...src },
      timeoutMs: route.timeoutMs,
      fault: route.fault ?? null,
      mirrors: (route.mirrors ?? []).map((m) => ({ cluster: m.cluster, percentage: m.percentage })),
    };
    if (route.redirect) {
      const r = route.redirect;
      return { ...common, destinations: [], endpoint: null, retries: null, mtls: null, authorization: null, action: { kind: 'redirect', detail: `${r.redirectCode} redirect${r.scheme ? ` scheme ${r.scheme}` : ''}${r.authority ? ` authority ${r.authority}` : ''}${r.port ? ` port ${r.port}` : ''}${r.uri ? ` uri ${r.uri}` : ''}` } };
    }
    if (route.directResponse) {
      const d = route.directResponse;
      return { ...common, destinations: [], endpoint: null, retries: null, mtls: null, authorization: null, action: { kind: 'direct_response', detail: `${d.status} direct response${d.body !== null ? ` (${d.body.length} byte body)` : ''}` } };
    }
    const total = route.destinations.reduce((s, d) => s + d.weight, 0);
    const slot = route.destinations.length === 0 ? -1 : table.pickDestination(chosen);
    const destinations = route.destinations.map((d, i): DestinationVerdict => {
      const c = mesh.clusters.find((k) => k.name === d.cluster)!;
      return { cluster: d.cluster, host: c.host, port: c.port, subset: c.subset, weight: d.weight, percent: pct(d.weight, total), picked: i === slot };
    });
    const retry = route.retry ?? istioDefaultRetryPolicy();
    const retries = { attempts: retry.retries, retryOn: [...retry.retryOn], perTryTimeoutMs: retry.perTryTimeoutMs, retriableStatusCodes: [...retry.retriableStatusCodes], source: route.retry === undefined || JSON.stringify(route.retry) === JSON.stringify(istioDefaultRetryPolicy()) ? 'istio default' as const : 'route' as const };
    if (slot < 0) {
      return { ...common, destinations, endpoint: null, retries, mtls: null, authorization: null, action: { kind: 'no_destination', detail: '503: the route has no destination with weight' } };
    }
    const clusterIndex = mesh.clusters.findIndex((k) => k.name === route.destinations[slot]!.cluster);
    const cluster = mesh.clusters[clusterIndex]!;
    const endpoint = pickEndpoint(core, mesh, table, clusterIndex, { headers, path: normalized, authority, clientIp: source?.address ?? '127.0.0.1' });
    const ep = endpoint.index === null ? null : cluster.endpoints[endpoint.index]!;
    const { mtls, authorization } = serverSide(views, cluster, ep, source, input, request, defaultNs, core, warnings);
    return { ...common, destinations, endpoint, retries, mtls, authorization, action: { kind: 'route', detail: `forwarded to ${cluster.name}` } };
  } finally {
    table.release();
  }
}

function outlierText(c: Cluster): string {
  const o = c.policy?.outlier;
  if (!o) return 'off';
  return `consecutive5xx ${o.enforceConsecutive5xx ? o.consecutive5xx : 'off'}, consecutiveGatewayErrors ${o.enforceConsecutiveGatewayFailure ? o.consecutiveGatewayFailure : 'off'}, maxEjectionPercent ${o.maxEjectionPercent}`;
}

const HEALTH = 'healthy (a fresh proxy starts every endpoint healthy; outlier ejections are runtime state, see /clusters)';

function pickEndpoint(core: Core, mesh: MeshConfig, table: RouteTable, index: number, req: PickInput): EndpointVerdict {
  const c = mesh.clusters[index]!;
  const common = { cluster: c.name, lb: c.lb, endpoints: c.endpoints.length, outlierDetection: outlierText(c) };
  const pick = pickLikeProxy(core, mesh, table, index, req);
  if (pick === null) return { ...common, index: null, address: null, labels: null, health: 'no healthy endpoint', note: c.endpoints.length === 0 ? '503 UH: the cluster has no endpoint' : '503 UH: no endpoint is healthy' };
  const address = formatHostPort(pick.address, pick.port);
  if (pick.index < 0) return { ...common, index: null, address, labels: null, health: 'not a mesh endpoint', note: 'PASSTHROUGH: the destination the request names' };
  const ep = c.endpoints[pick.index]!;
  let note: string;
  if (c.lb === 'CONSISTENT_HASH') {
    const key = c.policy?.hash?.key;
    note = `consistent hash on ${key === undefined ? 'no key' : key.kind === 'header' || key.kind === 'cookie' || key.kind === 'queryParameter' ? `${key.kind} ${key.name}` : key.kind}${pick.setCookie !== null ? ` (the proxy would set ${pick.setCookie.split(';')[0]})` : ''}`;
  } else note = c.lb === 'ROUND_ROBIN' ? 'the first pick of the round robin' : c.lb === 'LEAST_REQUEST' ? 'least request with no request in flight' : 'a random pick';
  return { ...common, index: pick.index, address, labels: ep.labels, health: HEALTH, note };
}

function serverSide(
  views: MeshViews, cluster: Cluster, ep: Cluster['endpoints'][number] | null, source: WorkloadRef | null, input: ExplainInput,
  request: ExplainReport['request'], defaultNs: string, core: Core, warnings: string[],
): { mtls: ExplainReport['mtls']; authorization: AuthzVerdict | null } {
  const client = cluster.tls?.mode ?? 'DISABLE';
  const auto = cluster.tls?.auto ?? false;
  // The destination workload: the WorkloadEntry behind the endpoint (address and labels), its
  // namespace; its own inbound view decides PeerAuthentication and AuthorizationPolicy.
  const dest = ep === null ? null : views.workloadAt(ep.address, ep.labels);
  const destNs = dest?.namespace ?? namespaceOfHost(cluster.host) ?? defaultNs;
  if (ep === null) return { mtls: { client, auto, server: null, result: 'no endpoint picked: the server side is not known' }, authorization: null };
  const serverMesh = views.server(destNs, ep.labels);
  if (serverMesh === null) return { mtls: { client, auto, server: null, result: 'the destination workload\'s view is not known' }, authorization: null };
  const server = serverMesh.inboundMtlsMode ?? 'PERMISSIVE';
  const mtlsClient = client === 'ISTIO_MUTUAL';
  let result: string;
  if (server === 'STRICT' && !mtlsClient) result = `refused: the server requires mutual TLS (STRICT) and the client sends ${client === 'DISABLE' ? 'plaintext' : client}`;
  else if (mtlsClient) result = `mutual TLS (${auto ? 'auto mTLS: the endpoints run sidecars' : 'DestinationRule ISTIO_MUTUAL'}); the server is ${server}`;
  else result = `${client === 'DISABLE' ? 'plaintext' : client} accepted by a ${server} server`;

  const policies = serverMesh.authorization ?? [];
  let principal: string | null = input.principal ?? null;
  if (principal === null && mtlsClient && source?.serviceAccount) principal = `cluster.local/ns/${source.namespace}/sa/${source.serviceAccount}`;
  if (principal === null && mtlsClient && source === null && input.gateway === undefined) warnings.push('no --from workload: authorization sees no source principal (give --from or --principal)');
  if (server === 'STRICT' && !mtlsClient) {
    return { mtls: { client, auto, server, result }, authorization: { decision: 'DENY', policy: null, action: null, rule: null, reason: 'the connection is refused before authorization (mTLS STRICT)', shadow: null, principal, policies: policies.map((p) => p.name) } };
  }
  const v = evaluateAuthorization(core, policies, request, principal, ep.address, ep.port);
  return { mtls: { client, auto, server, result }, authorization: v };
}

/** The core's authorization decision for the request under `policies` (one proxy's, already scoped). */
function evaluateAuthorization(
  core: Core, policies: readonly AuthzPolicy[], request: ExplainReport['request'], principal: string | null,
  destinationIp: string | null, destinationPort: number,
): AuthzVerdict {
  const compiled = compileAuthorization(policies);
  const authz = AuthzTable.load(core, compiled, 1);
  try {
    const bits = authz.evaluateRequest({
      method: request.method, path: request.normalizedPath, authority: request.authority, headers: request.headers,
      principal, destinationIp, destinationPort,
    });
    const name = (i: number): string | null => (i >= 0 ? compiled.policies[i]!.name : null);
    const act = (i: number): string | null => (i >= 0 ? compiled.policies[i]!.action : null);
    const shadowBits = bits & (EV_SHADOW_ALLOWED | EV_SHADOW_DENIED);
    const shadow = shadowBits === 0 ? null : `dry-run ${name(authz.shadowPolicy()) ?? '(none matched)'} would ${(bits & EV_SHADOW_DENIED) !== 0 ? 'deny' : 'allow'}`;
    const base = { shadow, principal, policies: policies.map((p) => p.name) };
    let v: AuthzVerdict;
    if ((bits & EV_CUSTOM) !== 0) {
      const p = authz.customPolicy();
      v = { ...base, decision: 'CUSTOM', policy: name(p), action: 'CUSTOM', rule: authz.customRule(), reason: `CUSTOM policy ${name(p)} matched: its provider ${compiled.policies[p]!.provider ?? ''} decides` };
    } else if ((bits & EV_DENIED) !== 0) {
      const p = authz.policy();
      v = p >= 0
        ? { ...base, decision: 'DENY', policy: name(p), action: act(p), rule: authz.rule(), reason: `DENY policy ${name(p)} rule ${authz.rule()} matched` }
        : { ...base, decision: 'DENY', policy: null, action: null, rule: null, reason: 'ALLOW policies apply to the workload and none matched' };
    } else {
      const p = authz.policy();
      v = p >= 0
        ? { ...base, decision: 'ALLOW', policy: name(p), action: act(p), rule: authz.rule(), reason: `ALLOW policy ${name(p)} rule ${authz.rule()} matched` }
        : { ...base, decision: 'ALLOW', policy: null, action: null, rule: null, reason: policies.length === 0 ? 'no AuthorizationPolicy selects the workload' : 'no DENY policy matched and no ALLOW policy applies' };
    }
    return v;
  } finally {
    authz.release();
  }
}
