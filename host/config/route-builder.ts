// VirtualService rules to the model's routes: match blocks, weighted destinations naming
// Istio-style clusters, header operations and timeouts. Also Istio's own validation of a
// VirtualService (weights, a route per rule), which applies whether or not it is served.
import type { ConfigIssue } from './config-error.js';
import { parseDuration } from './duration.js';
import { expandHost } from './host-name.js';
import type { HeadersSpec, HttpMatchRequest, HttpRoute, StringMatchSpec, VirtualServiceSpec } from './istio-schemas.js';
import { issueAt, warningAt } from './issue-location.js';
import type { SourcedResource } from './read-resource.js';
import type { ServiceHost } from './service-registry.js';
import type { SubsetRegistry } from './subset-registry.js';
import type { PathSegment } from './yaml-source.js';
import type { HeaderMatch, HeaderOps, Route, RouteDestination, RouteMatch, StringMatch } from '../model/mesh.js';

/** Which proxy the routes are built for: a named Gateway or the mesh's sidecars. */
export type Binding = { kind: 'gateway'; namespace: string; name: string } | { kind: 'mesh' };

/** A cluster a route names, so resolution can emit it even when nothing defines it. */
export interface ClusterRef {
  name: string;
  host: string;
  port: number;
  subset: string | null;
}

export interface RouteContext {
  issues: ConfigIssue[];
  warnings: string[];
  knownNamespaces: ReadonlySet<string>;
  services: ReadonlyMap<string, ServiceHost>;
  subsets: SubsetRegistry;
  clusterRefs: Map<string, ClusterRef>;
}

export function clusterName(port: number, subset: string | null, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** `ns/name` of a gateway reference as Istio resolves it (`name`, `ns/name`, legacy `name.ns...`). */
export function resolveGatewayRef(ref: string, namespace: string): string {
  if (ref.includes('/')) return ref;
  if (ref.includes('.')) {
    const [name, ns] = ref.split('.');
    return `${ns}/${name}`;
  }
  return `${namespace}/${ref}`;
}

export function appliesToMesh(spec: VirtualServiceSpec): boolean {
  return spec.gateways === undefined || spec.gateways.length === 0 || spec.gateways.includes('mesh');
}

/** Istio's webhook checks, for every VirtualService loaded. */
export function validateVirtualService(vs: SourcedResource, issues: ConfigIssue[], warnings: string[]): void {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const ref = vs.ref;
  if ((spec.hosts ?? []).length === 0) {
    warnings.push(warningAt(ref, ['spec'], 'a VirtualService without hosts is a delegate; delegation is not served yet, so it is not used'));
  }
  if (spec.http === undefined && spec.tcp === undefined && spec.tls === undefined) {
    issues.push(issueAt(ref, 'missing_field', ['spec', 'http'], 'http, tcp or tls must be provided'));
  }
  if (appliesToMesh(spec)) {
    (spec.hosts ?? []).forEach((h, i) => {
      if (h === '*') issues.push(issueAt(ref, 'invalid_value', ['spec', 'hosts', i], 'wildcard host "*" is not allowed for VirtualServices bound to the mesh (name the gateway in spec.gateways)'));
    });
  }
  (spec.http ?? []).forEach((rule, i) => {
    const base: PathSegment[] = ['spec', 'http', i];
    const hasRoute = rule.route !== undefined && rule.route.length > 0;
    if (!hasRoute && rule.redirect === undefined && rule.directResponse === undefined && rule.delegate === undefined) {
      issues.push(issueAt(ref, 'missing_field', [...base, 'route'], 'an HTTP rule needs a route, redirect, directResponse or delegate'));
    }
    if (hasRoute && rule.redirect !== undefined) issues.push(issueAt(ref, 'invalid_value', [...base, 'redirect'], 'an HTTP rule cannot have both route and redirect'));
    if (hasRoute && rule.directResponse !== undefined) issues.push(issueAt(ref, 'invalid_value', [...base, 'directResponse'], 'an HTTP rule cannot have both route and directResponse'));
    const route = rule.route ?? [];
    if (route.length > 1) {
      // With several destinations every request must land somewhere: the split is in percent.
      const weights = route.map((d) => d.weight ?? 0);
      const sum = weights.reduce((a, b) => a + b, 0);
      if (sum !== 100) {
        issues.push(issueAt(ref, 'invalid_weight', [...base, 'route'], `the weights of the ${route.length} destinations sum to ${sum} (${weights.join(' + ')}); they must sum to 100`));
      }
    }
  });
}

function toHeaderOps(ops: NonNullable<HeadersSpec['request']> | undefined): HeaderOps {
  // Header names are case-insensitive; lower-case keeps the core's comparisons simple.
  return {
    set: Object.entries(ops?.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
    add: Object.entries(ops?.add ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
    remove: (ops?.remove ?? []).map((k) => k.toLowerCase()),
  };
}

function unsupported(ctx: RouteContext, vs: SourcedResource, path: PathSegment[], what: string): void {
  ctx.issues.push(
    issueAt(vs.ref, 'unsupported_field', path, `${what} is not served yet; serving this rule without it would send it requests it does not match. Remove the condition or the rule`),
  );
}

function toStringMatch(ctx: RouteContext, vs: SourcedResource, m: StringMatchSpec, path: PathSegment[]): StringMatch | null {
  if (m.regex !== undefined) {
    unsupported(ctx, vs, [...path, 'regex'], 'a regex match');
    return null;
  }
  if (m.exact !== undefined) return { kind: 'exact', value: m.exact };
  if (m.prefix !== undefined) return { kind: 'prefix', value: m.prefix };
  return null; // an empty StringMatch: for headers, "present with any value"
}

/** Match fields that select requests by something the matcher cannot look at yet. */
const UNSERVED_MATCH_FIELDS = ['method', 'queryParams', 'scheme', 'authority', 'port', 'sourceLabels', 'sourceNamespace'] as const;

function toRouteMatch(ctx: RouteContext, vs: SourcedResource, m: HttpMatchRequest, path: PathSegment[]): RouteMatch {
  for (const field of UNSERVED_MATCH_FIELDS) {
    if (m[field] !== undefined) unsupported(ctx, vs, [...path, field], `a ${field} match`);
  }
  const headers: HeaderMatch[] = [];
  for (const [invert, map, key] of [
    [false, m.headers, 'headers'],
    [true, m.withoutHeaders, 'withoutHeaders'],
  ] as const) {
    for (const [name, sm] of Object.entries(map ?? {})) {
      headers.push({ name: name.toLowerCase(), match: toStringMatch(ctx, vs, sm, [...path, key, name]), invert });
    }
  }
  let uri: StringMatch | null = null;
  if (m.uri !== undefined) uri = toStringMatch(ctx, vs, m.uri, [...path, 'uri']);
  return { uri, ignoreUriCase: m.ignoreUriCase ?? false, headers };
}

function matchBindsHere(m: HttpMatchRequest, binding: Binding, namespace: string): boolean {
  if (m.gateways === undefined || m.gateways.length === 0) return true;
  return m.gateways.some((g) =>
    g === 'mesh' ? binding.kind === 'mesh' : binding.kind === 'gateway' && resolveGatewayRef(g, namespace) === `${binding.namespace}/${binding.name}`,
  );
}

/** The routes of one served VirtualService, in rule order. */
export function buildRoutes(vs: SourcedResource, binding: Binding, ctx: RouteContext): Route[] {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const ns = vs.resource.namespace;
  const routes: Route[] = [];
  (spec.http ?? []).forEach((rule: HttpRoute, i) => {
    const base: PathSegment[] = ['spec', 'http', i];
    for (const field of ['redirect', 'directResponse', 'delegate'] as const) {
      if (rule[field] !== undefined) {
        ctx.issues.push(issueAt(vs.ref, 'unsupported_field', [...base, field], `${field} is not served yet, and this rule has no route to serve instead`));
      }
    }
    const matches: RouteMatch[] = [];
    const blocks = rule.match ?? [];
    blocks.forEach((m, j) => {
      // Istio drops match blocks scoped to other gateways; a rule left with none does not apply here.
      if (matchBindsHere(m, binding, ns)) matches.push(toRouteMatch(ctx, vs, m, [...base, 'match', j]));
    });
    if (blocks.length > 0 && matches.length === 0) return;
    const route = rule.route ?? [];
    const destinations: RouteDestination[] = route.map((d, k) =>
      buildDestination(vs, d, route.length === 1 ? 100 : (d.weight ?? 0), [...base, 'route', k], ctx),
    );
    let timeoutMs: number | null = null;
    if (rule.timeout !== undefined) {
      const parsed = parseDuration(rule.timeout);
      // "0s" is Istio's way to say "no timeout".
      if (parsed.ok && parsed.ms > 0) timeoutMs = parsed.ms;
    }
    routes.push({
      name: `${ns}/${vs.resource.name}/${rule.name ?? i}`,
      matches,
      destinations,
      requestHeaders: toHeaderOps(rule.headers?.request),
      responseHeaders: toHeaderOps(rule.headers?.response),
      timeoutMs,
    });
  });
  return routes;
}

function buildDestination(
  vs: SourcedResource,
  d: NonNullable<HttpRoute['route']>[number],
  weight: number,
  path: PathSegment[],
  ctx: RouteContext,
): RouteDestination {
  const host = expandHost(d.destination.host, vs.resource.namespace, ctx.knownNamespaces);
  const subset = d.destination.subset ?? null;
  const service = ctx.services.get(host);
  let port = d.destination.port?.number ?? null;
  if (service === undefined) {
    // Istio accepts a destination it has no service for; Envoy then answers 503 for it.
    ctx.warnings.push(warningAt(vs.ref, [...path, 'destination', 'host'], `no ServiceEntry defines host ${host}: requests routed here get 503 (no healthy upstream)`));
  } else if (port === null) {
    if (service.ports.length === 1) port = service.ports[0]!.number;
    else {
      ctx.issues.push(
        issueAt(vs.ref, 'ambiguous_port', [...path, 'destination'], `destination.port.number is required: ServiceEntry ${service.namespace}/${service.entry.resource.name} gives ${host} ${service.ports.length === 0 ? 'no ports' : `ports ${service.ports.map((p) => p.number).join(', ')}`}`),
      );
    }
  } else if (!service.ports.some((p) => p.number === port)) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'destination', 'port', 'number'], `port ${port} is not a port of ${host} (${service.ports.map((p) => p.number).join(', ')}): requests routed here get 503`));
  }
  if (subset !== null && !ctx.subsets.subsetsFor(host).has(subset)) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'destination', 'subset'], `no DestinationRule defines subset "${subset}" for host ${host}: requests routed here get 503 (no healthy upstream)`));
  }
  // Port unknown (no service, no port given): 0 names a cluster that has no endpoints.
  const effectivePort = port ?? 0;
  const name = clusterName(effectivePort, subset, host);
  if (!ctx.clusterRefs.has(name)) ctx.clusterRefs.set(name, { name, host, port: effectivePort, subset });
  return {
    cluster: name,
    weight,
    requestHeaders: toHeaderOps(d.headers?.request),
    responseHeaders: toHeaderOps(d.headers?.response),
  };
}
