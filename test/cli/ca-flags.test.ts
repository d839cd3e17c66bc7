// The control plane's CA flags: `wasmesh control-plane --ca-dir` serves Istio's CSR API on
// --secure-listen, and a proxy with a `wasmesh token` gets its certificate there; bad CA flags are
// usage errors; without --ca-dir nothing listens for CSRs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caFromFlags } from '../../host/cli/ca-flags.js';
import type { CliIo } from '../../host/cli/cli-io.js';
import { controlPlaneCommand } from '../../host/cli/control-plane-command.js';
import { main } from '../../host/cli/main.js';
import { CertificateClient } from '../../host/identity/certificate-client.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { fakeIo } from '../helpers/fake-io.js';
import { busyPort } from '../helpers/ports.js';

const CMD = 'wasmesh control-plane';

describe('control-plane CA flags', () => {
  it('no --ca-dir: no CA; CA flags without it are usage errors; bad values are named', () => {
    expect(caFromFlags(CMD, {})).toBeNull();
    expect(() => caFromFlags(CMD, { 'cert-ttl': '1h' })).toThrow(/--cert-ttl goes with --ca-dir/);
    expect(caFromFlags(CMD, { 'ca-dir': '/x' })).toEqual({ dir: '/x', trustDomain: 'cluster.local', certTtlMs: 86_400_000, keyAlgorithm: 'ecdsa-p256', listen: { host: '127.0.0.1', port: 15012 }, kubeTokens: false });
    expect(caFromFlags(CMD, { 'ca-dir': '/x', 'trust-domain': 'example.org', 'cert-ttl': '4s', 'ca-key-algorithm': 'rsa-2048', 'secure-listen': ':0' }))
      .toEqual({ dir: '/x', trustDomain: 'example.org', certTtlMs: 4000, keyAlgorithm: 'rsa-2048', listen: { host: '127.0.0.1', port: 0 }, kubeTokens: false });
    expect(() => caFromFlags(CMD, { 'ca-dir': '/x', 'trust-domain': 'Example.org' })).toThrow(/--trust-domain: the trust domain "Example.org" holds "E"/);
    expect(() => caFromFlags(CMD, { 'ca-dir': '/x', 'cert-ttl': '10ms' })).toThrow(/--cert-ttl: at least 1s/);
    expect(() => caFromFlags(CMD, { 'ca-dir': '/x', 'ca-key-algorithm': 'dsa' })).toThrow(/expected ecdsa-p256 or rsa-2048, got "dsa"/);
    expect(() => caFromFlags(CMD, { 'ca-dir': '/x', 'secure-listen': 'nope' })).toThrow(/--secure-listen/);
    expect(caFromFlags(CMD, { 'ca-dir': '/x', 'kube-tokens': true })?.kubeTokens).toBe(true);
    expect(() => caFromFlags(CMD, { 'kube-tokens': true })).toThrow(/--kube-tokens goes with --ca-dir/);
  });

  it('--kubeconfig needs --kube or --kube-tokens (usage error); a kubeconfig that cannot be read stops the start (exit 1, named)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-kube-'));
    const base = ['-f', 'examples/000-web-demo/00-web-services.yaml', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0'];
    await expect(controlPlaneCommand([...base, '--kubeconfig', join(dir, 'kc')], fakeIo())).rejects.toThrow(/wasmesh control-plane: --kubeconfig needs --kube or --kube-tokens/);
    const io: CliIo & { stderr: string } = { ...fakeIo(), stderr: '', err(t: string) { io.stderr += t; } };
    const code = await controlPlaneCommand([...base, '--ca-dir', join(dir, 'ca'), '--secure-listen', '127.0.0.1:0', '--kube-tokens', '--kubeconfig', join(dir, 'missing')], io);
    expect(code).toBe(1);
    expect(io.stderr).toContain(`wasmesh control-plane: --kube-tokens: kubeconfig ${join(dir, 'missing')}: ENOENT`);
  });

  it('wasmesh control-plane --ca-dir serves the CSR API; a proxy with a `wasmesh token` gets spiffe://<td>/ns/<ns>/sa/<sa>', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-ca-'));
    let stop!: (s: string) => void;
    const stopped = new Promise<string>((r) => (stop = r));
    const io: CliIo & { stderr: string } = { ...fakeIo(), stderr: '', err(t: string) { io.stderr += t; }, stopRequested: () => stopped };
    const running = controlPlaneCommand(['-f', 'examples/000-web-demo/00-web-services.yaml', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
      '--ca-dir', join(dir, 'ca'), '--trust-domain', 'example.org', '--cert-ttl', '1h', '--secure-listen', '127.0.0.1:0'], io);
    try {
      await expect.poll(() => io.stderr, { timeout: 10_000 }).toMatch(/CA for trust domain example.org \(generated a new root in .*; certificates live 3600 s\) on 127.0.0.1:\d+/);
      const port = Number(/on 127\.0\.0\.1:(\d+) \(TLS/.exec(io.stderr)![1]);
      const tokenFile = join(dir, 'cart.token');
      expect(await main(['token', '--namespace', 'shop', '--service-account', 'cart', '--ca-dir', join(dir, 'ca'), '-o', tokenFile], fakeIo())).toBe(0);
      const client = new CertificateClient({
        address: `127.0.0.1:${port}`,
        rootsPem: readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'),
        token: () => readFileSync(tokenFile, 'utf8'),
        identity: spiffeId('shop', 'cart', 'example.org'),
        backoff: { baseMs: 100, maxMs: 200 },
      });
      try {
        const svid = await client.start();
        expect(svid.notAfter.getTime() - svid.notBefore.getTime()).toBe(3_600_000);
        expect(svid.identity).toEqual({ trustDomain: 'example.org', namespace: 'shop', serviceAccount: 'cart' });
      } finally {
        client.close();
      }
      expect(io.stderr).toMatch(/CA: issued spiffe:\/\/example.org\/ns\/shop\/sa\/cart serial/);
    } finally {
      stop('SIGTERM');
      expect(await running).toBe(0);
    }
  });

  it('a busy --secure-listen port: exit 1 saying which address, nothing left listening', async () => {
    const busy = await busyPort();
    try {
      const io = fakeIo({ stopWith: 'SIGTERM' });
      const code = await controlPlaneCommand(['-f', 'examples/000-web-demo/00-web-services.yaml', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
        '--ca-dir', mkdtempSync(join(tmpdir(), 'wasmesh-cp-ca-')), '--secure-listen', `127.0.0.1:${busy.port}`], io);
      expect(code).toBe(1);
      expect(io.stderr).toMatch(new RegExp(`CA: cannot listen on 127.0.0.1:${busy.port} \\(--secure-listen\\)`));
    } finally {
      await busy.close();
    }
  });
});
