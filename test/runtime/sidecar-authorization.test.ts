// The sidecar's inbound listener before its first config version (fed over xDS, the control
// plane not reachable yet): the workload's policies are not known, so it denies every request
// (403 RBAC: access denied) instead of serving the app open; the outbound side is unaffected.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../../host/common/free-port.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../host/config/load-config.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { f, rule, policy, pre } from '../helpers/authz-builders.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

describe('the sidecar inbound before the first config version', () => {
  it('denies everything until the workload\'s policies are known', async () => {
    let seen = 0;
    const app: Server = createServer((_req, res) => {
      seen++;
      res.end('app');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => app.close(r)));
    const appPort = (app.address() as AddressInfo).port;
    // Nothing listens there: the xDS stream keeps retrying, no version arrives.
    const xdsPort = await freePort('127.0.0.1');
    const sidecar: SidecarRuntime = await startSidecarRuntime({
      sources: [], xds: { host: '127.0.0.1', port: xdsPort }, xdsIdentity: { type: 'sidecar', pod: 'app-1', ip: '127.0.0.1', namespace: 'default', labels: { app: 'app' } },
      xdsBackoff: { baseMs: 50, maxMs: 100 },
      outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: () => {}, log: () => {},
    });
    closers.push(() => sidecar.close());
    expect(sidecar.manager.ready).toBe(false);
    const r = await request(sidecar.ports.inbound, { headers: { host: `app:${appPort}` } });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe('RBAC: access denied');
    expect(seen).toBe(0);
  });
});

describe('a config version the outbound side refuses', () => {
  it('changes neither side: the inbound listener keeps enforcing the last good policies', async () => {
    const app: Server = createServer((_req, res) => res.end('app'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => app.close(r)));
    const appPort = (app.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-authz-sidecar-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'empty.yaml'), '');
    let policies: AuthzPolicy[] = [policy('default/deny-admin', 'DENY', [rule({ to: [[f('request.path', [pre('/admin')])]] })])];
    let breakOutbound = false;
    const sidecar = await startSidecarRuntime({
      sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: () => {}, log: () => {},
      load: (sources, options) => {
        const loaded = loadConfig(sources, options);
        const mesh: MeshConfig = { ...loaded.mesh, authorization: policies };
        // Two clusters of one name: the outbound server refuses the version (duplicate_cluster).
        if (breakOutbound) mesh.clusters = [...mesh.clusters, { name: 'dup', host: 'x', port: 80, subset: null, endpoints: [], lb: 'ROUND_ROBIN' }, { name: 'dup', host: 'x', port: 80, subset: null, endpoints: [], lb: 'ROUND_ROBIN' }];
        return { ...loaded, mesh };
      },
    });
    closers.push(() => sidecar.close());
    const get = async (path: string) => (await request(sidecar.ports.inbound, { path, headers: { host: `app:${appPort}` } })).status;
    expect(await get('/admin')).toBe(403);
    expect(await get('/public')).toBe(200);
    policies = [policy('default/deny-public', 'DENY', [rule({ to: [[f('request.path', [pre('/public')])]] })])];
    breakOutbound = true;
    const version = sidecar.manager.version;
    await sidecar.manager.reloadAsync('test');
    expect(sidecar.manager.version).toBe(version);
    expect(await get('/admin')).toBe(403);
    expect(await get('/public')).toBe(200);
  });
});
