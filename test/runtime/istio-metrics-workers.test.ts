// Istio's metrics of a gateway with worker threads (seed 000's web-gateway): the source
// reporter's series of every thread are merged when /stats/prometheus is scraped, so the count is
// the load's, whichever thread served each request; `--istio-metrics off` leaves them out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { request } from '../helpers/http-client.js';
import { parseSamples, samples, sumOf } from '../helpers/prometheus-samples.js';

let upstreams: Upstreams;
let rt: ProxyRuntime;
let off: ProxyRuntime;
let dir: string;

beforeAll(async () => {
  upstreams = await startUpstreams();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-istio-workers-'));
  writeFileSync(join(dir, '00-web-services.yaml'), webServices(upstreams.ports));
  const common = {
    sources: [join(dir, '00-web-services.yaml'), 'examples/000-web-demo/02-web-demo-service-gateway.yaml'],
    gateway: 'web-gateway', listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, log: () => {},
  };
  rt = await startProxyRuntime({ ...common, workers: 2, workload: workloadMetadata({ name: 'istio-ingressgateway', namespace: 'istio-system', labels: { app: 'istio-ingressgateway' } }) });
  off = await startProxyRuntime({ ...common, istioMetrics: false });
}, 60_000);

afterAll(async () => {
  await rt?.close();
  await off?.close();
  await upstreams?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function scrape(port: number): Promise<ReturnType<typeof parseSamples>> {
  const r = await request(port, { path: '/stats/prometheus', headers: { host: '127.0.0.1' } });
  expect(r.status).toBe(200);
  return parseSamples(r.body.toString());
}

describe('istio_* with worker threads', () => {
  it('sums every thread\'s series when scraped', async () => {
    // Fresh connections: the threads take turns accepting.
    for (let i = 0; i < 30; i++) expect((await request(rt.listenPort, { headers: { host: 'web.example.com' } })).status).toBe(200);
    const s = await scrape(rt.adminPort);
    const mine = { reporter: 'source', source_workload: 'istio-ingressgateway', source_workload_namespace: 'istio-system', source_app: 'istio-ingressgateway', response_code: '200' };
    expect(sumOf(s, 'istio_requests_total', mine), JSON.stringify(samples(s, 'istio_requests_total'))).toBe(30);
    expect(sumOf(s, 'istio_request_duration_milliseconds_count', mine)).toBe(30);
    // Both threads served some (else the merge was not exercised).
    const main = rt.proxy.istio!.snapshot().series.reduce((n, x) => n + x.requests, 0);
    expect(main).toBeGreaterThan(0);
    expect(main).toBeLessThan(30);
  }, 60_000);

  it('off: no istio_* at all, Envoy\'s stats still there', async () => {
    expect((await request(off.listenPort, { headers: { host: 'web.example.com' } })).status).toBe(200);
    const s = await scrape(off.adminPort);
    expect(s.filter((x) => x.name.startsWith('istio_'))).toEqual([]);
    expect(samples(s, 'envoy_cluster_upstream_rq_total').length).toBeGreaterThan(0);
  });
});
