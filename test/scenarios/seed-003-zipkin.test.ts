// Seed 003 (Istio101) with its seed-era retries (retryOn 5xx) traced into a real Zipkin server
// (io.zipkin:zipkin-server, in-memory storage; test/helpers/zipkin-for-tests.ts): the mesh's
// meshConfig names a zipkin extension provider and a root-namespace Telemetry samples 100 %. A
// request whose first attempt at the gateway failed (the frontend answered 500) and whose retry
// succeeded appears in Zipkin's API as one trace across the gateway and the sidecars, the failed
// and the retried attempt as two client spans of the gateway's stream span.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { startZipkin, zipkinForTests, type RunningZipkin } from '../helpers/zipkin-for-tests.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RETRY_ON_5XX = readFileSync(join(ROOT, 'examples/003-istio101/variants/03-retry-on-5xx.yaml'), 'utf8');
const SUITE = 'seed 003 traced into Zipkin';
const bins = zipkinForTests(SUITE);

const meshConfig = (zipkinPort: number): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    extensionProviders:
    - name: zipkin
      zipkin:
        service: 127.0.0.1
        port: ${zipkinPort}
    defaultProviders:
      tracing: [zipkin]
`;

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  tracing:
  - randomSamplingPercentage: 100
`;

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  timestamp: number;
  tags: Record<string, string>;
  localEndpoint?: { serviceName?: string };
}

describe.skipIf(bins === null)(SUITE, () => {
  let zipkin: RunningZipkin;
  let mesh: RunningScenario;
  beforeAll(async () => {
    zipkin = await startZipkin(bins!);
    mesh = await startScenario(ISTIO101, {
      root: ROOT,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      freeAppPorts: true,
      seed: 303,
      extraFiles: { '03-retry-on-5xx.yaml': RETRY_ON_5XX, '04-mesh-config.yaml': meshConfig(zipkin.port), '05-telemetry.yaml': TELEMETRY },
    });
  }, 180_000);
  afterAll(async () => {
    closeClient();
    await mesh?.close();
    await zipkin?.stop();
  });

  it('a retried request is one trace in Zipkin, the failed and the retried attempt both visible', async () => {
    // Requests with our own trace ids until one succeeded after the gateway retried the frontend.
    let traceId = '';
    let rootSpan = '';
    for (let i = 0; i < 60 && traceId === ''; i++) {
      const t = randomBytes(16).toString('hex');
      const s = randomBytes(8).toString('hex');
      const r = await get(`${mesh.gateway.url}/`, { fail: '0.3', 'x-b3-traceid': t, 'x-b3-spanid': s, 'x-b3-sampled': '1' });
      const frontend = mesh.apps.get('frontend-prod')!.seen.filter((x) => x.headers['x-b3-traceid'] === t);
      if (r.status === 200 && frontend.some((x) => x.headers['x-envoy-attempt-count'] === '2')) {
        traceId = t;
        rootSpan = s;
      }
    }
    expect(traceId, 'no request was retried by the gateway and then succeeded').not.toBe('');

    // The proxies report in batches (5 spans, or every 5 s), each proxy on its own: wait until the
    // backend's hop is in and every proxy's spans are (7 at least, below), or the deadline.
    let spans: ZipkinSpan[] = [];
    const end = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${zipkin.url}/api/v2/trace/${traceId}`);
      spans = res.ok ? ((await res.json()) as ZipkinSpan[]) : [];
      const done = spans.length >= 7 && spans.some((s) => s.name.includes('backend') && s.tags['http.status_code'] === '200');
      if (done || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // One trace: every span carries the client's trace id.
    expect(spans.length).toBeGreaterThanOrEqual(7);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const byId = new Map(spans.map((s) => [s.id, s]));

    // The gateway's stream span continues the client's span; its attempts to the frontend are its children.
    const gateway = spans.find((s) => s.parentId === rootSpan)!;
    expect(gateway, 'the gateway\'s stream span (child of the client\'s span)').toBeDefined();
    expect(gateway.tags).toMatchObject({ 'http.method': 'GET', 'http.status_code': '200', component: 'proxy', response_flags: '-' });
    const attempts = spans.filter((s) => s.parentId === gateway.id).sort((a, b) => a.timestamp - b.timestamp);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.every((a) => a.kind === 'CLIENT' && /^router .*frontend.* egress$/.test(a.name))).toBe(true);
    const failed = attempts[0]!;
    const retried = attempts.at(-1)!;
    expect(failed.tags).toMatchObject({ 'http.status_code': '500', error: 'true' });
    expect(retried.tags['http.status_code']).toBe('200');
    expect(retried.tags['retry.count']).toBe(String(attempts.length - 1));

    // Across the services: the frontend's sidecar continued the successful attempt's context
    // (the frontend app forwarded it), and the middleware's sidecar the frontend sidecar's.
    const ancestors = (s: ZipkinSpan): string[] => {
      const ids: string[] = [];
      for (let p = s.parentId; p !== undefined && byId.has(p); p = byId.get(p)!.parentId) ids.push(p);
      return ids;
    };
    const toMiddleware = spans.filter((s) => /^router .*middleware.* egress$/.test(s.name) && s.tags['http.status_code'] === '200');
    const toBackend = spans.filter((s) => /^router .*backend.* egress$/.test(s.name) && s.tags['http.status_code'] === '200');
    expect(toMiddleware.length).toBeGreaterThanOrEqual(1);
    expect(toBackend.length).toBeGreaterThanOrEqual(1);
    expect(toMiddleware.some((s) => ancestors(s).includes(retried.id))).toBe(true);
    expect(toBackend.some((s) => ancestors(s).includes(retried.id) && ancestors(s).some((a) => toMiddleware.some((m) => m.id === a)))).toBe(true);
    // Zipkin lists the trace among the traces it has.
    const listed = (await (await fetch(`${zipkin.url}/api/v2/traces?limit=100&lookback=3600000&endTs=${Date.now() + 60_000}`)).json()) as ZipkinSpan[][];
    expect(listed.some((t) => t.some((s) => s.traceId === traceId))).toBe(true);
  }, 120_000);
});
