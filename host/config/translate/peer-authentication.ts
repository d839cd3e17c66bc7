// PeerAuthentication resources → the policies host/model/inbound-mtls.ts composes, in load order
// (Istio takes the oldest of several at one level; wasmesh, the first loaded). portLevelMtls keys
// that are not ports were refused by the security checks and are skipped here.
import type { PeerAuthenticationSpec } from '../security-schemas.js';
import type { SourcedResource } from '../read-resource.js';
import type { MtlsMode, PeerAuthenticationPolicy } from '../../model/inbound-mtls.js';

export function peerAuthenticationPolicies(resources: readonly SourcedResource[]): PeerAuthenticationPolicy[] {
  const out: PeerAuthenticationPolicy[] = [];
  for (const r of resources) {
    if (r.resource.kind !== 'PeerAuthentication') continue;
    const spec = r.resource.spec as PeerAuthenticationSpec;
    const portLevel = new Map<number, MtlsMode>();
    for (const [port, setting] of Object.entries(spec.portLevelMtls ?? {})) {
      const n = Number(port);
      if (/^\d+$/.test(port) && n >= 1 && n <= 65_535) portLevel.set(n, setting.mode ?? 'UNSET');
    }
    out.push({ namespace: r.resource.namespace, name: r.resource.name, selector: spec.selector?.matchLabels ?? null, mode: spec.mtls?.mode ?? 'UNSET', portLevel });
  }
  return out;
}
