// The protocol benchmark's Istio YAML, the upstreams' ports filled in: one Gateway `proto-gw`
// with an HTTP server (port 80) and a TCP server (31400); an HTTP/2 service (port protocol
// HTTP2), a gRPC service (GRPC), a WebSocket service (HTTP) and a TCP echo (TCP) as STATIC
// ServiceEntries on 127.0.0.1; routes by path (`/bench.Echo/` gRPC, `/ws` WebSocket, the rest
// HTTP/2) and a `tcp:` rule for 31400. Both proxies load exactly this.
import { gatewayVirtualServiceYaml, gatewayYaml, routeTo, staticServiceEntryYaml, tcpRouteTo, yamlDocs, type IstioPort } from '../../host/config/istio-yaml-builders.js';

export const PROTO_GATEWAY = 'proto-gw';
export const GATEWAY_HTTP_PORT = 80;
export const GATEWAY_TCP_PORT = 31400;

export interface UpstreamPorts {
  h2: number;
  grpc: number;
  ws: number;
  tcp: number;
}

const entry = (name: string, port: IstioPort, endpointPort: number): string => staticServiceEntryYaml({ name, host: `${name}.bench.internal`, port, endpointPort });

export function protocolMeshYaml(p: UpstreamPorts): Record<string, string> {
  return {
    '00-services.yaml': yamlDocs(
      entry('h2-echo', { number: 8080, name: 'http2', protocol: 'HTTP2' }, p.h2),
      entry('grpc-echo', { number: 50051, name: 'grpc', protocol: 'GRPC' }, p.grpc),
      entry('ws-echo', { number: 8080, name: 'http', protocol: 'HTTP' }, p.ws),
      entry('tcp-echo', { number: 7000, name: 'tcp', protocol: 'TCP' }, p.tcp),
    ),
    '01-gateway.yaml': yamlDocs(
      gatewayYaml(PROTO_GATEWAY, [{ port: { number: GATEWAY_HTTP_PORT, name: 'http', protocol: 'HTTP' } }, { port: { number: GATEWAY_TCP_PORT, name: 'tcp', protocol: 'TCP' } }]),
      gatewayVirtualServiceYaml({
        name: 'proto-http',
        gateway: PROTO_GATEWAY,
        http: [routeTo('grpc-echo.bench.internal', '/bench.Echo/'), routeTo('ws-echo.bench.internal', '/ws'), routeTo('h2-echo.bench.internal')],
      }),
      gatewayVirtualServiceYaml({ name: 'proto-tcp', gateway: PROTO_GATEWAY, tcp: [tcpRouteTo('tcp-echo.bench.internal', GATEWAY_TCP_PORT)] }),
    ),
  };
}
