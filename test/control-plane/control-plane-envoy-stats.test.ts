// The wasmesh_stats filter delivered by the control plane: stock Envoy started from
// `wasmesh envoy-bootstrap --filters` (ADS only, plus the Istio stats tags) serves a Gateway in
// front of a wasmesh sidecar (reviews-v1, connected to the same control plane). Envoy's
// /stats/prometheus names both workloads in istio_requests_total, and the wasmesh sidecar's
// destination series names the Envoy gateway as the source: one set of metrics. And the other
// way: a wasmesh sidecar (productpage-v1) calls an Envoy sidecar (details, `--proxy-type sidecar
// --app-ports --filters`), whose inbound reports as destination and names the caller, while the
// caller names the Envoy sidecar from the metadata it answered with. The gateway's TCP server
// port is a tcp_proxy listener that the control plane gives the wasmesh_tcp_stats network filter:
// its connections show in Envoy's istio_tcp_* series with the gateway as source and their bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { exchange } from '../helpers/tcp-exchange.js';
import { until } from '../helpers/poll-until.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { workloadOfNode } from '../../host/control-plane/envoy-istio-stats.js';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { fakeIo } from '../helpers/fake-io.js';
import { freePort } from '../helpers/ports.js';
import { parseSamples, type Sample } from '../helpers/prometheus-samples.js';
import { TestAdsStream } from '../xds/ads-test-client.js';

const envoy = envoyForTests('control plane + Envoy + wasmesh_stats');
const LOOPBACK = { host: '127.0.0.1', port: 0 };

function mesh(gatewayPort: number, inboundPort: number, tcp = { port: 1, echo: 1 }): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  selector: { istio: ingressgateway }
  servers:
  - { port: { number: ${gatewayPort}, name: http, protocol: HTTP }, hosts: ["*"], bind: 127.0.0.1 }
  - { port: { number: ${tcp.port}, name: tcp, protocol: TCP }, hosts: ["*"], bind: 127.0.0.1 }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app }
spec:
  hosts: [app.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${inboundPort} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app }
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{ route: [{ destination: { host: app.example } }] }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec:
  hosts: [echo.example]
  ports: [{ number: 7000, name: tcp, protocol: TCP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { tcp: ${tcp.echo} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp: [{ match: [{ port: ${tcp.port} }], route: [{ destination: { host: echo.example, port: { number: 7000 } } }] }]
`;
}

function get(port: number, path: string, host: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(port: number): Promise<Sample[]> {
  return parseSamples((await get(port, '/stats/prometheus', '127.0.0.1')).body);
}

describe.skipIf(envoy === null)('the control plane delivers wasmesh_stats to Envoy', () => {
  let dir = '';
  let app: Server;
  let cp: ControlPlane;
  let sidecar: SidecarRuntime;
  let peer: TestAdsStream;
  let caller: TestAdsStream;
  let child: ChildProcess;
  let sidecarEnvoy: ChildProcess;
  let client: SidecarRuntime;
  let envoyInboundPort = 0;
  let envoySidecarAdmin = 0;
  let gatewayPort = 0;
  let gatewayTcpPort = 0;
  let echo: TcpServer;
  let adminPort = 0;
  let stderr = '';
  const gatewayId = nodeId('router', '127.0.0.1', 'ingress-1', 'default');
  const reviewsId = nodeId('sidecar', '127.0.0.1', 'reviews-v1-1', 'default');
  const productpageId = nodeId('sidecar', '127.0.0.1', 'productpage-v1-1', 'default');
  const detailsId = nodeId('sidecar', '127.0.0.1', 'details-v1-1', 'default');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-envoy-stats-'));
    app = createServer((_req, res) => res.end('hello from reviews'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    echo = createTcpServer({ allowHalfOpen: true }, (sock) => {
      sock.on('data', (d) => sock.write(`echo:${d.toString()}`));
      sock.on('end', () => sock.end());
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const inboundPort = await freePort();
    gatewayPort = await freePort();
    gatewayTcpPort = await freePort();
    adminPort = await freePort();
    writeFileSync(join(dir, 'mesh.yaml'), mesh(gatewayPort, inboundPort, { port: gatewayTcpPort, echo: (echo.address() as AddressInfo).port }));
    cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 } });
    cp.start();
    const xdsPort = await cp.listen('127.0.0.1', 0);
    // reviews-v1 connects first (as its sidecar would): the gateway's filter then knows its metadata.
    const str = (v: string) => ({ stringValue: v });
    peer = new TestAdsStream(xdsPort, 'sotw');
    peer.send({ node: { id: reviewsId, metadata: { fields: { NAMESPACE: str('default'), WORKLOAD_NAME: str('reviews-v1'), LABELS: { structValue: { fields: { app: str('reviews'), version: str('v1') } } } } } }, type_url: TYPE_URL.listener });
    await peer.next();
    const reviewsNode = cp.connected().find((c) => c.node.id === reviewsId)!.node;
    // productpage-v1 (a wasmesh sidecar calling the Envoy sidecar below) connects too.
    caller = new TestAdsStream(xdsPort, 'sotw');
    caller.send({ node: { id: productpageId, metadata: { fields: { NAMESPACE: str('default'), WORKLOAD_NAME: str('productpage-v1'), LABELS: { structValue: { fields: { app: str('productpage'), version: str('v1') } } } } } }, type_url: TYPE_URL.listener });
    await caller.next();
    const productpageNode = cp.connected().find((c) => c.node.id === productpageId)!.node;
    const sidecarDir = join(dir, 'sidecar');
    mkdirSync(sidecarDir);
    writeFileSync(join(sidecarDir, 'empty.yaml'), '# nothing\n');
    sidecar = await startSidecarRuntime({
      sources: [sidecarDir], outbound: LOOPBACK, inbound: { host: '127.0.0.1', port: inboundPort }, health: LOOPBACK, admin: LOOPBACK,
      appPorts: [(app.address() as AddressInfo).port], accessLog: () => {}, log: () => {}, workload: workloadOfNode(reviewsNode),
    });
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--xds', `127.0.0.1:${xdsPort}`, '--admin', `127.0.0.1:${adminPort}`, '--node-id', gatewayId, '--labels', 'istio=ingressgateway', '--filters'], io)).toBe(0);
    const file = join(dir, 'bootstrap.yaml');
    writeFileSync(file, io.stdout);
    child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    // details-v1: an Envoy sidecar (its inbound in front of the app), programmed by the control plane.
    const sio = fakeIo();
    envoyInboundPort = await freePort();
    envoySidecarAdmin = await freePort();
    expect(await envoyBootstrapCommand(['--xds', `127.0.0.1:${xdsPort}`, '--admin', `127.0.0.1:${envoySidecarAdmin}`, '--node-id', detailsId, '--proxy-type', 'sidecar', '--labels', 'app=details,version=v1',
      '--listen', `127.0.0.1:${await freePort()}`, '--app-ports', String((app.address() as AddressInfo).port), '--inbound', `127.0.0.1:${envoyInboundPort}`, '--filters'], sio)).toBe(0);
    const sfile = join(dir, 'sidecar-bootstrap.yaml');
    writeFileSync(sfile, sio.stdout);
    sidecarEnvoy = spawn(envoy!, ['-c', sfile, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    sidecarEnvoy.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const clientDir = join(dir, 'client');
    mkdirSync(clientDir);
    writeFileSync(join(clientDir, 'mesh.yaml'), mesh(await freePort(), envoyInboundPort).replace(/hosts: \[app\.example\]/, 'hosts: [details.example]').replace(/^apiVersion[^]*?---\n/, '').replace(/---\napiVersion[^]*?kind: VirtualService[^]*$/, ''));
    client = await startSidecarRuntime({
      sources: [clientDir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK,
      appPorts: [1], accessLog: () => {}, log: () => {}, workload: workloadOfNode(productpageNode),
    });
    for (let i = 0; i < 150; i++) {
      try {
        if ((await get(envoyInboundPort, '/', 'details.example')).status === 200) break;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 150; i++) {
      try {
        if ((await get(gatewayPort, '/', 'app.example')).status === 200) break;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    for (const c of [child, sidecarEnvoy]) {
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
    peer?.close();
    caller?.close();
    await client?.close();
    await sidecar?.close();
    await cp?.close();
    if (app) await new Promise((r) => app.close(r));
    if (echo) await new Promise((r) => echo.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('Envoy\'s istio_requests_total names both workloads; the wasmesh sidecar names the Envoy gateway as source', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await get(gatewayPort, '/', 'app.example');
      expect(r.status, stderr).toBe(200);
      expect(r.headers['x-envoy-peer-metadata']).toBeUndefined();
    }
    const gateway = workloadOfNode(cp.connected().find((c) => c.node.id === gatewayId)!.node);
    const fromEnvoy = (await scrape(adminPort)).filter((s) => s.name === 'istio_requests_total');
    // The readiness probe above counts too (one or more 200s before these five).
    const ok = fromEnvoy.find((s) => s.labels.response_code === '200');
    expect(ok, JSON.stringify(fromEnvoy) + stderr).toBeDefined();
    expect(ok!.labels).toMatchObject({ reporter: 'source', source_workload: gateway.name, source_workload_namespace: 'default', destination_workload: 'reviews-v1', destination_app: 'reviews', destination_service: 'app.example' });
    expect(ok!.value).toBeGreaterThanOrEqual(5);
    const dst = (await scrape((sidecar.ports as { admin: number }).admin)).filter((s) => s.name === 'istio_requests_total' && s.labels.reporter === 'destination');
    expect(dst.map((s) => s.labels.source_workload)).toEqual([gateway.name]);
    expect(dst[0]!.value).toBe(ok!.value);
  }, 60_000);

  it('an Envoy sidecar\'s inbound reports as destination, naming the wasmesh caller; the caller names the Envoy sidecar', async () => {
    const before = (await scrape(envoySidecarAdmin)).filter((s) => s.name === 'istio_requests_total').reduce((n, s) => n + s.value, 0);
    for (let i = 0; i < 3; i++) {
      const r = await get(client.ports.outbound, '/', 'details.example');
      expect(r.status, stderr).toBe(200);
      expect(r.headers['x-envoy-peer-metadata']).toBeUndefined();
    }
    // envoy-bootstrap sends no WORKLOAD_NAME: the workload is named from the pod, as for a wasmesh proxy.
    const details = workloadOfNode(cp.connected().find((c) => c.node.id === detailsId)!.node).name;
    expect(details).toBe('details-v1-1');
    const fromEnvoy = (await scrape(envoySidecarAdmin)).filter((s) => s.name === 'istio_requests_total');
    const named = fromEnvoy.find((s) => s.labels.source_workload === 'productpage-v1');
    expect(named, JSON.stringify(fromEnvoy) + stderr).toBeDefined();
    expect(named!.labels).toMatchObject({ reporter: 'destination', destination_workload: details, destination_app: 'details', source_app: 'productpage', destination_service: 'details.example', connection_security_policy: 'none' });
    expect(named!.value).toBe(3);
    expect(fromEnvoy.reduce((n, s) => n + s.value, 0) - before).toBe(3);
    const src = (await scrape(client.ports.admin)).filter((s) => s.name === 'istio_requests_total');
    expect(src.map((s) => [s.labels.reporter, s.labels.destination_workload, s.value]), JSON.stringify(src)).toEqual([['source', details, 3]]);
  }, 60_000);

  it('the gateway\'s TCP port gets the TCP stats filter from the control plane: istio_tcp_* with the gateway as source and the bytes', async () => {
    for (let i = 0; i < 2; i++) expect(await exchange(gatewayTcpPort, `ping-${i}`), stderr).toEqual({ reply: `echo:ping-${i}`, error: null });
    const gateway = workloadOfNode(cp.connected().find((c) => c.node.id === gatewayId)!.node);
    // Envoy counts a connection closed when it tears the session down, which may come after the
    // client has read the FIN: wait until both closes are counted, then check every series exactly.
    const tcp = await until('both TCP connections counted closed by the gateway', async () => {
      const series = (await scrape(adminPort)).filter((s) => s.name.startsWith('istio_tcp_'));
      return series.find((s) => s.name === 'istio_tcp_connections_closed_total')?.value === 2 ? series : undefined;
    });
    const value = (name: string): number | undefined => tcp.find((s) => s.name === name)?.value;
    expect(value('istio_tcp_connections_opened_total'), JSON.stringify(tcp) + stderr).toBe(2);
    expect(value('istio_tcp_connections_closed_total')).toBe(2);
    expect(value('istio_tcp_received_bytes_total')).toBe(2 * 'ping-0'.length);
    expect(value('istio_tcp_sent_bytes_total')).toBe(2 * 'echo:ping-0'.length);
    expect(tcp[0]!.labels).toMatchObject({ reporter: 'source', source_workload: gateway.name, destination_workload: 'unknown', destination_service: 'echo.example', request_protocol: 'tcp', response_flags: '-', connection_security_policy: 'unknown' });
  }, 60_000);
});
