// Mesh mTLS between a wasmesh sidecar and a stock Envoy sidecar, both programmed by one control
// plane, everything a process as an operator runs it: `wasmesh control-plane --ca-dir` with a
// mesh-wide PeerAuthentication STRICT, `wasmesh token` for each workload, a `wasmesh sidecar`
// (--xds, --token-file) in front of app alpha, and in front of app beta `wasmesh agent` (SDS) with
// Envoy from `wasmesh envoy-bootstrap --proxy-type sidecar --app-ports --inbound --sds`. Requests
// go both ways through the sidecars' outbound listeners (auto mTLS: the endpoints carry Istio's
// tlsMode label); each app sees the other side's SPIFFE ID in x-forwarded-client-cert; Envoy's
// inbound refuses plaintext and a client without a mesh certificate; edited to PERMISSIVE, it takes
// plaintext too (dropping an XFCC that came in plaintext). AuthorizationPolicies by principal and
// namespace are enforced by each side's inbound (Envoy's RBAC filter, the wasmesh authorization). openssl, as an outside judge, reads the
// wasmesh inbound's chain and verifies it against the mesh root.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { testMeshCa } from '../helpers/mesh-ca.js';
import { openssl, opensslVerify } from '../helpers/openssl.js';
import { freePort } from '../helpers/ports.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { meshServiceEntryYaml, peerAuthenticationYaml, workloadEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

const envoy = envoyForTests('Envoy and wasmesh sidecars in mesh mTLS');
const ALPHA_ID = 'spiffe://cluster.local/ns/shop/sa/alpha';
const BETA_ID = 'spiffe://cluster.local/ns/shop/sa/beta';
const ALPHA = 'alpha.shop.svc.cluster.local';
const BETA = 'beta.shop.svc.cluster.local';

function meshYaml(ports: { alpha: number; beta: number }, mode: 'STRICT' | 'PERMISSIVE' = 'STRICT'): string {
  const service = (name: string, inbound: number): string => yamlDocs(
    meshServiceEntryYaml({ name, namespace: 'shop', host: `${name}.shop.svc.cluster.local`, port: { number: 80, name: 'http', protocol: 'HTTP' }, selector: { app: name } }),
    workloadEntryYaml({ name: `${name}-1`, namespace: 'shop', address: '127.0.0.1', serviceAccount: name, labels: { app: name, 'security.istio.io/tlsMode': 'istio' }, ports: { http: inbound } }),
  );
  return yamlDocs(peerAuthenticationYaml(mode), service('alpha', ports.alpha), service('beta', ports.beta), AUTHZ);
}

/**
 * AuthorizationPolicies by principal and namespace, enforced by each side's inbound: beta (stock
 * Envoy's RBAC filter) serves / to anyone and /from-alpha… only to alpha's principal, except
 * /from-alpha/no-shop, denied to namespace shop; alpha (the wasmesh sidecar) denies /not-beta…
 * to beta's principal.
 */
const AUTHZ = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: beta-allow, namespace: shop }
spec:
  selector: { matchLabels: { app: beta } }
  rules:
  - to: [{ operation: { paths: ["/"] } }]
  - from: [{ source: { principals: ["cluster.local/ns/shop/sa/alpha"] } }]
    to: [{ operation: { paths: ["/from-alpha*"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: beta-deny, namespace: shop }
spec:
  selector: { matchLabels: { app: beta } }
  action: DENY
  rules:
  - from: [{ source: { namespaces: ["shop"] } }]
    to: [{ operation: { paths: ["/from-alpha/no-shop"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: alpha-deny, namespace: shop }
spec:
  selector: { matchLabels: { app: alpha } }
  action: DENY
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/shop/sa/beta"] } }]
    to: [{ operation: { paths: ["/not-beta*"] } }]
`;

interface Seen { app: string; xfcc: string | null }

function appServer(name: string, seen: Seen[]): Server {
  return createServer((req, res) => {
    const xfcc = req.headers['x-forwarded-client-cert'];
    seen.push({ app: name, xfcc: typeof xfcc === 'string' ? xfcc : null });
    res.end(JSON.stringify({ app: name, xfcc: xfcc ?? null }));
  });
}

function get(port: number, host: string, headers: Record<string, string> = {}, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(envoy === null)('a stock Envoy sidecar and a wasmesh sidecar in STRICT mesh mTLS, one control plane', () => {
  let dir = '';
  const seen: Seen[] = [];
  const apps: Server[] = [];
  const procs: WasmeshProcess[] = [];
  let envoyChild: ChildProcess | null = null;
  let envoyLog = '';
  let caDir = '';
  const ports = { wasmeshOutbound: 0, wasmeshInbound: 0, envoyOutbound: 0, envoyInbound: 0 };
  let writeMesh: (mode: 'STRICT' | 'PERMISSIVE') => void = () => {};

  const logs = (): string => [
    ...procs.map((p) => `--- wasmesh ${p.child.spawnargs.slice(2, 3).join(' ')}:\n${p.stderr.slice(-2500)}`),
    `--- envoy:\n${envoyLog.slice(-2500)}`,
  ].join('\n');

  function start(args: string[]): WasmeshProcess {
    const p = new WasmeshProcess(args);
    procs.push(p);
    return p;
  }

  async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    let last: unknown = null;
    for (;;) {
      try {
        if (await f()) return;
      } catch (err) {
        last = err;
      }
      if (Date.now() > end) throw new Error(`timed out: ${what} (last error: ${String(last)})\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-mtls-'));
    caDir = join(dir, 'ca');
    const alphaApp = appServer('alpha', seen);
    const betaApp = appServer('beta', seen);
    apps.push(alphaApp, betaApp);
    for (const a of apps) await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
    const alphaAppPort = (alphaApp.address() as AddressInfo).port;
    const betaAppPort = (betaApp.address() as AddressInfo).port;
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();

    mkdirSync(join(dir, 'mesh'));
    writeMesh = (mode) => writeFileSync(join(dir, 'mesh', 'mesh.yaml'), meshYaml({ alpha: ports.wasmeshInbound, beta: ports.envoyInbound }, mode));
    writeMesh('STRICT');
    const cp = start(['control-plane', '-f', join(dir, 'mesh'), '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--ca-dir', caDir, '--secure-listen', '127.0.0.1:0']);
    const caPort = Number((await cp.waitFor(/CA for trust domain .* on 127\.0\.0\.1:(\d+) \(TLS/))[1]);
    const xdsPort = Number((await cp.waitFor(/; xDS on 127\.0\.0\.1:(\d+), monitoring/))[1]);
    for (const sa of ['alpha', 'beta']) {
      const token = start(['token', '--namespace', 'shop', '--service-account', sa, '--ca-dir', caDir, '-o', join(dir, `${sa}.token`)]);
      expect((await token.exited).code).toBe(0);
    }
    const identity = (sa: string) => ['--token-file', join(dir, `${sa}.token`), '--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`, '--namespace', 'shop', '--service-account', sa];

    // The wasmesh sidecar in front of alpha.
    start(['sidecar', '--xds', `127.0.0.1:${xdsPort}`, ...identity('alpha'), '--labels', 'app=alpha', '--app-ports', String(alphaAppPort),
      '--outbound', `127.0.0.1:${ports.wasmeshOutbound}`, '--inbound', `127.0.0.1:${ports.wasmeshInbound}`, '--health', '127.0.0.1:0', '--admin', '127.0.0.1:0']);

    // Stock Envoy in front of beta: the agent's SDS, the bootstrap from envoy-bootstrap.
    const socketDir = join(dir, 'beta-agent');
    const agent = start(['agent', ...identity('beta'), '--socket-dir', socketDir]);
    await agent.waitFor(/SDS on /);
    const bootstrap = start(['envoy-bootstrap', '--xds', `127.0.0.1:${xdsPort}`, '--admin', `127.0.0.1:${await freePort()}`, '--proxy-type', 'sidecar',
      '--node-id', 'sidecar~127.0.0.1~beta-1.shop~shop.svc.cluster.local', '--namespace', 'shop', '--labels', 'app=beta',
      '--listen', `127.0.0.1:${ports.envoyOutbound}`, '--app-ports', String(betaAppPort), '--inbound', `127.0.0.1:${ports.envoyInbound}`,
      '--sds', join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket')]);
    expect((await bootstrap.exited).code, bootstrap.stderr).toBe(0);
    writeFileSync(join(dir, 'envoy.yaml'), bootstrap.stdout);
    envoyChild = spawn(envoy!, ['-c', join(dir, 'envoy.yaml'), '--disable-hot-restart', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
    envoyChild.stderr!.setEncoding('utf8').on('data', (d: string) => (envoyLog += d));

    // Both directions served once certificates, views and secrets have all arrived.
    await until('wasmesh sidecar → Envoy sidecar', async () => (await get(ports.wasmeshOutbound, BETA)).status === 200);
    await until('Envoy sidecar → wasmesh sidecar', async () => (await get(ports.envoyOutbound, ALPHA)).status === 200);
  }, 90_000);

  afterAll(async () => {
    envoyChild?.kill('SIGTERM');
    for (const p of procs.reverse()) if (p.child.exitCode === null) await p.stop();
    for (const a of apps) await new Promise((r) => a.close(r));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('wasmesh → Envoy: beta sees alpha\'s SPIFFE ID in XFCC, added by Envoy\'s inbound (By = beta)', async () => {
    const r = await get(ports.wasmeshOutbound, BETA);
    expect(r.status, logs()).toBe(200);
    const body = JSON.parse(r.body) as { app: string; xfcc: string };
    expect(body.app).toBe('beta');
    expect(body.xfcc).toContain(`URI=${ALPHA_ID}`);
    expect(body.xfcc).toContain(`By=${BETA_ID}`);
  });

  it('Envoy → wasmesh: alpha sees beta\'s SPIFFE ID in XFCC, added by the wasmesh inbound (By = alpha)', async () => {
    const r = await get(ports.envoyOutbound, ALPHA);
    expect(r.status, logs()).toBe(200);
    const body = JSON.parse(r.body) as { app: string; xfcc: string };
    expect(body.app).toBe('alpha');
    expect(body.xfcc).toContain(`URI=${BETA_ID}`);
    expect(body.xfcc).toContain(`By=${ALPHA_ID}`);
  });

  it('Envoy\'s STRICT inbound refuses plaintext and a client without a mesh certificate; nothing reaches beta', async () => {
    const before = seen.length;
    await expect(get(ports.envoyInbound, BETA)).rejects.toThrow();
    const roots = readFileSync(join(caDir, 'root-cert.pem'), 'utf8');
    const foreign = await testMeshCa();
    try {
      const stranger = await foreign.svid('shop', 'alpha');
      const tlsGet = (cert: { certChainPem: string; keyPem: string } | null) => new Promise<number>((resolve, reject) => {
        const req = httpsRequest({
          host: '127.0.0.1', port: ports.envoyInbound, path: '/', headers: { host: BETA }, agent: false, ca: roots, timeout: 5000,
          checkServerIdentity: () => undefined, ...(cert ? { cert: cert.certChainPem, key: cert.keyPem } : {}),
        }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
      await expect(tlsGet(null)).rejects.toThrow();
      await expect(tlsGet(stranger)).rejects.toThrow();
    } finally {
      rmSync(foreign.dir, { recursive: true, force: true });
    }
    expect(seen.length).toBe(before);
  });

  it('openssl s_client at the wasmesh inbound shows alpha\'s chain with its SPIFFE SAN, and openssl verify accepts it against the mesh root', async () => {
    openssl(['version']); // a missing openssl fails here, loudly
    const work = mkdtempSync(join(dir, 'openssl-'));
    const client = await (await testMeshCa('cluster.local', caDir)).svid('shop', 'probe');
    writeFileSync(join(work, 'client.pem'), client.certChainPem);
    writeFileSync(join(work, 'client-key.pem'), client.keyPem);
    const root = join(caDir, 'root-cert.pem');
    // STRICT asks for a client certificate: the probe presents one from the mesh CA.
    const out = openssl(['s_client', '-connect', `127.0.0.1:${ports.wasmeshInbound}`, '-showcerts', '-CAfile', root, '-verify_return_error',
      '-cert', join(work, 'client.pem'), '-key', join(work, 'client-key.pem'), '-alpn', 'istio-http/1.1'], work);
    expect(out).toMatch(/Verify return code: 0 \(ok\)/);
    expect(out).toContain('ALPN protocol: istio-http/1.1');
    const pems = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    expect(pems.length, out).toBeGreaterThanOrEqual(1);
    writeFileSync(join(work, 'leaf.pem'), pems[0]!);
    writeFileSync(join(work, 'chain.pem'), pems.slice(1).join('') || pems[0]!);
    expect(openssl(['x509', '-in', 'leaf.pem', '-noout', '-ext', 'subjectAltName'], work)).toContain(`URI:${ALPHA_ID}`);
    expect(opensslVerify(work, root, 'leaf.pem', 'chain.pem', 'sslserver')).toContain('leaf.pem: OK');
  });

  it('authorization at Envoy\'s inbound (RBAC): alpha\'s principal allowed on /from-alpha…, its namespace denied on /from-alpha/no-shop, no rule: 403', async () => {
    const allowed = await get(ports.wasmeshOutbound, BETA, {}, '/from-alpha/x');
    expect(allowed.status, logs()).toBe(200);
    expect(JSON.parse(allowed.body).app).toBe('beta');
    expect(await get(ports.wasmeshOutbound, BETA, {}, '/from-alpha/no-shop')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await get(ports.wasmeshOutbound, BETA, {}, '/elsewhere')).toEqual({ status: 403, body: 'RBAC: access denied' });
  });

  it('authorization at the wasmesh inbound: beta\'s principal denied on /not-beta…, served elsewhere', async () => {
    expect((await get(ports.envoyOutbound, ALPHA, {}, '/')).status, logs()).toBe(200);
    expect(await get(ports.envoyOutbound, ALPHA, {}, '/not-beta/x')).toEqual({ status: 403, body: 'RBAC: access denied' });
  });

  it('edited to PERMISSIVE, Envoy\'s inbound takes plaintext too (an XFCC sent in plaintext dropped) and mTLS still carries alpha\'s identity', async () => {
    writeMesh('PERMISSIVE');
    await until('Envoy inbound takes plaintext', async () => (await get(ports.envoyInbound, BETA)).status === 200);
    const plain = JSON.parse((await get(ports.envoyInbound, BETA, { 'x-forwarded-client-cert': `URI=${ALPHA_ID}` })).body) as { app: string; xfcc: string | null };
    expect(plain).toEqual({ app: 'beta', xfcc: null });
    const mtls = JSON.parse((await get(ports.wasmeshOutbound, BETA)).body) as { xfcc: string };
    expect(mtls.xfcc).toContain(`URI=${ALPHA_ID}`);
    // Plaintext carries no principal: the principal rule never matches it.
    expect(await get(ports.envoyInbound, BETA, {}, '/from-alpha/x')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await get(ports.wasmeshOutbound, BETA, {}, '/from-alpha/x')).status).toBe(200);
  }, 40_000);
});
