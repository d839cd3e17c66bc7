// The sidecar's inbound listener before its first config version (fed over xDS, the control
// plane not reachable yet): the workload's policies are not known, so it denies every request
// (403 RBAC: access denied) instead of serving the app open; the outbound side is unaffected.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../../host/common/free-port.js';

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
