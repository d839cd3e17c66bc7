// VirtualService rules to the model's routes: match blocks for this proxy, weighted
// destinations naming Istio-style clusters, header operations, timeouts and the rule's other
// actions (route-actions.ts). Also Istio's own validation of a VirtualService (weights, a
// route per rule), which applies whether or not it is served. Weights are kept as written:
// the core splits over their total, exactly (assembly/route/weighted.ts).
import type { ConfigIssue } from '../config-error.js';
import { parseDuration } from '../../common/duration.js';
import type { HeadersSpec, HttpRoute, VirtualServiceSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import { matchAppliesTo, toRouteMatch } from './match-builder.js';
import type { SourcedResource } from '../read-resource.js';
import { routeActionsOf } from './route-actions.js';
import { resolveCluster, type RouteContext } from './route-context.js';
import type { PathSegment } from '../yaml-source.js';
import { MAX_ROUTE_WEIGHT_TOTAL, type HeaderOps, type Route, type RouteDestination, type RouteMatch } from '../../model/mesh.js';

export { resolveGatewayRef, type Binding } from './match-builder.js';
export { clusterName, type ClusterRef, type RouteContext } from './route-context.js';

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
    if (rule.redirect !== undefined && rule.directResponse !== undefined) issues.push(issueAt(ref, 'invalid_value', [...base, 'directResponse'], 'an HTTP rule cannot have both redirect and directResponse'));
    if (rule.redirect !== undefined && rule.rewrite !== undefined) issues.push(issueAt(ref, 'invalid_value', [...base, 'rewrite'], 'an HTTP rule cannot have both redirect and rewrite'));
    const route = rule.route ?? [];
    if (route.length > 1) {
      // Current Istio (1.15+) takes any positive total and gives each destination weight/total;
      // a total of 0 would leave every request without a destination, and Istio refuses it.
      const weights = route.map((d) => d.weight ?? 0);
      const sum = weights.reduce((a, b) => a + b, 0);
      if (sum === 0) {
        issues.push(issueAt(ref, 'invalid_weight', [...base, 'route'], `the weights of the ${route.length} destinations total 0 (${weights.join(' + ')}; an unset weight is 0): at least one must be positive`));
      } else if (sum > MAX_ROUTE_WEIGHT_TOTAL) {
        // The core's smooth weighted round robin keeps per-destination credit in 32-bit integers.
        issues.push(issueAt(ref, 'invalid_weight', [...base, 'route'], `the weights of the ${route.length} destinations total ${sum}; at most ${MAX_ROUTE_WEIGHT_TOTAL} is supported (scale them down: only their ratio matters)`));
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

/** The routes of one served VirtualService, in rule order. */
export function buildRoutes(vs: SourcedResource, ctx: RouteContext): Route[] {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const ns = vs.resource.namespace;
  const routes: Route[] = [];
  (spec.http ?? []).forEach((rule: HttpRoute, i) => {
    const base: PathSegment[] = ['spec', 'http', i];
    if (rule.delegate !== undefined) {
      ctx.issues.push(issueAt(vs.ref, 'unsupported_field', [...base, 'delegate'], 'delegate is not served yet, and this rule has no route to serve instead'));
    }
    const matches: RouteMatch[] = [];
    const blocks = rule.match ?? [];
    blocks.forEach((m, j) => {
      // Blocks for other gateways, other workloads' labels or other namespaces never apply to
      // this proxy (Istio leaves them out of its config); a rule left with none is dropped.
      if (matchAppliesTo(m, ctx.proxy, ns)) matches.push(toRouteMatch(ctx.issues, vs, m, [...base, 'match', j]));
      if (m.statPrefix !== undefined) ctx.warnings.push(warningAt(vs.ref, [...base, 'match', j, 'statPrefix'], 'is not served yet: stats use the route name'));
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
    const actions = routeActionsOf(rule, base, vs, ctx);
    routes.push({
      name: `${ns}/${vs.resource.name}/${rule.name ?? i}`,
      virtualService: { namespace: ns, name: vs.resource.name },
      matches,
      destinations,
      requestHeaders: toHeaderOps(rule.headers?.request),
      responseHeaders: toHeaderOps(rule.headers?.response),
      timeoutMs,
      retry: actions.retry,
      redirect: actions.redirect,
      directResponse: actions.directResponse,
      rewrite: actions.rewrite,
      cors: actions.cors,
      fault: actions.fault,
      mirrors: actions.mirrors,
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
  return {
    cluster: resolveCluster(vs, d.destination, [...path, 'destination'], ctx),
    weight,
    requestHeaders: toHeaderOps(d.headers?.request),
    responseHeaders: toHeaderOps(d.headers?.response),
  };
}
