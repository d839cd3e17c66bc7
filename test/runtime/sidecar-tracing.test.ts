// A sidecar traces both of its listeners with the workload's one tracing config: a request into
// the workload (the inbound listener, to the app) and the app's call out (the outbound listener)
// are one trace when the app forwards the context, each listener reporting its stream span and
// its attempt span to the collector.
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { loadConfig } from '../../host/config/load-config.js';
import { request } from '../helpers/http-client.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const listen = async (s: http.Server): Promise<number> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => s.close(r)));
  return (s.address() as AddressInfo).port;
};

type Span = { traceId: string; id: string; parentId?: string; name: string; kind: string };

/** A sidecar in front of an app that calls a backend through it; the spans its listeners report for one request. */
async function tracedCall(tracingYaml: string): Promise<Span[]> {
  const spans: Span[] = [];
  const collectorPort = await listen(http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      spans.push(...JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(202).end();
    });
  }));
  const backendPort = await listen(http.createServer((_req, res) => res.end('backend')));
  let outboundPort = 0;
  // The app calls the backend through its sidecar, forwarding the B3 headers it got.
  const appPort = await listen(http.createServer((req, res) => {
    const fwd: Record<string, string> = { host: 'backend.default.svc.cluster.local' };
    for (const h of ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled']) if (typeof req.headers[h] === 'string') fwd[h] = req.headers[h] as string;
    void request(outboundPort, { headers: fwd }).then((r) => res.end(`app -> ${r.body.toString()}`));
  }));
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-tracing-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    extensionProviders:
    - name: zipkin
      zipkin: {service: 127.0.0.1, port: ${collectorPort}}
${tracingYaml}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend}
spec:
  hosts: [backend.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${backendPort}}}]
`);
  const sidecar = await startSidecarRuntime({
    sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort], accessLog: () => {}, log: () => {},
    load: (sources, options) => loadConfig(sources, options),
  });
  outboundPort = sidecar.ports.outbound;
  const r = await request(sidecar.ports.inbound, { headers: { host: `app:${appPort}` } });
  expect(r.body.toString()).toBe('app -> backend');
  await sidecar.close();
  return spans;
}

describe('a sidecar\'s inbound and outbound listeners', () => {
  it('both trace, with the config the mesh resolved for the workload', async () => {
    const spans = await tracedCall(`    defaultProviders: {tracing: [zipkin]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{randomSamplingPercentage: 100}]`);
    // Inbound: stream span + attempt to the app; outbound: stream span (child of the inbound attempt) + attempt to the backend.
    expect(spans).toHaveLength(4);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const inbound = spans.find((s) => s.parentId === undefined)!;
    const toApp = spans.find((s) => s.parentId === inbound.id)!;
    const outbound = spans.find((s) => s.parentId === toApp.id)!;
    const toBackend = spans.find((s) => s.parentId === outbound.id)!;
    expect([inbound.kind, toApp.kind, outbound.kind, toBackend.kind]).toEqual(['SERVER', 'CLIENT', 'SERVER', 'CLIENT']);
    expect(toApp.name).toMatch(/^router inbound\|.* egress$/);
    expect(toBackend.name).toMatch(/^router outbound\|80\|\|backend\.default\.svc\.cluster\.local egress$/);
  });

  it('Telemetry match.mode SERVER: only the inbound listener traces', async () => {
    const spans = await tracedCall(`---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{match: {mode: SERVER}, providers: [{name: zipkin}], randomSamplingPercentage: 100}]`);
    expect(spans.map((s) => s.kind).sort()).toEqual(['CLIENT', 'SERVER']);
    expect(spans.find((s) => s.kind === 'CLIENT')!.name).toMatch(/^router inbound\|/);
  });
});
