// Workload certificates for the TLS transports' tests: SVIDs from a real in-process mesh CA
// (test/helpers/mesh-ca.ts) as the WorkloadCertificate a source hands out, and client
// credentials (the CA's own, a foreign CA's, an expired one) to knock with.
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import type { TestMeshCa } from './mesh-ca.js';

/** An SVID for ns/sa from `ca`, as a workload certificate (chain, key, the CA's roots). */
export async function workloadCertificate(ca: TestMeshCa, ns: string, sa: string, ttlMs?: number): Promise<WorkloadCertificate> {
  const svid = await ca.svid(ns, sa, { ttlMs });
  return { identity: `spiffe://${ca.ca.trustDomain}/ns/${ns}/sa/${sa}`, certChainPem: svid.certChainPem, keyPem: svid.keyPem, rootsPem: ca.rootsPem, notAfter: new Date(svid.leaf.validTo) };
}

/** An SVID from `ca`'s own key whose lifetime ended an hour ago (the CA opened on a clock two hours back). */
export async function expiredWorkloadCertificate(ca: TestMeshCa, ns: string, sa: string): Promise<WorkloadCertificate> {
  const past = new Date(Date.now() - 2 * 3_600_000);
  const backdated = await CertificateAuthority.open({ dir: ca.dir, trustDomain: ca.ca.trustDomain, now: () => past });
  const id = spiffeId(ns, sa, ca.ca.trustDomain);
  const { csrPem, keyPem } = await createWorkloadCsr(id);
  const issued = await backdated.sign(csrPem, id, 3_600_000);
  return { identity: `spiffe://${ca.ca.trustDomain}/ns/${ns}/sa/${sa}`, certChainPem: issued.chainPem.join(''), keyPem, rootsPem: ca.rootsPem, notAfter: issued.leaf.notAfter };
}
