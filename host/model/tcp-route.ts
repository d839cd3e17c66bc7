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
