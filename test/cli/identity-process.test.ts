// The proxy's own identity end to end, as real processes: a CA directory, `wasmesh token`, a
// `wasmesh proxy --token-file` started while the control plane is not up yet (/ready 503: workload
// certificate not yet issued), then `wasmesh control-plane --ca-dir` on the CA port: the proxy's
// retry gets its certificate and /ready turns 200; a second proxy takes its config over xDS on the
// same TLS port (--xds-tls); a sidecar with --cert-dir is ready with the mounted certificate, refuses
// a rewrite that does not fit, and does not start on such files. Usage errors exit 2.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { freePort } from '../helpers/ports.js';
import { testMeshCa } from '../helpers/mesh-ca.js';
import { ensureBuilt, startProxy, WasmeshProcess } from '../helpers/wasmesh-process.js';

let dir = '';
const procs: WasmeshProcess[] = [];
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-identity-proc-'));
}, 300_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SERVICES = 'examples/000-web-demo/00-web-services.yaml';

async function ready(adminPort: number): Promise<[number, string]> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
  return [r.status, await r.text()];
}

describe('wasmesh proxy --token-file (process)', () => {
  it('usage errors of the identity flags exit 2 naming the flag', async () => {
    const p = new WasmeshProcess(['proxy', '-f', SERVICES, '--listen', '127.0.0.1:0', '--token-file', join(dir, 'x.token')]);
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr).toContain('wasmesh proxy: --ca-root <root-cert.pem> is required with --token-file');
    const s = new WasmeshProcess(['sidecar', '-f', SERVICES, '--app-ports', '5005', '--cert-dir', dir, '--token-file', join(dir, 'x.token')]);
    expect((await s.exited).code).toBe(2);
    expect(s.stderr).toContain('wasmesh sidecar: --token-file and --cert-dir exclude each other');
  });

  it('not ready until the CA issues its certificate; ready once it does', async () => {
    const caDir = join(dir, 'ca');
    // The root exists before anything runs (as a CA directory made earlier would); the control plane takes it as it is.
    await CertificateAuthority.open({ dir: caDir, trustDomain: 'cluster.local' });
    const tokenFile = join(dir, 'cart.token');
    const token = new WasmeshProcess(['token', '--namespace', 'shop', '--service-account', 'cart', '--ca-dir', caDir, '-o', tokenFile]);
    expect((await token.exited).code).toBe(0);
    const caPort = await freePort();

    const { proc, adminPort } = await startProxy(['-f', SERVICES, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--namespace', 'shop', '--service-account', 'cart',
      '--token-file', tokenFile, '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`, '--cert-ttl', '1h']);
    procs.push(proc);
    expect(proc.stderr).toContain(`workload certificate for spiffe://cluster.local/ns/shop/sa/cart from the CA at 127.0.0.1:${caPort}`);
    expect(await ready(adminPort)).toEqual([503, 'PRE_INITIALIZING: workload certificate not yet issued\n']);
    await proc.waitFor(/certificate request failed \(attempt 1/);

    const cp = new WasmeshProcess(['control-plane', '-f', SERVICES, '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--ca-dir', caDir, '--secure-listen', `127.0.0.1:${caPort}`]);
    procs.push(cp);
    await cp.waitFor(/CA for trust domain cluster.local \(using the CA files/);
    await proc.waitFor(/certificate for spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart serial \w+ until/, 'stderr', 40_000);
    await expect.poll(() => ready(adminPort), { timeout: 5_000 }).toEqual([200, 'LIVE\n']);

    // The operator's view of it: istioctl's table, the leaf issued for the proxy's identity.
    const secret = new WasmeshProcess(['proxy-config', 'secret', `127.0.0.1:${adminPort}`]);
    expect((await secret.exited).code).toBe(0);
    expect(secret.stdout).toMatch(/^default\s+Cert Chain\s+ACTIVE\s+true\s+\d+\s+\S+Z\s+\S+Z$/m);
    expect(secret.stdout).toMatch(/^ROOTCA\s+CA\s+ACTIVE\s+true\s+\d+/m);
    const certs = (await (await fetch(`http://127.0.0.1:${adminPort}/certs`)).json()) as { certificates: Array<{ cert_chain: Array<{ subject_alt_names: unknown }> }> };
    expect(certs.certificates[0]!.cert_chain[0]!.subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/shop/sa/cart' }]);

    // A second proxy takes its config over TLS on the same port (istiod's 15012): ready once both config and certificate are in.
    const { proc: viaTls, adminPort: tlsAdmin } = await startProxy(['--xds', `127.0.0.1:${caPort}`, '--xds-tls', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
      '--namespace', 'shop', '--service-account', 'cart', '--token-file', tokenFile, '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`]);
    procs.push(viaTls);
    await expect.poll(() => ready(tlsAdmin), { timeout: 20_000 }).toEqual([200, 'LIVE\n']);
    const dump = (await (await fetch(`http://127.0.0.1:${tlsAdmin}/config_dump`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(dump)).toContain('web.default.svc.cluster.local');
  }, 60_000);

  it('wasmesh sidecar --cert-dir: ready with the mounted certificate, /certs and proxy-config secret show it; files that do not fit stop the start (exit 1)', async () => {
    const mesh = await testMeshCa();
    const svid = await mesh.svid('shop', 'cart');
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'cert-chain.pem'), svid.certChainPem);
    writeFileSync(join(certDir, 'key.pem'), svid.keyPem);
    writeFileSync(join(certDir, 'root-cert.pem'), mesh.rootsPem);
    const loopback = ['--outbound', '127.0.0.1:0', '--inbound', '127.0.0.1:0', '--health', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
    const sc = new WasmeshProcess(['sidecar', '-f', SERVICES, '--app-ports', '5999', ...loopback, '--cert-dir', certDir]);
    procs.push(sc);
    const m = await sc.waitFor(/health on http:\/\/[^:]+:(\d+)\/healthz\/ready, admin on http:\/\/[^:]+:(\d+) .*; workload certificate from /);
    const [health, admin] = [Number(m[1]), Number(m[2])];
    expect((await fetch(`http://127.0.0.1:${health}/healthz/ready`)).status).toBe(200);
    const secret = new WasmeshProcess(['proxy-config', 'secret', `127.0.0.1:${admin}`]);
    expect((await secret.exited).code).toBe(0);
    expect(secret.stdout).toContain(`default   `);
    expect(secret.stdout).toContain(BigInt(`0x${svid.leaf.serialNumber}`).toString(10));

    writeFileSync(join(certDir, 'key.pem'), (await mesh.svid('shop', 'cart')).keyPem);
    const bad = new WasmeshProcess(['sidecar', '-f', SERVICES, '--app-ports', '5999', ...loopback, '--cert-dir', certDir]);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr).toContain(`wasmesh sidecar: wasmesh: ${join(certDir, 'key.pem')}: the key is not the one certified by the first certificate of cert-chain.pem`);
    // The running sidecar refused the rewrite and keeps its certificate.
    await sc.waitFor(/workload certificate files refused: .*key.pem: the key is not the one certified/);
    expect((await fetch(`http://127.0.0.1:${health}/healthz/ready`)).status).toBe(200);
  }, 60_000);
});
