// The proxy's certificate client against a real CA server over TLS: first certificate, renewal at
// half life (TTL 4 s → ~2 s) without ever handing out nothing or an expired certificate, the CA away
// (backoff retries, the old certificate kept until it expires, then none), the CA back (renewed),
// and chains that must be refused (foreign root, wrong SAN, someone else's key).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { CertificateClient, verifyIssuedChain, type Svid } from '../../host/identity/certificate-client.js';
import { IdentityError } from '../../host/identity/identity-error.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { signToken } from '../../host/identity/workload-token.js';
import { X509Certificate } from 'node:crypto';
import { freePort } from '../helpers/ports.js';

const CART = spiffeId('shop', 'cart');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startCa(dir: string, port = 0): Promise<CaServer> {
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', certTtlMs: 4_000 });
  const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
  await server.listen('127.0.0.1', port);
  return server;
}

function newClient(dir: string, port: number, token?: string): CertificateClient {
  const client = new CertificateClient({
    address: `127.0.0.1:${port}`,
    rootsPem: readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
    token: () => token ?? signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 }),
    identity: CART,
    ttlMs: 4_000,
    backoff: { baseMs: 100, maxMs: 400 },
    requestTimeoutMs: 1_000,
  });
  cleanup.push(() => client.close());
  return client;
}

/** Samples client.current() every 50 ms until stopped: what a TLS listener would have served. */
function sampler(client: CertificateClient): { stop(): Array<{ at: number; serial: string | null; expired: boolean }> } {
  const seen: Array<{ at: number; serial: string | null; expired: boolean }> = [];
  const t = setInterval(() => {
    const c = client.current();
    seen.push({ at: Date.now(), serial: c?.serial ?? null, expired: c !== null && c.notAfter.getTime() <= Date.now() });
  }, 50);
  return { stop: () => (clearInterval(t), seen) };
}

describe('CertificateClient', () => {
  it('gets a certificate and renews it at half life (TTL 4 s → ~2 s), serving the old one until the new one is in hand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cc-'));
    const server = await startCa(dir);
    cleanup.push(() => server.close());
    const client = newClient(dir, server.port);
    const first = await client.start();
    expect(client.state).toBe('holding');
    expect(first.notAfter.getTime() - first.notBefore.getTime()).toBe(4_000);
    expect(new X509Certificate(first.certChainPem).subjectAltName).toBe('URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(client.current()).toBe(first);
    const samples = sampler(client);
    const [second, previous] = await new Promise<[Svid, Svid | null]>((resolve) => client.once('rotated', (s, p) => resolve([s, p])));
    const renewedAt = Date.now();
    expect(previous).toBe(first);
    expect(second.serial).not.toBe(first.serial);
    // Half life of the first certificate, give or take scheduling.
    const half = first.notBefore.getTime() + 2_000;
    expect(renewedAt).toBeGreaterThanOrEqual(half);
    expect(renewedAt).toBeLessThan(half + 1_000);
    expect(client.current()).toBe(second);
    const seen = samples.stop();
    expect(seen.length).toBeGreaterThan(5);
    // Never without a certificate, never an expired one; the first until the switch.
    expect(seen.every((s) => s.serial !== null && !s.expired)).toBe(true);
    expect(seen.filter((s) => s.at < renewedAt - 100).every((s) => s.serial === first.serial)).toBe(true);
  });

  it('the CA away: retries with growing jittered backoff, keeps the old certificate until it expires, then serves none; the CA back: renewed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cc-'));
    const port = await freePort();
    let server = await startCa(dir, port);
    const client = newClient(dir, port);
    const first = await client.start();
    await server.close();
    const failures: Array<{ attempt: number; retryInMs: number; at: number }> = [];
    client.on('renewal-failed', (_e, attempt, retryInMs) => failures.push({ attempt, retryInMs, at: Date.now() }));
    const samples = sampler(client);
    const expired = await new Promise<Svid>((resolve) => client.once('expired', resolve));
    expect(expired).toBe(first);
    const seen = samples.stop();
    // Failures began at half life; the delays grow to the cap, each jittered within [cap/2, cap].
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures[0]!.at).toBeGreaterThanOrEqual(first.notBefore.getTime() + 2_000);
    expect(failures.map((f) => f.attempt)).toEqual(failures.map((_, i) => i + 1));
    for (const f of failures) {
      const cap = Math.min(400, 100 * 2 ** (f.attempt - 1));
      expect(f.retryInMs).toBeGreaterThanOrEqual(cap / 2);
      expect(f.retryInMs).toBeLessThanOrEqual(cap);
    }
    // The old certificate was served all along until its expiry, and never after it.
    expect(seen.filter((s) => s.at < first.notAfter.getTime() - 100).every((s) => s.serial === first.serial)).toBe(true);
    expect(seen.every((s) => !s.expired)).toBe(true);
    expect(client.current()).toBeNull();
    // The CA comes back on the same port: the next retry gets a fresh certificate.
    server = await startCa(dir, port);
    cleanup.push(() => server.close());
    const [renewed, previous] = await new Promise<[Svid, Svid | null]>((resolve) => client.once('rotated', (s, p) => resolve([s, p])));
    expect(previous).toBe(first);
    expect(renewed.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(client.current()).toBe(renewed);
  });

  it('a refused token: start() keeps retrying and says why; close() ends it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cc-'));
    const server = await startCa(dir);
    cleanup.push(() => server.close());
    const client = newClient(dir, server.port, signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'admin', ttlMs: 60_000 }));
    const started = client.start();
    const errors: string[] = [];
    await new Promise<void>((resolve) => client.on('renewal-failed', (e, attempt) => (errors.push(e.message), attempt === 2 && resolve())));
    expect(errors[0]).toMatch(/PERMISSION_DENIED|7 PERMISSION_DENIED/);
    expect(errors[0]).toMatch(/asks for spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart but the caller's token proves spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin/);
    expect(client.current()).toBeNull();
    client.close();
    await expect(started).rejects.toThrow(/closed before a certificate was issued/);
  });
});

describe('verifyIssuedChain', () => {
  it('refuses a chain from a foreign root, naming another identity, or certifying another key', async () => {
    const ca = await CertificateAuthority.open({ dir: mkdtempSync(join(tmpdir(), 'wasmesh-cc-')), trustDomain: 'cluster.local' });
    const foreign = await CertificateAuthority.open({ dir: mkdtempSync(join(tmpdir(), 'wasmesh-cc-')), trustDomain: 'cluster.local' });
    const anchors = ca.rootsPem.map((p) => new X509Certificate(p));
    const { csrPem, keyPem } = await createWorkloadCsr(CART);
    const ok = await ca.sign(csrPem, CART);
    const response = (i: { chainPem: readonly string[]; rootsPem: readonly string[] }) => ({ cert_chain: [...i.chainPem, i.rootsPem.join('')], root_cert: null });
    expect(verifyIssuedChain(response(ok), keyPem, CART, anchors).serial).toBe(new X509Certificate(ok.chainPem[0]!).serialNumber);
    const refuse = (f: () => unknown, why: RegExp) => {
      const err = (() => { try { f(); } catch (e) { return e; } return null; })();
      expect(err).toBeInstanceOf(IdentityError);
      expect((err as IdentityError).code).toBe('chain_invalid');
      expect((err as Error).message).toMatch(why);
    };
    refuse(() => verifyIssuedChain(response(ok), keyPem, CART, foreign.rootsPem.map((p) => new X509Certificate(p))), /does not lead to a root this proxy trusts/);
    refuse(() => verifyIssuedChain(response(ok), keyPem, spiffeId('shop', 'admin'), anchors), /names URI:spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart, not URI:spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin/);
    const other = await createWorkloadCsr(CART);
    refuse(() => verifyIssuedChain(response(ok), other.keyPem, CART, anchors), /does not certify the key this proxy generated/);
    refuse(() => verifyIssuedChain({ cert_chain: [] }, keyPem, CART, anchors), /holds no certificate/);
    refuse(() => verifyIssuedChain(response(ok), keyPem, CART, anchors, new Date(Date.now() + 25 * 3_600_000)), /is not valid now/);
  });
});
