// `proxy-config listeners`: istioctl's listener table from a config dump — ADDRESS, PORT, MATCH
// and DESTINATION per filter chain (the default, istioctl's --verbose), or ADDRESS, PORT, TYPE
// per listener — sorted by port, address, type; filtered by --address, --port, --type.
import { tabWrite } from './tab-writer.js';

type Json = Record<string, any>;

export interface ListenerFilter {
  address?: string;
  port?: number;
  type?: string;
}

const HTTP_FILTER = 'envoy.filters.network.http_connection_manager';
const TCP_FILTER = 'envoy.filters.network.tcp_proxy';

const address = (l: Json): string => String(l.address?.socket_address?.address ?? '');
const port = (l: Json): number => Number(l.address?.socket_address?.port_value ?? 0);
const chains = (l: Json): Json[] => [...((l.filter_chains as Json[] | undefined) ?? []), ...(l.default_filter_chain ? [l.default_filter_chain as Json] : [])];
const isBlackHole = (f: Json): boolean => JSON.stringify(f.typed_config ?? {}).includes('BlackHoleCluster');

/** HTTP, TCP, HTTP+TCP or UNKNOWN by the listener's network filters (a black-hole TCP proxy does not count). */
export function listenerType(l: Json): string {
  let http = 0;
  let tcp = 0;
  for (const c of chains(l)) {
    for (const f of (c.filters as Json[] | undefined) ?? []) {
      if (f.name === HTTP_FILTER) http++;
      else if (f.name === TCP_FILTER && !isBlackHole(f)) tcp++;
    }
  }
  if (http > 0) return tcp === 0 ? 'HTTP' : 'HTTP+TCP';
  return tcp > 0 ? 'TCP' : 'UNKNOWN';
}

export function listenerMatches(f: ListenerFilter, l: Json): boolean {
  if (f.address !== undefined && address(l).toLowerCase() !== f.address.toLowerCase()) return false;
  if (f.port !== undefined && port(l) !== f.port) return false;
  if (f.type !== undefined && listenerType(l).toLowerCase() !== f.type.toLowerCase()) return false;
  return true;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const APP_PROTOCOLS: ReadonlyArray<[string, readonly string[]]> = [
  ['App: HTTP TLS', ['http/1.0', 'http/1.1', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: Istio HTTP Plain', ['istio', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: TCP TLS', ['istio-peer-exchange', 'istio']],
  ['App: HTTP', ['http/1.0', 'http/1.1', 'h2c']],
];

/** A filter chain's match as istioctl words it (SNI, transport, ALPN, destination), `ALL` when it has none. */
export function describeChainMatch(match: Json | undefined): string {
  const m = match ?? {};
  const out: string[] = [];
  if (Array.isArray(m.server_names) && m.server_names.length > 0) out.push(`SNI: ${m.server_names.join(',')}`);
  if (typeof m.transport_protocol === 'string' && m.transport_protocol !== '') out.push(`Trans: ${m.transport_protocol}`);
  if (Array.isArray(m.application_protocols) && m.application_protocols.length > 0) {
    const known = APP_PROTOCOLS.find(([, p]) => same(p, m.application_protocols));
    out.push(known ? known[0] : `App: ${m.application_protocols.join(',')}`);
  }
  const dport = m.destination_port === undefined ? '' : `:${m.destination_port}`;
  if (Array.isArray(m.prefix_ranges) && m.prefix_ranges.length > 0) {
    out.push(`Addr: ${m.prefix_ranges.map((p: Json) => `${p.address_prefix}/${p.prefix_len ?? 0}`).join(',')}${dport}`);
  } else if (dport !== '') {
    out.push(`Addr: *${dport}`);
  }
  return out.length === 0 ? 'ALL' : out.join('; ');
}

/** A route match as istioctl words it: `/prefix*`, the exact path, or `regex …`; headers ignored. */
export function describeMatch(match: Json | undefined): string {
  const conds: string[] = [];
  if (typeof match?.prefix === 'string' && match.prefix !== '') conds.push(`${match.prefix}*`);
  if (typeof match?.path === 'string' && match.path !== '') conds.push(match.path);
  if (match?.safe_regex) conds.push(`regex regex:${JSON.stringify(String(match.safe_regex.regex ?? ''))}`);
  return conds.join(' ');
}

function describeRouteConfig(rc: Json): string {
  const vhosts = (rc.virtual_hosts as Json[] | undefined) ?? [];
  if (vhosts.length === 1) {
    const vh = vhosts[0]!;
    const routes = (vh.routes as Json[] | undefined) ?? [];
    const r = routes[0];
    if (same(vh.domains ?? [], ['*']) && routes.length === 1 && r?.match?.prefix === '/' && typeof r.route?.cluster === 'string') {
      return r.route.cluster.includes('Cluster') ? r.route.cluster : `Cluster: ${r.route.cluster}`;
    }
  }
  const parts = vhosts.map((vh) => {
    const domains = same(vh.domains ?? [], ['*']) ? '' : ((vh.domains as string[] | undefined) ?? []).join('/');
    const routes = ((vh.routes as Json[] | undefined) ?? []).map((r) => describeMatch(r.match)).join(', ');
    return domains === '' ? routes : `${domains} ${routes}`;
  });
  return `Inline Route: ${parts.join('; ')}`;
}

/** Where a filter chain sends traffic: its route (inline or RDS), its TCP cluster, or what it is. */
export function describeDestination(filters: readonly Json[]): string {
  for (const f of filters) {
    if (f.name === HTTP_FILTER) {
      const hcm = f.typed_config ?? {};
      if (hcm.route_config) return describeRouteConfig(hcm.route_config);
      if (hcm.rds?.route_config_name) return `Route: ${hcm.rds.route_config_name}`;
      return 'HTTP';
    }
    if (f.name === TCP_FILTER && !isBlackHole(f)) {
      const cluster = String(f.typed_config?.cluster ?? '');
      return cluster.includes('Cluster') ? cluster : `Cluster: ${cluster}`;
    }
  }
  return 'Non-HTTP/Non-TCP';
}

export function listenersTable(listeners: readonly Json[], filter: ListenerFilter, verbose: boolean): string {
  const kept = listeners.filter((l) => listenerMatches(filter, l)).sort((a, b) =>
    port(a) - port(b) || (address(a) < address(b) ? -1 : address(a) > address(b) ? 1 : 0) || (listenerType(a) < listenerType(b) ? -1 : listenerType(a) > listenerType(b) ? 1 : 0));
  const rows: string[][] = [verbose ? ['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'] : ['ADDRESS', 'PORT', 'TYPE']];
  for (const l of kept) {
    if (!verbose) {
      rows.push([address(l), String(port(l)), listenerType(l)]);
      continue;
    }
    const matches = chains(l).map((c) => ({ match: describeChainMatch(c.filter_chain_match), destination: describeDestination(c.filters ?? []) }));
    matches.sort((a, b) => (a.destination > b.destination ? -1 : a.destination < b.destination ? 1 : 0));
    for (const m of matches) rows.push([address(l), String(port(l)), m.match, m.destination]);
  }
  return tabWrite(rows, 1);
}

export function filteredListeners(listeners: readonly Json[], filter: ListenerFilter): Json[] {
  return listeners.filter((l) => listenerMatches(filter, l));
}
