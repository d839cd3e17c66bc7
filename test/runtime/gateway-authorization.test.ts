// AuthorizationPolicy on a gateway (`wasmesh proxy --gateway`, seed 000's web-gateway) with
// worker threads: every thread enforces the version's policies (the workers get them with the
// mesh), a reload changes them everywhere. The policies are put into the loaded mesh by the
// test's loader: translating the YAML (selector on the gateway's labels) is host/config's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { loadConfig } from '../../host/config/load-config.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { request } from '../helpers/http-client.js';
import { f, rule, policy, ex } from '../helpers/authz-builders.js';

let upstreams: Upstreams;
let rt: ProxyRuntime;
let dir: string;
let policies: AuthzPolicy[] = [policy('istio-system/deny-post', 'DENY', [rule({ to: [[f('request.method', [ex('POST')])]] })])];

beforeAll(async () => {
  upstreams = await startUpstreams();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-gw-authz-'));
  writeFileSync(join(dir, '00-web-services.yaml'), webServices(upstreams.ports));
  rt = await startProxyRuntime({
    sources: [join(dir, '00-web-services.yaml'), 'examples/000-web-demo/02-web-demo-service-gateway.yaml'],
    gateway: 'web-gateway',
    workers: 2,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: () => {},
    load: (sources, options) => {
      const loaded = loadConfig(sources, options);
      return { ...loaded, mesh: { ...loaded.mesh, authorization: policies } };
    },
  });
}, 60_000);

afterAll(async () => {
  await rt?.close();
  await upstreams?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('AuthorizationPolicy on a gateway with worker threads', () => {
  it('every thread denies what the policy denies; a reload lifts it everywhere', async () => {
    // Fresh connections: the threads take turns accepting; 20 requests reach both.
    for (let i = 0; i < 20; i++) {
      expect((await request(rt.listenPort, { method: 'POST', body: 'x', headers: { host: 'web.example.com' } })).status).toBe(403);
      expect((await request(rt.listenPort, { headers: { host: 'web.example.com' } })).status).toBe(200);
    }
    // Counted once per denial across the threads (the workers' stats read through the pool).
    const denied = rt.proxy.stats.downstream.get('rbac.denied') + rt.workers!.snapshots().reduce((n, s) => n + (s.stats.find((r) => r.name === 'rbac.denied')?.value ?? 0), 0);
    expect(denied).toBe(20);
    policies = [];
    const before = rt.manager.version;
    rt.reload('test');
    const end = Date.now() + 10_000;
    while (rt.manager.version === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    // Workers apply the version asynchronously: wait until no POST is refused any more.
    let lastDenied = Date.now();
    while (Date.now() - lastDenied < 500 && Date.now() < end) {
      const r = await request(rt.listenPort, { method: 'POST', body: 'x', headers: { host: 'web.example.com' } });
      if (r.status === 403) lastDenied = Date.now();
    }
    for (let i = 0; i < 20; i++) expect((await request(rt.listenPort, { method: 'POST', body: 'x', headers: { host: 'web.example.com' } })).status).not.toBe(403);
  }, 60_000);
});
