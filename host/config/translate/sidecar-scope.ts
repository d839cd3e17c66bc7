// The Istio Sidecar resource in effect for one sidecar proxy, and what it changes: which hosts
// the proxy's outbound side sees (egress[].hosts), and its outboundTrafficPolicy (overriding
// meshConfig's). Istio's precedence: a Sidecar in the workload's namespace whose
// workloadSelector matches its labels, else the namespace's Sidecar without selector, else the
// root namespace's Sidecar without selector (the mesh default). Gateways are not scoped by it.
import type { ConfigIssue } from '../config-error.js';
import type { SidecarSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { OutboundTrafficMode } from '../../model/mesh-settings.js';

/** One `namespace/dnsName` egress host of a Sidecar, resolved. */
interface EgressHost {
  /** null: any namespace (`*`); '' matches nothing (`~`). */
  namespace: string | null;
  /** `*`, `*.suffix` or an exact host, lower-case. */
  host: string;
}

export interface SidecarScope {
  /** `ns/name` of the Sidecar in effect. */
  name: string;
  /** Whether a host defined in `namespace` (ServiceEntry, VirtualService) is visible; all are without egress. */
  visible(host: string, namespace: string): boolean;
  /** The Sidecar's outboundTrafficPolicy.mode, null when it sets none. */
  outboundTrafficPolicy: OutboundTrafficMode | null;
}

interface ScopeContext {
  issues: ConfigIssue[];
  warnings: string[];
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The Sidecar that applies to a workload in `namespace` with `labels`, by Istio's precedence; null when none. */
export function selectSidecar(sidecars: readonly SourcedResource[], namespace: string, labels: Record<string, string>, rootNamespace: string, ctx: ScopeContext): SourcedResource | null {
  const spec = (r: SourcedResource) => r.resource.spec as SidecarSpec;
  const own = sidecars.filter((r) => r.resource.namespace === namespace);
  const pick = (candidates: SourcedResource[], what: string): SourcedResource | null => {
    if (candidates.length > 1) {
      // Istio takes the oldest; without creation times, the first in load order.
      ctx.warnings.push(warningAt(candidates[1]!.ref, [], `${candidates.length} Sidecars ${what} apply to this proxy; the first loaded (${candidates[0]!.resource.namespace}/${candidates[0]!.resource.name}) is used`));
    }
    return candidates[0] ?? null;
  };
  const selected = own.filter((r) => spec(r).workloadSelector !== undefined && selects(spec(r).workloadSelector!.labels ?? {}, labels));
  if (selected.length > 0) return pick(selected, `with a matching workloadSelector in namespace ${namespace}`);
  const namespaceWide = own.filter((r) => spec(r).workloadSelector === undefined);
  if (namespaceWide.length > 0) return pick(namespaceWide, `without workloadSelector in namespace ${namespace}`);
  const meshWide = sidecars.filter((r) => r.resource.namespace === rootNamespace && spec(r).workloadSelector === undefined);
  return pick(meshWide, `without workloadSelector in the root namespace ${rootNamespace}`);
}

/**
 * The scope of `sidecar` for a workload in `workloadNamespace`. Bad egress hosts are located
 * issues; fields the data path does not act on are located warnings.
 */
export function sidecarScope(sidecar: SourcedResource, workloadNamespace: string, rootNamespace: string, ctx: ScopeContext): SidecarScope {
  const spec = sidecar.resource.spec as SidecarSpec;
  const ref = sidecar.ref;
  // `.` is the Sidecar's namespace; in the root namespace's mesh default it is the workload's.
  const dot = sidecar.resource.namespace === rootNamespace ? workloadNamespace : sidecar.resource.namespace;
  const hosts: EgressHost[] = [];
  (spec.egress ?? []).forEach((listener, i) => {
    const path = ['spec', 'egress', i];
    if (listener.port !== undefined) ctx.warnings.push(warningAt(ref, [...path, 'port'], 'per-port egress listeners are not served yet: its hosts are visible on every port'));
    if (listener.bind !== undefined) ctx.warnings.push(warningAt(ref, [...path, 'bind'], 'is not served yet: the outbound listener keeps its --outbound address'));
    if (listener.captureMode !== undefined && listener.captureMode !== 'DEFAULT') ctx.warnings.push(warningAt(ref, [...path, 'captureMode'], 'is not served yet (wasmesh has no traffic capture)'));
    listener.hosts.forEach((raw, j) => {
      const slash = raw.indexOf('/');
      if (slash <= 0 || slash === raw.length - 1) {
        ctx.issues.push(issueAt(ref, 'invalid_value', [...path, 'hosts', j], `egress host "${raw}" must be namespace/dnsName (\`./*\`, \`ns/*\`, \`*/host\`, \`~/*\`)`));
        return;
      }
      const ns = raw.slice(0, slash);
      const host = raw.slice(slash + 1).toLowerCase();
      if (host !== '*' && host.includes('*') && !(host.startsWith('*.') && !host.slice(2).includes('*'))) {
        ctx.issues.push(issueAt(ref, 'invalid_value', [...path, 'hosts', j], `egress host "${raw}": a wildcard may only be \`*\` or a leading \`*.\``));
        return;
      }
      hosts.push({ namespace: ns === '*' ? null : ns === '~' ? '' : ns === '.' ? dot : ns, host });
    });
  });
  if (spec.ingress !== undefined) ctx.warnings.push(warningAt(ref, ['spec', 'ingress'], 'ingress listeners are not served yet: the inbound listener forwards to the --app-ports ports'));
  if (spec.inboundConnectionPool !== undefined) ctx.warnings.push(warningAt(ref, ['spec', 'inboundConnectionPool'], 'is not served yet'));
  if (spec.outboundTrafficPolicy?.egressProxy !== undefined) ctx.warnings.push(warningAt(ref, ['spec', 'outboundTrafficPolicy', 'egressProxy'], 'is not served yet: unknown hosts follow the mode'));
  // No egress section: every host is visible (Istio's default).
  const scoped = (spec.egress ?? []).length > 0;
  return {
    name: `${sidecar.resource.namespace}/${sidecar.resource.name}`,
    visible: !scoped ? () => true : (host, namespace) => hosts.some((e) => (e.namespace === null || e.namespace === namespace) && hostMatches(e.host, host.toLowerCase())),
    outboundTrafficPolicy: spec.outboundTrafficPolicy?.mode ?? null,
  };
}

/** Istio's egress host match: `*` any; `*.suffix` a host under it (or a narrower wildcard); else equal. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return host.endsWith(suffix) && host.length > suffix.length;
  }
  return pattern === host;
}
