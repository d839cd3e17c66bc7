// Workload certificates from a directory in Istio's mounted layout, with certificates issued by a
// real mesh CA: read at open (bad files refused with the file named), a valid rewrite taken and
// told to subscribers, a rewrite that does not parse or whose key does not match refused with the
// previous kept, and expiry without a rewrite → none served.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MountedCertificateError, MountedWorkloadCertificates, readMountedCertificate } from '../../host/tls/mounted-workload-certificates.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { testMeshCa, type TestMeshCa, type TestSvid } from '../helpers/mesh-ca.js';

let mesh: TestMeshCa;
let foreign: TestMeshCa;
beforeAll(async () => {
  mesh = await testMeshCa();
  foreign = await testMeshCa();
});
const cleanup: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});

function certDir(svid: TestSvid, roots = mesh.rootsPem): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-certs-'));
  write(dir, svid, roots);
  return dir;
}

function write(dir: string, svid: TestSvid, roots = mesh.rootsPem): void {
  writeFileSync(join(dir, 'cert-chain.pem'), svid.certChainPem);
  writeFileSync(join(dir, 'key.pem'), svid.keyPem);
  writeFileSync(join(dir, 'root-cert.pem'), roots);
}

function open(dir: string, logs: string[] = []): MountedWorkloadCertificates {
  const s = MountedWorkloadCertificates.open({ dir, debounceMs: 50, log: (level, m) => logs.push(`${level}: ${m}`) });
  cleanup.push(() => s.close());
  return s;
}

const serialOf = (c: WorkloadCertificate | null) => (c ? new X509Certificate(c.certChainPem).serialNumber : null);
const refusal = (f: () => unknown): MountedCertificateError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MountedCertificateError);
    return err as MountedCertificateError;
  }
  throw new Error('expected a refusal');
};

describe('readMountedCertificate', () => {
  it('reads cert-chain.pem, key.pem and root-cert.pem into a workload certificate', async () => {
    const svid = await mesh.svid('shop', 'cart');
    const cert = readMountedCertificate(certDir(svid));
    expect(cert.identity).toBe('spiffe://cluster.local/ns/shop/sa/cart');
    expect(cert.certChainPem).toBe(svid.certChainPem);
    expect(cert.keyPem).toBe(svid.keyPem);
    expect(cert.rootsPem).toBe(mesh.rootsPem);
    expect(cert.notAfter.getTime()).toBe(Date.parse(svid.leaf.validTo));
  });

  it('refuses files that do not fit, naming the file and the reason', async () => {
    const cart = await mesh.svid('shop', 'cart');
    const other = await mesh.svid('shop', 'other');
    const dir = certDir(cart);
    // Missing file.
    rmSync(join(dir, 'key.pem'));
    expect(() => readMountedCertificate(dir)).toThrow(new RegExp(`private key ${join(dir, 'key.pem')}: ENOENT \\(TLS_FILE\\)`));
    // Someone else's key.
    writeFileSync(join(dir, 'key.pem'), other.keyPem);
    let e = refusal(() => readMountedCertificate(dir));
    expect(e.path).toBe(join(dir, 'key.pem'));
    expect(e.message).toMatch(/the key is not the one certified by the first certificate of cert-chain.pem/);
    // A chain that does not parse.
    write(dir, cart);
    writeFileSync(join(dir, 'cert-chain.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    e = refusal(() => readMountedCertificate(dir));
    expect(e.path).toBe(join(dir, 'cert-chain.pem'));
    expect(e.message).toMatch(/certificate 1 of 1 does not parse/);
    // A key that does not parse.
    write(dir, cart);
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    expect(refusal(() => readMountedCertificate(dir)).message).toMatch(/key.pem: the private key does not parse/);
    // Roots of another CA.
    write(dir, cart, foreign.rootsPem);
    expect(refusal(() => readMountedCertificate(dir)).message).toMatch(/cert-chain.pem: the chain does not lead to a root of .*root-cert.pem/);
    // Expired: judged at a time after its end.
    write(dir, cart);
    expect(refusal(() => readMountedCertificate(dir, new Date(Date.parse(cart.leaf.validTo) + 1000))).message).toMatch(/certificate 1 \(serial \w+\) expired at/);
    // A root where the leaf should be.
    writeFileSync(join(dir, 'cert-chain.pem'), mesh.rootsPem);
    expect(refusal(() => readMountedCertificate(dir)).message).toMatch(/cert-chain.pem: the first certificate is a CA certificate, not a workload certificate/);
  });
});

describe('MountedWorkloadCertificates', () => {
  it('open() fails start-up on files that do not fit', async () => {
    const dir = certDir(await mesh.svid('shop', 'cart'), foreign.rootsPem);
    expect(() => open(dir)).toThrow(MountedCertificateError);
  });

  it('takes a valid rewrite (subscribers told); refuses one that does not parse or whose key does not match, keeping the previous', async () => {
    const first = await mesh.svid('shop', 'cart');
    const dir = certDir(first);
    const logs: string[] = [];
    const s = open(dir, logs);
    expect(serialOf(s.current())).toBe(first.leaf.serialNumber);
    const heard: string[] = [];
    s.subscribe((c) => heard.push(serialOf(c)!));

    // A new chain whose key is not written (yet): refused, located at key.pem, the first kept.
    const second = await mesh.svid('shop', 'cart');
    writeFileSync(join(dir, 'cert-chain.pem'), second.certChainPem);
    await expect.poll(() => logs.filter((l) => l.startsWith('error:')).length, { timeout: 5_000 }).toBe(1);
    expect(logs.find((l) => l.startsWith('error:'))).toMatch(new RegExp(`^error: workload certificate files refused: wasmesh: ${join(dir, 'key.pem')}: the key is not the one certified .*; keeping serial ${first.leaf.serialNumber} until`));
    expect(serialOf(s.current())).toBe(first.leaf.serialNumber);
    expect(heard).toEqual([]);

    // The key follows: taken.
    writeFileSync(join(dir, 'key.pem'), second.keyPem);
    await expect.poll(() => heard, { timeout: 5_000 }).toEqual([second.leaf.serialNumber]);
    expect(serialOf(s.current())).toBe(second.leaf.serialNumber);

    // Garbage: refused, the second kept.
    writeFileSync(join(dir, 'cert-chain.pem'), 'not pem at all');
    await expect.poll(() => logs.filter((l) => l.startsWith('error:')).length, { timeout: 5_000 }).toBe(2);
    expect(logs.filter((l) => l.startsWith('error:'))[1]).toMatch(/certificate chain .*cert-chain.pem: no PEM block in the file \(TLS_FILE\); keeping serial/);
    expect(serialOf(s.current())).toBe(second.leaf.serialNumber);
    expect(heard).toEqual([second.leaf.serialNumber]);
  });

  it('an expired certificate that was not rewritten: none served, logged', async () => {
    const svid = await mesh.svid('shop', 'cart', { ttlMs: 2_000 });
    const logs: string[] = [];
    const s = open(certDir(svid), logs);
    expect(s.current()).not.toBeNull();
    await expect.poll(() => s.current(), { timeout: 5_000 }).toBeNull();
    await expect.poll(() => logs.some((l) => /^error: workload certificate spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart serial \w+ from .* expired at .*never plaintext/.test(l)), { timeout: 2_000 }).toBe(true);
  });
});
