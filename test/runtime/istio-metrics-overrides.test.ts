// Telemetry API metrics overrides on real sidecars over loopback with mesh mTLS: the client's
// mesh-wide Telemetry disables REQUEST_DURATION for CLIENT and removes response_code from
// REQUEST_COUNT (its 200 and 404 series merged into one) with a constant mesh_id added; its
// /stats/prometheus (admin and the stats port) shows exactly that. The server, with no
// Telemetry, keeps Istio's defaults.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { autoMtlsMesh } from '../helpers/auto-mtls-mesh.js';
import { parseSamples, samples, sumOf } from '../helpers/prometheus-samples.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const TELEMETRY = `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_DURATION, mode: CLIENT}
      disabled: true
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        response_code: {operation: REMOVE}
        mesh_id: {value: "'m1'"}
`;

let ca: TestMeshCa;
let app: Server;
const dirs: string[] = [];
let client: SidecarRuntime;
let server: SidecarRuntime;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-metrics-overrides-'));
  dirs.push(dir);
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return dir;
}

function get(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ca = await testMeshCa();
  app = createServer((req, res) => {
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('hello');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const cell = async (sa: string): Promise<WorkloadCertificateCell> => {
    const c = new WorkloadCertificateCell();
    c.set(await workloadCertificate(ca, 'default', sa));
    return c;
  };
  server = await startSidecarRuntime({
    sources: [dirWith({ 'empty.yaml': '# PERMISSIVE\n' })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
    accessLog: () => {}, log: () => {}, workloadCertificates: await cell('app'),
    workload: workloadMetadata({ name: 'reviews-v1', namespace: 'default', labels: { app: 'reviews', version: 'v1' } }),
  });
  client = await startSidecarRuntime({
    sources: [dirWith({ 'mesh.yaml': autoMtlsMesh(server.ports.inbound, 'app') + TELEMETRY })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [1],
    accessLog: () => {}, log: () => {}, workloadCertificates: await cell('client'), stats: { at: LOOPBACK, required: true },
    workload: workloadMetadata({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } }),
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (app) await new Promise((r) => app.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
});

describe('Telemetry metrics overrides on /stats/prometheus', () => {
  it('the client shows the disabled metric gone and the removed tag absent; the server keeps the defaults', async () => {
    for (let i = 0; i < 3; i++) expect((await get(client.ports.outbound, 'app.example')).status).toBe(200);
    expect((await get(client.ports.outbound, 'app.example', '/missing')).status).toBe(404);

    for (const port of [client.ports.admin, client.statsPort!]) {
      const r = await get(port, '127.0.0.1', '/stats/prometheus');
      expect(r.status).toBe(200);
      expect(r.body).not.toMatch(/istio_request_duration_milliseconds/);
      const all = parseSamples(r.body);
      const counted = samples(all, 'istio_requests_total', { reporter: 'source' });
      // One series: the 200s and the 404 merged once response_code is gone.
      expect(counted, r.body).toHaveLength(1);
      expect(counted[0]!.labels).not.toHaveProperty('response_code');
      expect(counted[0]!.labels).toMatchObject({ mesh_id: 'm1', destination_workload: 'reviews-v1', response_flags: '-' });
      expect(counted[0]!.value).toBe(4);
      // The histograms not overridden are Istio's, response_code included.
      expect(sumOf(all, 'istio_request_bytes_count', { reporter: 'source', response_code: '200' })).toBe(3);
      expect(sumOf(all, 'istio_request_bytes_count', { reporter: 'source', response_code: '404' })).toBe(1);
    }

    const dst = parseSamples((await get(server.ports.admin, '127.0.0.1', '/stats/prometheus')).body);
    expect(sumOf(dst, 'istio_requests_total', { reporter: 'destination', response_code: '200' })).toBe(3);
    expect(sumOf(dst, 'istio_requests_total', { reporter: 'destination', response_code: '404' })).toBe(1);
    expect(sumOf(dst, 'istio_request_duration_milliseconds_count', { reporter: 'destination' })).toBe(4);
    expect(samples(dst, 'istio_requests_total').some((s) => 'mesh_id' in s.labels)).toBe(false);
  });
});
