// The workload agent against a real CA server over TLS: the socket is served before the first
// certificate (a request waits, then gets it), `default` carries the workload's SPIFFE ID and
// `ROOTCA` the CA's roots, a renewal at half life (TTL 4 s) is pushed with a new serial, and
// close() removes the socket.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkloadAgent } from '../../host/agent/workload-agent.js';
import { sdsSocketPath } from '../../host/agent/socket-path.js';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { signToken } from '../../host/identity/workload-token.js';
import { freePort } from '../helpers/ports.js';
import { NODE, SdsStream, secretsOf, text } from '../helpers/sds-test-client.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startCa(dir: string): Promise<CaServer> {
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', certTtlMs: 4_000 });
  const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
  await server.listen('127.0.0.1', 0);
  cleanup.push(() => server.close());
  return server;
}

function agentFor(dir: string, caPort: number, socketDir: string, log?: (level: string, message: string) => void): WorkloadAgent {
  const agent = new WorkloadAgent({
    socketPath: sdsSocketPath(socketDir),
    log,
    certificate: {
      address: `127.0.0.1:${caPort}`,
      rootsPem: readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
      token: () => signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 }),
      identity: spiffeId('shop', 'cart'),
      ttlMs: 4_000,
      backoff: { baseMs: 100, maxMs: 400 },
    },
  });
  cleanup.push(() => agent.close());
  return agent;
}

const leafOf = (secret: Record<string, unknown>): X509Certificate =>
  new X509Certificate(text((secret.tls_certificate as { certificate_chain: { inline_bytes: string } }).certificate_chain.inline_bytes));

describe('WorkloadAgent', () => {
  it('serves the CA-issued certificate as default and the roots as ROOTCA on Istio\'s socket path, and pushes each renewal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-ca-'));
    const socketDir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-'));
    const ca = await startCa(dir);
    const agent = agentFor(dir, ca.port, socketDir);
    await agent.start();
    expect(agent.socketPath).toBe(join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket'));
    const d = new SdsStream(agent.socketPath);
    cleanup.push(() => d.cancel());
    d.send({ node: NODE, resource_names: ['default'] });
    const res = await d.next();
    const first = await agent.firstCertificate;
    const leaf = leafOf(secretsOf(res)[0]!);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(leaf.serialNumber).toBe(first.serial);
    d.send({ resource_names: ['default'], version_info: res.version_info, response_nonce: res.nonce });

    const r = new SdsStream(agent.socketPath);
    cleanup.push(() => r.cancel());
    r.send({ node: NODE, resource_names: ['ROOTCA'] });
    const roots = secretsOf(await r.next())[0]!;
    expect(text((roots.validation_context as { trusted_ca: { inline_bytes: string } }).trusted_ca.inline_bytes)).toBe(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));

    // Half life of 4 s: the renewal is pushed as a new default with another serial.
    const pushed = await d.next(5_000);
    const renewed = leafOf(secretsOf(pushed)[0]!);
    expect(renewed.serialNumber).not.toBe(first.serial);
    expect(renewed.serialNumber).toBe(agent.current()!.serial);
    await expect.poll(() => agent.sds.proxies()[0]?.types.get(pushed.type_url as string)?.sentVersion).toBe(pushed.version_info);

    await agent.close();
    expect(existsSync(agent.socketPath)).toBe(false);
  });

  it('serves the socket before the first certificate: a request waits until the CA answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-ca-'));
    const socketDir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-'));
    // The roots exist, the CA does not listen yet: the client retries with backoff.
    await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    const port = await freePort();
    const agent = agentFor(dir, port, socketDir);
    await agent.start();
    const d = new SdsStream(agent.socketPath);
    cleanup.push(() => d.cancel());
    d.send({ node: NODE, resource_names: ['default'] });
    expect(await d.quiet(600)).toBe(true);
    expect(agent.current()).toBeNull();
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', certTtlMs: 60_000 });
    const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
    await server.listen('127.0.0.1', port);
    cleanup.push(() => server.close());
    const res = await d.next(5_000);
    expect(leafOf(secretsOf(res)[0]!).serialNumber).toBe((await agent.firstCertificate).serial);
  });

  it('a certificate that expires with the CA away is said in the log; Envoy keeps what it was sent (nothing is pushed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-ca-'));
    const socketDir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-'));
    const ca = await startCa(dir);
    const lines: string[] = [];
    const agent = agentFor(dir, ca.port, socketDir, (level, message) => lines.push(`${level} ${message}`));
    await agent.start();
    const d = new SdsStream(agent.socketPath);
    cleanup.push(() => d.cancel());
    d.send({ node: NODE, resource_names: ['default'] });
    const res = await d.next();
    d.send({ resource_names: ['default'], version_info: res.version_info, response_nonce: res.nonce });
    await ca.close();
    await expect.poll(() => lines.some((l) => /^error SDS: certificate serial \S+ expired before a new one was issued/.test(l)), { timeout: 8_000 }).toBe(true);
    expect(agent.current()).toBeNull();
    expect(await d.quiet()).toBe(true);
  });
});
