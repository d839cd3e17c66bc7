// AuthorizationPolicy CUSTOM end to end from Istio YAML: meshConfig's extensionProviders (the
// `istio` ConfigMap) name a real HTTP authorizer, the policy sends matching requests to it, and
// the proxy builds the version's checker from the mesh (no checker injected): allowed requests
// reach the app with the authorizer's headers, denied ones get its status and body, and an
// authorizer that is down fails closed (403, UAEX) as Envoy's default.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { loadConfig } from '../../host/config/load-config.js';
import { upstream, useCleanup } from './traffic-helpers.js';

useCleanup();

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function authorizer(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.headers['x-allow'] === 'yes') {
      res.writeHead(200, { 'x-authz-user': 'alice' });
      res.end();
    } else {
      res.writeHead(401, { 'x-why': 'no x-allow' });
      res.end('denied by ext');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, seen };
}

function meshYaml(appPort: number, authzPort: number): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - name: ext-http
      envoyExtAuthzHttp:
        service: 127.0.0.1
        port: ${authzPort}
        includeRequestHeadersInCheck: [x-allow]
        headersToUpstreamOnAllow: [x-authz-user]
        headersToDownstreamOnDeny: [x-why]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: app}
spec:
  hosts: [app.example]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${appPort}}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: app.example, port: {number: 80}}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  action: CUSTOM
  provider: {name: ext-http}
  rules: [{to: [{operation: {paths: ["/ext*"]}}]}]
`;
}

async function proxyFor(yaml: string): Promise<ProxyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-ext-authz-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), yaml);
  const loaded = loadConfig([dir], { gateway: 'gw' });
  expect(loaded.mesh.extAuthzProviders?.map((p) => p.name)).toEqual(['ext-http']);
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 } });
  p.apply(loaded.mesh, 1);
  await p.listen();
  closers.push(() => p.close());
  return p;
}

describe('AuthorizationPolicy CUSTOM from YAML, with a real HTTP authorizer', () => {
  it('asks the authorizer only for matching requests, forwards its headers on allow, answers its denial', async () => {
    const app = await upstream((req, res) => res.end(`app saw x-authz-user=${req.headers['x-authz-user'] ?? '-'}`));
    const ext = await authorizer();
    const p = await proxyFor(meshYaml(app.port, ext.port));

    const plain = await request(p.port, { path: '/public' });
    expect(plain.status).toBe(200);
    expect(ext.seen).toEqual([]);

    const allowed = await request(p.port, { path: '/ext/a', headers: { 'x-allow': 'yes' } });
    expect(allowed.status).toBe(200);
    expect(allowed.body.toString()).toBe('app saw x-authz-user=alice');

    const denied = await request(p.port, { path: '/ext/b' });
    expect(denied.status).toBe(401);
    expect(denied.body.toString()).toBe('denied by ext');
    expect(denied.headers['x-why']).toBe('no x-allow');
    expect(ext.seen).toEqual(['GET /ext/a', 'GET /ext/b']);
  });

  it('fails closed when the authorizer is down (403, as Envoy\'s statusOnError default)', async () => {
    const app = await upstream((_req, res) => res.end('app'));
    const ext = await authorizer();
    await closers.splice(closers.length - 1, 1)[0]!(); // the authorizer goes away
    const p = await proxyFor(meshYaml(app.port, ext.port));
    const r = await request(p.port, { path: '/ext/x', headers: { 'x-allow': 'yes' } });
    expect(r.status).toBe(403);
    expect(app.requests.length).toBe(0);
  });
});
