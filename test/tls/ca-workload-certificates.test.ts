// The CA-fed workload certificate source against a real CA over TLS (certificates of 3 s): the
// first certificate, a renewal at half life that replaces it and reaches subscribers, the CA away
// (the certificate kept until it expires, then none, logged with the CA's error), the CA back
// (renewed), a throwing subscriber, and a close before anything was issued.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { signToken } from '../../host/identity/workload-token.js';
import { CaWorkloadCertificates } from '../../host/tls/ca-workload-certificates.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { freePort } from '../helpers/ports.js';

const TTL = 3_000;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startCa(dir: string, port = 0): Promise<CaServer> {
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', certTtlMs: TTL });
  const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
  await server.listen('127.0.0.1', port);
  return server;
}

function source(dir: string, port: number, logs: string[] = [], serviceAccount = 'cart'): CaWorkloadCertificates {
  const s = new CaWorkloadCertificates({
    address: `127.0.0.1:${port}`,
    rootsPem: readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
    token: () => signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount, ttlMs: 60_000 }),
    identity: spiffeId('shop', 'cart'),
    ttlMs: TTL,
    backoff: { baseMs: 100, maxMs: 400 },
    requestTimeoutMs: 1_000,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  cleanup.push(() => s.close());
  return s;
}

const serialOf = (c: WorkloadCertificate) => new X509Certificate(c.certChainPem).serialNumber;
const next = (s: CaWorkloadCertificates) => new Promise<WorkloadCertificate>((resolve) => { const off = s.subscribe((c) => (off(), resolve(c))); });

describe('CaWorkloadCertificates', () => {
  it('holds nothing before the first certificate, then the CA\'s; a renewal at half life replaces it and subscribers hear of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cawc-'));
    const server = await startCa(dir);
    cleanup.push(() => server.close());
    const s = source(dir, server.port);
    expect(s.current()).toBeNull();
    const heard: WorkloadCertificate[] = [];
    s.subscribe((c) => heard.push(c));
    const first = await s.start();
    expect(first.identity).toBe('spiffe://cluster.local/ns/shop/sa/cart');
    expect(new X509Certificate(first.certChainPem).subjectAltName).toBe('URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(new X509Certificate(first.certChainPem).checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(first.keyPem)))).toBe(true);
    expect(first.rootsPem).toBe(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
    expect(s.current()).toEqual(first);
    expect(heard).toEqual([first]);
    const renewed = await next(s);
    expect(serialOf(renewed)).not.toBe(serialOf(first));
    expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
    // Issued while the first was still valid (half life), and served from then on.
    expect(Date.now()).toBeLessThan(first.notAfter.getTime());
    expect(s.current()).toEqual(renewed);
    expect(heard).toEqual([first, renewed]);
  });

  it('the CA away: keeps the certificate until it expires, then none (logged with the CA\'s error); the CA back: renewed and served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cawc-'));
    const port = await freePort();
    let server = await startCa(dir, port);
    const logs: string[] = [];
    const s = source(dir, port, logs);
    const first = await s.start();
    await server.close();
    // Sampled until expiry: the first all along, never an expired one, then nothing.
    const seen: Array<{ at: number; serial: string | null }> = [];
    const t = setInterval(() => { const c = s.current(); seen.push({ at: Date.now(), serial: c ? serialOf(c) : null }); }, 50);
    await new Promise((r) => setTimeout(r, first.notAfter.getTime() - Date.now() + 200));
    clearInterval(t);
    expect(seen.filter((x) => x.at < first.notAfter.getTime() - 50).every((x) => x.serial === serialOf(first))).toBe(true);
    expect(seen.filter((x) => x.at >= first.notAfter.getTime()).every((x) => x.serial === null)).toBe(true);
    expect(s.current()).toBeNull();
    const expiry = logs.find((l) => l.startsWith('error: workload certificate for'));
    expect(expiry).toMatch(new RegExp(`^error: workload certificate for spiffe://cluster.local/ns/shop/sa/cart \\(serial ${serialOf(first)}\\) expired at .*; the CA at 127.0.0.1:${port} did not renew it: .*UNAVAILABLE.*never plaintext`));
    server = await startCa(dir, port);
    cleanup.push(() => server.close());
    const renewed = await next(s);
    expect(serialOf(renewed)).not.toBe(serialOf(first));
    expect(s.current()).toEqual(renewed);
  });

  it('a subscriber that throws is logged; the certificate is still served and the client does not count it as a CA failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cawc-'));
    const server = await startCa(dir);
    cleanup.push(() => server.close());
    const logs: string[] = [];
    const s = source(dir, server.port, logs);
    s.subscribe(() => { throw new Error('listener broke'); });
    const first = await s.start();
    expect(s.current()).toEqual(first);
    expect(logs.some((l) => /^error: workload certificate serial \w+: a subscriber failed to take it: listener broke/.test(l))).toBe(true);
    expect(logs.some((l) => l.includes('certificate request failed'))).toBe(false);
  });

  it('a token for another identity: nothing is held, the CA\'s refusal is logged, close() ends the wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cawc-'));
    const server = await startCa(dir);
    cleanup.push(() => server.close());
    const logs: string[] = [];
    const s = source(dir, server.port, logs, 'admin');
    const started = s.start();
    await expect.poll(() => logs.some((l) => l.includes('PERMISSION_DENIED')), { timeout: 5_000 }).toBe(true);
    expect(s.current()).toBeNull();
    s.close();
    await expect(started).rejects.toThrow(/closed before a certificate was issued/);
    await expect(s.start()).rejects.toThrow(/started already/);
  });
});
