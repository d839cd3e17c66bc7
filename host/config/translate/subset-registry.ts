// DestinationRules by host: which subsets a service has (by labels) and the traffic policies
// at service and subset level, found the way Istio finds a rule for a host — the rule for
// that exact host, else the most specific wildcard. Several rules for one host merge as
// Istio merges them: subsets by name (here the later definition wins, with a warning), and
// the service-level trafficPolicy of the first rule that has one (Istio's mergeDestinationRule).
import type { ConfigIssue } from '../config-error.js';
import { expandHost, hostCovers } from './host-name.js';
import type { DestinationRuleSpec, TrafficPolicySpec } from '../istio-schemas.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { PathSegment } from '../yaml-source.js';

export interface SubsetInfo {
  name: string;
  labels: Record<string, string>;
  /** The subset's own trafficPolicy, if any (merged over the service level per cluster). */
  trafficPolicy: TrafficPolicySpec | undefined;
  ref: DocumentRef;
  path: PathSegment[];
}

/** A service-level trafficPolicy and where it is written. */
export interface LocatedPolicy {
  policy: TrafficPolicySpec;
  ref: DocumentRef;
  path: PathSegment[];
}

export interface SubsetRegistry {
  /** Subsets defined for `host` (an FQDN), by name; empty when no rule applies. */
  subsetsFor(host: string): Map<string, SubsetInfo>;
  /** The service-level trafficPolicy of the rule that applies to `host`, or null. */
  policyFor(host: string): LocatedPolicy | null;
  /** The DestinationRule that applies to `host` (the first of several for one rule host, whose metadata Istio's merge keeps), or null. */
  ruleFor(host: string): { namespace: string; name: string } | null;
}

export interface SubsetContext {
  issues: ConfigIssue[];
  warnings: string[];
  knownNamespaces: ReadonlySet<string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function buildSubsetRegistry(rules: readonly SourcedResource[], ctx: SubsetContext): SubsetRegistry {
  const byHost = new Map<string, Map<string, SubsetInfo>>();
  const policies = new Map<string, LocatedPolicy>();
  const firstRule = new Map<string, { namespace: string; name: string }>();
  for (const rule of rules) {
    const spec = rule.resource.spec as DestinationRuleSpec;
    const host = expandHost(spec.host, rule.resource.namespace, ctx.knownNamespaces);
    if (!firstRule.has(host)) firstRule.set(host, { namespace: rule.resource.namespace, name: rule.resource.name });
    const own = new Map<string, SubsetInfo>();
    (spec.subsets ?? []).forEach((s, i) => {
      const path = ['spec', 'subsets', i];
      if (!DNS_LABEL.test(s.name)) ctx.issues.push(issueAt(rule.ref, 'invalid_value', [...path, 'name'], `subset name "${s.name}" must be a DNS label (a-z, 0-9, "-")`));
      if (own.has(s.name)) ctx.issues.push(issueAt(rule.ref, 'invalid_value', [...path, 'name'], `subset "${s.name}" is defined twice in this DestinationRule`));
      own.set(s.name, { name: s.name, labels: s.labels ?? {}, trafficPolicy: s.trafficPolicy, ref: rule.ref, path });
    });
    if (spec.trafficPolicy !== undefined) {
      const first = policies.get(host);
      if (first === undefined) policies.set(host, { policy: spec.trafficPolicy, ref: rule.ref, path: ['spec', 'trafficPolicy'] });
      else {
        ctx.warnings.push(warningAt(rule.ref, ['spec', 'trafficPolicy'], `is ignored: DestinationRule ${first.ref.name} (${first.ref.source.file}) already sets the trafficPolicy of host ${host}, and the first one applies (as Istio merges rules)`));
      }
    }
    const merged = byHost.get(host) ?? new Map<string, SubsetInfo>();
    for (const [name, info] of own) {
      const earlier = merged.get(name);
      if (earlier !== undefined && earlier.ref !== rule.ref) {
        ctx.warnings.push(warningAt(rule.ref, info.path, `subset "${name}" of host ${host} is also defined by DestinationRule ${earlier.ref.name} (${earlier.ref.source.file}); this later definition is used`));
      }
      merged.set(name, info);
    }
    byHost.set(host, merged);
  }
  const wildcards = [...byHost.keys()].filter((h) => h === '*' || h.startsWith('*.')).sort((a, b) => b.length - a.length);
  /** The rule host that applies to `host`: itself, else the most specific wildcard. */
  const ruleHost = (host: string): string | undefined => (byHost.has(host) ? host : wildcards.find((w) => hostCovers(w, host)));
  return {
    subsetsFor(host: string): Map<string, SubsetInfo> {
      const h = ruleHost(host);
      return h === undefined ? new Map() : byHost.get(h)!;
    },
    policyFor(host: string): LocatedPolicy | null {
      const h = ruleHost(host);
      return h === undefined ? null : (policies.get(h) ?? null);
    },
    ruleFor(host: string): { namespace: string; name: string } | null {
      const h = ruleHost(host);
      return h === undefined ? null : (firstRule.get(h) ?? null);
    },
  };
}
