// The control plane serving a client nobody here wrote: a real @grpc/grpc-js client with
// @grpc/grpc-js-xds, bootstrapped (GRPC_XDS_BOOTSTRAP) to the control plane on loopback as an
// Istio sidecar node with GENERATOR=grpc, dialing xds:///greeter.default.svc.cluster.local:50051
// in front of two real gRPC servers (v1, v2). It follows the VirtualService's 80/20 split, a
// header-match rule sends a call with metadata x-canary: true to v2, a route answered by the
// proxy itself (a direct response) fails the call without reaching a backend, and a weight change
// written to the watched YAML reaches the running client. Every type ends ACKed (SYNCED), no
// NACK on the way, and LDS carries only the listener the client named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type CallOptions, Server, ServerCredentials, makeGenericClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { grpcXdsBootstrap } from '../../host/xds/grpc-bootstrap.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { syncState } from '../../host/xds/sync-status.js';

const HOST = 'greeter.default.svc.cluster.local';
const PORT = 50051;

/** A tiny service without a .proto: JSON in and out, two methods. */
const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const GREETER = {
  SayHello: { path: '/greeter.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  Forbidden: { path: '/greeter.Greeter/Forbidden', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};
type Unary = (req: unknown, md: Metadata, options: CallOptions, cb: (err: ServiceError | null, res?: { version: string }) => void) => void;
type GreeterClient = Client & { SayHello: Unary; Forbidden: Unary };
const GreeterClient = makeGenericClientConstructor(GREETER, 'Greeter') as unknown as new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => GreeterClient;

interface Backend {
  port: number;
  calls: Record<string, number>;
  server: Server;
}

async function backend(version: string): Promise<Backend> {
  const calls: Record<string, number> = { SayHello: 0, Forbidden: 0 };
  const server = new Server();
  server.addService(GREETER, {
    SayHello: (_call: unknown, cb: (e: null, r: { version: string }) => void) => (calls.SayHello!++, cb(null, { version })),
    Forbidden: (_call: unknown, cb: (e: null, r: { version: string }) => void) => (calls.Forbidden!++, cb(null, { version })),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, calls, server };
}

function services(v1: number, v2: number): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  ports: [{number: ${PORT}, name: grpc, protocol: GRPC}]
  resolution: STATIC
  workloadSelector: {labels: {app: greeter}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: greeter-v1, namespace: default}
spec: {address: 127.0.0.1, labels: {app: greeter, version: v1}, ports: {grpc: ${v1}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: greeter-v2, namespace: default}
spec: {address: 127.0.0.1, labels: {app: greeter, version: v2}, ports: {grpc: ${v2}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: default}
spec:
  host: greeter
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;
}

function routes(w1: number, w2: number): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  http:
  - name: canary
    match: [{headers: {x-canary: {exact: "true"}}}]
    route: [{destination: {host: greeter, subset: v2}}]
  - name: forbidden
    match: [{uri: {exact: /greeter.Greeter/Forbidden}}]
    directResponse: {status: 403}
  - name: split
    route:
    - {destination: {host: greeter, subset: v1}, weight: ${w1}}
    - {destination: {host: greeter, subset: v2}, weight: ${w2}}
`;
}

function call(client: GreeterClient, method: 'SayHello' | 'Forbidden', md = new Metadata()): Promise<{ version: string } | { code: number; details: string }> {
  return new Promise((resolve) => {
    // A deadline, so that a client left without configuration fails the test instead of waiting.
    client[method]({}, md, { deadline: Date.now() + 5000 }, (err, res) => resolve(err ? { code: err.code, details: err.details } : res!));
  });
}

/** `n` calls, 50 at a time: how many each version answered, and the failures. */
async function split(client: GreeterClient, n: number, md?: Metadata): Promise<{ v1: number; v2: number; failed: string[] }> {
  const out = { v1: 0, v2: 0, failed: [] as string[] };
  for (let done = 0; done < n; done += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - done) }, () => call(client, 'SayHello', md)));
    for (const r of batch) {
      if ('version' in r && (r.version === 'v1' || r.version === 'v2')) out[r.version]++;
      else out.failed.push(JSON.stringify(r));
    }
  }
  return out;
}

describe('proxyless gRPC (grpc-js-xds) served by the control plane', () => {
  let dir = '';
  let bootDir = '';
  let v1: Backend;
  let v2: Backend;
  let cp: ControlPlane;
  let client: GreeterClient;
  const nacks: string[] = [];
  const id = nodeId('sidecar', '127.0.0.1', 'client', 'default');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-'));
    bootDir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-bootstrap-'));
    [v1, v2] = await Promise.all([backend('v1'), backend('v2')]);
    writeFileSync(join(dir, 'services.yaml'), services(v1.port, v2.port));
    writeFileSync(join(dir, 'routes.yaml'), routes(80, 20));
    cp = new ControlPlane({
      sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 },
      events: { nacked: (_n, type, version, message) => nacks.push(`${type} ${version}: ${message}`) },
    });
    cp.start();
    const xdsPort = await cp.listen('127.0.0.1', 0);
    // Outside the watched folder: the control plane reads every file there as config.
    const bootstrap = join(bootDir, 'grpc-bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify(grpcXdsBootstrap({ xds: { host: '127.0.0.1', port: xdsPort }, nodeId: id, metadata: { NAMESPACE: 'default', LABELS: { app: 'client' } } })));
    // grpc-js-xds reads the bootstrap once, when the first xds: channel is made.
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    grpcXds.register();
    client = new GreeterClient(`xds:///${HOST}:${PORT}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await cp?.close();
    await Promise.all([v1, v2].filter(Boolean).map((b) => b.server.forceShutdown()));
    for (const d of [dir, bootDir]) rmSync(d, { recursive: true, force: true });
  });

  it('follows the 80/20 split over 1000 calls (±5 points); every type ACKed, LDS by name', async () => {
    const first = await call(client, 'SayHello');
    expect(first).toHaveProperty('version');
    const r = await split(client, 1000);
    expect(r.failed).toEqual([]);
    expect(Math.abs(r.v2 / 10 - 20)).toBeLessThanOrEqual(5);
    expect(nacks).toEqual([]);
    const proxy = cp.ads.proxies().find((p) => p.proxyId === id)!;
    expect(proxy.kind).toBe('grpc');
    for (const type of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) expect(syncState(proxy.types.get(type)), type).toBe('SYNCED');
    // The snapshot has a listener for every name of greeter (greeter:50051, greeter.default:50051 …);
    // the client asked for one and got one.
    expect(cp.cache.get(id)!.get(TYPE_URL.listener)!.resources.size).toBeGreaterThan(1);
    expect(proxy.types.get(TYPE_URL.listener)!.resources).toBe(1);
  });

  it('a header-match rule: calls with metadata x-canary: true all go to v2', async () => {
    const md = new Metadata();
    md.set('x-canary', 'true');
    const r = await split(client, 100, md);
    expect(r).toEqual({ v1: 0, v2: 100, failed: [] });
  });

  it('a direct response (403) fails the call with PERMISSION_DENIED and reaches no backend', async () => {
    const r = await call(client, 'Forbidden');
    expect(r).toMatchObject({ code: status.PERMISSION_DENIED });
    expect(v1.calls.Forbidden! + v2.calls.Forbidden!).toBe(0);
  });

  it('a weight change written to the watched YAML (10/90) reaches the running client', async () => {
    const version = cp.version;
    writeFileSync(join(dir, 'routes.yaml'), routes(10, 90));
    await expect.poll(() => cp.version, { timeout: 10_000 }).toBeGreaterThan(version);
    await expect.poll(async () => (await split(client, 100)).v2 >= 80, { timeout: 10_000, interval: 100 }).toBe(true);
    const r = await split(client, 1000);
    expect(r.failed).toEqual([]);
    expect(Math.abs(r.v2 / 10 - 90)).toBeLessThanOrEqual(5);
    expect(nacks).toEqual([]);
  });
});
