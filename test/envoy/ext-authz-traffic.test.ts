// CUSTOM authorization on real stock Envoy with real sockets: a gateway bootstrap from the
// translation, an HTTP ext_authz server on loopback, the seed-000 upstream. Only requests a
// CUSTOM rule matches (paths /admin*) reach the authorizer (filter_enabled_metadata on the RBAC
// shadow rules' record); its 403 reaches the client, its 200 lets the request through, and an
// authorizer that is down fails closed (status_on_error 403) unless failOpen.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import type { ExtAuthzProvider } from '../../host/model/mesh-settings.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { onFreePorts, startAndWait, stopChild } from '../interop/data-planes.js';

const envoy = envoyForTests('ext-authz-traffic');
const AUTHZ_HOST = 'ext-authz.foo.svc.cluster.local';

const YAML = (authzPort: number, closedPort: number) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: web, port: {number: 5005}}}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-authz}
spec:
  hosts: [${AUTHZ_HOST}]
  ports: [{number: 8000, name: http, protocol: HTTP}, {number: 8001, name: http-down, protocol: HTTP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${authzPort}, http-down: ${closedPort}}}]
`;

const customPolicy = (provider: string): AuthzPolicy => ({
  name: 'default/ext', action: 'CUSTOM', provider, dryRun: false,
  rules: [{ from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'prefix', value: '/admin' }], notValues: [] }]], when: [] }],
});
const provider = (name: string, port: number, failOpen: boolean): ExtAuthzProvider => ({
  name, kind: 'http', service: AUTHZ_HOST, port, timeoutMs: 2000, failOpen, statusOnError: 403, pathPrefix: '/check',
  includeRequestHeadersInCheck: ['x-verdict'], headersToUpstreamOnAllow: [], headersToDownstreamOnDeny: [], maxRequestBytes: null,
});

describe.skipIf(envoy === null)('CUSTOM ext_authz on stock Envoy, over loopback', () => {
  let upstreams: Upstreams;
  let authz: Server;
  const asked: string[] = [];
  const running: Array<{ child: ChildProcess; dir: string }> = [];

  beforeAll(async () => {
    upstreams = await startUpstreams();
    authz = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(req.headers['x-verdict'] === 'deny' ? 403 : 200).end(req.headers['x-verdict'] === 'deny' ? 'denied by authz' : '');
    });
    await new Promise<void>((r) => authz.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const r of running) {
      await stopChild(r.child);
      rmSync(r.dir, { recursive: true, force: true });
    }
    await new Promise((r) => authz.close(r));
    await upstreams?.close();
  });

  async function gateway(providerName: string, port: number, failOpen: boolean): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-extauthz-traffic-'));
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r)); // nothing listens there any more
    writeFileSync(join(dir, 'mesh.yaml'), `${webServices({ v1: upstreams.ports.v1 })}---\n${YAML((authz.address() as AddressInfo).port, closedPort)}`);
    const loaded = loadConfig([dir], { gateway: 'gw' });
    const mesh = { ...loaded.mesh, authorization: [customPolicy(providerName)], extAuthzProviders: [provider(providerName, port, failOpen)] };
    return onFreePorts(async (listen, admin) => {
      const { yaml } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: listen }, admin: { host: '127.0.0.1', port: admin }, gateway: 'gw' });
      writeFileSync(join(dir, 'envoy.yaml'), yaml);
      const child = await startAndWait(envoy!, ['-c', join(dir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], admin, 'envoy');
      running.push({ child, dir });
      return listen;
    });
  }

  const get = async (port: number, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { host: 'web.example.com', ...headers } });
    return { status: res.status, body: await res.text() };
  };

  it('only requests a CUSTOM rule matches are checked; the authorizer\'s 403 and 200 decide', async () => {
    const port = await gateway('authz', 8000, false);
    asked.length = 0;
    expect(await get(port, '/public', { 'x-verdict': 'deny' })).toEqual({ status: 200, body: 'Version: v0.1' });
    expect(asked).toEqual([]);
    expect(await get(port, '/admin/users')).toEqual({ status: 200, body: 'Version: v0.1' });
    expect(await get(port, '/admin/users', { 'x-verdict': 'deny' })).toEqual({ status: 403, body: 'denied by authz' });
    expect(asked).toEqual(['/check/admin/users', '/check/admin/users']);
  }, 30_000);

  it('an authorizer that cannot be reached: 403 (fail closed), or through with failOpen', async () => {
    const closed = await gateway('down', 8001, false);
    expect((await get(closed, '/admin')).status).toBe(403);
    expect((await get(closed, '/public')).status).toBe(200);
    const open = await gateway('down-open', 8001, true);
    expect(await get(open, '/admin')).toEqual({ status: 200, body: 'Version: v0.1' });
  }, 30_000);
});
