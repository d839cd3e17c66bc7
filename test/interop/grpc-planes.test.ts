// gRPC through each data plane from the same Istio YAML: a real @grpc/grpc-js client speaks h2c
// to the plane (wasmesh's HTTP/2 listener; Envoy's HCM with codec AUTO), the route's cluster is a
// GRPC port so both speak HTTP/2 upstream (wasmesh's HTTP/2 pool; Envoy's http2_protocol_options
// from `wasmesh envoy-config`) to a real grpc-js server. Unary calls, a server stream, and an
// error status (code and message in the trailers) must come through both hops on every plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';

const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Buffer): string => b.toString();
const service: grpc.ServiceDefinition = {
  Say: { path: '/test.Greeter/Say', requestStream: false, responseStream: false, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
  Count: { path: '/test.Greeter/Count', requestStream: false, responseStream: true, requestSerialize: enc, requestDeserialize: dec, responseSerialize: enc, responseDeserialize: dec },
};
const Client = grpc.makeGenericClientConstructor(service, 'Greeter');

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
metadata: {name: grpc-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter}
spec:
  hosts: ['*']
  gateways: [grpc-gateway]
  http:
  - match: [{uri: {prefix: /test.Greeter/}}]
    route: [{destination: {host: greeter.example.internal, port: {number: 50051}}}]
`,
});

let server: grpc.Server;
let grpcPort = 0;
beforeAll(async () => {
  server = new grpc.Server();
  server.addService(service, {
    Say: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (call.request === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no such greeting' });
      cb(null, `hello ${call.request}`);
    },
    Count: (call: grpc.ServerWritableStream<string, string>) => {
      for (let i = 1; i <= Number(call.request); i++) call.write(String(i));
      call.end();
    },
  });
  grpcPort = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
});
afterAll(() => { server?.forceShutdown(); });

for (const plane of dataPlanes()) {
  describe.skipIf(plane.unavailable !== null)(`gRPC on ${plane.name}`, () => {
    let proxy: RunningProxy | undefined;
    let client: InstanceType<typeof Client> | undefined;
    beforeAll(async () => {
      const scenario: Scenario = { name: 'grpc', gateway: 'grpc-gateway', files: () => yaml(grpcPort), exchanges: [] };
      proxy = await plane.start(scenario, { v1: grpcPort, v2: grpcPort });
      client = new Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'greeter.example.internal' });
    });
    afterAll(async () => { client?.close(); await proxy?.stop(); });

    const say = (msg: string): Promise<string> => new Promise((resolve, reject) =>
      client!.Say(msg, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null, r?: string) => (e ? reject(e) : resolve(r!))));

    it('unary calls, 20 at once on one channel', async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => say(`n${i}`)));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `hello n${i}`));
    });

    it('server streaming: every message in order, then OK', async () => {
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = client!.Count('25', { deadline: Date.now() + 10_000 });
        call.on('data', (d: string) => got.push(d));
        call.on('error', reject);
        call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : reject(new Error(s.details))));
      });
      expect(got).toEqual(Array.from({ length: 25 }, (_, i) => String(i + 1)));
    });

    it('an error status crosses both hops: code and message', async () => {
      const e = await say('fail').then(() => null, (x: grpc.ServiceError) => x);
      expect(e?.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(e?.details).toBe('no such greeting');
    });
  });
}
