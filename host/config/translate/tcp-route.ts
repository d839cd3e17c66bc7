// VirtualService `tcp:` rules → the model's TcpRoutes for one proxy (host/model/tcp-route.ts):
// match blocks whose gateways, sourceLabels and sourceNamespace leave this proxy out are dropped
// here (as for HTTP, match-builder.ts), destinationSubnets are checked as CIDRs, and the weighted
// destinations name Istio clusters the way HTTP destinations do (route-context.ts). Istio's own
// checks (a route per rule, weights that total more than 0) apply to every VirtualService loaded.
import { isIP } from 'node:net';
import type { ConfigIssue } from '../config-error.js';
import type { HttpMatchRequest, VirtualServiceSpec } from '../istio-schemas.js';
import { issueAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { PathSegment } from '../yaml-source.js';
import { matchAppliesTo } from './match-builder.js';
import { resolveCluster, type RouteContext } from './route-context.js';
import { expandHost } from './host-name.js';
import { MAX_ROUTE_WEIGHT_TOTAL } from '../../model/mesh.js';
import type { L4Match, TcpRoute } from '../../model/tcp-route.js';

type TcpRule = NonNullable<VirtualServiceSpec['tcp']>[number];
/** A `tcp:` or `tls:` rule's destination (the same RouteDestination message in Istio). */
type L4Destination = NonNullable<TcpRule['route']>[number];

/** Istio's webhook checks of `tcp:` rules, for every VirtualService loaded. */
export function validateTcpRoutes(vs: SourcedResource, issues: ConfigIssue[]): void {
  const spec = vs.resource.spec as VirtualServiceSpec;
  (spec.tcp ?? []).forEach((rule, i) => {
    const base: PathSegment[] = ['spec', 'tcp', i];
    (rule.match ?? []).forEach((m, j) => {
      const at: PathSegment[] = [...base, 'match', j];
      (m.destinationSubnets ?? []).forEach((cidr, k) => {
        const why = cidrProblem(cidr);
        if (why !== null) issues.push(issueAt(vs.ref, 'invalid_value', [...at, 'destinationSubnets', k], why));
      });
      // Deprecated in Istio and not served: refusing it beats routing connections it meant to keep out.
      if (m.sourceSubnet !== undefined) issues.push(issueAt(vs.ref, 'unsupported_field', [...at, 'sourceSubnet'], 'sourceSubnet is not served (deprecated in Istio; use an AuthorizationPolicy with ipBlocks)'));
    });
    const route = rule.route ?? [];
    if (route.length === 0) {
      issues.push(issueAt(vs.ref, 'missing_field', [...base, 'route'], 'a TCP rule needs at least one route destination'));
      return;
    }
    l4WeightIssues(vs, route, base, issues);
  });
}

/** Why `cidr` is not an address or `address/prefix` (IPv4 or IPv6), or null when it is. */
export function cidrProblem(cidr: string): string | null {
  const slash = cidr.indexOf('/');
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `"${cidr}" is not an IP address or CIDR (for example 10.0.0.0/8 or 2001:db8::/32)`;
  if (slash < 0) return null;
  const prefix = cidr.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `"${cidr}": the prefix length must be 0..${max}`;
  return null;
}

/** The `tcp:` routes of one served VirtualService for this proxy, in rule order. */
export function buildTcpRoutes(vs: SourcedResource, ctx: RouteContext): TcpRoute[] {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const ns = vs.resource.namespace;
  const hosts = (spec.hosts ?? []).map((h) => expandHost(h, ns, ctx.knownNamespaces));
  const out: TcpRoute[] = [];
  (spec.tcp ?? []).forEach((rule: TcpRule, i) => {
    const base: PathSegment[] = ['spec', 'tcp', i];
    const route = rule.route ?? [];
    if (route.length === 0) return; // refused by validateTcpRoutes
    const blocks = rule.match ?? [];
    const matches: L4Match[] = [];
    for (const m of blocks) {
      // gateways, sourceLabels and sourceNamespace are decided for this proxy now (L4 blocks
      // carry the same three fields as an HTTP match, read the same way).
      if (!matchAppliesTo(m as HttpMatchRequest, ctx.proxy, ns)) continue;
      matches.push({ port: m.port ?? null, destinationSubnets: (m.destinationSubnets ?? []).filter((c) => cidrProblem(c) === null), sniHosts: [] });
    }
    if (blocks.length > 0 && matches.length === 0) return;
    out.push(l4Route(vs, `tcp-${i}`, hosts, matches, route, base, ctx));
  });
  return out;
}

/** The weight checks of a `tcp:` or `tls:` rule's destinations (more than one: not all 0, total bounded). */
export function l4WeightIssues(vs: SourcedResource, route: readonly L4Destination[], base: PathSegment[], issues: ConfigIssue[]): void {
  if (route.length <= 1) return;
  const weights = route.map((d) => d.weight ?? 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) issues.push(issueAt(vs.ref, 'invalid_weight', [...base, 'route'], `the weights of the ${route.length} destinations total 0 (${weights.join(' + ')}; an unset weight is 0): at least one must be positive`));
  else if (sum > MAX_ROUTE_WEIGHT_TOTAL) issues.push(issueAt(vs.ref, 'invalid_weight', [...base, 'route'], `the weights of the ${route.length} destinations total ${sum}; at most ${MAX_ROUTE_WEIGHT_TOTAL} is supported (scale them down: only their ratio matters)`));
}

/** One `tcp:` or `tls:` rule as a route: named `<ns>/<vs>/<rule>`, its destinations as weighted clusters. */
export function l4Route(vs: SourcedResource, rule: string, hosts: string[], matches: L4Match[], route: readonly L4Destination[], base: PathSegment[], ctx: RouteContext): TcpRoute {
  const ns = vs.resource.namespace;
  return {
    name: `${ns}/${vs.resource.name}/${rule}`,
    virtualService: { namespace: ns, name: vs.resource.name },
    hosts,
    matches,
    destinations: route.map((d, k) => ({
      cluster: resolveCluster(vs, d.destination, [...base, 'route', k, 'destination'], ctx),
      weight: route.length === 1 ? 100 : (d.weight ?? 0),
    })),
  };
}
