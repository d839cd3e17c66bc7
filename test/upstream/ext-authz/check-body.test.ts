// includeRequestBodyInCheck (Envoy's with_request_body) on both planes over loopback: the same
// HTTP authorizer sees the same body and x-envoy-auth-partial-body from stock Envoy (a gateway
// bootstrap from the translation) and from a wasmesh ProxyServer on the same mesh; a body above
// maxRequestBytes is 413 without allowPartialMessage, cut to maxRequestBytes with it. The gRPC
// checker's body fields are checked against a gRPC authorizer on wasmesh.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server as GrpcServer, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { loadConfig } from '../../../host/config/index.js';
import { envoyBootstrap } from '../../../host/envoy/bootstrap.js';
import type { AuthzPolicy } from '../../../host/model/authorization.js';
import type { ExtAuthzProvider } from '../../../host/model/mesh-settings.js';
import type { MeshConfig } from '../../../host/model/mesh.js';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import { authorizationService } from '../../../host/upstream/ext-authz/ext-authz-proto.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { startUpstreams, type Upstreams } from '../../helpers/seed-000-upstreams.js';
import { webServices } from '../../helpers/seed-000-yaml.js';
import { onFreePorts, startAndWait, stopChild } from '../../interop/data-planes.js';

const envoy = envoyForTests('ext-authz check-body');
const AUTHZ_HOST = 'ext-authz.foo.svc.cluster.local';

const YAML = (authzPort: number) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: web, port: {number: 5005}}}]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-authz}
spec:
  hosts: [${AUTHZ_HOST}]
  ports: [{number: 8000, name: http, protocol: HTTP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: ${authzPort}}}]
`;

const policy = (provider: string): AuthzPolicy => ({
  name: 'default/ext', action: 'CUSTOM', provider, dryRun: false,
  rules: [{ from: [], to: [], when: [] }],
});
const provider = (name: string, kind: 'http' | 'grpc', allowPartialMessage: boolean, packAsBytes = false): ExtAuthzProvider => ({
  name, kind, service: AUTHZ_HOST, port: 8000, timeoutMs: 2000, failOpen: false, statusOnError: 403, pathPrefix: '',
  includeRequestHeadersInCheck: [], headersToUpstreamOnAllow: [], headersToDownstreamOnDeny: [], maxRequestBytes: 8, allowPartialMessage, packAsBytes,
});

describe('includeRequestBodyInCheck', () => {
  let upstreams: Upstreams;
  let authz: Server;
  const seen: Array<{ body: string; partial: string | undefined }> = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    upstreams = await startUpstreams();
    authz = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ body: Buffer.concat(chunks).toString(), partial: req.headers['x-envoy-auth-partial-body'] as string | undefined });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => authz.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await new Promise((r) => authz.close(r));
    await upstreams?.close();
  });

  function meshFor(p: ExtAuthzProvider, authzPort = (authz.address() as AddressInfo).port): MeshConfig {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-extauthz-body-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'mesh.yaml'), `${webServices({ v1: upstreams.ports.v1 })}---\n${YAML(authzPort)}`);
    const loaded = loadConfig([dir], { gateway: 'gw' });
    return { ...loaded.mesh, authorization: [policy(p.name)], extAuthzProviders: [p] };
  }

  async function wasmesh(mesh: MeshConfig): Promise<number> {
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 } });
    p.apply(mesh, 1);
    await p.listen();
    cleanups.push(() => p.close());
    return p.port;
  }

  async function envoyGateway(mesh: MeshConfig): Promise<number> {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-extauthz-body-envoy-'));
    return onFreePorts(async (listen, admin) => {
      const { yaml } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: listen }, admin: { host: '127.0.0.1', port: admin }, gateway: 'gw' });
      writeFileSync(join(dir, 'envoy.yaml'), yaml);
      const child: ChildProcess = await startAndWait(envoy!, ['-c', join(dir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], admin, 'envoy');
      cleanups.push(async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      });
      return listen;
    });
  }

  const post = async (port: number, body: string | null) => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: body === null ? 'GET' : 'POST', headers: { host: 'web.example.com' }, ...(body === null ? {} : { body }) });
    return { status: res.status, body: await res.text() };
  };

  /** What the client and the authorizer saw for each request. */
  async function run(port: number): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const body of [null, 'hello', '12345678', 'this body is longer than eight']) {
      seen.length = 0;
      const r = await post(port, body);
      out.push({ sent: body, status: r.status, authz: [...seen], ...(r.status === 200 ? {} : { reply: r.body }) });
    }
    return out;
  }

  it.skipIf(envoy === null)('without allowPartialMessage: the whole body up to maxRequestBytes, 413 above; the same on Envoy', async () => {
    const mesh = meshFor(provider('body', 'http', false));
    const w = await run(await wasmesh(mesh));
    expect(w).toEqual([
      { sent: null, status: 200, authz: [{ body: '', partial: undefined }] },
      { sent: 'hello', status: 200, authz: [{ body: 'hello', partial: 'false' }] },
      { sent: '12345678', status: 200, authz: [{ body: '12345678', partial: 'false' }] },
      { sent: 'this body is longer than eight', status: 413, authz: [], reply: 'Payload Too Large' },
    ]);
    expect(await run(await envoyGateway(mesh))).toEqual(w);
  }, 30_000);

  it.skipIf(envoy === null)('allowPartialMessage: a larger body is cut to maxRequestBytes (partial true) and the request goes on; the same on Envoy', async () => {
    const mesh = meshFor(provider('partial', 'http', true));
    const w = await run(await wasmesh(mesh));
    expect(w).toEqual([
      { sent: null, status: 200, authz: [{ body: '', partial: undefined }] },
      { sent: 'hello', status: 200, authz: [{ body: 'hello', partial: 'false' }] },
      { sent: '12345678', status: 200, authz: [{ body: '12345678', partial: 'false' }] },
      { sent: 'this body is longer than eight', status: 200, authz: [{ body: 'this bod', partial: 'true' }] },
    ]);
    expect(await run(await envoyGateway(mesh))).toEqual(w);
  }, 30_000);

  it('gRPC: body as text, raw_body with packAsBytes, x-envoy-auth-partial-body among the headers', async () => {
    const checks: Array<{ body: string; raw: string; partial: string | undefined }> = [];
    const server = new GrpcServer();
    server.addService(authorizationService(), {
      Check: (call: ServerUnaryCall<any, any>, cb: sendUnaryData<any>) => {
        const http = call.request.attributes.request.http;
        checks.push({ body: http.body ?? '', raw: Buffer.from(http.raw_body ?? []).toString(), partial: http.headers['x-envoy-auth-partial-body'] });
        cb(null, { status: { code: 0 }, ok_response: {} });
      },
    });
    const port = await new Promise<number>((ok, fail) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
    cleanups.push(async () => server.forceShutdown());
    const text = await wasmesh(meshFor(provider('grpc-text', 'grpc', true), port));
    const bytes = await wasmesh(meshFor(provider('grpc-bytes', 'grpc', true, true), port));
    expect((await post(text, 'this body is longer than eight')).status).toBe(200);
    expect((await post(bytes, 'hello')).status).toBe(200);
    expect(checks).toEqual([
      { body: 'this bod', raw: '', partial: 'true' },
      { body: '', raw: 'hello', partial: 'false' },
    ]);
  }, 30_000);
});
