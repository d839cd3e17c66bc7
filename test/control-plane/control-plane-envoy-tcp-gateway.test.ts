// Stock Envoy programmed over ADS as a Gateway with an HTTP and a REDIS (TCP) server: the TCP
// port gets one tcp_proxy listener at its bind and carries bytes both ways to the `tcp:` route's
// destination, the HTTP port serves HTTP, and Envoy ACKs LDS (one listener per address; before,
// the TCP port also got an HTTP listener and a copy per HTTP port, which Envoy refuses).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { adsBootstrap } from '../../host/envoy/xds-resources.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { syncState } from '../../host/xds/sync-status.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { freePort } from '../helpers/ports.js';

const envoy = envoyForTests('control plane + Envoy TCP gateway');

describe.skipIf(envoy === null)('stock Envoy over ADS: a Gateway TCP server', () => {
  let dir = '';
  let cp: ControlPlane;
  let child: ChildProcess;
  let echo: Server;
  let web: HttpServer;
  let httpPort = 0;
  let tcpPort = 0;
  let stderr = '';
  const id = nodeId('router', '127.0.0.1', 'gw-tcp', 'default');

  beforeAll(async () => {
    echo = createServer((s) => {
      s.on('data', (d) => s.write(`echo:${d.toString()}`));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    web = createHttpServer((_req, res) => res.end('web'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    [httpPort, tcpPort] = [await freePort(), await freePort()];
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-envoy-tcp-'));
    writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  ports: [{number: 6379, name: redis, protocol: REDIS}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {redis: ${(echo.address() as { port: number }).port}}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  ports: [{number: 80, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${(web.address() as { port: number }).port}}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: ${httpPort}, name: http, protocol: HTTP}, hosts: ['*'], bind: 127.0.0.1}
  - {port: {number: ${tcpPort}, name: redis, protocol: REDIS}, hosts: ['*'], bind: 127.0.0.1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: gw, namespace: default}
spec:
  hosts: ['*']
  gateways: [gw]
  http: [{route: [{destination: {host: web.example.internal}}]}]
  tcp: [{match: [{port: ${tcpPort}}], route: [{destination: {host: redis.example.internal, port: {number: 6379}}}]}]
`);
    cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 } });
    cp.start();
    const xdsPort = await cp.listen('127.0.0.1', 0);
    const bootstrap = adsBootstrap({ xds: { host: '127.0.0.1', port: xdsPort }, admin: { host: '127.0.0.1', port: await freePort() }, nodeId: id, metadata: { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' } }, delta: false });
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(bootstrap));
    child = spawn(envoy!, ['-c', file, '--disable-hot-restart', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (stderr += d));
    for (let i = 0; i < 100; i++) {
      if ((await exchange(tcpPort, 'ready?')).reply === 'echo:ready?') break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  afterAll(async () => {
    child?.kill('SIGTERM');
    await cp?.close();
    await new Promise((r) => echo.close(r));
    await new Promise((r) => web.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the TCP port proxies bytes to the tcp: route\'s destination, the HTTP port serves HTTP, LDS is ACKed', async () => {
    expect(await exchange(tcpPort, 'PING'), stderr).toEqual({ reply: 'echo:PING', error: null });
    expect(await (await fetch(`http://127.0.0.1:${httpPort}/`)).text()).toBe('web');
    const proxy = cp.ads.proxies().find((p) => p.proxyId === id)!;
    expect([...proxy.types.values()].map(syncState), stderr).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
  });
});
