// Gateway TLS passthrough ports (host/model/tls-route.ts) as Envoy listeners, the way Istio
// programs a gateway: the `envoy.filters.listener.tls_inspector` listener filter, one filter
// chain per `tls:` match (filter_chain_match.server_names from its sniHosts, prefix_ranges from
// destinationSubnets) ending in a `tcp_proxy` to the route's cluster or weighted clusters; for
// AUTO_PASSTHROUGH one chain per cluster, matched on `outbound_.<port>_.<subset>_.<host>`. A
// port must be mapped to an address (`gatewayPorts`), or it is left out with a warning.
//
// wasmesh takes the first `tls:` match in VirtualService order; Envoy refuses two chains with the
// same match and picks the most specific server name. So a server name an earlier chain already
// claims (for the same subnets) is dropped from later chains, and a chain left with none is
// left out with a warning: Envoy then routes each name as wasmesh does, except where a narrower
// name in a later rule would win over an earlier wildcard (the difference is warned about).
import { envoyHcmAccessLog } from './access-log-config.js';
import type { AccessLogTarget } from '../model/access-logging.js';
import type { MeshConfig } from '../model/mesh.js';
import type { TcpRoute } from '../model/tcp-route.js';
import { autoPassthroughSni, type GatewayPassthroughListener } from '../model/tls-route.js';
import { isCatchAllCluster } from '../model/catch-all.js';
import type { Obj } from './istio-resources.js';

export interface PassthroughHostPort {
  host: string;
  port: number;
}

export const TLS_INSPECTOR = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

export function tlsTcpProxy(statPrefix: string, route: Pick<TcpRoute, 'destinations'>, accessLogs: readonly AccessLogTarget[] | undefined): Obj {
  const d = route.destinations;
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: statPrefix,
      ...(d.length === 1 ? { cluster: d[0]!.cluster } : { weighted_clusters: { clusters: d.filter((x) => x.weight > 0).map((x) => ({ name: x.cluster, weight: x.weight })) } }),
      // The mesh's access logs, one line per connection, as wasmesh's passthrough writes.
      ...envoyHcmAccessLog(accessLogs),
    },
  };
}

function prefixRange(cidr: string): Obj {
  const slash = cidr.indexOf('/');
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  const len = slash < 0 ? (address.includes(':') ? 128 : 32) : Number(cidr.slice(slash + 1));
  return { address_prefix: address, prefix_len: len };
}

/**
 * The filter chains of `tls:` routes on port `port` (a Gateway PASSTHROUGH port, or a sidecar's
 * TLS service port), first match first, overlaps removed (see above). `where` names the port in
 * warnings (`Gateway port 443`). `claimed` carries the names taken so far when the caller adds
 * chains of its own after these (a sidecar's per-service chains).
 */
export function tlsRouteChains(port: number, where: string, routes: readonly TcpRoute[], warnings: string[], accessLogs: readonly AccessLogTarget[] | undefined, claimed = new Map<string, string>()): Obj[] {
  const chains: Obj[] = [];
  for (const r of routes) {
    for (const m of r.matches) {
      if (m.port !== null && m.port !== port) continue;
      const subnets = [...m.destinationSubnets].sort().join(',');
      const names: string[] = [];
      for (const sni of m.sniHosts) {
        const key = `${subnets}|${sni}`;
        const owner = claimed.get(key);
        if (owner !== undefined) {
          if (owner !== r.name) warnings.push(`${where}: SNI ${sni} of ${r.name} is already routed by ${owner} (the first rule wins, as on wasmesh); left out of Envoy's filter chains`);
          continue;
        }
        claimed.set(key, r.name);
        names.push(sni);
      }
      if (names.length === 0) continue;
      // `*` takes every server name and none: a chain without server_names.
      const any = names.includes('*');
      const match: Obj = {
        ...(any ? {} : { server_names: names }),
        ...(m.destinationSubnets.length > 0 ? { prefix_ranges: m.destinationSubnets.map(prefixRange) } : {}),
      };
      chains.push({
        name: `${r.name}/${chains.length}`,
        filter_chain_match: match,
        filters: [tlsTcpProxy(r.destinations.length === 1 ? r.destinations[0]!.cluster : r.name, r, accessLogs)],
      });
    }
  }
  warnWildcardOrder(chains, where, warnings);
  return chains;
}

/** Where a later, more specific server name would win on Envoy over an earlier wildcard that wins on wasmesh. */
function warnWildcardOrder(chains: readonly Obj[], where: string, warnings: string[]): void {
  const namesOf = (c: Obj): string[] => ((c.filter_chain_match as Obj).server_names as string[] | undefined) ?? ['*'];
  chains.forEach((c, i) => {
    for (const w of namesOf(c)) {
      if (w !== '*' && !w.startsWith('*.')) continue;
      for (const later of chains.slice(i + 1)) {
        for (const n of namesOf(later)) {
          const covered = w === '*' ? n !== '*' : n !== w && n.endsWith(w.slice(1));
          if (covered) warnings.push(`${where}: ${n} (${String(later.name)}) comes after ${w} (${String(c.name)}); wasmesh routes it by the earlier rule, Envoy by the more specific server name`);
        }
      }
    }
  });
}

/** One Envoy listener per mapped passthrough port of `mesh`; unmapped ones warned about. */
export function envoyPassthroughListeners(mesh: MeshConfig, gateway: string, ports: ReadonlyArray<{ port: number; at: PassthroughHostPort }>, socketAddress: (hp: PassthroughHostPort) => Obj, warnings: string[]): Obj[] {
  const out: Obj[] = [];
  for (const l of mesh.gatewayPassthroughListeners ?? []) {
    const at = ports.find((p) => p.port === l.port)?.at;
    if (at === undefined) {
      warnings.push(`Gateway port ${l.port} (${l.mode}) has no address in the port map: not translated`);
      continue;
    }
    const chains = l.mode === 'PASSTHROUGH'
      ? tlsRouteChains(l.port, `Gateway port ${l.port}`, mesh.tlsRoutes ?? [], warnings, mesh.accessLogs)
      : mesh.clusters.filter((c) => !isCatchAllCluster(c.name) && c.port > 0).map((c) => ({
        name: c.name,
        filter_chain_match: { server_names: [autoPassthroughSni(c.port, c.subset, c.host)] },
        filters: [tlsTcpProxy(c.name, { destinations: [{ cluster: c.name, weight: 100 }] }, mesh.accessLogs)],
      }));
    if (chains.length === 0) {
      // Envoy refuses a listener without filter chains: the port is left closed.
      warnings.push(`Gateway port ${l.port} (${l.mode}): no route; not translated (connections are refused instead of closed)`);
      continue;
    }
    out.push({
      name: `gateway_${gateway.replace(/[^A-Za-z0-9_.-]/g, '_')}_${l.port}`,
      address: socketAddress(at),
      // Envoy's defaults, as wasmesh's: 15 s for the ClientHello, close when it does not come.
      listener_filters: [TLS_INSPECTOR],
      filter_chains: chains,
    });
  }
  return out;
}
