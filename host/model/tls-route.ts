// TLS passthrough in the model: the Gateway ports that route TLS connections by SNI without
// terminating them (Istio's `tls.mode: PASSTHROUGH` and `AUTO_PASSTHROUGH`), how an SNI pattern
// of a VirtualService `tls:` rule matches a ClientHello's server name, and the first `tls:`
// route a connection takes. The routes themselves are TcpRoutes (tcp-route.ts) whose matches
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

/** The first `tls:` route whose match holds for the connection; -1: none (Envoy: no filter chain, NR). */
export function selectTlsRoute(routes: readonly TcpRoute[], port: number, sni: string | null, address: string | null, inSubnet: (address: string, cidr: string) => boolean): number {
  for (let i = 0; i < routes.length; i++) {
    if (routes[i]!.matches.some((m) => tlsMatchHolds(m, port, sni, address, inSubnet))) return i;
  }
  return -1;
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
