// The resolved mesh: what host/config makes of Istio resources, what host/compile turns into
// the core's binary tables, and what the data path serves. Envoy's vocabulary throughout:
// virtual hosts → routes → weighted clusters → endpoints.
//
// Index contract shared by the compiler, the core and the data path (do not reorder):
//  - route index    = position in the flattening of virtualHosts[*].routes, in order;
//  - destination    = position in route.destinations;
//  - cluster index  = position in MeshConfig.clusters (RouteDestination.cluster names one);
//  - endpoint index = position in Cluster.endpoints.

export type StringMatchKind = 'exact' | 'prefix' | 'regex';

export interface StringMatch {
  kind: StringMatchKind;
  value: string;
}

export interface HeaderMatch {
  /** Lower-case header name. */
  name: string;
  /** null: the header must be present, any value. */
  match: StringMatch | null;
  /** true for Istio's withoutHeaders: the condition holds when the header does NOT match. */
  invert: boolean;
}

/** One Istio HTTPMatchRequest: every condition must hold (AND). */
export interface RouteMatch {
  uri: StringMatch | null;
  ignoreUriCase: boolean;
  headers: HeaderMatch[];
}

export interface HeaderOps {
  set: Array<[string, string]>;
  add: Array<[string, string]>;
  remove: string[];
}

export interface RouteDestination {
  /** Name of a Cluster in MeshConfig.clusters. */
  cluster: string;
  /** Istio weight; the weights of one route sum to 100 (a lone destination has 100). */
  weight: number;
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
}

export interface Route {
  /** Stable name for stats and logs: `<namespace>/<virtualservice>/<rule name or index>`. */
  name: string;
  /** ORed match blocks; empty means the route matches every request. */
  matches: RouteMatch[];
  destinations: RouteDestination[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Istio `timeout` in ms; null means none (Istio's default for HTTP routes). */
  timeoutMs: number | null;
}

export interface VirtualHost {
  name: string;
  /**
   * Authority patterns, matched case-insensitively: `host`, `host:port`, `*.suffix`,
   * `*.suffix:port`, `*`. A pattern without a port matches the authority with or without
   * one; a pattern with a port matches only that port. Search order is Envoy's: exact
   * patterns first, then suffix wildcards longest first, then `*`.
   */
  domains: string[];
  /** Ordered: the first route whose match holds wins. */
  routes: Route[];
}

export interface Endpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
  weight: number;
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export interface Cluster {
  /** Istio's naming: `outbound|<port>|<subset>|<fqdn host>` (subset empty when none). */
  name: string;
  /** Fully qualified service host, e.g. `web.default.svc.cluster.local`. */
  host: string;
  port: number;
  subset: string | null;
  endpoints: Endpoint[];
  lb: LbPolicy;
}

export interface MeshConfig {
  virtualHosts: VirtualHost[];
  clusters: Cluster[];
}

/** An empty HeaderOps, for routes and destinations without header manipulation. */
export function noHeaderOps(): HeaderOps {
  return { set: [], add: [], remove: [] };
}
