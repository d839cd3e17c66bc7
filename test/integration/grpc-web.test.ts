// gRPC-Web through a wasmesh proxy to a real @grpc/grpc-js server, as a browser's gRPC-Web client
// would send it: hand-built requests over HTTP/1.1 (node:http: whole bodies, and one written in
// pieces) — a 5-byte frame header and a protobuf message, binary and base64 text — translated by
// the grpc_web filter to gRPC over HTTP/2 upstream (the cluster's port protocol is GRPC-Web). Checked:
// the message frames and the trailer frame (grpc-status, grpc-message) that come back, a server
// stream, an error status after messages and as a trailers-only head, a proxy's own reply in
// gRPC-Web, a CORS preflight answered by the route's corsPolicy, and the Istio labels.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request as httpRequest } from 'node:http';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { renderIstioPrometheus } from '../../host/admin/istio-prometheus-text.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { parseSamples, sumOf } from '../helpers/prometheus-samples.js';
import type { CorsPolicy } from '../../host/model/mesh.js';

// message Hello { string name = 1; } by hand: field 1, wire type 2 (0x0a), a one-byte length.
const proto = (name: string): Buffer => {
  const b = Buffer.from(name);
  if (b.length > 127) throw new Error('test names stay short');
  return Buffer.concat([Buffer.of(0x0a, b.length), b]);
};
const unproto = (b: Buffer): string => {
  if (b.length === 0) return '';
  if (b[0] !== 0x0a || b[1] !== b.length - 2) throw new Error(`not a Hello: ${b.toString('hex')}`);
  return b.subarray(2).toString();
};
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: proto, requestDeserialize: unproto, responseSerialize: proto, responseDeserialize: unproto },
  Count: { path: '/test.Greeter/Count', requestStream: false, responseStream: true, requestSerialize: proto, requestDeserialize: unproto, responseSerialize: proto, responseDeserialize: unproto },
};

/** A gRPC message frame: flag 0, big-endian length, the message. */
const frame = (msg: Buffer): Buffer => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
};

interface Frames { messages: string[]; trailers: Record<string, string> | null; rest: number }

/** The frames of a gRPC-Web response body: messages (decoded Hellos), then the trailer frame. */
function frames(body: Buffer): Frames {
  const out: Frames = { messages: [], trailers: null, rest: 0 };
  let at = 0;
  while (at + 5 <= body.length) {
    const flag = body[at]!;
    const len = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + len);
    at += 5 + len;
    if (flag === 0x80) {
      out.trailers = {};
      for (const line of data.toString('latin1').split('\r\n')) {
        if (line === '') continue;
        const c = line.indexOf(':');
        out.trailers[line.slice(0, c)] = line.slice(c + 1);
      }
    } else out.messages.push(unproto(data));
  }
  out.rest = body.length - at;
  return out;
}

const cors: CorsPolicy = {
  allowOrigins: [{ kind: 'exact', value: 'https://app.example' }], allowMethods: ['POST'], allowHeaders: ['content-type', 'x-grpc-web', 'x-user-agent'],
  exposeHeaders: ['grpc-status', 'grpc-message'], maxAgeSeconds: 600, allowCredentials: null, unmatchedPreflights: 'FORWARD',
};

let server: grpc.Server;
let serverPort: number;
let proxy: ProxyServer;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(service, {
    Say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (call.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
      cb(null, `hello ${call.request}`);
    },
    Count: (call: grpc.ServerWritableStream<string, string>) => {
      if (call.request === 'fail') {
        call.write('1');
        // A status after a message: it can only travel in the trailers (the trailer frame).
        setTimeout(() => call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many: 100%' }), 20);
        return;
      }
      const n = Number(call.request);
      for (let i = 1; i <= n; i++) call.write(String(i));
      call.end();
    },
  });
  const port = (serverPort = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p)))));
  proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: () => {}, seed: 1 });
  const m = mesh([{ name: 'greeter', ports: [port] }], [{ name: 'greeter-route', dests: [{ cluster: 'greeter' }] }], ['greeter.test']);
  // A grpc-web service port (Istio: port name grpc-web): the grpc_web filter on the listener,
  // HTTP/2 (gRPC) to the server.
  for (const c of m.clusters) (c as { protocol?: string }).protocol = 'GRPC_WEB';
  (m.virtualHosts[0]!.routes[0] as { cors?: CorsPolicy }).cors = cors;
  proxy.apply(m, 1);
  await proxy.listen();
});

afterAll(async () => {
  await proxy?.close();
  server?.forceShutdown();
});

interface Answer { status: number; headers: { get(name: string): string | null }; body: Buffer }

/** One HTTP/1.1 exchange (node:http: fetch may not set Host, which routes here). */
function exchange(method: string, path: string, headers: Record<string, string>, body?: Buffer, port = proxy.port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({
        status: res.statusCode!,
        headers: { get: (n) => { const v = res.headers[n.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
        body: Buffer.concat(parts),
      }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function call(path: string, body: Buffer, headers: Record<string, string>, host = 'greeter.test', port = proxy.port): Promise<Answer> {
  return exchange('POST', path, { host, 'x-grpc-web': '1', 'x-user-agent': 'grpc-web-javascript/0.1', 'content-length': String(body.length), ...headers }, body, port);
}

// grpc-js writes grpc-message: OK on success; the proxy passes the trailers on as they came.
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };
const BINARY = { 'content-type': 'application/grpc-web+proto', accept: 'application/grpc-web+proto' };
const TEXT = { 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text' };

describe('gRPC-Web through the proxy (HTTP/1.1 downstream, gRPC over HTTP/2 upstream)', () => {
  it('binary unary: the answer and grpc-status 0 in the trailer frame', async () => {
    const r = await call('/test.Greeter/Say', frame(proto('world')), BINARY);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/grpc-web+proto');
    const f = frames(r.body);
    expect(f).toEqual({ messages: ['hello world'], trailers: OK_TRAILERS, rest: 0 });
  });

  it('text unary: base64 both ways', async () => {
    const r = await call('/test.Greeter/Say', Buffer.from(frame(proto('text')).toString('base64')), TEXT);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    expect(/^[A-Za-z0-9+/=]+$/.test(r.body.toString('latin1'))).toBe(true);
    // The message and the trailer frame were padded on their own: decode each 4-character group run.
    const decoded = Buffer.concat(r.body.toString('latin1').match(/[^=]*=*/g)!.filter((p) => p !== '').map((p) => Buffer.from(p, 'base64')));
    expect(frames(decoded)).toEqual({ messages: ['hello text'], trailers: OK_TRAILERS, rest: 0 });
  });

  it('a text body written in pieces that split base64 groups (chunked over HTTP/1.1) decodes whole', async () => {
    const wire = Buffer.from(Buffer.concat([frame(proto('split in pieces'))]).toString('base64'));
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxy.port, path: '/test.Greeter/Say', method: 'POST', agent: false, headers: { host: 'greeter.test', ...TEXT, 'transfer-encoding': 'chunked' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => resolve(Buffer.concat(parts)));
      });
      req.on('error', reject);
      let at = 0;
      const sizes = [1, 6, 3, 5, 7];
      const step = (i: number): void => {
        if (at >= wire.length) return void req.end();
        const n = sizes[i % sizes.length]!;
        req.write(wire.subarray(at, at + n));
        at += n;
        setTimeout(() => step(i + 1), 2);
      };
      step(0);
    });
    const decoded = Buffer.concat(body.toString('latin1').match(/[^=]*=*/g)!.filter((p) => p !== '').map((p) => Buffer.from(p, 'base64')));
    expect(frames(decoded)).toEqual({ messages: ['hello split in pieces'], trailers: OK_TRAILERS, rest: 0 });
  });

  it('server streaming: every message, then the trailer frame', async () => {
    const r = await call('/test.Greeter/Count', frame(proto('4')), BINARY);
    expect(frames(r.body)).toEqual({ messages: ['1', '2', '3', '4'], trailers: OK_TRAILERS, rest: 0 });
  });

  it('an error after a message: grpc-status and grpc-message in the trailer frame', async () => {
    const r = await call('/test.Greeter/Count', frame(proto('fail')), BINARY);
    expect(r.status).toBe(200);
    const f = frames(r.body);
    expect(f.messages).toEqual(['1']);
    expect(f.trailers!['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    // grpc-message as the server percent-encoded it.
    expect(decodeURIComponent(f.trailers!['grpc-message']!)).toBe('too many: 100%');
  });

  it('an error with no message (trailers-only): grpc-status and grpc-message in the head, gRPC-Web content-type', async () => {
    const r = await call('/test.Greeter/Say', frame(proto('fail')), BINARY);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/grpc-web+proto');
    expect(r.headers.get('grpc-status')).toBe(String(grpc.status.FAILED_PRECONDITION));
    expect(decodeURIComponent(r.headers.get('grpc-message')!)).toBe('no such greeting');
    expect(r.body.length).toBe(0);
  });

  it("the proxy's own reply (no route) is a gRPC-Web trailers-only response: UNIMPLEMENTED", async () => {
    const r = await call('/test.Greeter/Say', frame(proto('x')), TEXT, 'nowhere.test');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    expect(r.headers.get('grpc-status')).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(r.body.length).toBe(0);
  });

  it("a browser's CORS preflight is answered by the route's corsPolicy, and the call then carries the CORS headers", async () => {
    const pre = await exchange('OPTIONS', '/test.Greeter/Say', { host: 'greeter.test', origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent' });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-headers')).toContain('x-grpc-web');
    const r = await call('/test.Greeter/Say', frame(proto('cors')), { ...BINARY, origin: 'https://app.example' });
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(r.headers.get('access-control-expose-headers')).toContain('grpc-status');
    expect(frames(r.body).messages).toEqual(['hello cors']);
  });

  it('over HTTP/2 too (h2c): the trailer frame in the body, no HTTP/2 trailers', async () => {
    const c = http2.connect(`http://127.0.0.1:${proxy.port}`);
    c.on('error', () => {});
    try {
      const req = c.request({ ':method': 'POST', ':path': '/test.Greeter/Count', ':authority': 'greeter.test', ...BINARY, 'x-grpc-web': '1', te: 'trailers' });
      const parts: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | null = null;
      req.on('response', (h) => (head = h));
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (d: Buffer) => parts.push(d));
      const done = new Promise<void>((r) => req.on('end', () => r()));
      req.end(frame(proto('2')));
      await done;
      expect(head[':status']).toBe(200);
      expect(head['content-type']).toBe('application/grpc-web+proto');
      expect(frames(Buffer.concat(parts))).toEqual({ messages: ['1', '2'], trailers: OK_TRAILERS, rest: 0 });
      expect(trailers === null || Object.keys(trailers).filter((k) => k.startsWith('grpc-')).length === 0).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('an ingress gateway translates on a port whose Gateway server is GRPC-Web (to a gRPC service port), not on an HTTP one', async () => {
    const answers: Array<{ ct: string | null; frames: Frames }> = [];
    for (const grpcWeb of [true, false]) {
      const gw = new ProxyServer({ host: '127.0.0.1', port: 0, log: () => {}, seed: 1, gatewayPort: 'auto' });
      try {
        const m = mesh([{ name: 'greeter', ports: [serverPort] }], [{ name: 'greeter-route', dests: [{ cluster: 'greeter' }] }], ['greeter.test']);
        for (const c of m.clusters) (c as { protocol?: string }).protocol = 'GRPC';
        gw.apply({ ...m, gatewayListeners: [{ port: 8080, tls: false, servers: [{ name: 'default/gw/0', hosts: ['*'], tls: null, httpsRedirect: false }], ...(grpcWeb ? { grpcWeb } : {}) }] }, 1);
        await gw.listen();
        const r = await call('/test.Greeter/Say', frame(proto('gateway')), BINARY, 'greeter.test', gw.port);
        answers.push({ ct: r.headers.get('content-type'), frames: frames(r.body) });
      } finally {
        await gw.close();
      }
    }
    expect(answers[0]).toEqual({ ct: 'application/grpc-web+proto', frames: { messages: ['hello gateway'], trailers: OK_TRAILERS, rest: 0 } });
    // Untranslated, the gRPC server does not take it as gRPC-Web: no gRPC-Web answer.
    expect(answers[1]!.ct).not.toBe('application/grpc-web+proto');
  });

  it('istio_requests_total counts gRPC-Web calls as request_protocol="grpc" with their grpc status', () => {
    const s = parseSamples(renderIstioPrometheus(proxy.istio!.snapshot()));
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '0' })).toBeGreaterThanOrEqual(6);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '8' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '9' })).toBe(1);
    expect(sumOf(s, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '12', response_flags: 'NR' })).toBe(1);
  });
});
