// VirtualService `tls:` rules → the model's TLS routes (TcpRoutes whose matches carry sniHosts,
// host/model/tls-route.ts) for one proxy, with Istio's webhook checks for every VirtualService
// loaded (validateTLSRoute, validateTLSMatch, validateSniHost): a rule needs a match and a
// route; a match needs sniHosts, each a DNS name or wildcard (an IP is a warning) that is a
// subset of one of the VirtualService's hosts; destinationSubnets are CIDRs. On a gateway,
// resolve-mesh.ts narrows each match's sniHosts to the passthrough servers' hosts.
import type { ConfigIssue } from '../config-error.js';
import type { HttpMatchRequest, VirtualServiceSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { PathSegment } from '../yaml-source.js';
import { matchAppliesTo } from './match-builder.js';
import type { RouteContext } from './route-context.js';
import { expandHost, hostCovers, isIpAddress } from './host-name.js';
import { cidrProblem, l4Route, l4WeightIssues } from './tcp-route.js';
import type { L4Match, TcpRoute } from '../../model/tcp-route.js';

/** Istio's ValidateWildcardDomain: DNS labels, the first one `*` at most (or `*` alone). */
const WILDCARD_DOMAIN = /^(\*|(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$/;

/** Istio's webhook checks of `tls:` rules, for every VirtualService loaded. */
export function validateTlsRoutes(vs: SourcedResource, issues: ConfigIssue[], warnings: string[]): void {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const vsHosts = (spec.hosts ?? []).map((h) => h.toLowerCase());
  (spec.tls ?? []).forEach((rule, i) => {
    const base: PathSegment[] = ['spec', 'tls', i];
    if (rule.match.length === 0) issues.push(issueAt(vs.ref, 'missing_field', [...base, 'match'], 'a TLS rule needs at least one match condition (with sniHosts)'));
    rule.match.forEach((m, j) => {
      const at: PathSegment[] = [...base, 'match', j];
      if (m.sniHosts.length === 0) issues.push(issueAt(vs.ref, 'missing_field', [...at, 'sniHosts'], 'a TLS match needs at least one SNI host'));
      m.sniHosts.forEach((sni, k) => {
        const where: PathSegment[] = [...at, 'sniHosts', k];
        const name = sni.toLowerCase();
        // Istio: an all-numeric top-level label is no domain; an IP address is a warning.
        if (isIpAddress(name)) {
          warnings.push(warningAt(vs.ref, where, `using an IP address ("${sni}") goes against the SNI spec and most clients do not send one`));
          return;
        }
        if (!WILDCARD_DOMAIN.test(name) || name.length > 255 || /(^|\.)\d+$/.test(name)) {
          issues.push(issueAt(vs.ref, 'invalid_value', where, `"${sni}" is not a DNS name or wildcard (*.example.com)`));
          return;
        }
        // Istio: the SNI host must be a subset of one of the VirtualService's hosts.
        if (!vsHosts.some((h) => hostCovers(h, name))) issues.push(issueAt(vs.ref, 'invalid_value', where, `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${(spec.hosts ?? []).join(', ')}]`));
      });
      (m.destinationSubnets ?? []).forEach((cidr, k) => {
        const why = cidrProblem(cidr);
        if (why !== null) issues.push(issueAt(vs.ref, 'invalid_value', [...at, 'destinationSubnets', k], why));
      });
    });
    const route = rule.route ?? [];
    if (route.length === 0) {
      issues.push(issueAt(vs.ref, 'missing_field', [...base, 'route'], 'a TLS rule needs at least one route destination'));
      return;
    }
    l4WeightIssues(vs, route, base, issues);
  });
}

/** The `tls:` routes of one served VirtualService for this proxy, in rule order (sniHosts lower-case). */
export function buildTlsRoutes(vs: SourcedResource, ctx: RouteContext): TcpRoute[] {
  const spec = vs.resource.spec as VirtualServiceSpec;
  const ns = vs.resource.namespace;
  const hosts = (spec.hosts ?? []).map((h) => expandHost(h, ns, ctx.knownNamespaces));
  const out: TcpRoute[] = [];
  (spec.tls ?? []).forEach((rule, i) => {
    const base: PathSegment[] = ['spec', 'tls', i];
    const route = rule.route ?? [];
    if (route.length === 0) return; // refused by validateTlsRoutes
    const matches: L4Match[] = [];
    for (const m of rule.match) {
      // gateways, sourceLabels and sourceNamespace are decided for this proxy now, as for HTTP.
      if (!matchAppliesTo(m as HttpMatchRequest, ctx.proxy, ns)) continue;
      matches.push({
        port: m.port ?? null,
        destinationSubnets: (m.destinationSubnets ?? []).filter((c) => cidrProblem(c) === null),
        sniHosts: m.sniHosts.map((h) => h.toLowerCase()),
      });
    }
    if (matches.length === 0) return;
    out.push(l4Route(vs, `tls-${i}`, hosts, matches, route, base, ctx));
  });
  return out;
}
