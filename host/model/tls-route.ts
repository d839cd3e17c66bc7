// TLS passthrough in the model: the Gateway ports that route TLS connections by SNI without
// terminating them (Istio's `tls.mode: PASSTHROUGH` and `AUTO_PASSTHROUGH`), how an SNI pattern
// of a VirtualService `tls:` rule matches a ClientHello's server name, and the `tls:` route a
// connection takes: the most specific one, as Envoy picks among the filter chains Istio writes. The routes themselves are TcpRoutes (tcp-route.ts) whose matches
// carry sniHosts: the byte proxy behind them is the same.
import { l4MatchHolds, type L4Match, type TcpRoute } from './tcp-route.js';

export type GatewayPassthroughMode = 'PASSTHROUGH' | 'AUTO_PASSTHROUGH';

/**
 * A Gateway port whose servers pass TLS through: the gateway reads the ClientHello's SNI and
 * proxies the bytes untouched. PASSTHROUGH routes by the `tls:` rules bound to the gateway (their
 * sniHosts narrowed to the servers' hosts); AUTO_PASSTHROUGH by the SNI alone, which names an
 * Istio cluster (`outbound_.<port>_.<subset>_.<host>`, autoPassthroughSni).
 */
export interface GatewayPassthroughListener {
  readonly port: number;
  readonly mode: GatewayPassthroughMode;
  /** The servers' names (`<gateway ns>/<gateway name>/<index>` or their own). */
  readonly servers: readonly string[];
  /** The servers' hosts, lower-case (the namespace part dropped): the SNIs the port takes. */
  readonly hosts: readonly string[];
}

/**
 * Does SNI pattern `pattern` (exact, `*.suffix`, or `*`) match `sni` (null: the client sent
 * none)? Case-insensitive, as DNS names are. `*.example.com` matches `a.example.com` and
 * `a.b.example.com`, not `example.com` (Istio's host wildcard, Envoy's server_names suffix
 * match). Only `*` takes a connection without SNI (Istio writes no server_names for it).
 */
export function sniMatches(pattern: string, sni: string | null): boolean {
  if (pattern === '*') return true;
  if (sni === null) return false;
  const name = sni.toLowerCase();
  if (pattern.startsWith('*.')) return name.length > pattern.length - 1 && name.endsWith(pattern.slice(1));
  return name === pattern;
}

/** Does `m` hold for a connection to `port` with `sni` at destination `address`? */
export function tlsMatchHolds(m: L4Match, port: number, sni: string | null, address: string | null, inSubnet: (address: string, cidr: string) => boolean): boolean {
  return l4MatchHolds(m, port, address, inSubnet) && m.sniHosts.some((p) => sniMatches(p, sni));
}

/**
 * How specifically SNI pattern `pattern` matches `sni`: -1 not at all; 0 the catch-all `*` (a
 * filter chain without server_names); a wildcard `*.suffix` its suffix's length; an exact name
 * its length + 1 (always above any wildcard that matches the same name, whose suffix is shorter).
 * Envoy's order for `www.example.com`: `www.example.com`, then `*.example.com`, then `*.com`, then
 * a chain without server names.
 */
export function sniSpecificity(pattern: string, sni: string | null): number {
  if (!sniMatches(pattern, sni)) return -1;
  if (pattern === '*') return 0;
  return pattern.startsWith('*.') ? pattern.length - 1 : pattern.length + 1;
}

/** The prefix length of CIDR `cidr` (`10.0.0.0/8`: 8; a bare address: 32, or 128 for IPv6). */
function prefixLength(cidr: string): number {
  const slash = cidr.indexOf('/');
  if (slash >= 0) return Number(cidr.slice(slash + 1));
  return cidr.includes(':') ? 128 : 32;
}

/**
 * The `tls:` route a connection takes, as Envoy's filter chain match picks among the chains Istio
 * writes for them (one per `tls:` match; -1: none, Envoy: no filter chain, NR). `eligible` narrows
 * the routes considered (a sidecar: the rules of the service the connection is for).
 *
 * The match's port is not a filter chain criterion in Istio (the listener is per port): a match
 * for another port is left out. Then Envoy narrows level by level, each to the most specific value
 * present, without going back up when a later level has no match:
 * 1. the destination address: the longest `destinationSubnets` prefix holding it (a match without
 *    subnets: any address, the least specific);
 * 2. the SNI: exact, then the longest wildcard suffix, then `*` (sniSpecificity).
 * Rules as specific as each other: the first written wins (Istio keeps the first of equal
 * filter chain matches). So `a.example.com` in a later rule beats `*.example.com` in an earlier one.
 */
export function selectTlsRoute(routes: readonly TcpRoute[], port: number, sni: string | null, address: string | null, inSubnet: (address: string, cidr: string) => boolean, eligible?: (index: number) => boolean): number {
  // Level 1: each candidate match's destination specificity; the best present.
  const candidates: Array<{ route: number; match: L4Match; ip: number }> = [];
  let bestIp = -1;
  for (let i = 0; i < routes.length; i++) {
    if (eligible !== undefined && !eligible(i)) continue;
    for (const m of routes[i]!.matches) {
      if (m.port !== null && m.port !== port) continue;
      let ip = 0;
      if (m.destinationSubnets.length > 0) {
        ip = -1;
        if (address !== null) for (const c of m.destinationSubnets) if (inSubnet(address, c)) ip = Math.max(ip, prefixLength(c));
        if (ip < 0) continue;
      }
      candidates.push({ route: i, match: m, ip });
      if (ip > bestIp) bestIp = ip;
    }
  }
  // Level 2: among those at the best destination, the most specific server name; ties: the first route.
  let best = -1;
  let bestSni = -1;
  for (const c of candidates) {
    if (c.ip !== bestIp) continue;
    for (const p of c.match.sniHosts) {
      const s = sniSpecificity(p, sni);
      if (s > bestSni || (s === bestSni && s >= 0 && c.route < best)) {
        bestSni = s;
        best = c.route;
      }
    }
  }
  return bestSni < 0 ? -1 : best;
}

/**
 * The SNI an Istio client in another network sends to reach `host:port` (subset or not) through
 * an east-west gateway in AUTO_PASSTHROUGH mode: Istio's DNS SRV subset key,
 * `outbound_.<port>_.<subset>_.<host>` with `_` for no subset's empty name
 * (`outbound_.8080_._.helloworld.sample.svc.cluster.local`).
 */
export function autoPassthroughSni(port: number, subset: string | null, host: string): string {
  return `outbound_.${port}_.${subset ?? ''}_.${host}`;
}
