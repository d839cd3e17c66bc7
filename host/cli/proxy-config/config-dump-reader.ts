// Reads the resources out of an Envoy admin /config_dump (envoy.admin.v3.ConfigDump JSON, from a
// wasmesh proxy or a stock Envoy) as istioctl's config writer does: dynamic then static for
// each kind, each resource unwrapped from its dump entry. Also parses Istio's subset cluster
// names (`outbound|9080|v1|reviews.default.svc.cluster.local`).
type Json = Record<string, any>;

export interface ConfigDumpJson {
  configs: Json[];
}

/** The first config of a dump message type (`ListenersConfigDump` …), or undefined. */
function config(dump: ConfigDumpJson, type: string): Json | undefined {
  return dump.configs.find((c) => typeof c['@type'] === 'string' && c['@type'].endsWith(`.admin.v3.${type}`));
}

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

export function dumpListeners(dump: ConfigDumpJson): Json[] {
  const c = config(dump, 'ListenersConfigDump') ?? {};
  return [
    ...list(c.dynamic_listeners).map((l) => l.active_state?.listener).filter((l): l is Json => l != null),
    ...list(c.static_listeners).map((l) => l.listener).filter((l): l is Json => l != null),
  ];
}

export function dumpRoutes(dump: ConfigDumpJson): Json[] {
  const c = config(dump, 'RoutesConfigDump') ?? {};
  return [...list(c.dynamic_route_configs), ...list(c.static_route_configs)].map((r) => r.route_config).filter((r): r is Json => r != null);
}

export function dumpClusters(dump: ConfigDumpJson): Json[] {
  const c = config(dump, 'ClustersConfigDump') ?? {};
  return [...list(c.dynamic_active_clusters), ...list(c.static_clusters)].map((x) => x.cluster).filter((x): x is Json => x != null);
}

/** The ClusterLoadAssignments (the dump must have been asked for with ?include_eds). */
export function dumpEndpoints(dump: ConfigDumpJson): Json[] {
  const c = config(dump, 'EndpointsConfigDump') ?? {};
  return [...list(c.dynamic_endpoint_configs), ...list(c.static_endpoint_configs)].map((x) => x.endpoint_config).filter((x): x is Json => x != null);
}

export function dumpBootstrap(dump: ConfigDumpJson): Json | undefined {
  return config(dump, 'BootstrapConfigDump')?.bootstrap as Json | undefined;
}

/** Istio's `direction|port|subset|fqdn` cluster name, or the name alone (istioctl's safelyParseSubsetKey). */
export function subsetKey(name: string): { direction: string; port: number; subset: string; fqdn: string } {
  const parts = name.split('|');
  if (parts.length > 3) return { direction: parts[0]!, port: Number.parseInt(parts[1]!, 10) || 0, subset: parts[2]!, fqdn: parts[3]! };
  return { direction: '', port: 0, subset: '', fqdn: name };
}

/** istioctl's order for clusters and endpoints: fqdn, then subset, then port, then direction. */
export function bySubsetKey(a: string, b: string): number {
  const x = subsetKey(a);
  const y = subsetKey(b);
  if (x.fqdn !== y.fqdn) return x.fqdn < y.fqdn ? -1 : 1;
  if (x.subset !== y.subset) return x.subset < y.subset ? -1 : 1;
  if (x.port !== y.port) return x.port - y.port;
  return x.direction < y.direction ? -1 : x.direction > y.direction ? 1 : 0;
}

/** istioctl's describeManagement: the Istio config a resource came from (`name.namespace`), from its metadata. */
export function describeManagement(metadata: Json | undefined): string {
  const path = metadata?.filter_metadata?.istio?.config;
  if (typeof path !== 'string') return '';
  if (path.startsWith('/apis/networking.istio.io/v1alpha3/namespaces/')) {
    const pieces = path.split('/');
    return pieces.length === 8 ? `${pieces[7]}.${pieces[5]}` : '';
  }
  return '<unknown>';
}
