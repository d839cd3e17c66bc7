// meshConfig access logs on a proxy with worker threads: each thread renders and appends its own
// lines to the one file; after close every request has exactly one whole line.
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

describe('access logs with worker threads', () => {
  it('one whole line per request, whichever thread served it', async () => {
    const backend = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => backend.close(r)));
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-access-log-workers-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: ${dir}/access.log
    accessLogFormat: "%REQ(X-REQUEST-ID)% %RESPONSE_CODE% %UPSTREAM_CLUSTER%"
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${(backend.address() as AddressInfo).port}}}]
`);
    const rt = await startProxyRuntime({ sources: [dir], listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, workers: 2, log: () => {} });
    const ids = Array.from({ length: 40 }, (_, i) => `req-${i}`);
    await Promise.all(ids.map((id) => new Promise<void>((resolve, reject) => {
      // A new connection each: the kernel spreads them over the threads.
      http.get({ host: '127.0.0.1', port: rt.proxy.port, path: '/', agent: false, headers: { host: 'backend.default.svc.cluster.local', 'x-request-id': id } }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    })));
    // The test means something only if a worker thread served some of them.
    const byWorkers = rt.workers!.snapshots().reduce((n, w) => n + (w.stats.find((r) => r.name === 'downstream_rq_total')?.value ?? 0), 0);
    expect(byWorkers).toBeGreaterThan(0);
    await rt.close();
    const lines = readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.sort()).toEqual(ids.map((id) => `${id} 200 outbound|80||backend.default.svc.cluster.local`).sort());
  }, 30_000);
});
