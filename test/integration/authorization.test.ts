// AuthorizationPolicy through real proxies over loopback, Istio's documented examples: allow-
// nothing, deny by path, hosts case-insensitive (CVE-2021-39155), DENY beats ALLOW, AUDIT only
// logs, dry-run only counts (shadow); a reload that changes policies, and a bad policy set
// refused while the last good one keeps being enforced. Then the sidecar: allow by principal and
// by namespace over mesh mTLS on its inbound listener (the peer's SPIFFE ID from its
// certificate), policies reaching the inbound listener per config version, never its outbound.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../helpers/http-client.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { AuthzCompileError } from '../../host/compile/authorization.js';
import type { ExtAuthzCheck } from '../../host/http/ext-authz-check.js';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { loadConfig } from '../../host/config/load-config.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { upstream, meshWith, useCleanup } from './traffic-helpers.js';
import { f, rule, policy, ex, pre, tpl } from '../helpers/authz-builders.js';

useCleanup();

const servers: ProxyServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function proxyWith(m: MeshConfig, authorization: AuthzPolicy[]): Promise<{ p: ProxyServer; logs: string[] }> {
  const logs: string[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, operationalLog: (_l, m) => logs.push(m), istioMetrics: 'off' });
  p.apply({ ...m, authorization }, 1);
  await p.listen();
  servers.push(p);
  return { p, logs };
}

async function backend() {
  const up = await upstream((_req, res) => res.end('app'));
  return { up, mesh: meshWith([{ name: 'backend', ports: [up.port] }]) };
}

describe('Istio examples through a ProxyServer', () => {
  it('allow-nothing (an ALLOW policy without rules, Istio `spec: {}`) denies every request with Envoy 403', async () => {
    const { up, mesh } = await backend();
    const { p } = await proxyWith(mesh, [policy('foo/allow-nothing', 'ALLOW', [])]);
    const r = await request(p.port, { path: '/anything' });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe('RBAC: access denied');
    expect(up.requests.length).toBe(0);
    expect(p.stats.downstream.get('rbac.denied')).toBe(1);
  });

  it('deny by path: /admin* and a template are denied, the rest goes through', async () => {
    const { up, mesh } = await backend();
    const { p } = await proxyWith(mesh, [policy('foo/deny-admin', 'DENY', [rule({ to: [[f('request.path', [pre('/admin'), tpl('/users/{*}/secret')])]] })])]);
    expect((await request(p.port, { path: '/admin' })).status).toBe(403);
    expect((await request(p.port, { path: '/admin/x?y=1' })).status).toBe(403);
    expect((await request(p.port, { path: '/users/42/secret' })).status).toBe(403);
    expect((await request(p.port, { path: '/users/42/public' })).status).toBe(200);
    expect((await request(p.port, { path: '/public' })).status).toBe(200);
    expect(up.requests.map((r) => r.url)).toEqual(['/users/42/public', '/public']);
    expect([p.stats.downstream.get('rbac.denied'), p.stats.downstream.get('rbac.allowed')]).toEqual([3, 2]);
  });

  it('hosts match case-insensitively: Host ADMIN.Example.com does not slip past a DENY on admin.example.com (CVE-2021-39155)', async () => {
    const { mesh } = await backend();
    const { p } = await proxyWith(mesh, [policy('foo/deny-host', 'DENY', [rule({ to: [[f('request.host', [ex('admin.example.com')])]] })])]);
    expect((await request(p.port, { headers: { host: 'ADMIN.Example.com' } })).status).toBe(403);
    expect((await request(p.port, { headers: { host: 'admin.example.com' } })).status).toBe(403);
    expect((await request(p.port)).status).toBe(200);
  });

  it('DENY beats ALLOW', async () => {
    const { mesh } = await backend();
    const { p } = await proxyWith(mesh, [
      policy('foo/allow-all', 'ALLOW', [rule({})]),
      policy('foo/deny-post', 'DENY', [rule({ to: [[f('request.method', [ex('POST')])]] })]),
    ]);
    expect((await request(p.port, { method: 'POST', body: 'x' })).status).toBe(403);
    expect((await request(p.port)).status).toBe(200);
  });

  it('AUDIT only logs; a dry-run DENY is counted as shadow and never enforced', async () => {
    const { up, mesh } = await backend();
    const { p, logs } = await proxyWith(mesh, [
      policy('foo/audit', 'AUDIT', [rule({ to: [[f('request.path', [pre('/audited')])]] })]),
      policy('foo/dry-deny', 'DENY', [rule({ to: [[f('request.path', [pre('/audited')])]] })], { dryRun: true }),
    ]);
    expect((await request(p.port, { path: '/audited/1' })).status).toBe(200);
    expect((await request(p.port, { path: '/other' })).status).toBe(200);
    expect(up.requests.length).toBe(2);
    const s = p.stats.downstream;
    expect([s.get('rbac.logged'), s.get('rbac.not_logged'), s.get('rbac.shadow_denied'), s.get('rbac.shadow_allowed'), s.get('rbac.denied')]).toEqual([1, 1, 1, 1, 0]);
    expect(logs.some((l) => l.includes('AUDIT GET /audited/1 matched ns[foo]-policy[audit]-rule[0]'))).toBe(true);
    expect(logs.some((l) => l.includes('shadow denied GET /audited/1'))).toBe(true);
  });

  it('a reload changes what is enforced; a bad policy set is refused and the last good one keeps being enforced', async () => {
    const { mesh } = await backend();
    const { p } = await proxyWith(mesh, [policy('foo/deny-admin', 'DENY', [rule({ to: [[f('request.path', [pre('/admin')])]] })])]);
    expect((await request(p.port, { path: '/admin' })).status).toBe(403);
    expect(() => p.apply({ ...mesh, authorization: [policy('foo/bad', 'DENY', [rule({ to: [[f('request.path', [tpl('/a/{**}/b')])]] })])] }, 2)).toThrow(AuthzCompileError);
    expect((await request(p.port, { path: '/admin' })).status).toBe(403);
    p.apply({ ...mesh, authorization: [] }, 3);
    expect((await request(p.port, { path: '/admin' })).status).toBe(200);
    // No policy: no filter at all on the version (zero cost).
    expect(p.current!.listenerFilters.length).toBe(1);
  });
});

describe('CUSTOM through a ProxyServer', () => {
  it('pauses the request for the provider, continues with its headers on allow, answers its denial, denies without a checker', async () => {
    const up = await upstream((req, res) => res.end(String(req.headers['x-user'] ?? '-')));
    const mesh = meshWith([{ name: 'backend', ports: [up.port] }]);
    const asked: string[] = [];
    const check: ExtAuthzCheck = {
      provider: 'ext',
      check(stream, done) {
        asked.push(stream.downstream.path);
        // Answers later, as a real authorizer over the network does.
        const t = setTimeout(() => {
          const allowed = stream.requestHeader('authorization') === 'Bearer good';
          done({ allowed, status: allowed ? 200 : 401, headersToUpstream: allowed ? [['x-user', 'alice']] : [], headersToDownstream: allowed ? [] : [['www-authenticate', 'Bearer']], body: allowed ? '' : 'denied by ext', error: false });
        }, 20);
        return () => clearTimeout(t);
      },
    };
    const logs: string[] = [];
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, operationalLog: (_l, m) => logs.push(m), extAuthz: (name) => (name === 'ext' ? check : null) });
    p.apply({ ...mesh, authorization: [
      policy('foo/ext', 'CUSTOM', [rule({ to: [[f('request.path', [pre('/ext')])]] })], { provider: 'ext' }),
      policy('foo/other', 'CUSTOM', [rule({ to: [[f('request.path', [pre('/nochecker')])]] })], { provider: 'missing' }),
    ] }, 1);
    await p.listen();
    servers.push(p);
    const ok = await request(p.port, { path: '/ext/a', headers: { authorization: 'Bearer good' } });
    expect([ok.status, ok.body.toString()]).toEqual([200, 'alice']);
    const no = await request(p.port, { path: '/ext/a', headers: { authorization: 'Bearer bad' } });
    expect([no.status, no.body.toString(), no.headers['www-authenticate']]).toEqual([401, 'denied by ext', 'Bearer']);
    expect((await request(p.port, { path: '/nochecker' })).status).toBe(403);
    expect((await request(p.port, { path: '/public' })).status).toBe(200);
    expect(asked).toEqual(['/ext/a', '/ext/a']);
    expect(up.requests.map((r) => r.url)).toEqual(['/ext/a', '/public']);
  });
});

describe('the sidecar inbound over mesh mTLS', () => {
  const LOOPBACK = { host: '127.0.0.1', port: 0 };
  const STRICT = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: STRICT } }\n';
  let ca: TestMeshCa;
  let app: Server;
  let appPort: number;
  let dir: string;
  let sidecar: SidecarRuntime;
  let seen = 0;
  // The policies the loader puts into each version (the YAML translation is host/config's).
  let policies: AuthzPolicy[] = [];

  beforeAll(async () => {
    ca = await testMeshCa();
    app = createServer((_req, res) => {
      seen++;
      res.end('app');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appPort = (app.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-authz-'));
    writeFileSync(join(dir, 'pa.yaml'), STRICT);
    const cell = new WorkloadCertificateCell();
    cell.set(await workloadCertificate(ca, 'default', 'app'));
    sidecar = await startSidecarRuntime({
      sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
      accessLog: () => {}, log: () => {}, workloadCertificates: cell,
      load: (sources, options) => {
        const loaded = loadConfig(sources, options);
        return { ...loaded, mesh: { ...loaded.mesh, authorization: policies } };
      },
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await new Promise((r) => app.close(r));
    rmSync(dir, { recursive: true, force: true });
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  function tlsGet(client: WorkloadCertificate, path = '/'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: sidecar.ports.inbound, path, headers: { host: 'app' }, servername: 'app.default.svc', ca: ca.rootsPem,
        ...({ ALPNProtocols: ['istio-http/1.1', 'http/1.1'] } as object), cert: client.certChainPem, key: client.keyPem,
        checkServerIdentity: () => undefined, agent: false,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  }

  async function reloadWith(next: AuthzPolicy[]): Promise<void> {
    policies = next;
    const before = sidecar.manager.version;
    sidecar.reload('test');
    const end = Date.now() + 5000;
    while (sidecar.manager.version === before && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(sidecar.manager.version).toBeGreaterThan(before);
  }

  it('allow by principal, then by namespace, on the inbound listener; the outbound listener never enforces', async () => {
    const cart = await workloadCertificate(ca, 'shop', 'cart');
    const pay = await workloadCertificate(ca, 'shop', 'pay');
    const other = await workloadCertificate(ca, 'other', 'cart');
    expect(await tlsGet(cart)).toBe(200);
    const outboundFilters = sidecar.outbound.current!.listenerFilters.length;
    const inboundFilters = sidecar.inbound.current!.listenerFilters.length;

    await reloadWith([policy('default/allow-cart', 'ALLOW', [rule({ from: [[f('source.principal', [ex('cluster.local/ns/shop/sa/cart')])]] })])]);
    const before = seen;
    expect(await tlsGet(cart)).toBe(200);
    expect(await tlsGet(pay)).toBe(403);
    expect(await tlsGet(other)).toBe(403);
    expect(seen - before).toBe(1);
    expect(sidecar.inbound.current!.listenerFilters.length).toBe(inboundFilters + 1);
    expect(sidecar.outbound.current!.listenerFilters.length).toBe(outboundFilters);

    await reloadWith([policy('default/allow-shop', 'ALLOW', [rule({ from: [[f('source.namespace', [ex('shop')])]] })])]);
    expect(await tlsGet(cart)).toBe(200);
    expect(await tlsGet(pay)).toBe(200);
    expect(await tlsGet(other)).toBe(403);
    expect(sidecar.inbound.stats.downstream.get('rbac.denied')).toBe(3);
  });
});
