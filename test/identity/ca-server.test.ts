// Istio's CSR API end to end over TLS with grpc-js: a workload with a valid token gets a chain
// openssl verifies; missing, foreign or expired tokens are UNAUTHENTICATED; a CSR for another
// identity is PERMISSION_DENIED; the CA's own serving certificate names istiod.istio-system.svc.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { istioCaPackage, type IstioCertificateResponse } from '../../host/identity/istio-ca-proto.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { signToken } from '../../host/identity/workload-token.js';
import { openssl, opensslVerify } from '../helpers/openssl.js';

let dir: string;
let server: CaServer;
let client: grpc.Client & { CreateCertificate: Function };
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-ca-server-'));
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
  server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)], log: (level, m) => logs.push(`${level} ${m}`) });
  await server.listen('127.0.0.1', 0);
  const pkg = grpc.loadPackageDefinition(istioCaPackage()) as any;
  client = new pkg.istio.v1.auth.IstioCertificateService(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(readFileSync(join(dir, 'root-cert.pem'))), {
    'grpc.ssl_target_name_override': 'istiod.istio-system.svc',
  });
});

afterAll(async () => {
  client?.close();
  await server?.close();
});

function call(csr: string, token: string | null, validity = 0): Promise<{ res?: IstioCertificateResponse; err?: grpc.ServiceError }> {
  const md = new grpc.Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.CreateCertificate({ csr, validity_duration: validity }, md, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res?: IstioCertificateResponse) =>
      resolve(err ? { err } : { res }));
  });
}

const tokenFor = (ns: string, sa: string, ttlMs = 60_000) => signToken(openTokenKey(dir), { namespace: ns, serviceAccount: sa, ttlMs });

describe('IstioCertificateService over TLS', () => {
  it('issues a chain for the token\'s identity, in Istio\'s order (leaf, …, roots), with the requested validity; openssl verifies it', async () => {
    const { csrPem } = await createWorkloadCsr(spiffeId('shop', 'cart'));
    const { res, err } = await call(csrPem, tokenFor('shop', 'cart'), 120);
    expect(err).toBeUndefined();
    expect(res!.cert_chain).toHaveLength(2);
    expect(res!.cert_chain[1]).toBe(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
    expect(res!.root_cert!.ca_cert).toEqual([readFileSync(join(dir, 'root-cert.pem'), 'utf8')]);
    const leaf = new X509Certificate(res!.cert_chain[0]!);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(120_000);
    writeFileSync(join(dir, 'leaf.pem'), res!.cert_chain[0]!);
    expect(opensslVerify(dir, 'root-cert.pem', 'leaf.pem', undefined, 'sslclient')).toMatch(/OK/);
    expect(server.stats()).toMatchObject({ success_cert_issuance_count: 1 });
  });

  it('refuses without a token, with a foreign or expired token (UNAUTHENTICATED), and a CSR for another identity (PERMISSION_DENIED)', async () => {
    const { csrPem } = await createWorkloadCsr(spiffeId('shop', 'cart'));
    const before = server.stats();
    let r = await call(csrPem, null);
    expect([r.err?.code, r.err?.details]).toEqual([grpc.status.UNAUTHENTICATED, 'no authorization metadata: send `authorization: Bearer <token>`']);
    const foreign = signToken(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 });
    r = await call(csrPem, foreign);
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/signed by a foreign key/);
    r = await call(csrPem, signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000, now: new Date(Date.now() - 120_000) }));
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.err?.details).toMatch(/payload.exp .* is past/);
    r = await call(csrPem, 'garbage');
    expect(r.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    // A valid token for shop/admin, a CSR asking for shop/cart.
    r = await call(csrPem, tokenFor('shop', 'admin'));
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.err?.details).toBe('CSR refused: it asks for spiffe://cluster.local/ns/shop/sa/cart but the caller\'s token proves spiffe://cluster.local/ns/shop/sa/admin');
    r = await call('not a csr', tokenFor('shop', 'cart'));
    expect(r.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    r = await call(csrPem, tokenFor('shop', 'cart'), 365 * 86_400);
    expect(r.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.err?.details).toMatch(/exceeds the CA's maximum/);
    const after = server.stats();
    expect(after.authentication_failure_count - before.authentication_failure_count).toBe(4);
    expect(after.csr_sign_err_count - before.csr_sign_err_count).toBe(2);
    expect(after.csr_parsing_err_count - before.csr_parsing_err_count).toBe(1);
    expect(after.success_cert_issuance_count).toBe(before.success_cert_issuance_count);
    expect(logs.some((l) => l.startsWith('warn CA: refused a certificate request from') && l.includes('foreign key'))).toBe(true);
  });

  it('serves TLS with its own certificate from the same CA: SAN istiod.istio-system.svc, its address and spiffe://…/ns/istio-system/sa/istiod', async () => {
    const peer = await new Promise<X509Certificate>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: server.port, ca: readFileSync(join(dir, 'root-cert.pem')), servername: 'istiod.istio-system.svc', ALPNProtocols: ['h2'] }, () => {
        const cert = s.getPeerX509Certificate()!;
        s.end();
        resolve(cert);
      });
      s.on('error', reject);
    });
    expect(peer.subjectAltName).toBe('DNS:istiod.istio-system.svc, IP Address:127.0.0.1, URI:spiffe://cluster.local/ns/istio-system/sa/istiod');
    writeFileSync(join(dir, 'serving.pem'), peer.toString());
    expect(opensslVerify(dir, 'root-cert.pem', 'serving.pem', undefined, 'sslserver')).toMatch(/OK/);
    expect(openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', 'serving.pem'], dir)).toMatch(/DNS:istiod.istio-system.svc/);
  });
});

describe('the CA\'s serving certificate', () => {
  it('on a wildcard ([::], dual-stack) names both loopbacks and localhost: a client dialling [::1] verifies it by address, as one dialling 127.0.0.1', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wasmesh-ca-wild-'));
    const ca = await CertificateAuthority.open({ dir: d, trustDomain: 'cluster.local' });
    const s = new CaServer({ ca, tokenKeys: [openTokenKey(d)] });
    await s.listen('::', 0);
    try {
      const peers: string[] = [];
      for (const host of ['::1', '127.0.0.1']) {
        // No servername: Node checks the certificate against the address dialled (an IP SAN).
        peers.push(await new Promise<string>((resolve, reject) => {
          const sock = connect({ host, port: s.port, ca: readFileSync(join(d, 'root-cert.pem')), ALPNProtocols: ['h2'] }, () => {
            const cert = sock.getPeerX509Certificate()!;
            sock.end();
            resolve(cert.subjectAltName ?? '');
          });
          sock.on('error', reject);
        }));
      }
      expect(peers[0]).toBe('DNS:istiod.istio-system.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, URI:spiffe://cluster.local/ns/istio-system/sa/istiod');
      expect(peers[1]).toBe(peers[0]);
    } finally {
      await s.close();
    }
  });

  it('is renewed at half life: a connection after it sees a new, valid certificate (TTL 2 s)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'wasmesh-ca-serving-'));
    const ca = await CertificateAuthority.open({ dir: d, trustDomain: 'cluster.local', certTtlMs: 2_000 });
    const s = new CaServer({ ca, tokenKeys: [openTokenKey(d)] });
    await s.listen('127.0.0.1', 0);
    try {
      const peer = () => new Promise<X509Certificate>((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: s.port, ca: readFileSync(join(d, 'root-cert.pem')), servername: 'istiod.istio-system.svc', ALPNProtocols: ['h2'] }, () => {
          const cert = sock.getPeerX509Certificate()!;
          sock.end();
          resolve(cert);
        });
        sock.on('error', reject);
      });
      const first = await peer();
      await new Promise((r) => setTimeout(r, 2_100));
      const second = await peer(); // the handshake verified it (rejectUnauthorized): not expired
      expect(second.serialNumber).not.toBe(first.serialNumber);
      expect(Date.parse(second.validTo)).toBeGreaterThan(Date.now());
    } finally {
      await s.close();
    }
  });
});
