// Istio YAML for TCP through a gateway, with ports of the test's choosing: one STATIC
// ServiceEntry per backend (a `tcp-main` port 7000 mapped to 127.0.0.1:<port>, host
// <name>.example.internal), and the Gateway `tcp-gw` with the VirtualService `tcp-vs` of its
// `tcp:` rules, either with one TCP server and one weighted split, or (tcpGatewayYaml, written
// with the shared builders of host/config/istio-yaml-builders.ts) with any servers and rules.
import { gatewayVirtualServiceYaml, gatewayYaml, tcpRoute, yamlDocs, type GatewayServer } from '../../host/config/istio-yaml-builders.js';

export interface TcpBackend {
  readonly name: string;
  readonly port: number;
  /** ServiceEntry port protocol (default TCP). */
  readonly protocol?: string;
  /** The endpoint's address (default 127.0.0.1; `::1` for IPv6). */
  readonly address?: string;
}

/** An address in a YAML flow mapping: IPv6 quoted (its colons), IPv4 as it is. */
export function yamlAddress(address: string): string {
  return address.includes(':') ? `'${address}'` : address;
}

/** A backend's ServiceEntry host. */
export const backendHost = (name: string): string => `${name}.example.internal`;

export function tcpServiceEntries(backends: readonly TcpBackend[]): string {
  return backends.map((b) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${b.name}}
spec:
  hosts: [${b.name}.example.internal]
  ports:
  - {number: 7000, name: tcp-main, protocol: ${b.protocol ?? 'TCP'}}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
  - {address: ${yamlAddress(b.address ?? '127.0.0.1')}, ports: {tcp-main: ${b.port}}}
`).join('---\n');
}

/** A gateway TCP server: `port` named `name` (protocol TCP unless given). */
export const tcpServer = (port: number, name: string, protocol = 'TCP'): GatewayServer => ({ port: { number: port, name, protocol } });

/** The Gateway `tcp-gw` with `servers` and the VirtualService `tcp-vs` with `routes` (tcpRoute items). */
export function tcpGatewayYaml(servers: readonly GatewayServer[], routes: readonly string[]): string {
  return yamlDocs(gatewayYaml('tcp-gw', servers), gatewayVirtualServiceYaml({ name: 'tcp-vs', gateway: 'tcp-gw', tcp: routes }));
}

/** Connections to `gatewayPort` split over the backends' port 7000 by weight. */
export function tcpSplit(gatewayPort: number, backends: ReadonlyArray<{ readonly name: string; readonly weight: number }>): string {
  return tcpRoute({ port: gatewayPort }, backends.map((b) => ({ host: backendHost(b.name), port: 7000, weight: b.weight })));
}

// tcpServiceEntries, tcpGateway and tcpVirtualService keep their block layout: tests edit their
// text (another endpoint, a `gateways:` line under the match, TLS on the TCP server) and locate
// issues by its line numbers.

export function tcpGateway(gatewayPort: number, protocol = 'TCP'): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${gatewayPort}, name: tcp, protocol: ${protocol}}
    hosts: ['*']
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
`;
}

export function tcpVirtualService(gatewayPort: number, backends: ReadonlyArray<{ readonly name: string; readonly weight: number }>): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-vs}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - match:
    - port: ${gatewayPort}
    route:
${backends.map((b) => `    - destination: {host: ${b.name}.example.internal, port: {number: 7000}}\n      weight: ${b.weight}`).join('\n')}
`;
}
