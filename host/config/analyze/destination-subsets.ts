// Istio's virtualservice.DestinationRuleAnalyzer: a route or mirror destination that names a
// subset needs a DestinationRule for that host defining the subset. Istio reports a missing one as
// IST0101 ReferencedResourceNotFound "host+subset in destinationrule" (or "mirror+subset …"), the
// host and subset joined by `+`. Hosts compare as Istio's analyzer compares them: a short name
// in the referrer's namespace, `name.ns.svc.cluster.local` as that namespace's `name`.
import type { DestinationRuleSpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { mirrorDestinations, routeDestinations, type RouteDestination } from './route-destinations.js';
import { resourceNameOfHost } from './service-lookup.js';

export function destinationSubsetMessages(input: AnalysisInput): AnalysisMessage[] {
  const defined = new Set<string>();
  for (const r of ofKind(input, 'DestinationRule')) {
    const dr = r.spec as DestinationRuleSpec;
    for (const s of dr.subsets ?? []) defined.add(`${resourceNameOfHost(r.namespace, dr.host)}+${s.name}`);
  }
  // A rule the schema refused still names its host and subsets (as written): no second error for them.
  for (const r of input.invalid.filter((x) => x.kind === 'DestinationRule')) {
    const raw = r.spec as { host?: unknown; subsets?: unknown };
    if (typeof raw.host !== 'string' || !Array.isArray(raw.subsets)) continue;
    for (const s of raw.subsets as unknown[]) {
      const name = (s as { name?: unknown } | null)?.name;
      if (typeof name === 'string') defined.add(`${resourceNameOfHost(r.namespace, raw.host)}+${name}`);
    }
  }
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    const check = (d: RouteDestination, what: string): void => {
      const subset = d.destination.subset;
      if (subset === undefined || subset === '') return;
      if (defined.has(`${resourceNameOfHost(r.namespace, d.destination.host)}+${subset}`)) return;
      out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, r.fieldLine(d.path), what, `${d.destination.host}+${subset}`));
    };
    for (const d of routeDestinations(vs)) check(d, 'host+subset in destinationrule');
    for (const d of mirrorDestinations(vs)) check(d, 'mirror+subset in destinationrule');
  }
  return out;
}
