// A mixed mesh yields one trace: stock Envoy (the bootstrap `wasmesh envoy-config` makes, with the
// same MeshConfig.tracing) in front of a wasmesh proxy, in front of an app; both proxies report to
// one Zipkin v2 collector. Envoy starts the trace (100 %), its upstream span is the parent of the
// wasmesh proxy's stream span, whose attempt span is what the app receives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import type { TracingConfig } from '../../host/model/tracing.js';
import { meshWith } from '../integration/traffic-helpers.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { onFreePorts, startAndWait, stopChild } from './data-planes.js';
import { request } from '../helpers/http-client.js';
import type { ChildProcess } from 'node:child_process';

const envoy = envoyForTests('mixed-mesh tracing');

interface Span { traceId: string; id: string; parentId?: string; name: string; kind?: string; tags?: Record<string, string>; localEndpoint?: { serviceName?: string } }

describe.skipIf(envoy === null)('a mixed mesh (Envoy → wasmesh → app) reports one trace to Zipkin', () => {
  const spans: Span[] = [];
  const seen: http.IncomingHttpHeaders[] = [];
  let collector: http.Server;
  let app: http.Server;
  let proxy: ProxyServer;
  let child: ChildProcess;
  let envoyPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-mixed-tracing-'));

  const listen = (s: http.Server): Promise<number> => new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

  beforeAll(async () => {
    collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/api/v2/spans') spans.push(...(JSON.parse(Buffer.concat(chunks).toString()) as Span[]));
        res.writeHead(202).end();
      });
    });
    const collectorPort = await listen(collector);
    app = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200).end('app');
    });
    const appPort = await listen(app);
    const tracing: TracingConfig = { provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port: collectorPort, path: '/api/v2/spans', maxTagLength: 256 }, samplingPercentage: 100, customTags: [], disableSpanReporting: false };
    const sidecarMesh = meshWith([{ name: 'app', ports: [appPort] }]);
    sidecarMesh.tracing = tracing;
    proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 200 } });
    proxy.apply(sidecarMesh, 1);
    await proxy.listen();
    const gatewayMesh = meshWith([{ name: 'wasmesh', ports: [proxy.port] }]);
    gatewayMesh.virtualHosts[0]!.domains = ['*'];
    gatewayMesh.tracing = tracing;
    ({ child, port: envoyPort } = await onFreePorts(async (port, adminPort) => {
      const { yaml } = envoyBootstrap({ mesh: gatewayMesh }, { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort } });
      const file = join(dir, 'envoy.yaml');
      writeFileSync(file, yaml);
      const c = await startAndWait(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], adminPort, 'envoy');
      return { child: c, port };
    }));
  }, 60_000);

  afterAll(async () => {
    if (child) await stopChild(child);
    await proxy?.close();
    app?.close();
    collector?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Envoy\'s spans and the wasmesh proxy\'s are one tree in one trace', async () => {
    // Enough requests for Envoy's Zipkin reporter to flush (5 spans), then the proxy's on close.
    for (let i = 0; i < 3; i++) expect((await request(envoyPort, { headers: { host: 'svc.test' } })).status).toBe(200);
    await proxy.close();
    const end = Date.now() + 15_000;
    while (spans.filter((s) => s.name.includes('egress') && s.tags?.['upstream_cluster'] === 'wasmesh').length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    const traceId = seen[0]!['x-b3-traceid'] as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const trace = spans.filter((s) => s.traceId === traceId);
    // Envoy: its downstream span (SERVER, a root) and its upstream span to the wasmesh proxy.
    const envoyRoot = trace.find((s) => s.parentId === undefined)!;
    expect(envoyRoot, JSON.stringify(trace)).toBeDefined();
    expect(envoyRoot.kind).toBe('SERVER');
    const envoyUpstream = trace.find((s) => s.parentId === envoyRoot.id && s.kind === 'CLIENT')!;
    expect(envoyUpstream, JSON.stringify(trace)).toBeDefined();
    // wasmesh: its stream span continues Envoy's upstream span; its attempt span is the app's parent.
    const wasmeshStream = trace.find((s) => s.parentId === envoyUpstream.id)!;
    expect(wasmeshStream, JSON.stringify(trace)).toMatchObject({ kind: 'SERVER', tags: { component: 'proxy', 'http.status_code': '200' } });
    const wasmeshAttempt = trace.find((s) => s.parentId === wasmeshStream.id)!;
    expect(wasmeshAttempt).toMatchObject({ kind: 'CLIENT', name: 'router app egress' });
    expect(seen[0]!['x-b3-spanid']).toBe(wasmeshAttempt.id);
    expect(seen[0]!['x-b3-parentspanid']).toBe(wasmeshStream.id);
    expect(trace).toHaveLength(4);
  }, 60_000);
});
