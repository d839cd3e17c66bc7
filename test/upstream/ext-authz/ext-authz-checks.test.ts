// The ext_authz clients against real local authorizers: an HTTP server and a gRPC
// envoy.service.auth.v3.Authorization server (same protos, through @grpc/grpc-js).
import http from 'node:http';
import net from 'node:net';
import { Server, ServerCredentials, status as grpcStatus, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExtAuthzVerdict } from '../../../host/http/ext-authz-check.js';
import type { StreamCallbacks } from '../../../host/http/stream-callbacks.js';
import type { Cluster } from '../../../host/model/mesh.js';
import type { ExtAuthzProvider } from '../../../host/model/mesh-settings.js';
import { extAuthzChecks } from '../../../host/upstream/ext-authz/ext-authz-checks.js';
import { authorizationService } from '../../../host/upstream/ext-authz/ext-authz-proto.js';
import { extAuthzTarget } from '../../../host/upstream/ext-authz/ext-authz-target.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A check's timeout: long enough for a first gRPC call on a loaded machine (the timeout test sets its own). */
function provider(kind: 'http' | 'grpc', port: number, extra: Partial<ExtAuthzProvider> = {}): ExtAuthzProvider {
  return {
    name: `${kind}-authz`, kind, service: '127.0.0.1', port, timeoutMs: 5000, failOpen: false, statusOnError: 403, pathPrefix: '',
    includeRequestHeadersInCheck: [], headersToUpstreamOnAllow: [], headersToDownstreamOnDeny: [], maxRequestBytes: null, ...extra,
  };
}

function stream(path: string, headers: string[] = []): StreamCallbacks {
  const ds = { method: 'GET', path, authority: 'svc.test', headers, remoteAddress: '10.0.0.7', security: null };
  return { downstream: ds, requestHeader: (n: string) => { const i = headers.indexOf(n); return i >= 0 && i % 2 === 0 ? headers[i + 1]! : null; } } as unknown as StreamCallbacks;
}

async function check(p: ExtAuthzProvider, s: StreamCallbacks, clusters: Cluster[] = []): Promise<ExtAuthzVerdict> {
  const checks = extAuthzChecks({ extAuthzProviders: [p] }, clusters);
  const c = checks.get(p.name)!;
  cleanups.push(() => c.close());
  return new Promise((resolve) => c.check(s, resolve));
}

async function httpAuthorizer(handler: http.RequestListener): Promise<{ port: number; seen: http.IncomingMessage[] }> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => { seen.push(req); handler(req, res); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { port: (server.address() as net.AddressInfo).port, seen };
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('HTTP ext_authz', () => {
  it('200 allows; the check carries pathPrefix + path, Host, authorization and the listed headers only; headersToUpstreamOnAllow are copied', async () => {
    const a = await httpAuthorizer((_req, res) => { res.setHeader('x-ext-authz-check-result', 'allowed'); res.setHeader('x-other', 'no'); res.end(); });
    const v = await check(provider('http', a.port, { pathPrefix: '/check', includeRequestHeadersInCheck: ['x-ext-authz'], headersToUpstreamOnAllow: ['x-ext-authz-check-result'] }),
      stream('/admin?x=1', ['x-ext-authz', 'allow', 'authorization', 'Bearer t', 'cookie', 'secret']));
    expect(v).toMatchObject({ allowed: true, error: false, headersToUpstream: [['x-ext-authz-check-result', 'allowed']] });
    const req = a.seen[0]!;
    expect(req.url).toBe('/check/admin?x=1');
    expect(req.headers.host).toBe('svc.test');
    expect(req.headers['x-ext-authz']).toBe('allow');
    expect(req.headers.authorization).toBe('Bearer t');
    expect(req.headers.cookie).toBeUndefined();
  });

  it('another status denies with its status, headers (headersToDownstreamOnDeny) and body', async () => {
    const a = await httpAuthorizer((_req, res) => { res.writeHead(401, { 'x-ext-authz-check-result': 'denied', 'x-debug': 'd' }); res.end('denied by ext_authz'); });
    const v = await check(provider('http', a.port, { headersToDownstreamOnDeny: ['x-ext-authz-check-result'] }), stream('/'));
    expect(v).toEqual({ allowed: false, status: 401, headersToUpstream: [], headersToDownstream: [['x-ext-authz-check-result', 'denied']], body: 'denied by ext_authz', error: false });
  });

  it('a 5xx from the authorizer is an error: statusOnError', async () => {
    const a = await httpAuthorizer((_req, res) => { res.writeHead(503); res.end(); });
    expect(await check(provider('http', a.port, { statusOnError: 500 }), stream('/'))).toMatchObject({ allowed: false, status: 500, error: true });
  });

  it('a timeout fails closed (403); failOpen allows', async () => {
    const a = await httpAuthorizer(() => { /* never answers */ });
    expect(await check(provider('http', a.port, { timeoutMs: 100 }), stream('/'))).toMatchObject({ allowed: false, status: 403, error: true });
    expect(await check(provider('http', a.port, { timeoutMs: 100, failOpen: true }), stream('/'))).toMatchObject({ allowed: true, error: true });
  });

  it('an authorizer that is down fails closed', async () => {
    expect(await check(provider('http', await deadPort()), stream('/'))).toMatchObject({ allowed: false, status: 403, error: true });
  });
});

interface Seen { attributes?: { request?: { http?: { path?: string; method?: string; host?: string; headers?: Record<string, string> } }; source?: { address?: { socket_address?: { address?: string } } } } }

async function grpcAuthorizer(answer: (req: Seen) => object | null): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = new Server();
  server.addService(authorizationService(), {
    Check: (call: ServerUnaryCall<Seen, object>, cb: sendUnaryData<object>) => {
      seen.push(call.request);
      const a = answer(call.request);
      if (a === null) return; // never answers
      if ('error' in a) cb({ code: grpcStatus.UNAVAILABLE, details: 'down' } as never);
      else cb(null, a);
    },
  });
  const port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  cleanups.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return { port, seen };
}

describe('gRPC ext_authz (envoy.service.auth.v3.Authorization/Check)', () => {
  it('OK allows with ok_response headers; the request carries the attributes', async () => {
    const a = await grpcAuthorizer(() => ({ status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-ext-authz-check-result', value: 'allowed' } }] } }));
    const v = await check(provider('grpc', a.port), stream('/admin?q=1', ['x-ext-authz', 'allow']));
    expect(v).toMatchObject({ allowed: true, error: false, headersToUpstream: [['x-ext-authz-check-result', 'allowed']] });
    const http = a.seen[0]!.attributes!.request!.http!;
    expect(http).toMatchObject({ path: '/admin?q=1', method: 'GET', host: 'svc.test' });
    expect(http.headers).toMatchObject({ ':path': '/admin?q=1', ':authority': 'svc.test', 'x-ext-authz': 'allow' });
    expect(a.seen[0]!.attributes!.source!.address!.socket_address!.address).toBe('10.0.0.7');
  });

  it('a denial answers with denied_response status, headers and body (403 when it names none)', async () => {
    const a = await grpcAuthorizer((r) => r.attributes?.request?.http?.path === '/teapot'
      ? { status: { code: 7 }, denied_response: { status: { code: 418 }, headers: [{ header: { key: 'x-why', value: 'tea' } }], body: 'no coffee' } }
      : { status: { code: 7 } });
    expect(await check(provider('grpc', a.port), stream('/teapot'))).toEqual({ allowed: false, status: 418, headersToUpstream: [], headersToDownstream: [['x-why', 'tea']], body: 'no coffee', error: false });
    expect(await check(provider('grpc', a.port), stream('/'))).toMatchObject({ allowed: false, status: 403, error: false });
  });

  it('a failed call, a timeout or a dead authorizer fail closed with statusOnError; failOpen allows', async () => {
    const failing = await grpcAuthorizer(() => ({ error: true }));
    expect(await check(provider('grpc', failing.port, { statusOnError: 503 }), stream('/'))).toMatchObject({ allowed: false, status: 503, error: true });
    const silent = await grpcAuthorizer(() => null);
    expect(await check(provider('grpc', silent.port, { timeoutMs: 100 }), stream('/'))).toMatchObject({ allowed: false, status: 403, error: true });
    expect(await check(provider('grpc', await deadPort(), { timeoutMs: 500 }), stream('/'))).toMatchObject({ allowed: false, status: 403, error: true });
    expect(await check(provider('grpc', await deadPort(), { timeoutMs: 500, failOpen: true }), stream('/'))).toMatchObject({ allowed: true, error: true });
  });
});

describe('extAuthzTarget', () => {
  it("uses the service's outbound cluster endpoints when the mesh has them, else service:port", () => {
    const p = provider('http', 8000, { service: 'ext-authz.foo.svc.cluster.local' });
    const cluster = { name: 'outbound|8000||ext-authz.foo.svc.cluster.local', endpoints: [{ address: '10.1.0.1', port: 9000, labels: {}, weight: 1 }, { address: '10.1.0.2', port: 9000, labels: {}, weight: 1 }] } as unknown as Cluster;
    const t = extAuthzTarget(p, [cluster]);
    expect([t.next(), t.next(), t.next()]).toEqual([{ host: '10.1.0.1', port: 9000 }, { host: '10.1.0.2', port: 9000 }, { host: '10.1.0.1', port: 9000 }]);
    expect(extAuthzTarget(p, []).next()).toEqual({ host: 'ext-authz.foo.svc.cluster.local', port: 8000 });
  });
});
