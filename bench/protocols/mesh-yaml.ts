// The protocol benchmark's Istio YAML, the upstreams' ports filled in: one Gateway `proto-gw`
// with an HTTP server (port 80) and a TCP server (31400); an HTTP/2 service (port protocol
// HTTP2), a gRPC service (GRPC), a WebSocket service (HTTP) and a TCP echo (TCP) as STATIC
// ServiceEntries on 127.0.0.1; routes by path (`/bench.Echo/` gRPC, `/ws` WebSocket, the rest
// HTTP/2) and a `tcp:` rule for 31400. Both proxies load exactly this.
export const PROTO_GATEWAY = 'proto-gw';
export const GATEWAY_HTTP_PORT = 80;
export const GATEWAY_TCP_PORT = 31400;

export interface UpstreamPorts {
  h2: number;
  grpc: number;
  ws: number;
  tcp: number;
}

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

export function protocolMeshYaml(p: UpstreamPorts): Record<string, string> {
  return {
    '00-services.yaml': [
      entry('h2-echo', '{number: 8080, name: http2, protocol: HTTP2}', 'http2', p.h2),
      entry('grpc-echo', '{number: 50051, name: grpc, protocol: GRPC}', 'grpc', p.grpc),
      entry('ws-echo', '{number: 8080, name: http, protocol: HTTP}', 'http', p.ws),
      entry('tcp-echo', '{number: 7000, name: tcp, protocol: TCP}', 'tcp', p.tcp),
    ].join('---\n'),
    '01-gateway.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${PROTO_GATEWAY}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${GATEWAY_HTTP_PORT}, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: ${GATEWAY_TCP_PORT}, name: tcp, protocol: TCP}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: proto-http}
spec:
  hosts: ['*']
  gateways: [${PROTO_GATEWAY}]
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
  gateways: [${PROTO_GATEWAY}]
  tcp:
  - match: [{port: ${GATEWAY_TCP_PORT}}]
    route: [{destination: {host: tcp-echo.bench.internal}}]
`,
  };
}
