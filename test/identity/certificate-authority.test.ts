// The CA: a root generated once and reused, Istio's plug-in files used as the intermediate, SVIDs
// that openssl (an independent implementation) verifies with root-cert.pem and reads the SPIFFE
// SAN and key usages from, and every CSR refusal with its reason.
import { mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CA_FILES } from '../../host/identity/ca-files.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { IdentityError } from '../../host/identity/identity-error.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { generateKeyPair, webCryptoAlgorithm, x509 } from '../../host/identity/x509.js';
import { makePluginCa, openssl, opensslVerify } from '../helpers/openssl.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'wasmesh-ca-'));
const CART = spiffeId('shop', 'cart');

async function refusedWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err, 'expected a refusal').toBeInstanceOf(IdentityError);
  expect((err as IdentityError).code).toBe(code);
  expect((err as IdentityError).message).toMatch(message);
}

/** A CSR made with the library directly, for requests the workload helper would never make. */
async function csrWith(names: x509.JsonGeneralName[] | null, alg: 'ecdsa-p256' | 'rsa-2048' = 'ecdsa-p256'): Promise<string> {
  const keys = await generateKeyPair(alg);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: webCryptoAlgorithm(alg),
    extensions: names ? [new x509.SubjectAlternativeNameExtension(names, true)] : [],
  });
  return csr.toString('pem');
}

describe('CertificateAuthority: a generated root', () => {
  it('generates a root on first start in Istio\'s layout, keys 0600; issues SVIDs openssl verifies with root-cert.pem', async () => {
    const dir = tempDir() + '/ca';
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    expect(ca.generatedRoot).toBe(true);
    for (const f of Object.values(CA_FILES)) expect(statSync(join(dir, f)).isFile()).toBe(true);
    expect(statSync(join(dir, CA_FILES.caKey)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, CA_FILES.rootCert), 'utf8')).toBe(readFileSync(join(dir, CA_FILES.caCert), 'utf8'));

    const { csrPem } = await createWorkloadCsr(CART);
    const issued = await ca.sign(csrPem, CART);
    expect(issued.chainPem).toHaveLength(1); // self-signed root: the leaf alone, the root is in the bundle
    writeFileSync(join(dir, 'leaf.pem'), issued.chainPem[0]!);
    expect(opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem', undefined, 'sslserver')).toMatch(/leaf.pem: OK/);
    expect(opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem', undefined, 'sslclient')).toMatch(/leaf.pem: OK/);
    const text = openssl(['x509', '-noout', '-text', '-in', 'leaf.pem'], dir);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart\s*\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
    expect(text).toMatch(/Issuer: O = cluster.local/);
    // 24 h by default.
    expect(issued.leaf.notAfter.getTime() - issued.leaf.notBefore.getTime()).toBe(24 * 3_600_000);
  });

  it('reuses the persisted root on restart: a certificate from the first start verifies with the second\'s bundle', async () => {
    const dir = tempDir();
    const first = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    const before = readFileSync(join(dir, CA_FILES.caKey), 'utf8');
    const { csrPem } = await createWorkloadCsr(CART);
    const old = await first.sign(csrPem, CART);
    const second = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    expect(second.generatedRoot).toBe(false);
    expect(readFileSync(join(dir, CA_FILES.caKey), 'utf8')).toBe(before);
    expect(second.rootsPem).toEqual(first.rootsPem);
    const again = await second.sign(csrPem, CART);
    expect(await again.leaf.verify({ publicKey: new x509.X509Certificate(first.rootsPem[0]!), signatureOnly: true })).toBe(true);
    expect(await old.leaf.verify({ publicKey: new x509.X509Certificate(second.rootsPem[0]!), signatureOnly: true })).toBe(true);
  });

  it('RSA 2048 on request (root and workload key); the TTL is settable in seconds and capped by the maximum', async () => {
    const dir = tempDir();
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'example.org', keyAlgorithm: 'rsa-2048', certTtlMs: 5_000, maxCertTtlMs: 60_000 });
    const id = spiffeId('shop', 'cart', 'example.org');
    const { csrPem } = await createWorkloadCsr(id, 'rsa-2048');
    const issued = await ca.sign(csrPem, id);
    expect(issued.leaf.notAfter.getTime() - issued.leaf.notBefore.getTime()).toBe(5_000);
    writeFileSync(join(dir, 'leaf.pem'), issued.chainPem.join(''));
    expect(opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem')).toMatch(/OK/);
    expect(openssl(['x509', '-noout', '-text', '-in', CA_FILES.rootCert], dir)).toMatch(/rsaEncryption[\s\S]*2048 bit/);
    expect(openssl(['x509', '-noout', '-text', '-in', 'leaf.pem'], dir)).toMatch(/URI:spiffe:\/\/example.org\/ns\/shop\/sa\/cart/);
    expect((await ca.sign(csrPem, id, 30_000)).leaf.notAfter.getTime() - Date.now()).toBeGreaterThan(25_000);
    await refusedWith(ca.sign(csrPem, id, 61_000), 'ttl_refused', /61 s exceeds the CA's maximum of 60 s/);
    await refusedWith(ca.sign(csrPem, CART), 'csr_identity_refused', /not in this CA's trust domain example.org/);
  });
});

describe('CertificateAuthority: Istio\'s plug-in CA files', () => {
  it('signs with an existing intermediate (RSA, PKCS#1 key) as it is; the chain carries the intermediate; openssl verifies leaf → intermediate → root', async () => {
    const dir = tempDir();
    makePluginCa(dir, 'rsa');
    const files = Object.fromEntries(Object.values(CA_FILES).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    expect(ca.generatedRoot).toBe(false);
    // Taken as it is: nothing rewritten.
    for (const f of Object.values(CA_FILES)) expect(readFileSync(join(dir, f), 'utf8')).toBe(files[f]);
    const { csrPem } = await createWorkloadCsr(CART);
    const issued = await ca.sign(csrPem, CART);
    expect(issued.chainPem).toHaveLength(2);
    expect(new x509.X509Certificate(issued.chainPem[1]!).subject).toMatch(/CN=Intermediate CA/);
    expect(issued.leaf.issuer).toMatch(/CN=Intermediate CA/);
    writeFileSync(join(dir, 'leaf.pem'), issued.chainPem[0]!);
    writeFileSync(join(dir, 'intermediates.pem'), issued.chainPem.slice(1).join(''));
    expect(opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem', 'intermediates.pem', 'sslserver')).toMatch(/leaf.pem: OK/);
    // Without the intermediate the root alone cannot vouch for the leaf: the chain is really two steps.
    expect(() => opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem')).toThrow(/unable to get local issuer certificate/);
  });

  it('a trust bundle with several roots: the CA chains to one of them and hands out all', async () => {
    const dir = tempDir();
    makePluginCa(dir, 'ec');
    const other = tempDir();
    await CertificateAuthority.open({ dir: other, trustDomain: 'cluster.local' });
    appendFileSync(join(dir, CA_FILES.rootCert), readFileSync(join(other, CA_FILES.rootCert)));
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    expect(ca.rootsPem).toHaveLength(2);
    const issued = await ca.sign((await createWorkloadCsr(CART)).csrPem, CART);
    expect(issued.rootsPem).toHaveLength(2);
    writeFileSync(join(dir, 'chain.pem'), issued.chainPem.join(''));
    writeFileSync(join(dir, 'leaf.pem'), issued.chainPem[0]!);
    expect(opensslVerify(dir, CA_FILES.rootCert, 'leaf.pem', 'chain.pem')).toMatch(/OK/);
  });

  it('Istio\'s own self-signed secret layout (root-cert.pem and cert-chain.pem empty): the signing certificate is the root', async () => {
    const dir = tempDir();
    await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    writeFileSync(join(dir, CA_FILES.rootCert), '');
    writeFileSync(join(dir, CA_FILES.certChain), '');
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    expect(ca.rootsPem).toEqual([readFileSync(join(dir, CA_FILES.caCert), 'utf8')]);
    const issued = await ca.sign((await createWorkloadCsr(CART)).csrPem, CART);
    writeFileSync(join(dir, 'leaf.pem'), issued.chainPem.join(''));
    expect(opensslVerify(dir, CA_FILES.caCert, 'leaf.pem')).toMatch(/OK/);
    // An intermediate cannot stand in for the bundle.
    const plugin = tempDir();
    makePluginCa(plugin);
    writeFileSync(join(plugin, CA_FILES.rootCert), '');
    await refusedWith(CertificateAuthority.open({ dir: plugin, trustDomain: 'cluster.local' }), 'ca_files_invalid', /root-cert.pem is empty and ca-cert.pem is not self-signed/);
  });

  it('refuses CA files that do not fit together, saying which and why', async () => {
    const partial = tempDir();
    makePluginCa(partial);
    unlinkSync(join(partial, CA_FILES.certChain));
    await refusedWith(CertificateAuthority.open({ dir: partial, trustDomain: 'cluster.local' }), 'ca_files_invalid', /has root-cert.pem, ca-key.pem, ca-cert.pem but not cert-chain.pem/);

    const wrongKey = tempDir();
    makePluginCa(wrongKey);
    const elsewhere = tempDir();
    makePluginCa(elsewhere);
    writeFileSync(join(wrongKey, CA_FILES.caKey), readFileSync(join(elsewhere, CA_FILES.caKey)));
    await refusedWith(CertificateAuthority.open({ dir: wrongKey, trustDomain: 'cluster.local' }), 'ca_files_invalid', /ca-key.pem does not belong to ca-cert.pem/);

    const foreignRoot = tempDir();
    makePluginCa(foreignRoot);
    writeFileSync(join(foreignRoot, CA_FILES.rootCert), readFileSync(join(elsewhere, CA_FILES.rootCert)));
    await refusedWith(CertificateAuthority.open({ dir: foreignRoot, trustDomain: 'cluster.local' }), 'ca_files_invalid', /not signed by any root in root-cert.pem/);

    const garbage = tempDir();
    makePluginCa(garbage);
    writeFileSync(join(garbage, CA_FILES.caCert), 'not a certificate\n');
    await refusedWith(CertificateAuthority.open({ dir: garbage, trustDomain: 'cluster.local' }), 'ca_files_invalid', /ca-cert.pem holds no certificate/);

    const leafAsCa = tempDir();
    const donor = await CertificateAuthority.open({ dir: tempDir(), trustDomain: 'cluster.local' });
    const { csrPem, keyPem } = await createWorkloadCsr(CART);
    makePluginCa(leafAsCa);
    writeFileSync(join(leafAsCa, CA_FILES.caCert), (await donor.sign(csrPem, CART)).chainPem[0]!);
    writeFileSync(join(leafAsCa, CA_FILES.caKey), keyPem);
    await refusedWith(CertificateAuthority.open({ dir: leafAsCa, trustDomain: 'cluster.local' }), 'ca_files_invalid', /ca-cert.pem .* is not a CA certificate/);
  });
});

describe('CSR checks', () => {
  it('signs a CSR exactly when it asks for the caller\'s identity (property)', async () => {
    const ca = await CertificateAuthority.open({ dir: tempDir(), trustDomain: 'cluster.local' });
    const name = fc.constantFrom('default', 'shop', 'istio-system', 'a-b');
    const account = fc.constantFrom('default', 'cart', 'istiod', 'x.y');
    await fc.assert(fc.asyncProperty(name, account, name, account, async (ns, sa, callerNs, callerSa) => {
      const asked = spiffeId(ns, sa);
      const caller = spiffeId(callerNs, callerSa);
      const result = await ca.sign((await createWorkloadCsr(asked)).csrPem, caller).then(() => 'signed', (e: IdentityError) => e.code);
      expect(result).toBe(ns === callerNs && sa === callerSa ? 'signed' : 'csr_identity_refused');
    }), { numRuns: 40 });
  });


  it('refuses a CSR with a bad signature, garbage, a non-SPIFFE, several or extra SANs, and another identity than the caller\'s', async () => {
    const ca = await CertificateAuthority.open({ dir: tempDir(), trustDomain: 'cluster.local' });
    const good = (await createWorkloadCsr(CART)).csrPem;
    // Flip a byte inside the signature (the DER's last bytes): the request no longer verifies.
    const der = Buffer.from(x509.PemConverter.decodeFirst(good));
    der[der.length - 2] ^= 0x01;
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await refusedWith(ca.sign(tampered, CART), 'csr_invalid', /signature does not verify/);
    await refusedWith(ca.sign('hello', CART), 'csr_invalid', /not a PEM certificate request/);
    await refusedWith(ca.sign('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', CART), 'csr_invalid', /not a PKCS#10 certificate request/);
    await refusedWith(ca.sign(await csrWith(null), CART), 'csr_identity_refused', /no subject alternative name; it must ask for spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart/);
    await refusedWith(ca.sign(await csrWith([{ type: 'url', value: 'https://example.com/x' }]), CART), 'csr_identity_refused', /URI name is not a workload identity.*does not start with "spiffe:\/\/"/);
    await refusedWith(ca.sign(await csrWith([{ type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/cart' }, { type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/admin' }]), CART),
      'csr_identity_refused', /asks for 2 URI names .*exactly one SPIFFE ID/);
    await refusedWith(ca.sign(await csrWith([{ type: 'url', value: 'spiffe://cluster.local/ns/shop/sa/cart' }, { type: 'dns', value: 'cart.shop.svc' }]), CART),
      'csr_identity_refused', /names other than a SPIFFE ID \(dns:cart.shop.svc\)/);
    await refusedWith(ca.sign((await createWorkloadCsr(spiffeId('shop', 'admin'))).csrPem, CART), 'csr_identity_refused',
      /asks for spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin but the caller's token proves spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart/);
    // And the good one passes, so the refusals above are about what they say.
    await expect(ca.sign(good, CART)).resolves.toMatchObject({ chainPem: [expect.stringContaining('BEGIN CERTIFICATE')] });
  });
});
