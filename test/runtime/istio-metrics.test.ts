// Istio's standard metrics between two real sidecars over loopback with mesh mTLS: the client
// sidecar's outbound (reporter source) and the server sidecar's inbound (reporter destination)
// each name both workloads, learnt through the x-envoy-peer-metadata exchange, which neither
// app ever sees; a caller without metadata is `unknown`.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { encodePeerMetadata } from '../../host/telemetry/peer-metadata.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { autoMtlsMesh } from '../helpers/auto-mtls-mesh.js';
import { parseSamples, samples, sumOf } from '../helpers/prometheus-samples.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
/** How long the app takes to answer `/slow`. */
const SLOW_MS = 300;

let ca: TestMeshCa;
let app: Server;
let appPort: number;
const seen: IncomingHttpHeaders[] = [];
const dirs: string[] = [];
let client: SidecarRuntime;
let server: SidecarRuntime;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-istio-metrics-'));
  dirs.push(dir);
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return dir;
}

function get(port: number, host: string, path = '/', headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(rt: SidecarRuntime): Promise<ReturnType<typeof parseSamples>> {
  const r = await get(rt.ports.admin, '127.0.0.1', '/stats/prometheus');
  expect(r.status).toBe(200);
  return parseSamples(r.body);
}

beforeAll(async () => {
  ca = await testMeshCa();
  app = createServer((req, res) => {
    seen.push(req.headers);
    // A slow upstream (its own status, its own series): the durations recorded span turns.
    if (req.url === '/slow') {
      setTimeout(() => {
        res.statusCode = 202;
        res.end('slow');
      }, SLOW_MS);
      return;
    }
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('hello from reviews');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  const cell = async (sa: string): Promise<WorkloadCertificateCell> => {
    const c = new WorkloadCertificateCell();
    c.set(await workloadCertificate(ca, 'default', sa));
    return c;
  };
  server = await startSidecarRuntime({
    sources: [dirWith({ 'empty.yaml': '# PERMISSIVE\n' })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
    accessLog: () => {}, log: () => {}, workloadCertificates: await cell('app'),
    stats: { at: LOOPBACK, required: true }, mergedStats: { at: LOOPBACK, required: true },
    workload: workloadMetadata({ name: 'reviews-v1', namespace: 'default', labels: { app: 'reviews', version: 'v1' } }),
  });
  client = await startSidecarRuntime({
    sources: [dirWith({ 'mesh.yaml': autoMtlsMesh(server.ports.inbound, 'app') })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [1],
    accessLog: () => {}, log: () => {}, workloadCertificates: await cell('client'),
    workload: workloadMetadata({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } }),
  });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await new Promise((r) => app.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
});

describe('istio_* between two sidecars', () => {
  it('counts each request on both reporters with both workloads named, and no app sees the peer metadata', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await get(client.ports.outbound, 'app.example');
      expect(r.status).toBe(200);
      // The client app never sees the callee's metadata in the response.
      expect(r.headers['x-envoy-peer-metadata']).toBeUndefined();
      expect(r.headers['x-envoy-peer-metadata-id']).toBeUndefined();
    }
    expect((await get(client.ports.outbound, 'app.example', '/missing')).status).toBe(404);
    for (const h of seen) {
      expect(h['x-envoy-peer-metadata']).toBeUndefined();
      expect(h['x-envoy-peer-metadata-id']).toBeUndefined();
    }

    const src = await scrape(client);
    const source = { reporter: 'source', source_workload: 'productpage-v1', source_app: 'productpage', source_version: 'v1', source_canonical_service: 'productpage', source_canonical_revision: 'v1', source_workload_namespace: 'default', source_principal: 'spiffe://cluster.local/ns/default/sa/client', source_cluster: 'Kubernetes',
      destination_workload: 'reviews-v1', destination_app: 'reviews', destination_version: 'v1', destination_canonical_service: 'reviews', destination_canonical_revision: 'v1', destination_workload_namespace: 'default', destination_cluster: 'Kubernetes',
      destination_service: 'app.example', destination_service_name: 'app.example', request_protocol: 'http', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown' };
    expect(sumOf(src, 'istio_requests_total', { ...source, response_code: '200' }), JSON.stringify(samples(src, 'istio_requests_total'))).toBe(5);
    expect(sumOf(src, 'istio_requests_total', { ...source, response_code: '404' })).toBe(1);
    expect(sumOf(src, 'istio_request_duration_milliseconds_count', { ...source, response_code: '200' })).toBe(5);
    expect(sumOf(src, 'istio_request_duration_milliseconds_bucket', { ...source, response_code: '200', le: '+Inf' })).toBe(5);
    expect(sumOf(src, 'istio_response_bytes_sum', { ...source, response_code: '200' })).toBe(5 * 'hello from reviews'.length);

    const dst = await scrape(server);
    const destination = { ...source, reporter: 'destination', destination_principal: 'spiffe://cluster.local/ns/default/sa/app', destination_service_namespace: 'default', connection_security_policy: 'mutual_tls' };
    expect(sumOf(dst, 'istio_requests_total', { ...destination, response_code: '200' }), JSON.stringify(samples(dst, 'istio_requests_total'))).toBe(5);
    expect(sumOf(dst, 'istio_requests_total', { ...destination, response_code: '404' })).toBe(1);
    // Envoy's own stats are still there.
    expect(samples(dst, 'envoy_cluster_upstream_rq_total').length).toBeGreaterThan(0);
    // Istio's Prometheus port serves the same text, and nothing else.
    const port = server.statsPort!;
    const viaStats = parseSamples((await get(port, '127.0.0.1', '/stats/prometheus')).body);
    expect(sumOf(viaStats, 'istio_requests_total', { ...destination, response_code: '200' })).toBe(5);
    expect(samples(viaStats, 'envoy_cluster_upstream_rq_total').length).toBeGreaterThan(0);
    expect((await get(port, '127.0.0.1', '/config_dump')).status).toBe(404);
    // And Istio's agent port (15020) merges them with the agent's own (no app metrics configured here).
    const merged = parseSamples((await get(server.mergedStatsPort!, '127.0.0.1', '/stats/prometheus')).body);
    expect(sumOf(merged, 'istio_requests_total', { ...destination, response_code: '200' })).toBe(5);
    expect(sumOf(merged, 'istio_agent_scrapes_total')).toBe(1);
  });

  it('a slow upstream\'s duration is recorded whole on both reporters', async () => {
    const t0 = Date.now();
    const r = await get(client.ports.outbound, 'app.example', '/slow');
    const wall = Date.now() - t0;
    expect(r.status).toBe(202);
    for (const [rt, reporter] of [[client, 'source'], [server, 'destination']] as const) {
      const m = await scrape(rt);
      const labels = { reporter, response_code: '202' };
      expect(sumOf(m, 'istio_request_duration_milliseconds_count', labels), reporter).toBe(1);
      const ms = sumOf(m, 'istio_request_duration_milliseconds_sum', labels);
      // Whole: at least the app's delay, at most what the client saw end to end.
      expect(ms, reporter).toBeGreaterThanOrEqual(SLOW_MS);
      expect(ms, reporter).toBeLessThanOrEqual(wall);
      // In the buckets too: none at or below 250 ms, the one above.
      expect(sumOf(m, 'istio_request_duration_milliseconds_bucket', { ...labels, le: '250' }), reporter).toBe(0);
      expect(sumOf(m, 'istio_request_duration_milliseconds_bucket', { ...labels, le: '+Inf' }), reporter).toBe(1);
    }
  });

  it('an app cannot speak for another workload: metadata it sends is replaced by its sidecar\'s own', async () => {
    const forged = encodePeerMetadata(workloadMetadata({ name: 'admin-tool', namespace: 'kube-system' }));
    expect((await get(client.ports.outbound, 'app.example', '/forged', { 'x-envoy-peer-metadata': forged, 'x-envoy-peer-metadata-id': 'sidecar~1.2.3.4~evil.kube-system~kube-system.svc.cluster.local' })).status).toBe(200);
    const dst = await scrape(server);
    expect(sumOf(dst, 'istio_requests_total', { source_workload: 'admin-tool' })).toBe(0);
    expect(seen.at(-1)!['x-envoy-peer-metadata']).toBeUndefined();
  });

  it('a caller that sends no metadata is unknown, and learns nothing of the workload', async () => {
    const r = await get(server.ports.inbound, 'reviews');
    expect(r.status).toBe(200);
    expect(r.headers['x-envoy-peer-metadata']).toBeUndefined();
    const dst = await scrape(server);
    expect(sumOf(dst, 'istio_requests_total', {
      reporter: 'destination', source_workload: 'unknown', source_app: 'unknown', source_principal: 'unknown', source_workload_namespace: 'unknown',
      destination_workload: 'reviews-v1', destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'default',
      connection_security_policy: 'none', response_code: '200',
    })).toBe(1);
  });

  it('/reset_counters zeroes istio_requests_total as Envoy\'s counters, histograms keep their counts (Envoy resets counters only)', async () => {
    const before = await scrape(server);
    const count = sumOf(before, 'istio_request_duration_milliseconds_count', { reporter: 'destination' });
    expect(sumOf(before, 'istio_requests_total', { reporter: 'destination' })).toBeGreaterThan(0);
    const r = await fetch(`http://127.0.0.1:${server.ports.admin}/reset_counters`, { method: 'POST' });
    expect(r.status).toBe(200);
    const after = await scrape(server);
    expect(sumOf(after, 'istio_requests_total', { reporter: 'destination' })).toBe(0);
    expect(sumOf(after, 'istio_request_duration_milliseconds_count', { reporter: 'destination' })).toBe(count);
    expect((await get(client.ports.outbound, 'app.example')).status).toBe(200);
    expect(sumOf(await scrape(server), 'istio_requests_total', { reporter: 'destination', source_workload: 'productpage-v1', response_code: '200' })).toBe(1);
  });
});
