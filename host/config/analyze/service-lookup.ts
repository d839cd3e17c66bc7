// Istio's analyzer host lookup (pkg/config/analysis/analyzers/util/service_lookup.go, hosts.go):
// the hosts of ServiceEntries and Kubernetes Services, scoped by exportTo, and the lookup of a
// destination host from a namespace — exact FQDN in scope `*`, then in the caller's scopes, then
// a wildcard ServiceEntry host. Short names expand to `<name>.<namespace>.svc.cluster.local`;
// a name with a dot is taken as written, as Istio's analyzers do.
import type { AnalysisResource } from './analysis-input.js';

/** The ports a host exposes, as the analyzers compare them. */
export interface HostPorts {
  /** null: not known (a ServiceEntry refused by the schema), so no port is checked. */
  ports: readonly number[] | null;
  /** The ServiceEntry's workloadSelector labels (Services: none). */
  workloadSelector: Readonly<Record<string, string>>;
}

export const EXPORT_ALL = '*';
export const EXPORT_LOCAL = '.';
const CLUSTER_DOMAIN = 'svc.cluster.local';

/** Istio's ConvertHostToFQDN. */
export function toFqdn(namespace: string, host: string): string {
  return !host.startsWith('*') && !host.includes('.') ? `${host}.${namespace}.${CLUSTER_DOMAIN}` : host;
}

/** `scope/fqdn` (Istio's ScopedFqdn). */
export function scopedFqdn(scope: string, namespace: string, host: string): string {
  return `${scope}/${toFqdn(namespace, host)}`;
}

/** Istio's GetResourceNameFromHost: `namespace/name` of a host (`name.ns.svc.cluster.local`, or the host in `namespace`). */
export function resourceNameOfHost(namespace: string, host: string): string {
  const m = /^(.+)\.(.+)\.svc\.cluster\.local$/.exec(host);
  return m !== null ? `${m[2]}/${m[1]}` : `${namespace}/${host}`;
}

interface ServiceEntrySpecLike { hosts?: string[]; ports?: { number: number }[]; exportTo?: string[]; workloadSelector?: { labels?: Record<string, string> } }
interface ServiceSpecLike { ports?: { port?: unknown }[] }

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * Istio's InitServiceEntryHostMap over the analyzed resources, and the hosts of ServiceEntries
 * the schema refused (as written, ports unknown): Istio's analyzers still see those.
 */
export function serviceHostMap(resources: readonly AnalysisResource[], invalid: readonly AnalysisResource[] = []): Map<string, HostPorts> {
  const out = new Map<string, HostPorts>();
  const lenient = invalid.filter((r) => r.kind === 'ServiceEntry').map((r) => {
    const raw = r.spec as Record<string, unknown>;
    return { ...r, spec: { hosts: strings(raw['hosts']), exportTo: strings(raw['exportTo']) }, unknownPorts: true };
  });
  for (const r of [...lenient, ...resources.map((x) => ({ ...x, unknownPorts: false }))]) {
    if (r.kind === 'ServiceEntry') {
      const se = r.spec as ServiceEntrySpecLike;
      const value: HostPorts = { ports: r.unknownPorts ? null : (se.ports ?? []).map((p) => p.number), workloadSelector: se.workloadSelector?.labels ?? {} };
      const exportTo = se.exportTo ?? [];
      for (const h of se.hosts ?? []) {
        if (exportTo.length === 0 || exportTo.includes(EXPORT_ALL)) {
          out.set(scopedFqdn(EXPORT_ALL, r.namespace, h), value);
          if (exportTo.length === 0) continue;
        }
        for (const ns of exportTo) {
          if (ns === EXPORT_ALL) break;
          out.set(scopedFqdn(ns === EXPORT_LOCAL ? r.namespace : ns, r.namespace, h), value);
        }
      }
    } else if (r.kind === 'Service') {
      const svc = r.spec as ServiceSpecLike;
      const ports = (svc.ports ?? []).map((p) => p.port).filter((p): p is number => typeof p === 'number');
      const value: HostPorts = { ports, workloadSelector: {} };
      const anno = r.annotations['networking.istio.io/exportTo'];
      const scopes = anno === undefined || anno === ''
        ? [EXPORT_ALL]
        : anno.split(',').map((s) => s.trim()).map((s) => (s === EXPORT_LOCAL ? r.namespace : s));
      for (const scope of scopes) out.set(scopedFqdn(scope, r.namespace, r.name), value);
    }
  }
  return out;
}

/** Istio's GetDestinationHost: the service `host` names from `sourceNs` (with the referrer's exportTo), or null. */
export function destinationHost(sourceNs: string, exportTo: readonly string[], host: string, hosts: ReadonlyMap<string, HostPorts>): HostPorts | null {
  const all = hosts.get(scopedFqdn(EXPORT_ALL, sourceNs, host));
  if (all !== undefined) return all;
  const scopes = exportTo.length === 0 ? [sourceNs] : exportTo.map((e) => (e === EXPORT_LOCAL ? sourceNs : e));
  for (const scope of scopes) {
    const s = hosts.get(scopedFqdn(scope, sourceNs, host));
    if (s !== undefined) return s;
  }
  for (const [key, s] of hosts) {
    const slash = key.indexOf('/');
    const scope = key.slice(0, slash);
    const seHost = key.slice(slash + 1);
    if (!seHost.startsWith('*')) continue;
    if (scope !== EXPORT_ALL && scope !== sourceNs) continue;
    const bare = host.startsWith('*') ? host.slice(1) : host;
    if (bare.endsWith(seHost.slice(1))) return s;
  }
  return null;
}

/** Istio's host.Name.Matches: equal, or covered by a wildcard on either side. */
export function hostsMatch(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw && bw) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}
