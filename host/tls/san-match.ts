// The peer identity check after chain verification (Envoy's match_typed_subject_alt_names, as
// Istio fills it from a DestinationRule's subjectAltNames or the destination's service
// accounts): the certificate must carry one of the expected names, compared exactly against
// its URI and DNS SANs (a `*.` DNS SAN matches one label).
import type { SubjectAltNames } from './peer-certificate.js';

/** True when one expected name is among the certificate's SANs (an empty list accepts any). */
export function sanMatches(expected: readonly string[], sans: SubjectAltNames): boolean {
  if (expected.length === 0) return true;
  for (const want of expected) {
    if (sans.uris.includes(want)) return true;
    for (const d of sans.dns) {
      if (d === want) return true;
      if (d.startsWith('*.') && want.endsWith(d.slice(1))) {
        const label = want.slice(0, want.length - d.length + 1);
        if (label.length > 0 && !label.includes('.')) return true;
      }
    }
  }
  return false;
}

/** The reason text when no expected name matched. */
export function sanMismatch(expected: readonly string[], sans: SubjectAltNames): string {
  const have = [...sans.uris.map((u) => `URI:${u}`), ...sans.dns.map((d) => `DNS:${d}`)];
  return `peer certificate SANs [${have.join(', ')}] match none of the expected [${expected.join(', ')}]`;
}
