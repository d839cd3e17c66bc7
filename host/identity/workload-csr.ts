// What a workload sends the CA: a fresh key pair and a PKCS#10 request for its SPIFFE ID (the one
// URI SAN, an empty subject), as Istio's agent makes one. The private key never leaves the workload.
import { formatSpiffeId, type SpiffeId } from './spiffe-id.js';
import { generateKeyPair, privateKeyPem, webCryptoAlgorithm, x509, type KeyAlgorithm } from './x509.js';

export interface WorkloadCsr {
  readonly csrPem: string;
  /** PKCS#8 PEM of the private key the CSR's public key belongs to. */
  readonly keyPem: string;
}

export async function createWorkloadCsr(identity: SpiffeId, keyAlgorithm: KeyAlgorithm = 'ecdsa-p256'): Promise<WorkloadCsr> {
  const keys = await generateKeyPair(keyAlgorithm);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: webCryptoAlgorithm(keyAlgorithm),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: formatSpiffeId(identity) }], true)],
  });
  return { csrPem: csr.toString('pem') + '\n', keyPem: privateKeyPem(keys.privateKey) };
}
