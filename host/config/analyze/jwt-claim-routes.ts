// Istio's virtualservice.JWTClaimRouteAnalyzer: a VirtualService bound to a Gateway that routes on
// a JWT claim (a header match or withoutHeaders key `@request.auth.claims.<claim>` or
// `@request.auth.claims[<claim>]`) needs a RequestAuthentication selecting each gateway Pod
// (in istio-system or the Pod's namespace; one without a selector selects every Pod there), or
// the claims are never there to route on — IST0149 JwtClaimBasedRoutingWithoutRequestAuthN, per
// Pod. Gateway Pods are those of the files and istioctl's default ingress gateway Pod.
import type { RequestAuthenticationSpec } from '../security-schemas.js';
import type { GatewaySpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { selectorMatches, type Labels } from './label-selector.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { gatewayFullName, MESH_GATEWAY } from './virtual-service-gateways.js';

const CLAIM_HEADER = '@request.auth.claims';

/** Istio's jwt.ToRoutingClaim(key).Match. */
export function isClaimKey(key: string): boolean {
  if (!key.toLowerCase().startsWith(CLAIM_HEADER)) return false;
  const rest = key.slice(CLAIM_HEADER.length);
  return (rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2);
}

function claimKey(vs: VirtualServiceSpec): string | null {
  for (const route of vs.http ?? []) {
    for (const match of route.match ?? []) {
      for (const key of [...Object.keys(match.headers ?? {}), ...Object.keys(match.withoutHeaders ?? {})]) if (isClaimKey(key)) return key;
    }
  }
  return null;
}

export function jwtClaimRouteMessages(input: AnalysisInput): AnalysisMessage[] {
  const byNamespace = new Map<string, Labels[]>();
  for (const r of ofKind(input, 'RequestAuthentication')) {
    const selector = (r.spec as RequestAuthenticationSpec).selector?.matchLabels ?? {};
    byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), selector]);
  }
  const gateways = new Map<string, AnalysisResource>(ofKind(input, 'Gateway').map((g) => [`${g.namespace}/${g.name}`, g]));
  const pods = ofKind(input, 'Pod');
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    const key = claimKey(vs);
    if (key === null) continue;
    for (const ref of vs.gateways ?? []) {
      if (ref === MESH_GATEWAY) continue;
      const full = gatewayFullName(r.namespace, ref);
      const gw = gateways.get(full);
      if (gw === undefined) continue; // the gateway analyzer reports it
      const selector = (gw.spec as GatewaySpec).selector ?? {};
      for (const pod of pods) {
        if (!selectorMatches(selector, pod.labels)) continue;
        const selectors = [...(byNamespace.get('istio-system') ?? []), ...(byNamespace.get(pod.namespace) ?? [])];
        if (!selectors.some((s) => selectorMatches(s, pod.labels))) out.push(message(MESSAGES.JwtClaimBasedRoutingWithoutRequestAuthN, r.origin, null, key, full, pod.name));
      }
    }
  }
  return out;
}
