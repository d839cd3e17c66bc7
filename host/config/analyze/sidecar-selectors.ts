// Istio's sidecar.SelectorAnalyzer, its namespace part: more than one Sidecar without a
// workloadSelector in one namespace leaves undefined which applies — IST0111
// MultipleSidecarsWithoutWorkloadSelectors on each, naming them all (sorted). Its Pod part
// (IST0101 "selector", IST0110) is not run: wasmesh's workloads are WorkloadEntries, not Pods, so
// it would flag every Sidecar that has a selector.
import type { SidecarSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

export function sidecarSelectorMessages(input: AnalysisInput): AnalysisMessage[] {
  const byNamespace = new Map<string, AnalysisResource[]>();
  for (const r of ofKind(input, 'Sidecar')) {
    const labels = (r.spec as SidecarSpec).workloadSelector?.labels;
    if (labels !== undefined && Object.keys(labels).length > 0) continue;
    byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), r]);
  }
  const out: AnalysisMessage[] = [];
  for (const [ns, list] of byNamespace) {
    if (list.length < 2) continue;
    const names = list.map((r) => r.name).sort();
    for (const r of list) out.push(message(MESSAGES.MultipleSidecarsWithoutWorkloadSelectors, r.origin, null, names, ns));
  }
  return out;
}
