// Istio's destinationrule.PodNotSelectedAnalyzer, its host part: a DestinationRule whose host is
// no known service (ServiceEntry host or Kubernetes Service, seen from the rule's namespace with
// its exportTo) applies to nothing — IST0174 UnknownDestinationRuleHost. Its subset part
// (IST0173, a subset selecting no Pod) is not run: wasmesh's workloads are WorkloadEntries.
import type { DestinationRuleSpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { destinationHost, serviceHostMap } from './service-lookup.js';

export function destinationRuleHostMessages(input: AnalysisInput): AnalysisMessage[] {
  const hosts = serviceHostMap(input.resources, input.invalid);
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'DestinationRule')) {
    const dr = r.spec as DestinationRuleSpec;
    if (destinationHost(r.namespace, dr.exportTo ?? [], dr.host, hosts) === null) out.push(message(MESSAGES.UnknownDestinationRuleHost, r.origin, null, dr.host));
  }
  return out;
}
