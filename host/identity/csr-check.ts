// The checks a certificate signing request passes before the CA signs it: it is a PKCS#10 CSR
// whose signature verifies (the caller holds the key), with a supported key, and it asks for
// exactly one name — the SPIFFE ID the caller proved with its token. Istio's CA likewise signs
// only identities the caller is authorized for; here anything else is refused, not rewritten.
import { createPublicKey } from 'node:crypto';
import { IdentityError } from './identity-error.js';
import { formatSpiffeId, parseSpiffeId, sameSpiffeId, type SpiffeId } from './spiffe-id.js';
import { x509 } from './x509.js';

/** A CSR that passed: its public key and the identity it asks for. */
export interface CheckedCsr {
  readonly csr: x509.Pkcs10CertificateRequest;
  readonly identity: SpiffeId;
}

const invalid = (why: string): never => {
  throw new IdentityError('csr_invalid', `CSR refused: ${why}`);
};
const refused = (why: string): never => {
  throw new IdentityError('csr_identity_refused', `CSR refused: ${why}`);
};

/** Reads and checks `csrPem` for `caller`; throws IdentityError (csr_invalid, csr_identity_refused). */
export async function checkCsr(csrPem: string, caller: SpiffeId): Promise<CheckedCsr> {
  if (typeof csrPem !== 'string' || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    invalid('not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    return invalid(`not a PKCS#10 certificate request: ${(err as Error).message}`);
  }
  let signed = false;
  try {
    signed = await csr.verify();
  } catch (err) {
    invalid(`its signature cannot be checked: ${(err as Error).message}`);
  }
  if (!signed) invalid('its signature does not verify with its own public key (the requester does not hold the key)');
  const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const rsaBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const supported = (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') || (key.asymmetricKeyType === 'rsa' && rsaBits >= 2048);
  if (!supported) invalid(`its key (${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}${rsaBits ? ` ${rsaBits} bits` : ''}) is neither ECDSA P-256 nor RSA of 2048 bits or more`);

  const san = csr.getExtension(x509.SubjectAlternativeNameExtension.NAME) ?? csr.extensions.find((e) => e.type === '2.5.29.17');
  if (!san) refused(`it carries no subject alternative name; it must ask for ${formatSpiffeId(caller)}`);
  const names = new x509.SubjectAlternativeNameExtension(san!.rawData).names.toJSON();
  const uris = names.filter((n) => n.type === 'url');
  const others = names.filter((n) => n.type !== 'url');
  if (others.length > 0) refused(`it asks for names other than a SPIFFE ID (${others.map((n) => `${n.type}:${n.value}`).join(', ')}); a workload certificate carries its SPIFFE ID only`);
  if (uris.length !== 1) refused(`it asks for ${uris.length} URI names (${uris.map((n) => n.value).join(', ')}); exactly one SPIFFE ID is allowed`);
  let asked: SpiffeId;
  try {
    asked = parseSpiffeId(uris[0]!.value);
  } catch (err) {
    return refused(`its URI name is not a workload identity: ${(err as Error).message}`);
  }
  if (!sameSpiffeId(asked, caller)) refused(`it asks for ${formatSpiffeId(asked)} but the caller's token proves ${formatSpiffeId(caller)}`);
  return { csr, identity: asked };
}
