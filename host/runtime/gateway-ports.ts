// Where an ingress gateway listens for each port of its Gateway (`--port-map
// 443=127.0.0.1:8443,80=127.0.0.1:8080`, as a Kubernetes Service maps its ports to the pod's):
// each entry is one listener whose transport and hosts are that Gateway port's.
import { parseHostPort, type HostPort } from '../common/host-port.js';

export interface GatewayPort {
  /** The Gateway's port number (servers[].port.number). */
  readonly port: number;
  /** Where it is served. */
  readonly at: HostPort;
}

export class GatewayPortsError extends Error {
  readonly code = 'GATEWAY_PORTS_INVALID';
  constructor(detail: string) {
    super(`${detail} (GATEWAY_PORTS_INVALID)`);
    this.name = 'GatewayPortsError';
  }
}

/** `443=127.0.0.1:8443,80=127.0.0.1:8080` → entries in the order given; each problem named. */
export function parseGatewayPorts(text: string): GatewayPort[] {
  const out: GatewayPort[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const portText = eq < 0 ? '' : item.slice(0, eq);
    const port = Number(portText);
    if (eq <= 0 || !/^\d+$/.test(portText) || port < 1 || port > 65_535) {
      throw new GatewayPortsError(`"${item}" is not <gateway port>=<host:port> (a Gateway port 1..65535)`);
    }
    let at: HostPort;
    try {
      at = parseHostPort(item.slice(eq + 1));
    } catch (err) {
      throw new GatewayPortsError(`"${item}": ${(err as Error).message}`);
    }
    if (out.some((p) => p.port === port)) throw new GatewayPortsError(`Gateway port ${port} is mapped twice`);
    if (at.port !== 0 && out.some((p) => p.at.host === at.host && p.at.port === at.port)) throw new GatewayPortsError(`${at.host}:${at.port} is given for two Gateway ports`);
    out.push({ port, at });
  }
  if (out.length === 0) throw new GatewayPortsError('no <gateway port>=<host:port> given');
  return out;
}
