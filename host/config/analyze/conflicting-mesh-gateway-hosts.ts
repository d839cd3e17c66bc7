// Istio's virtualservice.ConflictingMeshGatewayHostsAnalyzer: two VirtualServices bound to the
// mesh gateway (no `gateways`, or `mesh` among them) that define the same host for the same
// namespaces (exportTo) leave the sidecars' routing undefined: IST0109 on each, naming all of them
// (sorted `ns/name`, comma-separated) and the scoped host (`*/reviews.default.svc.cluster.local`).
// A host exported to some namespaces also conflicts with a matching host exported to all.
import type { VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { EXPORT_ALL, EXPORT_LOCAL, hostsMatch, scopedFqdn } from './service-lookup.js';
import { MESH_GATEWAY } from './virtual-service-gateways.js';

export function conflictingMeshGatewayHostMessages(input: AnalysisInput): AnalysisMessage[] {
  const byHost = new Map<string, AnalysisResource[]>();
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    const gateways = vs.gateways ?? [];
    if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) continue;
    const exportTo = vs.exportTo ?? [];
    const scopes = exportTo.length === 0 || exportTo.includes(EXPORT_ALL)
      ? [EXPORT_ALL]
      : [...new Set(exportTo.map((e) => (e === EXPORT_LOCAL ? r.namespace : e)))];
    for (const scope of scopes) {
      for (const h of vs.hosts ?? []) {
        const key = scopedFqdn(scope, r.namespace, h);
        byHost.set(key, [...(byHost.get(key) ?? []), r]);
      }
    }
  }
  const split = (key: string): [string, string] => [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
  const reported = new Set<string>();
  const out: AnalysisMessage[] = [];
  for (const [key, own] of byHost) {
    const [scope, host] = split(key);
    let list = own;
    if (scope !== EXPORT_ALL) {
      for (const [other, vss] of byHost) {
        const [otherScope, otherHost] = split(other);
        if (otherScope === EXPORT_ALL && hostsMatch(host, otherHost)) list = [...list, ...vss];
      }
    }
    if (list.length < 2) continue;
    const names = list.map((r) => `${r.namespace}/${r.name}`).sort().join(',');
    for (const r of list) {
      const id = `${r.namespace}/${r.name}`;
      if (reported.has(id)) continue;
      reported.add(id);
      out.push(message(MESSAGES.ConflictingMeshGatewayVirtualServiceHosts, r.origin, r.fieldLine(['metadata', 'name']), names, key));
    }
  }
  return out;
}
