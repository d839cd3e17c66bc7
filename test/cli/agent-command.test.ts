// `wasmesh agent`: run in-process against a CA, it serves the workload's certificate over SDS on
// <socket-dir>/var/run/secrets/workload-spiffe-uds/socket and removes the socket when stopped; a
// missing token or root file is an error at start (exit 1); bad flags are usage errors.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentCommand } from '../../host/cli/agent-command.js';
import { main } from '../../host/cli/main.js';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { signToken } from '../../host/identity/workload-token.js';
import { fakeIo } from '../helpers/fake-io.js';
import { NODE, SdsStream, secretsOf, text } from '../helpers/sds-test-client.js';

describe('wasmesh agent', () => {
  it('serves the certificate for --namespace/--service-account over SDS on Istio\'s path under --socket-dir, until stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-cli-'));
    const ca = await CertificateAuthority.open({ dir, trustDomain: 'example.org' });
    const server = new CaServer({ ca, tokenKeys: [openTokenKey(dir)] });
    await server.listen('127.0.0.1', 0);
    const token = join(dir, 'cart.token');
    writeFileSync(token, signToken(openTokenKey(dir), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 }));
    let stop!: (s: string) => void;
    const io = fakeIo();
    io.stopRequested = () => new Promise<string>((r) => (stop = r));
    const socketDir = join(dir, 'cart');
    const socket = join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket');
    const running = main(['agent', '--token-file', token, '--ca-root', join(dir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${server.port}`,
      '--namespace', 'shop', '--service-account', 'cart', '--trust-domain', 'example.org', '--cert-ttl', '1h', '--socket-dir', socketDir], io);
    try {
      await expect.poll(() => existsSync(socket), { timeout: 5_000 }).toBe(true);
      const s = new SdsStream(socket);
      s.send({ node: NODE, resource_names: ['default'] });
      const secret = secretsOf(await s.next(5_000))[0]!;
      const leaf = new X509Certificate(text((secret.tls_certificate as { certificate_chain: { inline_bytes: string } }).certificate_chain.inline_bytes));
      expect(leaf.subjectAltName).toBe('URI:spiffe://example.org/ns/shop/sa/cart');
      expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(3_600_000);
      s.cancel();
      expect(io.stderr).toMatch(/SDS on .*workload-spiffe-uds\/socket/);
    } finally {
      stop('SIGTERM');
      expect(await running).toBe(0);
      await server.close();
    }
    expect(existsSync(socket)).toBe(false);
    expect(io.stderr).toMatch(/SIGTERM: shutting down/);
  });

  it('a token or root file that cannot be read is an error at start (exit 1), naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-agent-cli-'));
    await CertificateAuthority.open({ dir, trustDomain: 'cluster.local' });
    const io = fakeIo({ stopWith: 'SIGTERM' });
    expect(await agentCommand(['--token-file', join(dir, 'missing.token'), '--ca-root', join(dir, 'root-cert.pem'), '--namespace', 'shop', '--socket-dir', dir], io)).toBe(1);
    expect(io.stderr).toMatch(/missing\.token/);
    const io2 = fakeIo({ stopWith: 'SIGTERM' });
    writeFileSync(join(dir, 't'), 'x');
    expect(await agentCommand(['--token-file', join(dir, 't'), '--ca-root', join(dir, 'nope.pem'), '--namespace', 'shop', '--socket-dir', dir], io2)).toBe(1);
    expect(io2.stderr).toMatch(/nope\.pem/);
    // A root file with no certificate: refused by the certificate client.
    const io3 = fakeIo({ stopWith: 'SIGTERM' });
    expect(await agentCommand(['--token-file', join(dir, 't'), '--ca-root', join(dir, 't'), '--namespace', 'shop', '--socket-dir', dir], io3)).toBe(1);
    expect(io3.stderr).toMatch(/holds no certificate/);
    expect(readFileSync(join(dir, 'root-cert.pem'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
  });

  it('bad flags are usage errors naming the fault', async () => {
    const base = ['--token-file', 't', '--ca-root', 'r', '--namespace', 'shop'];
    await expect(agentCommand(['--ca-root', 'r', '--namespace', 'shop'], fakeIo())).rejects.toThrow(/--token-file is required/);
    await expect(agentCommand(['--token-file', 't', '--namespace', 'shop'], fakeIo())).rejects.toThrow(/--ca-root is required/);
    await expect(agentCommand(['--token-file', 't', '--ca-root', 'r'], fakeIo())).rejects.toThrow(/--namespace is required/);
    await expect(agentCommand([...base, '--cert-ttl', '5'], fakeIo())).rejects.toThrow(/--cert-ttl/);
    await expect(agentCommand([...base, '--cert-ttl', '10ms'], fakeIo())).rejects.toThrow(/--cert-ttl: at least 1s/);
    await expect(agentCommand([...base, '--service-account', 'Cart'], fakeIo())).rejects.toThrow(/wasmesh agent/);
    await expect(agentCommand([...base, '--trust-domain', 'a b'], fakeIo())).rejects.toThrow(/--trust-domain/);
    await expect(agentCommand([...base, '--ca-address', 'nohost'], fakeIo())).rejects.toThrow(/--ca-address/);
    await expect(agentCommand([...base, '--key-algorithm', 'dsa'], fakeIo())).rejects.toThrow(/--key-algorithm: expected ecdsa-p256 or rsa-2048/);
    await expect(agentCommand([...base, '--socket-dir', ''], fakeIo())).rejects.toThrow(/--socket-dir needs a non-empty value/);
  });
});
