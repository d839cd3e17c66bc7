// gRPC and the Telemetry API's metrics overrides in stock Envoy's wasmesh_stats filter, next to
// a wasmesh proxy with the same YAML and workload, both calling one @grpc/grpc-js server:
// request_protocol="grpc" with grpc_response_status, istio_request_messages_total /
// istio_response_messages_total from Envoy's grpc_stats filter state (a unary call: 1 and 1; a
// bidirectional stream of 2 messages answered with 2 each: 2 and 4), and a mesh-wide Telemetry
// that disables REQUEST_SIZE, removes response_code from REQUEST_COUNT (series merged) and upserts
// a constant mesh_id there. Envoy's /stats/prometheus must show exactly the series (labels and
// values) the wasmesh proxy shows for the same calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { loadConfig } from '../../host/config/load-config.js';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { parseSamples, type Sample } from '../helpers/prometheus-samples.js';
import { until } from '../helpers/poll-until.js';

const envoy = envoyForTests('stats-filter-grpc-envoy');

const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Buffer): string => b.toString();
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Chat: { path: '/test.Greeter/Chat', requestStream: true, responseStream: true, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
};
const Client = grpc.makeGenericClientConstructor(service, 'Greeter');

const CLIENT_WORKLOAD = workloadMetadata({ name: 'frontend-v1', namespace: 'default', labels: { app: 'frontend', version: 'v1' } });

function meshYaml(port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter}
spec:
  hosts: [greeter.example]
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${port}}}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_SIZE, mode: CLIENT}
      disabled: true
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        response_code: {operation: REMOVE}
        mesh_id: {value: "'m1'"}
`;
}

function scrapeText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/stats/prometheus', agent: false }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`scrape ${port}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const ISTIO = /^istio_(requests_total|request_messages_total|response_messages_total|request_bytes_count|response_bytes_count|request_duration_milliseconds_count)$/;

async function istioSamples(port: number): Promise<Sample[]> {
  return parseSamples(await scrapeText(port)).filter((s) => ISTIO.test(s.name) || s.name.startsWith('istio_request_bytes'));
}

/** name{sorted labels, empty ones dropped} value. */
function keyed(samples: readonly Sample[]): string[] {
  return samples.map((s) => `${s.name}{${Object.entries(s.labels).filter(([, v]) => v !== '').sort().map(([k, v]) => `${k}=${v}`).join(',')}} ${s.value}`).sort();
}

describe.skipIf(envoy === null)('wasmesh_stats in Envoy: gRPC message counts and Telemetry overrides, as a wasmesh proxy', () => {
  let server: grpc.Server;
  let dir = '';
  let child: ChildProcess | null = null;
  let envoyOut = '';
  let envoyPort = 0;
  let envoyAdmin = 0;
  let wasmesh: ProxyRuntime | null = null;
  const clients: Array<InstanceType<typeof Client>> = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(service, {
      Say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
        if (call.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
        cb(null, `hello ${call.request}`);
      },
      Chat: (call: grpc.ServerDuplexStream<string, string>) => {
        call.on('data', (m: string) => {
          call.write(`re ${m}`);
          call.write('');
        });
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-stats-grpc-'));
    const meshDir = join(dir, 'mesh');
    mkdirSync(meshDir);
    writeFileSync(join(meshDir, 'mesh.yaml'), meshYaml(port));

    [envoyPort, envoyAdmin] = [await freePort(), await freePort()];
    const { config } = envoyFiltersBootstrap(loadConfig([meshDir]), {
      listen: { host: '127.0.0.1', port: envoyPort }, admin: { host: '127.0.0.1', port: envoyAdmin },
      istioStats: { reporter: 'source', self: CLIENT_WORKLOAD, peers: [] },
    });
    const file = join(dir, 'envoy.yaml');
    writeFileSync(file, stringify(config, { version: '1.1' }));
    child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => { envoyOut += b.toString(); });
    child.stderr!.on('data', (b: Buffer) => { envoyOut += b.toString(); });
    await until('Envoy ready', async () => ((await scrapeText(envoyAdmin)) !== '' ? true : undefined)).catch((e) => {
      throw new Error(`${String(e)}\n${envoyOut}`);
    });
    wasmesh = await startProxyRuntime({
      sources: [meshDir], workload: CLIENT_WORKLOAD, listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 },
      accessLog: () => {}, log: () => {},
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await wasmesh?.close();
    server?.forceShutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function clientOf(port: number): InstanceType<typeof Client> {
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'greeter.example' });
    clients.push(c);
    return c;
  }

  const say = (c: InstanceType<typeof Client>, msg: string): Promise<{ ok: string } | { code: number }> =>
    new Promise((resolve) => c.Say(msg, { deadline: Date.now() + 5000 }, (e: grpc.ServiceError | null, r?: string) => resolve(e ? { code: e.code } : { ok: r! })));

  function chat(c: InstanceType<typeof Client>, messages: readonly string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const call = c.Chat({ deadline: Date.now() + 5000 });
      const got: string[] = [];
      call.on('data', (m: string) => got.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(got));
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  it('the same istio_* series as the wasmesh proxy: grpc protocol and status, message counts, overrides applied', async () => {
    for (const port of [envoyPort, wasmesh!.listenPort]) {
      const c = clientOf(port);
      for (let i = 0; i < 3; i++) expect(await say(c, `n${i}`), envoyOut).toEqual({ ok: `hello n${i}` });
      expect(await say(c, 'fail')).toEqual({ code: grpc.status.FAILED_PRECONDITION });
      expect(await chat(c, ['a', 'b'])).toEqual(['re a', '', 're b', '']);
    }
    const fromWasmesh = await istioSamples(wasmesh!.adminPort);
    const requests = fromWasmesh.filter((s) => s.name === 'istio_requests_total');
    // response_code removed: one series for the OK calls (unary and stream), one for status 9.
    expect(requests.map((s) => [s.labels.grpc_response_status, s.value]).sort(), JSON.stringify(requests)).toEqual([['0', 4], ['9', 1]]);
    // Histograms reach Envoy's admin at its stats flush (5 s by default).
    const fromEnvoy = await until('Envoy series as wasmesh\'s', async () => {
      const s = await istioSamples(envoyAdmin);
      return keyed(s).join('\n') === keyed(fromWasmesh).join('\n') ? s : undefined;
    }, 12_000).catch(async (e) => {
      expect(keyed(await istioSamples(envoyAdmin)), `${String(e)}\n${envoyOut}`).toEqual(keyed(fromWasmesh));
      throw e;
    });
    const ok = fromEnvoy.find((s) => s.name === 'istio_requests_total' && s.labels.grpc_response_status === '0')!;
    expect(ok.labels).toMatchObject({ reporter: 'source', request_protocol: 'grpc', source_workload: 'frontend-v1', destination_service: 'greeter.example', mesh_id: 'm1' });
    expect(ok.labels.response_code).toBeUndefined();
    expect(ok.value).toBe(4);
    // Messages: 3 unary OK calls (1 and 1 each) and the stream (2 in, 4 out); the failed call sent 1, got none.
    const msgs = (name: string, status: string): number | undefined => fromEnvoy.find((s) => s.name === name && s.labels.grpc_response_status === status)?.value;
    expect(msgs('istio_request_messages_total', '0')).toBe(5);
    expect(msgs('istio_response_messages_total', '0')).toBe(7);
    expect(msgs('istio_request_messages_total', '9')).toBe(1);
    // The message counters keep response_code (the override is REQUEST_COUNT's).
    expect(fromEnvoy.find((s) => s.name === 'istio_request_messages_total')!.labels.response_code).toBe('200');
    // REQUEST_SIZE disabled for CLIENT: no istio_request_bytes at all; RESPONSE_SIZE kept.
    expect(fromEnvoy.some((s) => s.name.startsWith('istio_request_bytes'))).toBe(false);
    expect(fromEnvoy.some((s) => s.name === 'istio_response_bytes_count')).toBe(true);
  }, 60_000);
});
