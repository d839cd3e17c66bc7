// Istio's virtualservice.DestinationHostAnalyzer, its subset part: a VirtualService bound to a
// gateway that routes to a host without a subset, while another VirtualService for that host
// routes it by subset, leaves the subsets out at the gateway (a gateway applies only the
// VirtualServices bound to it) — IST0140 IngressRouteRulesNotAffected, naming the
// VirtualService whose subsets have no effect. Istio looks the line up under a key built from the
// rule's name that no document has, so the message carries the document's line.
import type { DestinationSpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

export function ingressSubsetMessages(input: AnalysisInput): AnalysisMessage[] {
  const vss = ofKind(input, 'VirtualService');
  // VirtualService `ns/name` → its subset destinations to one of its own hosts (Istio's initVirtualServiceDestinations).
  const withSubsets = new Map<string, DestinationSpec[]>();
  for (const r of vss) {
    const vs = r.spec as VirtualServiceSpec;
    for (const rule of vs.http ?? []) {
      for (const rd of rule.route ?? []) {
        if (!rd.destination.subset) continue;
        for (const h of vs.hosts ?? []) {
          if (rd.destination.host === h) withSubsets.set(`${r.namespace}/${r.name}`, [...(withSubsets.get(`${r.namespace}/${r.name}`) ?? []), rd.destination]);
        }
      }
    }
  }
  const out: AnalysisMessage[] = [];
  for (const r of vss) {
    const vs = r.spec as VirtualServiceSpec;
    if ((vs.gateways ?? []).length === 0) continue;
    for (const rule of vs.http ?? []) {
      for (const rd of rule.route ?? []) {
        if (rd.destination.subset) continue;
        for (const [other, destinations] of withSubsets) {
          for (const d of destinations) {
            if (d.host === rd.destination.host) out.push(message(MESSAGES.IngressRouteRulesNotAffected, r.origin, null, other, `${r.namespace}/${r.name}`));
          }
        }
      }
    }
  }
  return out;
}
