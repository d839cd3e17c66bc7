// `wasmesh control-plane --kube` against a real kube-apiserver (test/helpers/kube-cluster.ts),
// with a `wasmesh proxy --xds` sidecar in front of a real HTTP server of the test: a Namespace,
// Service and EndpointSlice created in the API server make the server reachable through the
// proxy by the Service's name; the Istio CRDs (`wasmesh install --crds-only`, applied
// server-side) and a VirtualService route it; changes to the VirtualService (a header-matched
// fault abort), to a Pod's labels (a DestinationRule subset) and to the EndpointSlice (endpoint
// not ready) are followed; an Istio object the
// CRD schema accepts but the loader refuses is reported and the rest is served; the API server
// stopped leaves the proxy serving, and once it is back a change made in it is followed.
//
// The API server refuses loopback endpoint addresses (127.0.0.0/8), so the test server listens
// on 0.0.0.0 and the EndpointSlice names one of this machine's non-loopback IPv4 addresses
// (os.networkInterfaces()); the proxy dials that address.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { freePort } from '../helpers/ports.js';

const BIN = fileURLToPath(new URL('../../bin/wasmesh.js', import.meta.url));
const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`control-plane --kube tests skipped: ${unavailable}`);

interface Proc { child: ChildProcess; out: () => string }
function start(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out };
}
async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const done = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await done;
}
async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One GET through the proxy with `host` as Host; status and body, or null when it failed. */
function get(port: number, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host, ...headers }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** A non-loopback IPv4 address of this machine (the API server refuses loopback endpoints). */
function machineAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address to put in an EndpointSlice');
}

const slice = (ip: string, port: number, ready: boolean, pod?: string): unknown => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: [ip], conditions: { ready }, ...(pod !== undefined ? { targetRef: { kind: 'Pod', name: pod, namespace: 'shop' } } : {}) }],
  ports: [{ name: 'http', port, protocol: 'TCP' }],
});

const virtualService = (extra: unknown[] = []): unknown => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { hosts: ['web.shop.svc.cluster.local'], http: [...extra, { route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }] },
});

describe.skipIf(unavailable !== null)('wasmesh control-plane --kube with a real API server', () => {
  let kube: KubeCluster;
  let upstream: Server;
  let cp: Proc | undefined;
  let proxy: Proc | undefined;
  let port = 0;
  let mon = 0;
  let ip = '';
  let upstreamPort = 0;
  let dir = '';
  const apply = (obj: unknown): void => {
    const r = kube.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(obj));
    if (r.status !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  };

  beforeAll(async () => {
    ip = machineAddress();
    upstream = createServer((req, res) => res.end(`web answered ${req.headers.host ?? ''}`));
    await new Promise<void>((r) => upstream.listen(0, '0.0.0.0', () => r()));
    upstreamPort = (upstream.address() as AddressInfo).port;
    kube = await startKubeCluster();
    const crds = spawnSync(process.execPath, [BIN, 'install', '--crds-only'], { encoding: 'utf8' });
    if (crds.status !== 0) throw new Error(`wasmesh install --crds-only: ${crds.stderr}`);
    const applied = kube.kubectl(['apply', '--server-side', '-f', '-'], crds.stdout);
    if (applied.status !== 0) throw new Error(`applying the CRDs: ${applied.stderr}`);
    const established = kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    if (established.status !== 0) throw new Error(`CRDs not Established: ${established.stderr}`);
    apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80, targetPort: upstreamPort }] } });
    apply(slice(ip, upstreamPort, true));
    apply(virtualService());

    const xds = await freePort();
    mon = await freePort();
    port = await freePort();
    // -f beside --kube: a ServiceEntry only the file has, and a VirtualService of the same name
    // as the API server's (the API server's is read after the files: it wins, the clash is warned).
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-kube-cp-'));
    writeFileSync(join(dir, 'mesh.yaml'), [
      'apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata: {name: legacy, namespace: shop}', 'spec:',
      '  hosts: [legacy.example]', '  ports: [{number: 80, name: http, protocol: HTTP}]', '  resolution: STATIC', '  location: MESH_EXTERNAL',
      `  endpoints: [{address: 127.0.0.1, ports: {http: ${upstreamPort}}}]`,
      '---',
      'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: {name: web, namespace: shop}', 'spec:',
      '  hosts: [web.shop.svc.cluster.local]',
      '  http: [{fault: {abort: {httpStatus: 500, percentage: {value: 100}}}, route: [{destination: {host: web.shop.svc.cluster.local}}]}]', '',
    ].join('\n'));
    cp = start(['control-plane', '-f', join(dir, 'mesh.yaml'), '--kube', '--kubeconfig', kube.kubeconfig, '--xds-listen', `127.0.0.1:${xds}`, '--monitoring', `127.0.0.1:${mon}`, '--debounce-after', '50ms']);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${mon}/ready`).catch(() => null))?.status === 200, `the control plane to be ready:\n${cp.out()}`);
    proxy = start(['proxy', '--xds', `127.0.0.1:${xds}`, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${await freePort()}`, '--access-log', 'off']);
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 200, `the proxy to serve web.shop:\n${cp.out()}\n${proxy!.out()}`);
  }, 180_000);

  afterAll(async () => {
    await stop(proxy);
    await stop(cp);
    await kube?.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('routes to the EndpointSlice\'s endpoint by the Service\'s names', async () => {
    for (const host of ['web.shop', 'web.shop.svc.cluster.local', 'web.shop:80']) {
      const r = await get(port, host);
      expect(r?.status, host).toBe(200);
      expect(r?.body).toMatch(/^web answered/);
    }
    expect(cp!.out()).toMatch(/config version 1 from 1 file\(s\) and the Kubernetes API server/);
  });

  it('merges the -f files: their resources are served, a name clash is warned and the API server\'s object wins', async () => {
    const legacy = await get(port, 'legacy.example');
    expect(legacy?.status).toBe(200);
    expect(legacy?.body).toBe('web answered legacy.example');
    expect(cp!.out()).toMatch(/kube-apiserver VirtualService shop\/web.*replaces the VirtualService of the same name defined at .*mesh\.yaml:\d+/);
  });

  it('follows a change to the VirtualService (a header-matched fault abort)', async () => {
    apply(virtualService([{ match: [{ headers: { 'x-fail': { exact: '1' } } }], fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }, route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }]));
    await waitFor(async () => (await get(port, 'web.shop', { 'x-fail': '1' }))?.status === 418, 'the abort to be served');
    expect((await get(port, 'web.shop'))?.status).toBe(200);
  });

  it('reports an Istio object the loader refuses, and keeps serving the rest', async () => {
    // `timeout` is a string in the CRD schema; the loader reads it as a duration and refuses this one.
    apply({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'broken', namespace: 'shop' }, spec: { hosts: ['other.shop.svc.cluster.local'], http: [{ timeout: 'soon', route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }] } });
    await waitFor(() => /VirtualService shop\/broken \(resourceVersion \d+\) is not served: .*spec\.http\[0\]\.timeout/.test(cp!.out()), `the refusal in the log:\n${cp!.out()}`);
    // The rest still follows changes: the abort's status changes.
    apply(virtualService([{ match: [{ headers: { 'x-fail': { exact: '1' } } }], fault: { abort: { httpStatus: 451, percentage: { value: 100 } } }, route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }]));
    await waitFor(async () => (await get(port, 'web.shop', { 'x-fail': '1' }))?.status === 451, 'the next change to be served');
    const configz = await (await fetch(`http://127.0.0.1:${mon}/debug/configz`)).text();
    expect(configz).toMatch(/shop\/broken is not served/);
    const metrics = await (await fetch(`http://127.0.0.1:${mon}/metrics`)).text();
    expect(metrics).toMatch(/^wasmesh_kube_rejected_objects 1$/m);
    expect(metrics).toMatch(/^wasmesh_kube_watches_healthy 1$/m);
  });

  it('follows the Pods: an endpoint takes its Pod\'s labels, so a DestinationRule subset follows a relabel', async () => {
    // No controller manager, scheduler or kubelet here: the service account is created by hand (no
    // `default` one appears), and the Pod's address and readiness written to its status as a kubelet would.
    apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'shop' } });
    apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web', version: 'v1' } }, spec: { serviceAccountName: 'web', automountServiceAccountToken: false, containers: [{ name: 'web', image: 'web:1' }] } });
    const status = kube.kubectl(['patch', 'pod', 'web-0', '-n', 'shop', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } })]);
    expect(status.stderr).toBe('');
    apply(slice(ip, upstreamPort, true, 'web-0'));
    apply({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace: 'shop' }, spec: { host: 'web.shop.svc.cluster.local', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } });
    apply({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace: 'shop' }, spec: { hosts: ['web.shop.svc.cluster.local'], http: [{ route: [{ destination: { host: 'web.shop.svc.cluster.local', subset: 'v1' } }] }] } });
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 200, 'subset v1 served by the Pod');
    expect(kube.kubectl(['label', 'pod', 'web-0', '-n', 'shop', 'version=v2', '--overwrite']).status).toBe(0);
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 503, 'subset v1 left without endpoints');
    expect(kube.kubectl(['label', 'pod', 'web-0', '-n', 'shop', 'version=v1', '--overwrite']).status).toBe(0);
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 200, 'subset v1 back');
    // The next tests route without the subset (their slice names no Pod).
    apply(virtualService());
    apply(slice(ip, upstreamPort, true));
    // The control plane serves the subset-free VirtualService (its watch delivered), then the proxy routes with it.
    await waitFor(async () => !(await (await fetch(`http://127.0.0.1:${mon}/debug/configz`)).text()).includes('"subset": "v1"'), 'the subset-free VirtualService served');
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 200, 'routing without the subset');
  });

  it('follows the EndpointSlice: an endpoint not ready takes no traffic', async () => {
    apply(slice(ip, upstreamPort, false));
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 503, 'the endpoint to be dropped');
    apply(slice(ip, upstreamPort, true));
    await waitFor(async () => (await get(port, 'web.shop'))?.status === 200, 'the endpoint to be back');
  });

  it('the API server stopped: the control plane and the proxy keep serving; restarted: the watches resume', async () => {
    await kube.stopApiServer();
    await waitFor(() => /kube: .*keeping the \d+ object\(s\) last known, retrying/.test(cp!.out()), `the control plane to notice:\n${cp!.out().slice(-3000)}`);
    for (let i = 0; i < 5; i++) expect((await get(port, 'web.shop'))?.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${mon}/ready`)).status).toBe(200);
    expect(cp!.child.exitCode).toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${mon}/metrics`)).text();
    expect(metrics).toMatch(/^wasmesh_kube_watches_healthy 0$/m);
    expect(Number(/^wasmesh_kube_watch_errors_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    // Back (same etcd): a change made now reaches the proxy, so the watches were re-established.
    await kube.startApiServer();
    apply(virtualService([{ match: [{ headers: { 'x-fail': { exact: '1' } } }], fault: { abort: { httpStatus: 429, percentage: { value: 100 } } }, route: [{ destination: { host: 'web.shop.svc.cluster.local' } }] }]));
    await waitFor(async () => (await get(port, 'web.shop', { 'x-fail': '1' }))?.status === 429, `the change after the restart:\n${cp!.out().slice(-3000)}`, 60_000);
    expect((await get(port, 'web.shop'))?.status).toBe(200);
    await waitFor(async () => /^wasmesh_kube_watches_healthy 1$/m.test(await (await fetch(`http://127.0.0.1:${mon}/metrics`)).text()), 'every watch healthy again');
  }, 120_000);
});
