// Seed 004's Kubernetes manifests (Deployments, Services, a VirtualService) with EndpointSlices
// beside them, loaded by a real `wasmesh proxy -f` process without any API server: requests by
// the Service's names reach the real loopback server its ready endpoint names; the not-ready
// endpoint gets nothing; the Deployments are skipped with a warning saying what to add.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT, startProxy } from '../helpers/wasmesh-process.js';
import { request } from '../helpers/http-client.js';

interface Server { port: number; hits: string[]; close(): Promise<void> }

async function server(name: string): Promise<Server> {
  const hits: string[] = [];
  const s = http.createServer((req, res) => {
    hits.push(`${req.headers.host} ${req.url}`);
    res.end(`${name} ${req.url}`);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, hits, close: () => new Promise((r) => s.close(() => r())) };
}

let dir = '';
let customers: Server;
let notReady: Server;
let frontend: Server;

beforeAll(async () => {
  await ensureBuilt();
  [customers, notReady, frontend] = await Promise.all([server('customers-v1'), server('customers-not-ready'), server('web-frontend')]);
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-kube-registry-'));
  copyFileSync(join(ROOT, 'examples', '004-envoy-demo', 'envoy-demo-apps.yaml'), join(dir, 'envoy-demo-apps.yaml'));
  // What the endpoints controller would write, with the loopback servers' ports.
  writeFileSync(join(dir, 'endpoint-slices.yaml'), `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: customers-ready, labels: { kubernetes.io/service-name: customers } }
addressType: IPv4
ports: [{ name: http, port: ${customers.port}, protocol: TCP }]
endpoints:
- { addresses: [127.0.0.1], conditions: { ready: true }, targetRef: { kind: Pod, name: customers-v1-abc } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: customers-starting, labels: { kubernetes.io/service-name: customers } }
addressType: IPv4
ports: [{ name: http, port: ${notReady.port}, protocol: TCP }]
endpoints:
- { addresses: [127.0.0.1], conditions: { ready: false } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-frontend-1, labels: { kubernetes.io/service-name: web-frontend } }
addressType: IPv4
ports: [{ name: http, port: ${frontend.port} }]
endpoints:
- { addresses: [127.0.0.1] }
`);
}, 300_000);

afterAll(async () => {
  await Promise.all([customers?.close(), notReady?.close(), frontend?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('wasmesh proxy -f with Kubernetes Services and EndpointSlices', () => {
  it('routes by the Service\'s names to its ready endpoint, never to the not-ready one', async () => {
    const { proc, port } = await startProxy(['-f', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--access-log', 'off']);
    try {
      for (const host of ['customers', 'customers:80', 'customers.default', 'customers.default.svc.cluster.local', 'customers.default.svc.cluster.local:80']) {
        for (let i = 0; i < 4; i++) {
          const r = await request(port, { path: `/orders/${i}`, headers: { host } });
          expect([r.status, r.body.toString()], host).toEqual([200, `customers-v1 /orders/${i}`]);
        }
      }
      expect(customers.hits).toHaveLength(20);
      expect(notReady.hits).toEqual([]);
      const web = await request(port, { path: '/', headers: { host: 'web-frontend.default.svc.cluster.local' } });
      expect(web.body.toString()).toBe('web-frontend /');
      expect(frontend.hits).toHaveLength(1);
      // The Deployments are skipped, saying what gives their pods addresses.
      expect(proc.stderr).toMatch(/Deployment customers-v1: apps\/v1 Deployment skipped: .*EndpointSlice/);
    } finally {
      await proc.stop();
    }
  }, 60_000);
});
