// Istio YAML for TCP through a gateway, with ports of the test's choosing: one STATIC
// ServiceEntry per backend (a `tcp` port 7000 mapped to 127.0.0.1:<port>), a Gateway `tcp-gw`
// with a TCP server on `gatewayPort`, and a VirtualService `tcp-vs` whose one `tcp:` rule
// splits connections over the backends by `weights`.

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
