// Istio's gateway.IngressGatewayPortAnalyzer: a Gateway's selector must select a workload (a Pod
// in the files, or istioctl's default ingress gateway Pod in istio-system) — IST0101 "selector" —
// and each server port must be a port of a Service selecting that workload (its targetPort, or
// the port when no targetPort is written) — IST0162 GatewayPortNotDefinedOnService. (Istio's
// IST0104 GatewayPortNotOnWorkload was retired in Istio 1.20 for IST0162.) A Service port without
// `protocol` counts as TCP, the Kubernetes default.
import type { GatewaySpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { firstSelectorKey, selectorMatches, selectorString, type Labels } from './label-selector.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

interface ServiceSpecLike { selector?: unknown; ports?: { port?: unknown; targetPort?: unknown; protocol?: unknown }[] }

/** Kubernetes IntOrString.IntValue(): the number, a numeric string's value, else 0. */
function intValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return 0;
}

const labelsOf = (v: unknown): Labels => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Labels) : {});

export function gatewayPortMessages(input: AnalysisInput): AnalysisMessage[] {
  const pods = ofKind(input, 'Pod');
  const services = ofKind(input, 'Service');
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'Gateway')) {
    const gw = r.spec as GatewaySpec;
    const selector = gw.selector ?? {};
    const printed = selectorString(selector);
    const servicePorts = new Set<number>();
    let matches = 0;
    for (const pod of pods) {
      if (!selectorMatches(selector, pod.labels)) continue;
      matches++;
      for (const svc of services) {
        if (svc.namespace !== pod.namespace) continue; // Services select Pods of their namespace only
        const spec = svc.spec as ServiceSpecLike;
        if (!selectorMatches(labelsOf(spec.selector), pod.labels)) continue;
        for (const p of spec.ports ?? []) {
          if ((p.protocol ?? 'TCP') !== 'TCP') continue;
          const target = intValue(p.targetPort);
          // The Gateway's port is where the proxy listens: the Service's targetPort. Istio also
          // accepts the Service port that maps to it.
          if (target !== 0) {
            servicePorts.add(target);
            if (typeof p.port === 'number') servicePorts.add(p.port);
          } else if (typeof p.port === 'number') servicePorts.add(p.port);
        }
      }
    }
    const line = r.fieldLine(['spec', 'selector', firstSelectorKey(printed)]);
    if (matches === 0) {
      out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, line, 'selector', printed));
      continue;
    }
    for (const server of gw.servers) {
      if (!servicePorts.has(server.port.number)) out.push(message(MESSAGES.GatewayPortNotDefinedOnService, r.origin, line, server.port.number, printed));
    }
  }
  return out;
}
