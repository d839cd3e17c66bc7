// A Gateway's TCP servers (MeshConfig.gatewayTcpListeners: TCP, MONGO, MYSQL, REDIS) and the
// VirtualService `tcp:` routes that hold for their ports, as Envoy listeners whose filter chains
// end in `envoy.filters.network.tcp_proxy`, the way Istio's gateway listener builder writes them:
// stat_prefix the cluster for one destination (else the route's name, as the wasmesh TCP proxy
// counts), `cluster` or `weighted_clusters`, idle_timeout 1 h (Istio's default, and wasmesh's).
//
// Routes are taken in VirtualService order for the port, as wasmesh's selectTcpRoute picks them:
// a route whose match names destinationSubnets becomes a chain with `prefix_ranges` (Envoy
// prefers it over the catch-all whatever the order, so a subnet route after a catch-all, which
// wasmesh never reaches, is left out and warned); the first route without subnets is the
// catch-all chain, and what follows it is unreachable in both. A port no route holds for gets no
// listener (Envoy refuses a listener without filter chains; wasmesh accepts and closes: the
// client sees a closed connection from both), warned.
import { envoyHcmAccessLog } from './access-log-config.js';
import type { AccessLogTarget } from '../model/access-logging.js';
import type { MeshConfig } from '../model/mesh.js';
import type { GatewayTcpListener, TcpRoute } from '../model/tcp-route.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import type { Obj } from './istio-resources.js';

export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** Istio's (and Envoy's) tcp_proxy idle timeout when the DestinationRule sets none. */
export const ISTIO_TCP_IDLE_TIMEOUT = '3600s';

export interface HostPortAt {
  host: string;
  port: number;
}

/** Where a Gateway port is served (wasmesh's `--port-map` entry; envoy-config `--tcp-ports`). */
export interface GatewayPortAt {
  port: number;
  at: HostPortAt;
}

/** The tcp_proxy network filter for one route, with the mesh's access logs (one line per connection, as wasmesh's TCP proxy writes). */
export function tcpProxyFilter(route: TcpRoute, accessLogs?: readonly AccessLogTarget[]): Obj {
  const config: Obj = { '@type': TCP_PROXY_TYPE };
  if (route.destinations.length === 1) {
    config.stat_prefix = route.destinations[0]!.cluster;
    config.cluster = route.destinations[0]!.cluster;
  } else {
    config.stat_prefix = route.name;
    config.weighted_clusters = { clusters: route.destinations.map((d) => {
      if (!Number.isInteger(d.weight) || d.weight < 0) {
        throw new EnvoyConfigError('envoy_config_bad_weight', `tcp route ${route.name} destination ${d.cluster}`, `weight must be a non-negative integer, got ${d.weight}`);
      }
      return { name: d.cluster, weight: d.weight };
    }) };
  }
  config.idle_timeout = ISTIO_TCP_IDLE_TIMEOUT;
  Object.assign(config, envoyHcmAccessLog(accessLogs));
  return { name: TCP_PROXY_FILTER, typed_config: config };
}

/** The filter chains of Gateway port `port` (or a sidecar's TCP service port, `where` naming it in warnings): one per reachable route, in the order above. */
export function tcpFilterChains(routes: readonly TcpRoute[], port: number, warnings: string[], accessLogs?: readonly AccessLogTarget[], where = `Gateway port ${port}`): Obj[] {
  const chains: Obj[] = [];
  const seenSubnets = new Set<string>();
  let catchAll: TcpRoute | null = null;
  for (const r of routes) {
    const holding = r.matches.length === 0 ? [{ port: null, destinationSubnets: [] as string[] }] : r.matches.filter((m) => m.port === null || m.port === port);
    if (holding.length === 0) continue;
    if (catchAll !== null) {
      warnings.push(`tcp route ${r.name}: after ${catchAll.name}, which takes every connection on ${where}; not reachable (left out of Envoy's listener)`);
      continue;
    }
    for (const m of holding) {
      if (m.destinationSubnets.length === 0) {
        catchAll = r;
        continue;
      }
      const key = [...m.destinationSubnets].sort().join(',');
      if (seenSubnets.has(key)) continue;
      seenSubnets.add(key);
      chains.push({ filter_chain_match: { prefix_ranges: m.destinationSubnets.map(cidrRange) }, filters: [tcpProxyFilter(r, accessLogs)] });
    }
  }
  if (catchAll !== null) chains.push({ filters: [tcpProxyFilter(catchAll, accessLogs)] });
  return chains;
}

/** A CIDR (or a lone address) as an Envoy CidrRange. */
export function cidrRange(cidr: string): Obj {
  const slash = cidr.indexOf('/');
  if (slash < 0) return { address_prefix: cidr, prefix_len: cidr.includes(':') ? 128 : 32 };
  return { address_prefix: cidr.slice(0, slash), prefix_len: Number(cidr.slice(slash + 1)) };
}

/**
 * One listener per Gateway TCP port: at `at` when the port is mapped (`ports`), else on
 * `defaultHost` at the Gateway's own port (where Istio's gateway listens).
 */
export function envoyTcpListeners(mesh: MeshConfig, namePrefix: string, defaultHost: string, ports: readonly GatewayPortAt[] | undefined, warnings: string[], strict: readonly GatewayPortAt[] = []): Obj[] {
  const out: Obj[] = [];
  const listeners: readonly GatewayTcpListener[] = mesh.gatewayTcpListeners ?? [];
  // The deprecated --tcp-ports names TCP ports only: any other port there is an error.
  for (const mapped of strict) {
    if (!listeners.some((l) => l.port === mapped.port)) {
      throw new EnvoyConfigError('envoy_config_bad_listen', `--tcp-ports ${mapped.port}`, `Gateway port ${mapped.port} is not a TCP server of the Gateway (TCP ports: ${listeners.map((l) => l.port).join(', ') || 'none'})`);
    }
  }
  for (const l of listeners) {
    const chains = tcpFilterChains(mesh.tcpRoutes ?? [], l.port, warnings, mesh.accessLogs);
    if (chains.length === 0) {
      warnings.push(`Gateway TCP port ${l.port}: no tcp: route holds for it; no Envoy listener (Envoy refuses one without filter chains; wasmesh closes each connection)`);
      continue;
    }
    const at = ports?.find((p) => p.port === l.port)?.at ?? { host: defaultHost, port: l.port };
    out.push({
      name: `${namePrefix}_tcp_${l.port}`,
      address: { socket_address: { address: at.host, port_value: at.port } },
      filter_chains: chains,
    });
  }
  return out;
}
