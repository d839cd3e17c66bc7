// A mixed mesh: the same client workload (productpage-v1) once as stock Envoy with the wasmesh
// filters and the wasmesh_stats filter, once as a wasmesh sidecar, both calling one wasmesh
// sidecar (reviews-v1) in front of the app, from the same mesh YAML. Envoy's /stats/prometheus
// must show istio_requests_total (and the histograms) with exactly the label set the wasmesh
// client sidecar shows for the same traffic; the wasmesh server sidecar must name Envoy's
// workload as the source (Envoy sent its x-envoy-peer-metadata), and no app sees the metadata.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import type { StatsPluginOptions } from '../../host/envoy/stats-plugin-config.js';
import { loadConfig } from '../../host/config/load-config.js';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { encodePeerMetadata } from '../../host/telemetry/peer-metadata.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { parseSamples, samples, type Sample } from '../helpers/prometheus-samples.js';
import { until } from '../helpers/poll-until.js';

const envoy = envoyForTests('stats-filter-envoy');
const LOOPBACK = { host: '127.0.0.1', port: 0 };

const PRODUCTPAGE = workloadMetadata({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, nodeId: 'sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local' });
const REVIEWS = workloadMetadata({ name: 'reviews-v1', namespace: 'default', labels: { app: 'reviews', version: 'v1' } });

/** A plaintext mesh service app.example, one endpoint (the server sidecar's inbound). */
function meshYaml(port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app }
spec:
  hosts: [app.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
`;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'app.example', ...headers } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(port: number): Promise<Sample[]> {
  const r = await get(port, '/stats/prometheus', { host: '127.0.0.1' });
  expect(r.status).toBe(200);
  return parseSamples(r.body);
}

/** A sample's labels as a sorted key=value list (empty values dropped: Prometheus treats them as absent). */
function labelKey(labels: Record<string, string>, drop: readonly string[] = []): string {
  return Object.entries(labels).filter(([k, v]) => v !== '' && !drop.includes(k)).map(([k, v]) => `${k}=${v}`).sort().join(',');
}

describe.skipIf(envoy === null)('wasmesh_stats in Envoy next to wasmesh sidecars', () => {
  let app: Server;
  const seen: IncomingHttpHeaders[] = [];
  const dirs: string[] = [];
  let server: SidecarRuntime;
  let client: SidecarRuntime;
  let envoyOut = '';
  let envoyPort = 0;
  let envoyAdmin = 0;
  let inboundPort = 0;
  let inboundAdmin = 0;
  const children: ChildProcess[] = [];

  async function startEnvoy(meshDir: string, istioStats: StatsPluginOptions): Promise<{ port: number; admin: number }> {
    const [port, admin] = [await freePort(), await freePort()];
    const { config } = envoyFiltersBootstrap(loadConfig([meshDir]), { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: admin }, istioStats });
    const file = join(dirWith({}), 'envoy.yaml');
    writeFileSync(file, stringify(config, { version: '1.1' }));
    const child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout!.on('data', (b: Buffer) => { envoyOut += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { envoyOut += b.toString(); });
    await until('Envoy ready', async () => ((await get(admin, '/ready', { host: '127.0.0.1' })).status === 200 ? true : undefined)).catch((e) => {
      throw new Error(`${String(e)}\n${envoyOut}`);
    });
    return { port, admin };
  }

  const dirWith = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-stats-envoy-'));
    dirs.push(dir);
    for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
    return dir;
  };

  beforeAll(async () => {
    app = createServer((req, res) => {
      seen.push(req.headers);
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('hello from reviews');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;
    server = await startSidecarRuntime({
      sources: [dirWith({ 'empty.yaml': '# nothing\n' })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
      accessLog: () => {}, log: () => {}, workload: REVIEWS,
    });
    const meshDir = dirWith({ 'mesh.yaml': meshYaml(server.ports.inbound) });
    client = await startSidecarRuntime({
      sources: [meshDir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [1],
      accessLog: () => {}, log: () => {}, workload: PRODUCTPAGE,
    });
    const source = await startEnvoy(meshDir, { reporter: 'source', self: PRODUCTPAGE, peers: [REVIEWS] });
    [envoyPort, envoyAdmin] = [source.port, source.admin];
    // The destination side as Envoy: reviews-v1's inbound in front of the same app.
    const inbound = await startEnvoy(dirWith({ 'mesh.yaml': meshYaml(appPort) }), { reporter: 'destination', self: REVIEWS, peers: [PRODUCTPAGE] });
    [inboundPort, inboundAdmin] = [inbound.port, inbound.admin];
  }, 60_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await client?.close();
    await server?.close();
    if (app) await new Promise((r) => app.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('Envoy reports the same istio_* series as a wasmesh sidecar for the same traffic', async () => {
    for (const port of [envoyPort, client.ports.outbound]) {
      for (let i = 0; i < 4; i++) {
        const r = await get(port, '/');
        expect(r.status, envoyOut).toBe(200);
        expect(r.body).toBe('hello from reviews');
        // The caller never sees the callee's metadata.
        expect(r.headers['x-envoy-peer-metadata']).toBeUndefined();
        expect(r.headers['x-envoy-peer-metadata-id']).toBeUndefined();
      }
      expect((await get(port, '/missing')).status).toBe(404);
    }
    // No app sees the metadata either.
    expect(seen.length).toBe(10);
    for (const h of seen) {
      expect(h['x-envoy-peer-metadata']).toBeUndefined();
      expect(h['x-envoy-peer-metadata-id']).toBeUndefined();
    }

    const wasmesh = (await scrape(client.ports.admin)).filter((s) => s.name === 'istio_requests_total');
    expect(wasmesh.length, JSON.stringify(wasmesh)).toBe(2);
    const fromEnvoy = (await scrape(envoyAdmin)).filter((s) => s.name === 'istio_requests_total');
    expect(fromEnvoy.map((s) => [labelKey(s.labels), s.value]).sort(), envoyOut).toEqual(wasmesh.map((s) => [labelKey(s.labels), s.value]).sort());
    // The destination is named (peer metadata from the wasmesh sidecar's response, recognised by the filter).
    const ok = fromEnvoy.find((s) => s.labels.response_code === '200')!;
    expect(ok.labels).toMatchObject({ reporter: 'source', source_workload: 'productpage-v1', destination_workload: 'reviews-v1', destination_service: 'app.example', response_flags: '-', connection_security_policy: 'unknown' });
    expect(ok.value).toBe(4);

    // Histograms reach Envoy's admin at its stats flush (5 s by default): same series, same counts.
    const histograms = ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes'];
    const envoyAll = await until('Envoy histograms', async () => {
      const all = await scrape(envoyAdmin);
      return samples(all, 'istio_request_duration_milliseconds_count', { response_code: '200' }).some((s) => s.value === 4) ? all : undefined;
    });
    const wasmeshAll = await scrape(client.ports.admin);
    for (const h of histograms) {
      const mine = samples(envoyAll, `${h}_count`).map((s) => [labelKey(s.labels), s.value]).sort();
      const theirs = samples(wasmeshAll, `${h}_count`).map((s) => [labelKey(s.labels), s.value]).sort();
      expect(mine, h).toEqual(theirs);
      // Istio's buckets (Envoy's defaults) on both.
      const les = (all: Sample[]): string[] => [...new Set(samples(all, `${h}_bucket`).map((s) => s.labels.le!))].sort();
      expect(les(envoyAll), h).toEqual(les(wasmeshAll));
    }

    // The destination reporter (a wasmesh sidecar) names Envoy's workload: the metadata Envoy sent decoded there.
    const dst = (await scrape(server.ports.admin)).filter((s) => s.name === 'istio_requests_total' && s.labels.response_code === '200');
    expect(dst.length, JSON.stringify(dst)).toBe(1);
    expect(dst[0]!.labels).toMatchObject({ reporter: 'destination', source_workload: 'productpage-v1', source_app: 'productpage', destination_workload: 'reviews-v1' });
    expect(dst[0]!.value).toBe(8);
  }, 60_000);

  it('Envoy as the destination reporter matches a wasmesh sidecar\'s inbound, and answers a mesh caller with its metadata', async () => {
    const before = seen.length;
    // The wasmesh client sidecar's metadata, as it sends it (the exchange's request half).
    const own = encodePeerMetadata(PRODUCTPAGE);
    for (let i = 0; i < 3; i++) {
      const r = await get(inboundPort, '/', { 'x-envoy-peer-metadata': own, 'x-envoy-peer-metadata-id': PRODUCTPAGE.nodeId });
      expect(r.status, envoyOut).toBe(200);
      // A mesh caller learns who answered (the response half), as from a wasmesh sidecar.
      expect(r.headers['x-envoy-peer-metadata']).toBe(encodePeerMetadata(REVIEWS));
      expect(r.headers['x-envoy-peer-metadata-id']).toBe(REVIEWS.nodeId);
    }
    // A caller without metadata: unknown source, and it learns nothing.
    const plain = await get(inboundPort, '/');
    expect(plain.status).toBe(200);
    expect(plain.headers['x-envoy-peer-metadata']).toBeUndefined();
    // A metadata value no workload of the configuration has: unknown, as an undecodable one on wasmesh.
    expect((await get(inboundPort, '/', { 'x-envoy-peer-metadata': 'bm90IGEgc3RydWN0' })).status).toBe(200);
    for (const h of seen.slice(before)) {
      expect(h['x-envoy-peer-metadata']).toBeUndefined();
      expect(h['x-envoy-peer-metadata-id']).toBeUndefined();
    }
    const fromEnvoy = (await scrape(inboundAdmin)).filter((s) => s.name === 'istio_requests_total');
    const known = fromEnvoy.find((s) => s.labels.source_workload === 'productpage-v1');
    const unknown = fromEnvoy.find((s) => s.labels.source_workload === 'unknown');
    expect(known?.value, JSON.stringify(fromEnvoy)).toBe(3);
    expect(unknown?.value, JSON.stringify(fromEnvoy)).toBe(2);
    // The wasmesh server sidecar's inbound series for the same caller (the first test's traffic), codes aside.
    const wasmesh = (await scrape(server.ports.admin)).filter((s) => s.name === 'istio_requests_total' && s.labels.response_code === '200');
    expect(wasmesh.length, JSON.stringify(wasmesh)).toBe(1);
    expect(labelKey(known!.labels)).toBe(labelKey(wasmesh[0]!.labels));
    expect(known!.labels).toMatchObject({ reporter: 'destination', destination_service: 'app.example', destination_service_namespace: 'default', connection_security_policy: 'none' });
  }, 60_000);
});
