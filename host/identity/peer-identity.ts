// The SPIFFE identity a peer's certificate carries, read as a mesh peer must read it: the leaf has
// exactly one URI SAN and it is a valid SPIFFE ID of the expected trust domain. For the TLS
// transports (STRICT inbound, ISTIO_MUTUAL outbound) and for x-forwarded-client-cert.
import type { X509Certificate } from 'node:crypto';
import { IdentityError } from './identity-error.js';
import { formatSpiffeId, parseSpiffeId, sameSpiffeId, type SpiffeId } from './spiffe-id.js';

/** The SPIFFE ID of `cert` (a verified leaf); throws IdentityError (chain_invalid, spiffe_id_invalid). */
export function spiffeIdOfCertificate(cert: X509Certificate, trustDomain?: string): SpiffeId {
  // Node lists SANs as `TYPE:value, …` and quotes a value that holds ", " — which no SPIFFE ID can,
  // so a quoted value fails the parse below rather than splitting wrongly.
  const names = (cert.subjectAltName ?? '').split(', ').filter((n) => n !== '');
  const uris = names.filter((n) => n.startsWith('URI:'));
  if (uris.length !== 1) {
    throw new IdentityError('chain_invalid', `peer certificate ${cert.serialNumber} has ${uris.length} URI names (${uris.join(', ') || 'none'}); a mesh peer carries exactly one SPIFFE ID`);
  }
  const id = parseSpiffeId(uris[0]!.slice('URI:'.length));
  if (trustDomain !== undefined && id.trustDomain !== trustDomain) {
    throw new IdentityError('chain_invalid', `peer ${formatSpiffeId(id)} is not of the trust domain ${trustDomain}`);
  }
  return id;
}

/** The peer's identity when it is one of `allowed` (empty: any of the trust domain); throws IdentityError otherwise. */
export function expectPeerIdentity(cert: X509Certificate, trustDomain: string, allowed: readonly SpiffeId[]): SpiffeId {
  const id = spiffeIdOfCertificate(cert, trustDomain);
  if (allowed.length > 0 && !allowed.some((a) => sameSpiffeId(a, id))) {
    throw new IdentityError('chain_invalid', `peer ${formatSpiffeId(id)} is not an expected identity (${allowed.map(formatSpiffeId).join(', ')})`);
  }
  return id;
}
