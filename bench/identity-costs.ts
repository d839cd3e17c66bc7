// What workload identity costs on this machine: a key pair and CSR (the proxy's side), the CA's
// check-and-sign of one CSR, per key type; and one whole issuance over Istio's CSR API (TLS gRPC,
// a new channel each time, as a proxy starting up). Usage: npm run build:ts && node
// dist/bench/identity-costs.js [--n N]  (N CSRs per key type and N issuances; default 50).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaServer } from '../host/identity/ca-server.js';
import { CertificateAuthority } from '../host/identity/certificate-authority.js';
import { CertificateClient } from '../host/identity/certificate-client.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../host/identity/key-algorithm.js';
import { spiffeId } from '../host/identity/spiffe-id.js';
import { openTokenKey } from '../host/identity/token-key.js';
import { createWorkloadCsr } from '../host/identity/workload-csr.js';
import { signToken } from '../host/identity/workload-token.js';

export interface IdentityCosts {
  perKey: Array<{ keyAlgorithm: KeyAlgorithm; csrMs: number; signMs: number }>;
  issuance: { medianMs: number; p90Ms: number; maxMs: number };
}

const ID = spiffeId('shop', 'cart');
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'wasmesh-bench-ca-'));

export async function measureIdentityCosts(n: number): Promise<IdentityCosts> {
  const perKey: IdentityCosts['perKey'] = [];
  for (const keyAlgorithm of KEY_ALGORITHMS) {
    const ca = await CertificateAuthority.open({ dir: tempDir(), trustDomain: 'cluster.local', keyAlgorithm });
    const csrs: string[] = [];
    let t = performance.now();
    for (let i = 0; i < n; i++) csrs.push((await createWorkloadCsr(ID, keyAlgorithm)).csrPem);
    const csrMs = (performance.now() - t) / n;
    t = performance.now();
    for (const csr of csrs) await ca.sign(csr, ID);
    perKey.push({ keyAlgorithm, csrMs, signMs: (performance.now() - t) / n });
  }
  const dir = tempDir();
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
  const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
  await server.listen('127.0.0.1', 0);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const client = new CertificateClient({
        address: `127.0.0.1:${server.port}`,
        rootsPem: readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
        token: () => signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 }),
        identity: ID,
      });
      const t = performance.now();
      await client.start();
      times.push(performance.now() - t);
      client.close();
    }
  } finally {
    await server.close();
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { perKey, issuance: { medianMs: at(0.5), p90Ms: at(0.9), maxMs: times[times.length - 1]! } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--n');
  const n = i === -1 ? 50 : Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error('--n: a positive integer');
  const costs = await measureIdentityCosts(n);
  for (const k of costs.perKey) console.log(`${k.keyAlgorithm}: key pair + CSR ${k.csrMs.toFixed(2)} ms, CA check + sign ${k.signMs.toFixed(2)} ms (mean of ${n})`);
  const s = costs.issuance;
  console.log(`issuance over TLS gRPC (key, CSR, token, new channel, chain check): median ${s.medianMs.toFixed(1)} ms, p90 ${s.p90Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms (${n} runs)`);
}
