// Istio's TCP metrics from stock Envoy: a Gateway TCP port served by Envoy's tcp_proxy with the
// wasmesh_tcp_stats network filter (filters/stats/tcp-stats-filter.ts) next to the same Gateway
// port on a wasmesh gateway (its byte proxy's own istio_tcp_* telemetry), from the same YAML and
// workload. Envoy's /stats/prometheus must show the istio_tcp_* series with the label set and
// byte counts the wasmesh gateway shows for the same connections; an open connection's bytes
// must be reported while it is open (the periodic report, here every second), and a
// connection whose upstream refuses counts as opened and closed with UF, as on wasmesh. A real
// Prometheus scraping both planes answers the dashboards' TCP bytes PromQL alike for both. A
// mesh-wide Telemetry overrides TCP_RECEIVED_BYTES' tags (a label removed, one upserted): both
// planes apply it alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { loadConfig } from '../../host/config/load-config.js';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { parseSamples, type Sample } from '../helpers/prometheus-samples.js';
import { tcpServiceEntries } from '../helpers/tcp-yaml.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { prometheusForTests, startPrometheus } from '../helpers/prometheus-for-tests.js';
import { until } from '../helpers/poll-until.js';

const envoy = envoyForTests('tcp-stats-filter-envoy');
const prometheus = prometheusForTests('tcp-stats-filter-envoy');
const ECHO_PORT = 31400;
const DEAD_PORT = 31401;

const GATEWAY_WORKLOAD = workloadMetadata({ name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' } });

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp-gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: ${ECHO_PORT}, name: tcp-echo, protocol: TCP}
    hosts: ['*']
  - port: {number: ${DEAD_PORT}, name: tcp-dead, protocol: TCP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-vs, namespace: istio-system}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - match: [{port: ${ECHO_PORT}}]
    route:
    - destination: {host: echo.example.internal, port: {number: 7000}}
  - match: [{port: ${DEAD_PORT}}]
    route:
    - destination: {host: dead.example.internal, port: {number: 7000}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  metrics:
  - overrides:
    - match: {metric: TCP_RECEIVED_BYTES, mode: CLIENT}
      tagOverrides:
        source_version: {operation: REMOVE}
        destination_cluster: {value: "'east'"}
`;

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

async function tcpSamples(port: number): Promise<Sample[]> {
  return parseSamples(await scrapeText(port)).filter((s) => s.name.startsWith('istio_tcp_'));
}

/** name{sorted labels}=value, for comparing two planes' series. */
function keyed(samples: readonly Sample[]): string[] {
  return samples.map((s) => `${s.name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}} ${s.value}`).sort();
}

describe.skipIf(envoy === null)('wasmesh_tcp_stats in Envoy next to a wasmesh gateway', () => {
  let echo: Server;
  const open: Socket[] = [];
  let dir = '';
  let child: ChildProcess | null = null;
  let envoyOut = '';
  let envoyAdmin = 0;
  let envoyEcho = 0;
  let envoyDead = 0;
  let wasmesh: ProxyRuntime | null = null;

  beforeAll(async () => {
    echo = createServer({ allowHalfOpen: true }, (s) => {
      open.push(s);
      s.on('data', (d) => s.write(`echo:${d.toString()}`));
      s.on('end', () => s.end());
      s.on('error', () => {});
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const deadPort = await freePort(); // nothing listens there: the connect is refused (UF)
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-stats-'));
    const meshDir = join(dir, 'mesh');
    mkdirSync(meshDir);
    writeFileSync(join(meshDir, '00-services.yaml'), tcpServiceEntries([{ name: 'echo', port: (echo.address() as { port: number }).port }, { name: 'dead', port: deadPort }]));
    writeFileSync(join(meshDir, '01-gateway.yaml'), GATEWAY);

    [envoyAdmin, envoyEcho, envoyDead] = [await freePort(), await freePort(), await freePort()];
    const { config } = envoyFiltersBootstrap(loadConfig([meshDir], { gateway: 'tcp-gw', namespace: 'istio-system' }), {
      listen: { host: '127.0.0.1', port: await freePort() }, admin: { host: '127.0.0.1', port: envoyAdmin }, gateway: 'tcp-gw',
      gatewayPorts: [{ port: ECHO_PORT, at: { host: '127.0.0.1', port: envoyEcho } }, { port: DEAD_PORT, at: { host: '127.0.0.1', port: envoyDead } }],
      istioStats: { reporter: 'source', self: GATEWAY_WORKLOAD, peers: [], tcpReportingMs: 1000 },
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
      sources: [meshDir], gateway: 'tcp-gw', namespace: 'istio-system', workload: GATEWAY_WORKLOAD,
      listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 },
      gatewayPorts: [{ port: 80, at: { host: '127.0.0.1', port: 0 } }, { port: ECHO_PORT, at: { host: '127.0.0.1', port: 0 } }, { port: DEAD_PORT, at: { host: '127.0.0.1', port: 0 } }],
      accessLog: () => {}, log: () => {},
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of open) s.destroy();
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await wasmesh?.close();
    if (echo) await new Promise((r) => echo.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const wasmeshPort = (gw: number): number => wasmesh!.gatewayPorts.find((p) => p.port === gw)!.tcp!.port;

  it('the same istio_tcp_* series, labels and byte counts as the wasmesh gateway for the same connections', async () => {
    for (const port of [envoyEcho, wasmeshPort(ECHO_PORT)]) {
      for (let i = 0; i < 3; i++) expect(await exchange(port, `hello-${i}`), envoyOut).toEqual({ reply: `echo:hello-${i}`, error: null });
      // Refused upstream: the client sees the connection closed.
      expect((await exchange(port === envoyEcho ? envoyDead : wasmeshPort(DEAD_PORT), 'x')).reply).toBe('');
    }
    const fromWasmesh = await until('wasmesh series', async () => {
      const s = await tcpSamples(wasmesh!.adminPort);
      return s.some((x) => x.name === 'istio_tcp_connections_closed_total' && x.value === 3) ? s : undefined;
    });
    // The connections that reached the echo: one series, the same on both planes. (wasmesh also
    // keeps an all-zero `-` series for the refused connections' route: zeros are left out.)
    const served = (all: readonly Sample[]): Sample[] => all.filter((s) => s.value !== 0 && s.labels.response_flags === '-');
    const fromEnvoy = await until('Envoy series', async () => {
      const s = await tcpSamples(envoyAdmin);
      return keyed(served(s)).join('\n') === keyed(served(fromWasmesh)).join('\n') ? s : undefined;
    }, 5_000).catch(async (e) => {
      // The difference, for the failure message.
      expect(keyed(served(await tcpSamples(envoyAdmin))), `${String(e)}\n${envoyOut}`).toEqual(keyed(served(fromWasmesh)));
      throw e;
    });
    expect(served(fromEnvoy).length).toBe(4);
    const ok = fromEnvoy.filter((s) => s.labels.response_flags === '-');
    expect(ok.find((s) => s.name === 'istio_tcp_received_bytes_total')!.value).toBe(3 * 'hello-0'.length);
    expect(ok.find((s) => s.name === 'istio_tcp_sent_bytes_total')!.value).toBe(3 * 'echo:hello-0'.length);
    expect(ok.find((s) => s.name === 'istio_tcp_connections_opened_total')!.value).toBe(3);
    expect(ok[0]!.labels).toMatchObject({
      reporter: 'source', source_workload: 'istio-ingressgateway', source_workload_namespace: 'istio-system', source_app: 'istio-ingressgateway',
      destination_workload: 'unknown', destination_service: 'echo.example.internal', destination_service_name: 'echo.example.internal',
      request_protocol: 'tcp', connection_security_policy: 'unknown',
    });
    expect(ok[0]!.labels.response_code).toBeUndefined();
    // The Telemetry's TCP_RECEIVED_BYTES overrides, on that family only.
    const received = ok.find((s) => s.name === 'istio_tcp_received_bytes_total')!;
    expect(received.labels.source_version).toBeUndefined();
    expect(received.labels.destination_cluster).toBe('east');
    const sent = ok.find((s) => s.name === 'istio_tcp_sent_bytes_total')!;
    expect(sent.labels).toMatchObject({ source_version: 'unknown', destination_cluster: 'unknown' });
    // The refused connection: opened and closed with UF on both; Envoy's tcp_proxy adds URX (its
    // connect attempts are exhausted), which Istio on Envoy shows too.
    const wasmeshFailed = fromWasmesh.filter((s) => s.labels.response_flags === 'UF');
    expect(wasmeshFailed.find((s) => s.name === 'istio_tcp_connections_closed_total')?.value).toBe(1);
    const failed = fromEnvoy.filter((s) => s.labels.response_flags === 'UF,URX');
    expect(failed.find((s) => s.name === 'istio_tcp_connections_opened_total')?.value).toBe(1);
    expect(failed.find((s) => s.name === 'istio_tcp_connections_closed_total')?.value).toBe(1);
    expect(failed[0]!.labels.destination_service).toBe('dead.example.internal');
  }, 60_000);

  it('an open connection\'s bytes are reported while it is open (every tcp_reporting_ms), then closed once', async () => {
    const labels = { destination_service: 'echo.example.internal', response_flags: '-' };
    const value = async (name: string): Promise<number> =>
      (await tcpSamples(envoyAdmin)).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0;
    const [opened0, closed0, received0, sent0] = [await value('istio_tcp_connections_opened_total'), await value('istio_tcp_connections_closed_total'),
      await value('istio_tcp_received_bytes_total'), await value('istio_tcp_sent_bytes_total')];
    const s = connect({ host: '127.0.0.1', port: envoyEcho });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    const payload = 'y'.repeat(1000);
    s.write(payload);
    await until('the echo', async () => (got.length === payload.length + 5 ? true : undefined));
    // Within a report period (1 s) or two the open connection shows up: opened, its bytes, not closed.
    await until('the periodic report', async () => ((await value('istio_tcp_received_bytes_total')) === received0 + 1000 ? true : undefined), 5_000);
    expect(await value('istio_tcp_sent_bytes_total')).toBe(sent0 + 1005);
    expect(await value('istio_tcp_connections_opened_total')).toBe(opened0 + 1);
    expect(await value('istio_tcp_connections_closed_total')).toBe(closed0);
    // More bytes, then the end: the rest is added at close, and the connection closes once.
    s.write('zz');
    await until('the second echo', async () => (got.length === payload.length + 5 + 7 ? true : undefined));
    await new Promise<void>((r) => s.end(r));
    await until('the close', async () => ((await value('istio_tcp_connections_closed_total')) === closed0 + 1 ? true : undefined), 5_000);
    expect(await value('istio_tcp_received_bytes_total')).toBe(received0 + 1002);
    expect(await value('istio_tcp_sent_bytes_total')).toBe(sent0 + 1012);
    expect(await value('istio_tcp_connections_opened_total')).toBe(opened0 + 1);
  }, 30_000);

  it.skipIf(prometheus === null)('Prometheus: the TCP bytes PromQL of Istio\'s dashboards gives the same figures for the Envoy and the wasmesh gateway', async () => {
    const envoyTarget = `127.0.0.1:${envoyAdmin}`;
    const wasmeshTarget = `127.0.0.1:${wasmesh!.adminPort}`;
    const prom = await startPrometheus(prometheus!, [envoyTarget, wasmeshTarget]);
    try {
      await prom.scrapes(2);
      const bytes = async (metric: string): Promise<Map<string, number>> => new Map((await prom.query(
        `sum by (instance) (${metric}{reporter="source", destination_service="echo.example.internal", response_flags="-"})`)).map((r) => [r.metric.instance!, r.value]));
      const [received0, sent0] = [await bytes('istio_tcp_received_bytes_total'), await bytes('istio_tcp_sent_bytes_total')];
      expect([...received0.keys()].sort(), prom.log()).toEqual([envoyTarget, wasmeshTarget].sort());
      for (const port of [envoyEcho, wasmeshPort(ECHO_PORT)]) {
        for (let i = 0; i < 4; i++) expect(await exchange(port, `tcpbytes-${i}`)).toEqual({ reply: `echo:tcpbytes-${i}`, error: null });
      }
      await prom.scrapes(2);
      const [received1, sent1] = [await bytes('istio_tcp_received_bytes_total'), await bytes('istio_tcp_sent_bytes_total')];
      for (const target of [envoyTarget, wasmeshTarget]) {
        expect(received1.get(target)! - received0.get(target)!, target).toBe(4 * 'tcpbytes-0'.length);
        expect(sent1.get(target)! - sent0.get(target)!, target).toBe(4 * 'echo:tcpbytes-0'.length);
      }
      // The dashboards' rate panels (Istio's service dashboard: bytes by source workload).
      const rates = await prom.query('sum by (instance, source_workload) (rate(istio_tcp_sent_bytes_total{reporter="source"}[1m]))');
      expect(rates.map((r) => [r.metric.instance, r.metric.source_workload]).sort()).toEqual([[envoyTarget, 'istio-ingressgateway'], [wasmeshTarget, 'istio-ingressgateway']].sort());
      for (const r of rates) expect(r.value, r.metric.instance).toBeGreaterThan(0);
    } finally {
      await prom.stop();
    }
  }, 60_000);
});
