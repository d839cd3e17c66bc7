// VirtualService `tcp:` and `tls:` routes, resolved for one proxy (Envoy's tcp_proxy filter
// chains): which connections a rule takes (L4 attributes, and SNI for `tls:`), and the weighted
// clusters it sends them to. `sourceLabels` and `gateways` are decided by host/config when it
// builds the routes for one proxy (as for HTTP routes), so a match that cannot apply never
// reaches the model. Rules are in VirtualService order; the first whose match holds wins.

/** Istio L4MatchAttributes / TLSMatchAttributes, resolved. Every condition set must hold. */
export interface L4Match {
  /** The port the connection was made to (the original destination's port); null: any. */
  port: number | null;
  /** CIDRs (`10.0.0.0/8`, `10.1.2.3` = /32, IPv6 too) of the original destination address; empty: any. */
  destinationSubnets: string[];
  /** `tls:` routes only: SNI patterns (exact, `*.suffix`, `*`), lower-case; empty for `tcp:`. */
  sniHosts: string[];
}

export interface TcpRouteDestination {
  /** Name of a Cluster in MeshConfig.clusters. */
  cluster: string;
  /** Relative weight (as RouteDestination.weight). */
  weight: number;
}

export interface TcpRoute {
  /** `<namespace>/<virtualservice>/tcp-<index>` (or `tls-<index>`), for stats and logs. */
  name: string;
  /** The VirtualService it was written in (mesh.ts's IstioConfigName, not imported: mesh.ts imports this file). */
  virtualService?: { namespace: string; name: string };
  /** The VirtualService host(s) this rule serves (lower-case FQDNs or `*.suffix`), for a sidecar's per-service filter chains. */
  hosts: string[];
  /** ORed; empty: every connection. */
  matches: L4Match[];
  destinations: TcpRouteDestination[];
}

/** Gateway server protocols served as a byte proxy (Istio's TCP-carried protocols on a Gateway; TLS PASSTHROUGH is separate). */
export type GatewayTcpProtocol = 'TCP' | 'MONGO' | 'MYSQL' | 'REDIS';

/**
 * A Gateway port whose servers are TCP (or MONGO, MYSQL, REDIS: plain TCP, as Istio carries them
 * with its protocol filters off): the gateway listens there with a byte proxy and routes each
 * connection by the `tcp:` routes whose match holds for that port.
 */
export interface GatewayTcpListener {
  /** The Gateway's port number. */
  readonly port: number;
  readonly protocol: GatewayTcpProtocol;
  /** The servers' names (`<gateway ns>/<gateway name>/<index>` or their own), for stats and logs. */
  readonly servers: readonly string[];
}

/** Does `m` hold for a connection to `port` (gateway: the Gateway port) at destination address `address` (null: unknown)? */
export function l4MatchHolds(m: L4Match, port: number, address: string | null, inSubnet: (address: string, cidr: string) => boolean): boolean {
  if (m.port !== null && m.port !== port) return false;
  if (m.destinationSubnets.length === 0) return true;
  if (address === null) return false;
  return m.destinationSubnets.some((c) => inSubnet(address, c));
}

/** The first route in `routes` with a match holding (a route without matches takes every connection); -1: none. */
export function selectTcpRoute(routes: readonly TcpRoute[], port: number, address: string | null, inSubnet: (address: string, cidr: string) => boolean): number {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.matches.length === 0 || r.matches.some((m) => l4MatchHolds(m, port, address, inSubnet))) return i;
  }
  return -1;
}

/** A VirtualService host (`name`, `*.suffix`, `*`) naming the service host `host` (which rules of a sidecar's `tcp:`/`tls:` routes apply to a service). */
export function vsHostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}
