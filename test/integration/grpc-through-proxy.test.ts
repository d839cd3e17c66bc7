// gRPC through a wasmesh proxy end to end: a real @grpc/grpc-js client speaks h2c to the proxy
// (downstream HTTP/2, host/listener/http2/), the proxy routes to a cluster whose port protocol is
// GRPC and so speaks HTTP/2 upstream (host/upstream/conn-pool/http2/) to a real grpc-js server.
// Trailers (grpc-status, grpc-message) must cross both hops; deadlines and streams must work.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { HTTP2_CODECS, type Http2Codec } from '../../host/listener/http2-listener-kind.js';
import { HTTP2_UPSTREAM_CODECS, type Http2UpstreamCodec } from '../../host/upstream/http2-upstream-codec.js';

/** Every downstream × upstream HTTP/2 codec pair. */
const CODEC_PAIRS = HTTP2_CODECS.flatMap((d) => HTTP2_UPSTREAM_CODECS.map((u) => [d, u] as [Http2Codec, Http2UpstreamCodec]));
import * as grpc from '@grpc/grpc-js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { mesh } from '../helpers/mesh-fixtures.js';

const HOST = 'greeter.test';
const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Buffer): string => b.toString();
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Count: { path: '/test.Greeter/Count', requestStream: false, responseStream: true, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Sum: { path: '/test.Greeter/Sum', requestStream: true, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
};
const Client = grpc.makeGenericClientConstructor(service, 'Greeter');

let server: grpc.Server;
let proxy: ProxyServer;
let client: InstanceType<typeof Client>;

async function setup(codec: Http2Codec, upstreamCodec: Http2UpstreamCodec): Promise<void> {
  server = new grpc.Server();
  server.addService(service, {
    Say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (call.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
      if (call.request === 'slow') return void setTimeout(() => cb(null, 'late'), 2000);
      cb(null, `hello ${call.request}`);
    },
    Count: (call: grpc.ServerWritableStream<string, string>) => {
      const n = Number(call.request);
      for (let i = 1; i <= n; i++) call.write(String(i));
      call.end();
    },
    Sum: (call: grpc.ServerReadableStream<string, string>, cb: grpc.sendUnaryData<string>) => {
      let total = 0;
      call.on('data', (d: string) => (total += Number(d)));
      call.on('end', () => cb(null, String(total)));
    },
  });
  const port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: () => {}, seed: 1, http2Codec: codec, http2UpstreamCodec: upstreamCodec });
  const m = mesh([{ name: 'greeter', ports: [port] }], [{ name: 'default/greeter/0', dests: [{ cluster: 'greeter' }] }], [HOST]);
  for (const c of m.clusters) (c as { protocol?: string }).protocol = 'GRPC';
  proxy.apply(m, 1);
  await proxy.listen();
  client = new Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': HOST });
}

async function teardown(): Promise<void> {
  client?.close();
  await proxy?.close();
  server?.forceShutdown();
}

function say(msg: string, deadlineMs = 5000): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Say(msg, { deadline: Date.now() + deadlineMs }, (e: grpc.ServiceError | null, r?: string) => (e ? reject(e) : resolve(r!))),
  );
}

describe.each(CODEC_PAIRS)('gRPC through the proxy (h2c downstream, HTTP/2 upstream) (downstream HTTP/2: %s, upstream: %s)', (codec, upstreamCodec) => {
  beforeAll(() => setup(codec, upstreamCodec));
  afterAll(teardown);

  it('unary calls are answered, many at once on one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => say(`n${i}`)));
    answers.forEach((a, i) => expect(a).toBe(`hello n${i}`));
    expect(proxy.stats.downstream.get('downstream_rq_http2_total')).toBeGreaterThanOrEqual(50);
  });

  it('an application error crosses both hops in the trailers: code and message', async () => {
    const e = await say('fail').then(() => null, (x: grpc.ServiceError) => x);
    expect(e?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e?.details).toBe('no such greeting');
  });

  it('a deadline shorter than the server takes ends the call DEADLINE_EXCEEDED', async () => {
    const e = await say('slow', 300).then(() => null, (x: grpc.ServiceError) => x);
    expect(e?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('server streaming: every message arrives in order, then OK', async () => {
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.Count('20', {});
      call.on('data', (d: string) => got.push(d));
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : reject(new Error(s.details))));
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
  });

  it('client streaming: the server reads every message the client sent', async () => {
    const total = await new Promise<string>((resolve, reject) => {
      const call = client.Sum((e: grpc.ServiceError | null, r?: string) => (e ? reject(e) : resolve(r!)));
      for (let i = 1; i <= 10; i++) call.write(String(i));
      call.end();
    });
    expect(total).toBe('55');
  });
});
