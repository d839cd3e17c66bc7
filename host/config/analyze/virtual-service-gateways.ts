// Istio's virtualservice.GatewayAnalyzer: every gateway a VirtualService names (other than
// `mesh`) must exist — IST0101 "gateway" — and at least one of the VirtualService's hosts must be
// among that Gateway's server hosts as seen from the VirtualService's namespace — IST0132 (Istio
// reports it for a missing gateway too, whose hosts are none).
import type { GatewaySpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { hostsMatch } from './service-lookup.js';

export const MESH_GATEWAY = 'mesh';

/** Istio's resource.NewShortOrFullName: `ns/name` as written, else the name in `namespace`. */
export function gatewayFullName(namespace: string, ref: string): string {
  return ref.includes('/') ? ref : `${namespace}/${ref}`;
}

export function virtualServiceGatewayMessages(input: AnalysisInput): AnalysisMessage[] {
  const gateways = new Map<string, AnalysisResource>(ofKind(input, 'Gateway').map((g) => [`${g.namespace}/${g.name}`, g]));
  // Gateways the schema refused exist all the same; their hosts cannot be trusted, so neither is checked.
  const refused = new Set(input.invalid.filter((g) => g.kind === 'Gateway').map((g) => `${g.namespace}/${g.name}`));
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    (vs.gateways ?? []).forEach((ref, i) => {
      if (ref === MESH_GATEWAY) return;
      const line = r.fieldLine(['spec', 'gateways', i]);
      const full = gatewayFullName(r.namespace, ref);
      const gw = gateways.get(full);
      if (gw === undefined && refused.has(full)) return;
      if (gw === undefined) out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, line, 'gateway', ref));
      const vsHosts = vs.hosts ?? [];
      const gwHosts = gw === undefined ? [] : visibleGatewayHosts(gw, r.namespace);
      if (!gwHosts.some((gh) => vsHosts.some((vh) => hostsMatch(gh, vh)))) {
        out.push(message(MESSAGES.VirtualServiceHostNotFoundInGateway, r.origin, line, vsHosts, `${r.namespace}/${r.name}`, full));
      }
    });
  }
  return out;
}

/**
 * A Gateway's server hosts that a VirtualService in `namespace` can bind to: `./h` means the
 * Gateway's namespace, `*\/h` any namespace (`*\/*` makes the server's hosts `*`), `ns/h` only
 * `ns` (Istio's sanitizeServerHostNamespace and host.NamesForNamespace).
 */
function visibleGatewayHosts(gw: AnalysisResource, namespace: string): string[] {
  const hosts: string[] = [];
  for (const server of (gw.spec as GatewaySpec).servers) {
    let own = [...server.hosts];
    for (let i = 0; i < own.length; i++) {
      const h = own[i]!;
      const slash = h.indexOf('/');
      if (slash < 0) continue;
      const ns = h.slice(0, slash);
      const name = h.slice(slash + 1);
      if (ns === '.') own[i] = `${gw.namespace}/${name}`;
      else if (ns === '*') {
        if (name === '*') {
          own = ['*'];
          break;
        }
        own[i] = name;
      }
    }
    hosts.push(...own);
  }
  const out: string[] = [];
  for (const h of hosts) {
    const slash = h.indexOf('/');
    if (slash < 0) out.push(h);
    else if (h.slice(0, slash) === namespace || h.slice(0, slash) === '*') out.push(h.slice(slash + 1));
  }
  return out;
}
