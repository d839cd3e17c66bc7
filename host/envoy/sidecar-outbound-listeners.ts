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
//     rest to the catch-all cluster).
// With TPROXY interception (node metadata INTERCEPTION_MODE) the bound listener is `transparent`,
// as Istio sets it (Envoy then needs CAP_NET_ADMIN).
import type { MeshConfig } from '../model/mesh.js';
import type { ServiceAddress } from '../model/service-address.js';
import { carriedAs } from '../model/port-protocol.js';
import { vsHostMatches, type TcpRoute } from '../model/tcp-route.js';
import { BLACKHOLE_CLUSTER, isCatchAllCluster, PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import type { Obj } from './istio-resources.js';
import { tcpFilterChains, tcpProxyFilter } from './tcp-proxy-listeners.js';
import { TLS_INSPECTOR, tlsRouteChains, tlsTcpProxy } from './tls-passthrough-listener.js';

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
  /** The HTTP connection manager's typed_config: every HTTP listener's copy shares its route configuration. */
  hcm: Obj;
  /** TPROXY interception: virtualOutbound is transparent (IP_TRANSPARENT). */
  transparent: boolean;
  warnings: string[];
}

function socketAddress(host: string, port: number): Obj {
  return { socket_address: { address: host, port_value: port } };
}

/** A tcp_proxy to one cluster (stat_prefix the cluster), with the mesh's access logs. */
function toCluster(cluster: string, mesh: MeshConfig): Obj {
  return tcpProxyFilter({ name: cluster, hosts: [], matches: [], destinations: [{ cluster, weight: 100 }] }, mesh.accessLogs);
}

/** The HTTP connection manager of one listener: its own stat_prefix, the shared route configuration (the same object, so xDS serves it once). */
function hcmFilter(hcm: Obj, listenerName: string): Obj {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: { ...hcm, stat_prefix: `outbound_${listenerName}` } };
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
function serviceListener(name: string, address: string, entries: readonly ServiceAddress[], o: SidecarOutboundOptions): Obj | null {
  const { mesh, warnings } = o;
  const e = entries[0]!;
  const where = `sidecar listener ${name}`;
  const base = { name, address: socketAddress(address, e.port), bind_to_port: false, traffic_direction: 'OUTBOUND' };
  switch (carriedAs(e.protocol)) {
    case 'http1':
    case 'http2':
      return { ...base, filter_chains: [{ filters: [hcmFilter(o.hcm, name)] }] };
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
          { name: `${name}/http`, filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: HTTP_ALPN }, filters: [hcmFilter(o.hcm, name)] },
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
export function envoySidecarOutboundListeners(o: SidecarOutboundOptions): Obj[] {
  const { mesh, warnings } = o;
  const blocked = (mesh.outboundTrafficPolicy ?? 'ALLOW_ANY') === 'REGISTRY_ONLY';
  const virtualOutbound: Obj = {
    name: VIRTUAL_OUTBOUND,
    address: socketAddress(o.listen.host, o.listen.port),
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
  for (const e of mesh.serviceAddresses ?? []) {
    if (e.address === null) {
      const list = anyAddress.get(e.port) ?? [];
      list.push(e);
      anyAddress.set(e.port, list);
      continue;
    }
    if (e.address.includes('/')) {
      warnings.push(`service ${e.host}: address range ${e.address} is not translated for an Envoy sidecar yet (connections to it fall to ${VIRTUAL_OUTBOUND}); wasmesh's sidecar routes it`);
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
    const l = serviceListener(`0.0.0.0_${port}`, '0.0.0.0', sharing, o);
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
    const name = `0.0.0.0_${port}`;
    out.push({
      name, address: socketAddress('0.0.0.0', port), bind_to_port: false, traffic_direction: 'OUTBOUND',
      listener_filters: [HTTP_INSPECTOR],
      ...inspectTimeout(mesh),
      filter_chains: [
        { name: `${name}/http`, filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: HTTP_ALPN }, filters: [hcmFilter(o.hcm, name)] },
        { name: `${name}/${catchAll}`, filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [toCluster(catchAll, mesh)] },
      ],
    });
  }
  return out;
}
