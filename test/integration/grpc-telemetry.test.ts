// gRPC in the proxy's telemetry and local replies, with a real @grpc/grpc-js client (h2c to the
// proxy) and server (HTTP/2 upstream): istio_requests_total labels gRPC requests
// request_protocol="grpc" with grpc_response_status from the trailers; %GRPC_STATUS% in an access
// log format prints it; and a reply the proxy makes itself to a gRPC request (no healthy upstream,
// no route) is a trailers-only gRPC response whose grpc-status a gRPC client reads (UNAVAILABLE,
// UNIMPLEMENTED) rather than an HTTP error with a text body.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { HTTP2_CODECS, type Http2Codec } from '../../host/listener/http2-listener-kind.js';
import { HTTP2_UPSTREAM_CODECS, type Http2UpstreamCodec } from '../../host/upstream/http2-upstream-codec.js';

/** Every downstream × upstream HTTP/2 codec pair. */
const CODEC_PAIRS = HTTP2_CODECS.flatMap((d) => HTTP2_UPSTREAM_CODECS.map((u) => [d, u] as [Http2Codec, Http2UpstreamCodec]));
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { renderIstioPrometheus } from '../../host/admin/istio-prometheus-text.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { parseSamples, sumOf } from '../helpers/prometheus-samples.js';
import type { MeshConfig } from '../../host/model/mesh.js';

const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Buffer): string => b.toString();
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Chat: { path: '/test.Greeter/Chat', requestStream: true, responseStream: true, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
};
const Client = grpc.makeGenericClientConstructor(service, 'Greeter');

let server: grpc.Server;
let proxy: ProxyServer;
let dir: string;
let logPath: string;
const clients: Array<InstanceType<typeof Client>> = [];

function clientFor(authority: string): InstanceType<typeof Client> {
  const c = new Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
  clients.push(c);
  return c;
}

function say(client: InstanceType<typeof Client>, msg: string): Promise<{ ok: string } | { err: grpc.ServiceError }> {
  return new Promise((resolve) => client.Say(msg, { deadline: Date.now() + 5000 }, (e: grpc.ServiceError | null, r?: string) => resolve(e ? { err: e } : { ok: r! })));
}

async function setup(codec: Http2Codec, upstreamCodec: Http2UpstreamCodec): Promise<void> {
  server = new grpc.Server();
  server.addService(service, {
    Say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (call.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
      cb(null, `hello ${call.request}`);
    },
    // Two replies per message received (one of them empty: a zero-length message counts too).
    Chat: (call: grpc.ServerDuplexStream<string, string>) => {
      call.on('data', (m: string) => {
        call.write(`re ${m}`);
        call.write('');
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-telemetry-'));
  logPath = join(dir, 'access.log');
  proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: () => {}, seed: 1, http2Codec: codec, http2UpstreamCodec: upstreamCodec });
  const greeter = mesh([{ name: 'greeter', ports: [port] }], [{ name: 'greeter-route', dests: [{ cluster: 'greeter' }] }], ['greeter.test']);
  const empty = mesh([{ name: 'empty', ports: [] }], [{ name: 'empty-route', dests: [{ cluster: 'empty' }] }], ['empty.test']);
  const m: MeshConfig = {
    ...greeter,
    virtualHosts: [...greeter.virtualHosts, { ...empty.virtualHosts[0]!, name: 'vh-empty' }],
    clusters: [...greeter.clusters, ...empty.clusters].map((c) => ({ ...c, protocol: 'GRPC' }) as typeof c),
    accessLogs: [{ provider: 'envoy', path: logPath, encoding: 'TEXT', format: '%REQ(:AUTHORITY)% %RESPONSE_CODE% %RESPONSE_FLAGS% %GRPC_STATUS% %GRPC_STATUS(NUMBER)% %PROTOCOL%' }],
  };
  proxy.apply(m, 1);
  await proxy.listen();
}

async function teardown(): Promise<void> {
  for (const c of clients) c.close();
  await proxy?.close();
  server?.forceShutdown();
  if (dir) rmSync(dir, { recursive: true, force: true });
  clients.length = 0;
}

async function logLines(count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    let text = '';
    try {
      text = readFileSync(logPath, 'utf8');
    } catch {
      // not written yet
    }
    const lines = text.split('\n').filter((l) => l !== '');
    if (lines.length >= count) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} access log lines in ${logPath}`);
}

describe.each(CODEC_PAIRS)('gRPC in telemetry and local replies (downstream HTTP/2: %s, upstream: %s)', (codec, upstreamCodec) => {
  beforeAll(() => setup(codec, upstreamCodec));
  afterAll(teardown);

  it('istio_requests_total: request_protocol="grpc", grpc_response_status from the trailers (0, 9), local replies 14 and 12; %GRPC_STATUS% in the log', async () => {
    const greeter = clientFor('greeter.test');
    for (let i = 0; i < 3; i++) expect(await say(greeter, `n${i}`)).toEqual({ ok: `hello n${i}` });
    const fail = await say(greeter, 'fail');
    expect('err' in fail && fail.err.code).toBe(grpc.status.FAILED_PRECONDITION);
    // No endpoint: the proxy answers itself, as a gRPC trailers-only response (Envoy: 503 UH → UNAVAILABLE).
    const uh = await say(clientFor('empty.test'), 'x');
    expect('err' in uh && uh.err.code).toBe(grpc.status.UNAVAILABLE);
    expect('err' in uh && uh.err.details).toBe('no healthy upstream');
    // No route: 404 NR → UNIMPLEMENTED.
    const nr = await say(clientFor('nowhere.test'), 'x');
    expect('err' in nr && nr.err.code).toBe(grpc.status.UNIMPLEMENTED);

    const s = parseSamples(renderIstioPrometheus(proxy.istio!.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', response_code: '200', grpc_response_status: '0', response_flags: '-' })).toBe(3);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', response_code: '200', grpc_response_status: '9' })).toBe(1);
    // Envoy's gRPC local reply is HTTP 200; the status is in grpc-status.
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', response_code: '200', grpc_response_status: '14', response_flags: 'UH' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', response_code: '200', grpc_response_status: '12', response_flags: 'NR' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'http' })).toBe(0);

    const lines = await logLines(6);
    expect(lines.slice(0, 3)).toEqual(Array(3).fill('greeter.test 200 - OK 0 HTTP/2'));
    expect(lines[3]).toBe('greeter.test 200 - FailedPrecondition 9 HTTP/2');
    expect(lines[4]).toBe('empty.test 200 UH Unavailable 14 HTTP/2');
    expect(lines[5]).toBe('nowhere.test 200 NR Unimplemented 12 HTTP/2');
  });

  it('an HTTP/1.1 request is still http with an empty status, and its local reply keeps its text body', async () => {
    const r = await new Promise<{ status: number; body: string; type: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/', agent: false, headers: { host: 'empty.test' } }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(r).toEqual({ status: 503, body: 'no healthy upstream', type: 'text/plain' });
    const s = parseSamples(renderIstioPrometheus(proxy.istio!.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'http', response_code: '503', grpc_response_status: '', response_flags: 'UH' })).toBe(1);
    const lines = await logLines(7);
    expect(lines[6]).toBe('empty.test 503 UH - - HTTP/1.1');
  });

  it('istio_request_messages_total / istio_response_messages_total: gRPC messages each way, counted from the frames; none for HTTP', async () => {
    const before = parseSamples(renderIstioPrometheus(proxy.istio!.snapshot()));
    const ok = { request_protocol: 'grpc', response_code: '200', grpc_response_status: '0', response_flags: '-' };
    const reqBefore = sumOf(before, 'istio_request_messages_total', ok);
    const respBefore = sumOf(before, 'istio_response_messages_total', ok);
    // The unary calls of the first test: one message each way per call.
    expect(reqBefore).toBe(3);
    expect(respBefore).toBe(3);
    const client = clientFor('greeter.test');
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = (client as unknown as { Chat(): grpc.ClientDuplexStream<string, string> }).Chat();
      call.on('data', (m: string) => got.push(m));
      call.on('error', reject);
      call.on('end', () => resolve());
      // One large message (split over many frames of the transport) among small ones.
      for (const m of ['a', 'x'.repeat(200_000), 'c']) call.write(m);
      call.end();
    });
    expect(got.length).toBe(6);
    const after = parseSamples(renderIstioPrometheus(proxy.istio!.snapshot()));
    expect(sumOf(after, 'istio_request_messages_total', ok) - reqBefore).toBe(3);
    expect(sumOf(after, 'istio_response_messages_total', ok) - respBefore).toBe(6);
    // The failed call: its request message, no response message (a trailers-only status).
    expect(sumOf(after, 'istio_request_messages_total', { ...ok, grpc_response_status: '9' })).toBe(1);
    expect(sumOf(after, 'istio_response_messages_total', { ...ok, grpc_response_status: '9' })).toBe(0);
    expect(sumOf(after, 'istio_request_messages_total', { request_protocol: 'http' })).toBe(0);
    // Telemetry API: GRPC_REQUEST_MESSAGES disabled for the client side drops its family only.
    const text = renderIstioPrometheus(proxy.istio!.snapshot(), { client: { GRPC_REQUEST_MESSAGES: { disabled: true, remove: [], upsert: [] } }, server: {} });
    expect(text).not.toMatch(/istio_request_messages_total/);
    expect(text).toMatch(/# TYPE istio_response_messages_total counter/);
  });
});
