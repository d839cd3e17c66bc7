// A mesh CA for tests: a fresh CA directory (generated root) and workload certificates issued
// straight from it, without the gRPC service — for tests of TLS transports and peer identities.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import type { KeyAlgorithm } from '../../host/identity/x509.js';

export interface TestSvid {
  keyPem: string;
  /** Leaf then intermediates. */
  certChainPem: string;
  leaf: X509Certificate;
}

export interface TestMeshCa {
  dir: string;
  ca: CertificateAuthority;
  /** The trust bundle, one PEM text. */
  rootsPem: string;
  svid(namespace: string, serviceAccount: string, opts?: { ttlMs?: number; keyAlgorithm?: KeyAlgorithm }): Promise<TestSvid>;
}

export async function testMeshCa(trustDomain = 'cluster.local', dir = mkdtempSync(join(tmpdir(), 'wasmesh-mesh-ca-'))): Promise<TestMeshCa> {
  const ca = await CertificateAuthority.open({ dir, trustDomain });
  return {
    dir,
    ca,
    rootsPem: ca.rootsPem.join(''),
    async svid(namespace, serviceAccount, opts = {}) {
      const id = spiffeId(namespace, serviceAccount, trustDomain);
      const { csrPem, keyPem } = await createWorkloadCsr(id, opts.keyAlgorithm);
      const issued = await ca.sign(csrPem, id, opts.ttlMs ?? 0);
      return { keyPem, certChainPem: issued.chainPem.join(''), leaf: new X509Certificate(issued.chainPem[0]!) };
    },
  };
}
