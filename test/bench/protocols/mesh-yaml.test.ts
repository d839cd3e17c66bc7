// The protocol benchmark's Istio YAML (bench/protocols/mesh-yaml.ts), now written with the shared
// builders (host/config/istio-yaml-builders.ts), holds the same documents it wrote out by hand
// before (kept below as it was), and the loader serves it as the benchmark needs.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { protocolMeshYaml } from '../../../bench/protocols/mesh-yaml.js';
import { loadYaml } from '../../envoy/protocol-fixtures.js';

const PORTS = { h2: 15401, grpc: 15402, ws: 15403, tcp: 15404 };

const entry = (name: string, port: string, portName: string, ep: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.bench.internal]
  ports: [${port}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {${portName}: ${ep}}}]
`;

/** The files as bench/protocols/mesh-yaml.ts wrote them by hand. */
const BY_HAND: Record<string, string> = {
  '00-services.yaml': [
    entry('h2-echo', '{number: 8080, name: http2, protocol: HTTP2}', 'http2', PORTS.h2),
    entry('grpc-echo', '{number: 50051, name: grpc, protocol: GRPC}', 'grpc', PORTS.grpc),
    entry('ws-echo', '{number: 8080, name: http, protocol: HTTP}', 'http', PORTS.ws),
    entry('tcp-echo', '{number: 7000, name: tcp, protocol: TCP}', 'tcp', PORTS.tcp),
  ].join('---\n'),
  '01-gateway.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: proto-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: proto-http}
spec:
  hosts: ['*']
  gateways: [proto-gw]
  http:
  - match: [{uri: {prefix: /bench.Echo/}}]
    route: [{destination: {host: grpc-echo.bench.internal}}]
  - match: [{uri: {prefix: /ws}}]
    route: [{destination: {host: ws-echo.bench.internal}}]
  - route: [{destination: {host: h2-echo.bench.internal}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: proto-tcp}
spec:
  hosts: ['*']
  gateways: [proto-gw]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: tcp-echo.bench.internal}}]
`,
};

const documents = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJSON());

describe('protocolMeshYaml', () => {
  it('the same documents as the hand-written files, file by file', () => {
    const built = protocolMeshYaml(PORTS);
    expect(Object.keys(built)).toEqual(Object.keys(BY_HAND));
    for (const [name, text] of Object.entries(built)) expect(documents(text), name).toEqual(documents(BY_HAND[name]!));
    // The services file was flow style already: byte for byte.
    expect(built['00-services.yaml']).toBe(BY_HAND['00-services.yaml']);
  });

  it('the loader makes the same mesh of both (warnings too), with the four upstream ports', () => {
    // Left out: the temporary folder each is loaded from (in warnings and sources) and the line
    // numbers of the sources (the gateway's two servers took two lines each by hand, one now).
    const loaded = (files: Record<string, string>): unknown => JSON.parse(JSON.stringify(loadYaml(files, 'proto-gw'))
      .replace(/[^"]*wasmesh-envoy-proto-\w+\//g, '<dir>/').replace(/"line":\d+/g, '"line":0'));
    const built = loaded(protocolMeshYaml(PORTS));
    expect(built).toEqual(loaded(BY_HAND));
    const { mesh } = loadYaml(protocolMeshYaml(PORTS), 'proto-gw');
    expect(mesh.clusters.flatMap((c) => c.endpoints.map((e) => e.port)).sort()).toEqual([15401, 15402, 15403, 15404]);
  });
});
