// KubeResourceSource over a fake API server: objects become the loader's read results (a
// Service as a registry object, a VirtualService as a resource), an object the loader refuses is
// left out, reported once per resourceVersion and counted, and readConfig merges the results
// after the files.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeResourceSource } from '../../host/kube/kube-resource-source.js';
import { readConfig } from '../../host/config/index.js';

let server: Server | null = null;
let source: KubeResourceSource | null = null;
afterEach(async () => {
  source?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

const vs = (name: string, rv: string, timeout: string) => ({
  metadata: { name, namespace: 'shop', resourceVersion: rv },
  spec: { hosts: ['web.shop.svc.cluster.local'], http: [{ timeout, route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }] },
});

describe('KubeResourceSource', () => {
  it('reads objects as the loader reads YAML; a refused one is left out, logged once and counted', async () => {
    server = createServer((req, res) => {
      const url = req.url!;
      if (url.includes('watch=1')) return void res.writeHead(200).flushHeaders();
      if (url.startsWith('/api/v1/services')) return void res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'web', namespace: 'shop', resourceVersion: '2' }, spec: { ports: [{ name: 'http', port: 80 }] } }] }));
      if (url.startsWith('/apis/networking.istio.io/v1/virtualservices')) return void res.end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [vs('good', '3', '2s'), vs('broken', '4', 'soon')] }));
      res.writeHead(404).end('{"code":404,"message":"not found"}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const logs: string[] = [];
    source = new KubeResourceSource(
      { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, insecureSkipTlsVerify: false, origin: 'fake' },
      { log: (level, m) => logs.push(`${level} ${m}`), reflector: { backoff: { initialMs: 5_000, maxMs: 5_000 } } },
    );
    await source.start();
    const first = source.results();
    expect(first.results.map((r) => r.status)).toEqual(['kube', 'ok']);
    expect(first.warnings.join('\n')).toMatch(/VirtualService shop\/broken is not served: kube-apiserver VirtualService shop\/broken: spec\.http\[0\]\.timeout: /);
    source.results();
    expect(logs.filter((l) => l.startsWith('error') && l.includes('shop/broken')).length).toBe(1);
    expect(source.rejected()).toMatchObject([{ kind: 'VirtualService', namespace: 'shop', name: 'broken', resourceVersion: '4' }]);
    expect(source.metrics()).toMatchObject({ objects: 3, rejected: 1, healthy: true });
    // Kinds the fake does not serve (404) are warned once each, not failed.
    expect(logs.some((l) => /warn kube: DestinationRule .* is not served by the API server \(404/.test(l))).toBe(true);
    // Merged by readConfig after the (no) files: the valid VirtualService is in effect.
    const read = readConfig([], undefined, undefined, first.results);
    expect(read.effective.map((r) => `${r.resource.kind} ${r.resource.namespace}/${r.resource.name}`)).toEqual(['VirtualService shop/good']);
    expect(read.kubeObjects.map((k) => `${k.kind} ${k.namespace}/${k.name}`)).toEqual(['Service shop/web']);
  });
});
