// DestinationRules by host: which subsets a service has (by labels), found the way Istio
// finds a rule for a host — the rule for that exact host, else the most specific wildcard.
// Traffic policies are kept in the resource model; those not served yet are warned about.
import type { ConfigIssue } from './config-error.js';
import { expandHost, hostCovers } from './host-name.js';
import type { DestinationRuleSpec } from './istio-schemas.js';
import { issueAt, warningAt, type DocumentRef } from './issue-location.js';
import type { SourcedResource } from './read-resource.js';
import type { PathSegment } from './yaml-source.js';

export interface SubsetInfo {
  name: string;
  labels: Record<string, string>;
  ref: DocumentRef;
  path: PathSegment[];
}

export interface SubsetRegistry {
  /** Subsets defined for `host` (an FQDN), by name; empty when no rule applies. */
  subsetsFor(host: string): Map<string, SubsetInfo>;
}

export interface SubsetContext {
  issues: ConfigIssue[];
  warnings: string[];
  knownNamespaces: ReadonlySet<string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function buildSubsetRegistry(rules: readonly SourcedResource[], ctx: SubsetContext): SubsetRegistry {
  const byHost = new Map<string, Map<string, SubsetInfo>>();
  for (const rule of rules) {
    const spec = rule.resource.spec as DestinationRuleSpec;
    const host = expandHost(spec.host, rule.resource.namespace, ctx.knownNamespaces);
    const own = new Map<string, SubsetInfo>();
    (spec.subsets ?? []).forEach((s, i) => {
      const path = ['spec', 'subsets', i];
      if (!DNS_LABEL.test(s.name)) ctx.issues.push(issueAt(rule.ref, 'invalid_value', [...path, 'name'], `subset name "${s.name}" must be a DNS label (a-z, 0-9, "-")`));
      if (own.has(s.name)) ctx.issues.push(issueAt(rule.ref, 'invalid_value', [...path, 'name'], `subset "${s.name}" is defined twice in this DestinationRule`));
      own.set(s.name, { name: s.name, labels: s.labels ?? {}, ref: rule.ref, path });
    });
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
  return {
    subsetsFor(host: string): Map<string, SubsetInfo> {
      const exact = byHost.get(host);
      if (exact !== undefined) return exact;
      const pattern = wildcards.find((w) => hostCovers(w, host));
      return pattern === undefined ? new Map() : byHost.get(pattern)!;
    },
  };
}
