// Istio's destinationrule.CaCertificateAnalyzer: a DestinationRule that originates TLS (mode
// SIMPLE or MUTUAL) without caCertificates does not verify the server's certificate — IST0128 at
// the rule's traffic policy, IST0129 per port-level setting — unless it names a credentialName
// and has a workloadSelector (then the credential carries the CA). Subset policies are not
// checked, as in Istio.
import type { DestinationRuleSpec } from '../istio-schemas.js';
import type { AnalysisInput } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';

interface TlsLike { mode?: string; caCertificates?: string; credentialName?: string }

export function destinationRuleTlsMessages(input: AnalysisInput): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'DestinationRule')) {
    const dr = r.spec as DestinationRuleSpec;
    const unverified = (tls: TlsLike | undefined): tls is TlsLike =>
      tls !== undefined && (tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && !tls.caCertificates
      && !(Boolean(tls.credentialName) && dr.workloadSelector !== undefined);
    const drName = `${r.namespace}/${r.name}`;
    const tls = dr.trafficPolicy?.tls;
    if (unverified(tls)) {
      out.push(message(MESSAGES.NoServerCertificateVerificationDestinationLevel, r.origin,
        r.fieldLine(['spec', 'trafficPolicy', 'tls', 'caCertificates']), drName, r.namespace, tls.mode!, dr.host));
    }
    (dr.trafficPolicy?.portLevelSettings ?? []).forEach((p, i) => {
      if (!unverified(p.tls)) return;
      // Go's text form of the PortSelector message.
      const port = p.port?.number !== undefined ? `number:${p.port.number}` : '';
      out.push(message(MESSAGES.NoServerCertificateVerificationPortLevel, r.origin,
        r.fieldLine(['spec', 'trafficPolicy', 'portLevelSettings', i, 'tls', 'caCertificates']), drName, r.namespace, p.tls!.mode!, dr.host, port));
    });
  }
  return out;
}
