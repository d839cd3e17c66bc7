// A Gateway's TCP servers (protocol TCP, MONGO, MYSQL, REDIS) → the ports its proxy serves with a
// byte proxy (host/model/tcp-route.ts GatewayTcpListener). Istio carries MONGO, MYSQL and REDIS as
// plain TCP unless their protocol filters are turned on (they are off by default), and so does
// wasmesh. A port is either HTTP-like or TCP; a TCP server with TLS settings is refused (TLS
// PASSTHROUGH is a `TLS` server, gateway-passthrough.ts).
import type { GatewaySpec } from '../istio-schemas.js';
import { issueAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { ConfigIssue } from '../config-error.js';
import { GATEWAY_HTTP_PROTOCOLS } from './gateway-tls.js';
import type { GatewayTcpListener, GatewayTcpProtocol } from '../../model/tcp-route.js';

export const GATEWAY_TCP_PROTOCOLS: ReadonlySet<string> = new Set<GatewayTcpProtocol>(['TCP', 'MONGO', 'MYSQL', 'REDIS']);

/** The TCP ports of `gateway`, in port order; problems go to `issues`, located. */
export function gatewayTcpListeners(gateway: SourcedResource, issues: ConfigIssue[]): GatewayTcpListener[] {
  const spec = gateway.resource.spec as GatewaySpec;
  const httpPorts = new Set(spec.servers.filter((s) => GATEWAY_HTTP_PROTOCOLS.has(s.port.protocol.toUpperCase())).map((s) => s.port.number));
  const byPort = new Map<number, { protocol: GatewayTcpProtocol; servers: string[] }>();
  spec.servers.forEach((server, i) => {
    const protocol = server.port.protocol.toUpperCase();
    if (!GATEWAY_TCP_PROTOCOLS.has(protocol)) return;
    const at = ['spec', 'servers', i] as const;
    if (server.tls !== undefined) {
      issues.push(issueAt(gateway.ref, 'unsupported_field', [...at, 'tls'], `a ${protocol} server is a plain byte proxy: tls is not served on it (TLS passthrough is a TLS server with tls.mode PASSTHROUGH)`));
      return;
    }
    if (httpPorts.has(server.port.number)) {
      issues.push(issueAt(gateway.ref, 'invalid_value', [...at, 'port', 'number'], `port ${server.port.number} has both HTTP and ${protocol} servers; a port serves one protocol`));
      return;
    }
    const name = server.name ?? `${gateway.resource.namespace}/${gateway.resource.name}/${i}`;
    const have = byPort.get(server.port.number);
    if (have === undefined) byPort.set(server.port.number, { protocol: protocol as GatewayTcpProtocol, servers: [name] });
    else have.servers.push(name);
  });
  return [...byPort].sort((a, b) => a[0] - b[0]).map(([port, l]) => ({ port, protocol: l.protocol, servers: l.servers }));
}
