// The sidecar's app address over real sockets: an app listening on ::1 only (what an IPv6-only
// pod's app may do) is reached when the inbound listener's app address is ::1 (host/cli/app-address-flag.ts
// picks it on an IPv6-only pod), and not at the IPv4 default: a 503 naming the failed connect.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function appOnIpv6Loopback(): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const app: Server = createServer((req, res) => {
    peers.push(req.socket.remoteAddress ?? '');
    res.end('app6');
  });
  await new Promise<void>((r) => app.listen({ port: 0, host: '::1', ipv6Only: true }, r));
  closers.push(() => new Promise((r) => app.close(r)));
  return { port: (app.address() as AddressInfo).port, peers };
}

async function sidecar(appPort: number, appAddress?: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-app-address-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    outboundTrafficPolicy: {mode: ALLOW_ANY}\n');
  const s = await startSidecarRuntime({
    sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
    ...(appAddress !== undefined ? { appAddress } : {}), accessLog: () => {}, log: () => {},
  });
  closers.push(() => s.close());
  return s.ports.inbound;
}

describe('the sidecar\'s app address', () => {
  it('::1: inbound requests reach an app listening on ::1 only, from ::1', async () => {
    const app = await appOnIpv6Loopback();
    const inbound = await sidecar(app.port, '::1');
    const r = await request(inbound, { headers: { host: `app:${app.port}` } });
    expect([r.status, r.body.toString()]).toEqual([200, 'app6']);
    expect(app.peers).toEqual(['::1']);
  });

  it('the IPv4 default does not reach it: 503, the connect refused', async () => {
    const app = await appOnIpv6Loopback();
    const inbound = await sidecar(app.port);
    const r = await request(inbound, { headers: { host: `app:${app.port}` } });
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(/connect|reset|refused/i);
    expect(app.peers).toEqual([]);
  });
});
