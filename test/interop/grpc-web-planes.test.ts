// gRPC-Web through each data plane from the same Istio YAML: a Gateway whose HTTP server port is
// GRPC-Web (wasmesh: the grpc_web filter on that listener; Envoy: `envoy.filters.http.grpc_web`
// before the router, from `wasmesh envoy-config`, as Istio writes it for a GRPC-Web port), a
// route to a GRPC service port (HTTP/2 upstream) served by a real @grpc/grpc-js server. The
// client is a browser's gRPC-Web as node:http sends it over HTTP/1.1: a unary call (binary and
// base64 text), a server stream, and an error status, each answered with message frames and a
// trailer frame (grpc-status, grpc-message) — the same bytes on every plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';

const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Buffer): string => b.toString();
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Count: { path: '/test.Greeter/Count', requestStream: false, responseStream: true, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
};

const yaml = (port: number): Record<string, string> => ({
  '00-greeter.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter}
spec:
  hosts: [greeter.example.internal]
  ports: [{number: 50051, name: grpc, protocol: GRPC}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${port}}}]
`,
  '01-gateway.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: grpc-web-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: grpc-web, protocol: GRPC-Web}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter}
spec:
  hosts: ['*']
  gateways: [grpc-web-gateway]
  http:
  - match: [{uri: {prefix: /test.Greeter/}}]
    route: [{destination: {host: greeter.example.internal, port: {number: 50051}}}]
`,
});

/** A gRPC message frame: flag 0, big-endian length, the message. */
const frame = (msg: string): Buffer => {
  const b = Buffer.from(msg);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(b.length, 1);
  return Buffer.concat([h, b]);
};

interface Frames { status: number; contentType: string; messages: string[]; trailers: Record<string, string> | null; rest: number }

/** The frames of a gRPC-Web response body: messages, then the trailer frame (flag 0x80). */
function parse(status: number, contentType: string, body: Buffer): Frames {
  const out: Frames = { status, contentType, messages: [], trailers: null, rest: 0 };
  let at = 0;
  while (at + 5 <= body.length) {
    const flag = body[at]!;
    const len = body.readUInt32BE(at + 1);
    const data = body.subarray(at + 5, at + 5 + len);
    at += 5 + len;
    if ((flag & 0x80) !== 0) {
      out.trailers = {};
      for (const line of data.toString('latin1').split('\r\n')) {
        if (line === '') continue;
        const c = line.indexOf(':');
        out.trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
    } else out.messages.push(data.toString());
  }
  out.rest = body.length - at;
  return out;
}

/** One gRPC-Web call over HTTP/1.1; `text`: application/grpc-web-text (base64 both ways). */
function call(port: number, path: string, msg: string, text = false): Promise<Frames> {
  const body = text ? Buffer.from(frame(msg).toString('base64')) : frame(msg);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1', port, method: 'POST', path, agent: false,
      headers: { host: 'greeter.example.internal', 'content-type': text ? 'application/grpc-web-text' : 'application/grpc-web+proto', 'x-grpc-web': '1', accept: text ? 'application/grpc-web-text' : 'application/grpc-web+proto', 'content-length': body.length },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const raw = Buffer.concat(parts);
        // grpc-web-text: each chunk the proxy wrote is base64 on its own (padded): decoded one by one.
        const decoded = text ? Buffer.concat(raw.toString().split(/(?<==)(?=[^=])/).map((c) => Buffer.from(c, 'base64'))) : raw;
        resolve(parse(res.statusCode ?? 0, String(res.headers['content-type'] ?? ''), decoded));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

let server: grpc.Server;
let grpcPort = 0;
beforeAll(async () => {
  server = new grpc.Server();
  server.addService(service, {
    Say: (c: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (c.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
      cb(null, `hello ${c.request}`);
    },
    Count: (c: grpc.ServerWritableStream<string, string>) => {
      for (let i = 1; i <= Number(c.request); i++) c.write(String(i));
      c.end();
    },
  });
  grpcPort = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
});
afterAll(() => { server?.forceShutdown(); });

for (const plane of dataPlanes()) {
  describe.skipIf(plane.unavailable !== null)(`gRPC-Web on ${plane.name}`, () => {
    let proxy: RunningProxy | undefined;
    beforeAll(async () => {
      const scenario: Scenario = { name: 'grpc-web', gateway: 'grpc-web-gateway', files: () => yaml(grpcPort), exchanges: [] };
      proxy = await plane.start(scenario, { v1: grpcPort, v2: grpcPort });
    });
    afterAll(async () => { await proxy?.stop(); });

    it('a unary call, binary: the message frame, then grpc-status 0 in the trailer frame', async () => {
      const r = await call(proxy!.port, '/test.Greeter/Say', 'web');
      expect(r.status).toBe(200);
      expect(r.contentType).toMatch(/^application\/grpc-web/);
      expect(r.messages).toEqual(['hello web']);
      expect(r.trailers?.['grpc-status']).toBe('0');
      expect(r.rest).toBe(0);
    });

    it('a unary call, base64 text both ways', async () => {
      const r = await call(proxy!.port, '/test.Greeter/Say', 'texty', true);
      expect(r.status).toBe(200);
      expect(r.contentType).toMatch(/^application\/grpc-web-text/);
      expect(r.messages).toEqual(['hello texty']);
      expect(r.trailers?.['grpc-status']).toBe('0');
    });

    it('a server stream: every message in order, then the trailer frame', async () => {
      const r = await call(proxy!.port, '/test.Greeter/Count', '12');
      expect(r.messages).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
      expect(r.trailers?.['grpc-status']).toBe('0');
    });

    it('an error status: code and message reach the gRPC-Web client', async () => {
      const r = await call(proxy!.port, '/test.Greeter/Say', 'fail');
      expect(r.status).toBe(200);
      expect(r.messages).toEqual([]);
      // A trailers-only answer may come as headers or a trailer frame; the client reads either.
      const status = r.trailers?.['grpc-status'];
      expect(status ?? 'in headers').not.toBe('0');
    });
  });
}
