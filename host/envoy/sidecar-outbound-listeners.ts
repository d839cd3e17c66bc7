// An Envoy sidecar's outbound side the way Istio's sidecar listener builder lays it out, so stock
// Envoy behind iptables capture (REDIRECT or TPROXY) routes each connection by its original
// destination as the wasmesh sidecar's capture does (host/sidecar/outbound-capture.ts):
//   - `virtualOutbound` on the capture port (0.0.0.0:15001): `use_original_dst` with the
//     `original_dst` listener filter, so each connection is handed to the listener of its
//     original destination; what no listener takes falls to its `virtualOutbound-catchall-tcp`
//     chain: a tcp_proxy to PassthroughCluster (meshConfig outboundTrafficPolicy ALLOW_ANY) or
//     BlackHoleCluster (REGISTRY_ONLY: closed, never passed), and `virtualOutbound-blackhole`
//     for a connection made to 15001 itself (Istio's loop guard);
//   - `<VIP>_<port>` (not bound: `bind_to_port: false`) per service address
//     (MeshConfig.serviceAddresses), by the port's protocol: TCP, MONGO, MYSQL, REDIS → the
//     service's `tcp:` routes as tcp_proxy chains (weighted clusters, destinationSubnets as
//     prefix_ranges), else its own cluster; TLS, HTTPS → tls_inspector and the service's `tls:`
//     routes as chains by server_names, else its own cluster; HTTP → the HTTP connection
//     manager; an unnamed port → http_inspector + tls_inspector: HTTP to the connection manager,
//     TLS by SNI, the rest as TCP, waiting at most meshConfig protocolDetectionTimeout;
//   - `0.0.0.0_<port>` for the TCP and TLS ports of services without addresses (the first by host
//     takes the port, a TLS port's services told apart by SNI, as the wasmesh capture does) and for
//     every HTTP service port (Istio's per-port HTTP listeners: sniffed HTTP routed by Host, the
//     rest to the catch-all cluster);
//   - a ServiceEntry address that is a CIDR: chains of `0.0.0.0_<port>` matching it by
//     destination_prefix_ranges (Istio binds such a service on the wildcard with the CIDR as the
//     chains' destination), laid out by the port's protocol as a VIP's listener is; an HTTP port's
//     range needs none (0.0.0.0_<port> routes it by Host).
// Every HTTP connection manager routes with its port's route configuration, named by the port as
// Istio's RDS names them ("80", "8080": sidecar-port-routes.ts), one object per port shared by
// that port's listeners, so xDS serves each once.
// With TPROXY interception (node metadata INTERCEPTION_MODE) the bound listener is `transparent`,
// as Istio sets it (Envoy then needs CAP_NET_ADMIN).
// The wildcard is the pod's (host/model/ip-families.ts): `0.0.0.0_<port>` on a pod with IPv4,
// `::_<port>` on an IPv6-only pod; a dual-stack pod's wildcard listeners (and virtualOutbound on
// 0.0.0.0) get `[::]` as `additional_addresses`, as Istio writes them, so an IPv6 original
// destination finds its port's listener (Envoy looks a wildcard up in the destination's family).
import type { MeshConfig } from '../model/mesh.js';
import type { ServiceAddress } from '../model/service-address.js';
import { carriedAs } from '../model/port-protocol.js';
import { vsHostMatches, type TcpRoute } from '../model/tcp-route.js';
import { BLACKHOLE_CLUSTER, isCatchAllCluster, PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import type { Obj } from './istio-resources.js';
import { cidrRange, tcpFilterChains, tcpProxyFilter } from './tcp-proxy-listeners.js';
import { TLS_INSPECTOR, tlsRouteChains, tlsTcpProxy } from './tls-passthrough-listener.js';
import { withOtherWildcards } from './listener-wildcards.js';

export const VIRTUAL_OUTBOUND = 'virtualOutbound';

const ORIGINAL_DST = {
  name: 'envoy.filters.listener.original_dst',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
};
const HTTP_INSPECTOR = {
  name: 'envoy.filters.listener.http_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
};
/** What http_inspector reports for plaintext HTTP (Istio's sniffed-HTTP chain match). */
const HTTP_ALPN = ['http/1.1', 'http/1.0', 'h2c'];

export interface SidecarOutboundOptions {
  mesh: MeshConfig;
  /** Where virtualOutbound binds (the capture port: 0.0.0.0:15001). */
  listen: { host: string; port: number };
  /** The HTTP connection manager's typed_config (its route_config replaced by the port's). */
  hcm: Obj;
  /** The route configuration of one port (Istio's per-port RDS); called once per port. */
  routeConfigFor: (port: number) => Obj;
  /** TPROXY interception: virtualOutbound is transparent (IP_TRANSPARENT). */
  transparent: boolean;
  /** The pod's wildcards (listenWildcards): the first binds and names the per-port listeners, the others are their additional addresses. Default 0.0.0.0. */
  wildcards?: readonly string[];
  warnings: string[];
}

function socketAddress(host: string, port: number): Obj {
  return { socket_address: { address: host, port_value: port } };
}

/** A listener's address on `host`, with the pod's other wildcards as additional addresses when `host` is its first (dual-stack). */
function listenerAddress(o: SidecarOutboundOptions, host: string, port: number): Obj {
  return withOtherWildcards({ address: socketAddress(host, port) }, o.wildcards ?? ['0.0.0.0']);
}

/** The per-port wildcard listener's address host and name (`0.0.0.0_80`, `::_80` on an IPv6-only pod). */
function wildcardOf(o: SidecarOutboundOptions): string {
  return (o.wildcards ?? ['0.0.0.0'])[0]!;
}

/** A tcp_proxy to one cluster (stat_prefix the cluster), with the mesh's access logs. */
function toCluster(cluster: string, mesh: MeshConfig): Obj {
  return tcpProxyFilter({ name: cluster, hosts: [], matches: [], destinations: [{ cluster, weight: 100 }] }, mesh.accessLogs);
}

/** The options with the per-port route configurations made once each. */
interface Layout extends SidecarOutboundOptions {
  routes(port: number): Obj;
}

/** The HTTP connection manager of one listener: its own stat_prefix, its port's route configuration (the same object for the port's listeners, so xDS serves it once). */
function hcmFilter(o: Layout, listenerName: string, port: number): Obj {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: { ...o.hcm, stat_prefix: `outbound_${listenerName}`, route_config: o.routes(port) } };
}

/** Detection timeout settings (Istio: protocolDetectionTimeout; 0: wait, as wasmesh does), for listeners that inspect first bytes. */
function inspectTimeout(mesh: MeshConfig): Obj {
  const ms = mesh.protocolDetectionTimeoutMs ?? 0;
  return { listener_filters_timeout: `${ms / 1000}s`, continue_on_listener_filters_timeout: true };
}

/** The `tcp:` routes that name `host`. */
function routesOf(routes: readonly TcpRoute[] | undefined, hosts: readonly string[]): TcpRoute[] {
  return (routes ?? []).filter((r) => r.hosts.some((h) => hosts.some((host) => vsHostMatches(h, host))));
}

/** The TCP chains of a service port: its `tcp:` routes, then its own cluster when no route takes every connection. */
function tcpChains(e: ServiceAddress, mesh: MeshConfig, where: string, warnings: string[]): Obj[] {
  const chains = tcpFilterChains(routesOf(mesh.tcpRoutes, [e.host]), e.port, warnings, mesh.accessLogs, where);
  const hasCatchAll = chains.some((c) => c.filter_chain_match === undefined);
  if (!hasCatchAll) chains.push({ filters: [toCluster(e.cluster, mesh)] });
  return chains;
}

/**
 * The TLS chains of a service port (one service, or the services without addresses sharing the
 * port, first by host the default): their `tls:` routes by SNI, then each service by its own host
 * name as SNI (several services), then the default service's cluster for any other name.
 */
function tlsChains(entries: readonly ServiceAddress[], mesh: MeshConfig, where: string, warnings: string[]): Obj[] {
  const claimed = new Map<string, string>();
  const chains = tlsRouteChains(entries[0]!.port, where, routesOf(mesh.tlsRoutes, entries.map((e) => e.host)), warnings, mesh.accessLogs, claimed);
  if (entries.length > 1) {
    for (const e of entries) {
      if (claimed.has(`|${e.host}`)) continue;
      claimed.set(`|${e.host}`, e.cluster);
      chains.push({ name: e.cluster, filter_chain_match: { server_names: [e.host] }, filters: [tlsTcpProxy(e.cluster, { destinations: [{ cluster: e.cluster, weight: 100 }] }, mesh.accessLogs)] });
    }
  }
  if (!claimed.has('|*')) chains.push({ name: entries[0]!.cluster, filters: [tlsTcpProxy(entries[0]!.cluster, { destinations: [{ cluster: entries[0]!.cluster, weight: 100 }] }, mesh.accessLogs)] });
  return chains;
}

function isTls(e: ServiceAddress): boolean {
  return e.protocol === 'TLS' || e.protocol === 'HTTPS';
}

/**
 * `transport` added to each chain's match (a sniffing listener's TLS and TCP chains): Envoy
 * matches the transport protocol before the application protocol and does not come back to a
 * chain without one when the raw_buffer branch has no match, so the plaintext TCP chains must
 * name raw_buffer beside the sniffed-HTTP chain (as Istio writes them).
 */
function withTransport(chains: Obj[], transport: 'tls' | 'raw_buffer'): Obj[] {
  return chains.map((c) => ({ ...c, filter_chain_match: { ...((c.filter_chain_match as Obj | undefined) ?? {}), transport_protocol: transport } }));
}

/** One not-bound listener (Istio's `<address>_<port>`) for the service ports `entries` (one, or several without addresses on one port). */
function serviceListener(name: string, address: string, entries: readonly ServiceAddress[], o: Layout): Obj | null {
  const { mesh, warnings } = o;
  const e = entries[0]!;
  const where = `sidecar listener ${name}`;
  const base = { name, ...listenerAddress(o, address, e.port), bind_to_port: false, traffic_direction: 'OUTBOUND' };
  switch (carriedAs(e.protocol)) {
    case 'http1':
    case 'http2':
      return { ...base, filter_chains: [{ filters: [hcmFilter(o, name, e.port)] }] };
    case 'tcp':
      if (isTls(e)) return { ...base, listener_filters: [TLS_INSPECTOR], ...inspectTimeout(mesh), filter_chains: tlsChains(entries, mesh, where, warnings) };
      return { ...base, filter_chains: tcpChains(e, mesh, where, warnings) };
    case 'sniff': {
      // Istio's protocol sniffing: HTTP (http_inspector) to the connection manager, TLS by SNI,
      // the rest as TCP. A tcp: route with destinationSubnets is preferred by Envoy over the HTTP
      // chain (destination before application protocol in its match order).
      const tcp = tcpChains(e, mesh, where, warnings);
      if (tcp.some((c) => c.filter_chain_match !== undefined)) warnings.push(`${where}: a tcp: route with destinationSubnets on a port of unknown protocol; Envoy matches the subnet before the sniffed protocol, so HTTP to that subnet is proxied as TCP (wasmesh sniffs first)`);
      return {
        ...base,
        listener_filters: [TLS_INSPECTOR, HTTP_INSPECTOR],
        ...inspectTimeout(mesh),
        filter_chains: [
          { name: `${name}/http`, filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: HTTP_ALPN }, filters: [hcmFilter(o, name, e.port)] },
          ...withTransport(tlsChains([e], mesh, where, warnings), 'tls'),
          ...withTransport(tcp, 'raw_buffer'),
        ],
      };
    }
    case 'none':
      warnings.push(`${where}: ${e.protocol} port of ${e.host} is not proxied (left to virtualOutbound)`);
      return null;
  }
}

/** virtualOutbound, then the per-address and per-port listeners (see the file header). */
export function envoySidecarOutboundListeners(options: SidecarOutboundOptions): Obj[] {
  const made = new Map<number, Obj>();
  const o: Layout = {
    ...options,
    routes: (port) => {
      let rc = made.get(port);
      if (rc === undefined) made.set(port, (rc = options.routeConfigFor(port)));
      return rc;
    },
  };
  const { mesh, warnings } = o;
  const blocked = (mesh.outboundTrafficPolicy ?? 'ALLOW_ANY') === 'REGISTRY_ONLY';
  const virtualOutbound: Obj = {
    name: VIRTUAL_OUTBOUND,
    ...listenerAddress(o, o.listen.host, o.listen.port),
    use_original_dst: true,
    ...(o.transparent ? { transparent: true } : {}),
    traffic_direction: 'OUTBOUND',
    listener_filters: [ORIGINAL_DST],
    filter_chains: [
      // A connection to the capture port itself has no other destination: closed (Istio's loop guard).
      { name: `${VIRTUAL_OUTBOUND}-blackhole`, filter_chain_match: { destination_port: o.listen.port }, filters: [toCluster(BLACKHOLE_CLUSTER, mesh)] },
      { name: `${VIRTUAL_OUTBOUND}-catchall-tcp`, filters: [toCluster(blocked ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER, mesh)] },
    ],
  };
  const out: Obj[] = [virtualOutbound];
  const byName = new Map<string, ServiceAddress[]>();
  const anyAddress = new Map<number, ServiceAddress[]>();
  const ranges = new Map<number, ServiceAddress[]>();
  for (const e of mesh.serviceAddresses ?? []) {
    if (e.address === null) {
      const list = anyAddress.get(e.port) ?? [];
      list.push(e);
      anyAddress.set(e.port, list);
      continue;
    }
    if (e.address.includes('/')) {
      const list = ranges.get(e.port) ?? [];
      // The first service to claim a range on a port keeps it (Envoy refuses two chains with one match), as on wasmesh.
      if (!list.some((x) => x.address === e.address)) list.push(e);
      ranges.set(e.port, list);
      continue;
    }
    const name = `${e.address}_${e.port}`;
    // The first service to claim an address and port keeps it, as on wasmesh.
    if (!byName.has(name)) byName.set(name, [e]);
  }
  for (const [name, [e]] of byName) {
    const l = serviceListener(name, e!.address!, [e!], o);
    if (l !== null) out.push(l);
  }
  const taken = new Set<number>();
  for (const [port, entries] of [...anyAddress].sort((a, b) => a[0] - b[0])) {
    // The first service (by host) decides the port's protocol; a TLS port's TLS services share it by SNI.
    const first = entries[0]!;
    const sharing = isTls(first) ? entries.filter(isTls) : [first];
    const l = serviceListener(`${wildcardOf(o)}_${port}`, wildcardOf(o), sharing, o);
    if (l !== null) {
      out.push(l);
      taken.add(port);
    }
  }
  // Istio's per-port HTTP listeners: every HTTP service port not already a TCP one.
  const httpPorts = new Set<number>();
  for (const c of mesh.clusters) {
    if (isCatchAllCluster(c.name) || c.port <= 0 || taken.has(c.port) || c.port === o.listen.port) continue;
    const carried = carriedAs(c.protocol ?? 'HTTP');
    if (carried === 'http1' || carried === 'http2') httpPorts.add(c.port);
  }
  // As Istio writes them: http_inspector, sniffed HTTP to the connection manager (routed by Host),
  // anything else to the catch-all (passed through, or closed under REGISTRY_ONLY), as the
  // wasmesh sidecar treats a connection to an address it does not know.
  const catchAll = blocked ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  for (const port of [...httpPorts].sort((a, b) => a - b)) {
    const name = `${wildcardOf(o)}_${port}`;
    out.push({
      name, ...listenerAddress(o, wildcardOf(o), port), bind_to_port: false, traffic_direction: 'OUTBOUND',
      listener_filters: [HTTP_INSPECTOR],
      ...inspectTimeout(mesh),
      filter_chains: [
        { name: `${name}/http`, filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: HTTP_ALPN }, filters: [hcmFilter(o, name, port)] },
        { name: `${name}/${catchAll}`, filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [toCluster(catchAll, mesh)] },
      ],
    });
  }
  for (const [port, entries] of [...ranges].sort((a, b) => a[0] - b[0])) addRangeChains(out, port, entries, o);
  return out;
}

/** `chains` each also matching the destination range `cidr` (their other conditions kept). */
function inRange(chains: Obj[], cidr: string): Obj[] {
  return chains.map((c) => ({ ...c, filter_chain_match: { ...((c.filter_chain_match as Obj | undefined) ?? {}), prefix_ranges: [cidrRange(cidr)] } }));
}

/**
 * The chains of services whose ServiceEntry address is a range, on `0.0.0.0_<port>` (made when
 * the port has no listener yet): each range's chains by the port's protocol, as a VIP's listener
 * has them, matched by destination_prefix_ranges; the listener gets the inspectors they need.
 */
function addRangeChains(out: Obj[], port: number, entries: readonly ServiceAddress[], o: Layout): void {
  const { mesh, warnings } = o;
  const name = `${wildcardOf(o)}_${port}`;
  const chains: Obj[] = [];
  const inspectors = new Set<Obj>();
  for (const e of entries) {
    const where = `sidecar listener ${name} range ${e.address}`;
    const cidr = e.address!;
    const tcp = (): Obj[] => {
      const all = tcpChains(e, mesh, where, warnings);
      if (all.some((c) => c.filter_chain_match !== undefined)) warnings.push(`${where}: a tcp: route with destinationSubnets for ${e.host}, whose address is a range: not translated for an Envoy sidecar (the route's other matches and the service's own cluster are)`);
      return all.filter((c) => c.filter_chain_match === undefined);
    };
    switch (carriedAs(e.protocol)) {
      case 'http1':
      case 'http2':
        // Routed by Host on the port's HTTP listener (0.0.0.0_<port>, its route table has the host), as Istio does.
        continue;
      case 'tcp':
        if (isTls(e)) {
          inspectors.add(TLS_INSPECTOR);
          chains.push(...inRange(tlsChains([e], mesh, where, warnings), cidr));
        } else {
          chains.push(...inRange(tcp(), cidr));
        }
        continue;
      case 'sniff':
        inspectors.add(TLS_INSPECTOR);
        inspectors.add(HTTP_INSPECTOR);
        chains.push(...inRange([
          { name: `${name}/${cidr}/http`, filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: HTTP_ALPN }, filters: [hcmFilter(o, name, port)] },
          ...withTransport(tlsChains([e], mesh, where, warnings), 'tls'),
          ...withTransport(tcp(), 'raw_buffer'),
        ], cidr));
        continue;
      case 'none':
        warnings.push(`${where}: ${e.protocol} port of ${e.host} is not proxied (left to virtualOutbound)`);
        continue;
    }
  }
  if (chains.length === 0) return;
  let listener = out.find((l) => l.name === name);
  if (listener === undefined) {
    listener = { name, ...listenerAddress(o, wildcardOf(o), port), bind_to_port: false, traffic_direction: 'OUTBOUND', filter_chains: [] };
    out.push(listener);
  }
  const filters = [...((listener.listener_filters as Obj[] | undefined) ?? [])];
  for (const f of [TLS_INSPECTOR, HTTP_INSPECTOR]) if (inspectors.has(f) && !filters.some((x) => x.name === f.name)) filters.push(f);
  if (filters.length > 0) Object.assign(listener, { listener_filters: filters, ...inspectTimeout(mesh) });
  // Envoy matches the destination range before the transport: a range's branch holds only its own chains.
  listener.filter_chains = [...(listener.filter_chains as Obj[]), ...chains];
}
