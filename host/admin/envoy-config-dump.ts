// /config_dump in Envoy's shape (envoy.admin.v3.ConfigDump): `configs`, one message per kind —
// bootstrap, clusters, listeners, routes, secrets, and endpoints with `?include_eds` — each
// with its `@type`, so that tools written for Envoy (istioctl proxy-config, envoy-config
// readers) read a wasmesh proxy as they read Envoy. The resources come from the runtime's
// translation of the config it applied (host/envoy, the same one the control plane sends stock
// Envoy); here they are only arranged as Envoy arranges its dump. `?resource=<field>` answers
// one repeated field's elements as `{configs: [...]}`, each with its element type, as Envoy.
type Json = Record<string, unknown>;

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  bootstrap: 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',
} as const;

/** What the dump is made of: the applied config's Envoy resources and when/which version. */
export interface EnvoyDumpInput {
  /** The bootstrap the proxy runs with (node, admin address …). */
  bootstrap: Json;
  /**
   * `static`: resources as a bootstrap holds them (config from files, as `wasmesh envoy-config`
   * gives stock Envoy: listeners with their route configuration inline); `dynamic`: as received
   * over xDS (config from the control plane: LDS, RDS, CDS, EDS resources).
   */
  mode: 'static' | 'dynamic';
  /** The applied config's version, as Envoy's version_info (a string). */
  versionInfo: string;
  /** ISO time the version was applied. */
  lastUpdated: string;
  listeners: readonly Json[];
  /** Route configurations: RDS resources, or (static) the listeners' inline ones. */
  routes: readonly Json[];
  clusters: readonly Json[];
  /** dynamic: the bootstrap's own clusters (the control plane's `xds-grpc`), dumped as static ones. */
  bootstrapClusters?: readonly Json[];
  /** dynamic: their hosts (static endpoint configs), with health_status. */
  bootstrapEndpoints?: readonly Json[];
  /** ClusterLoadAssignments with each endpoint's health_status, as Envoy dumps its host sets. */
  endpoints: readonly Json[];
  /** SDS-style secrets: the workload certificate (`default`) and the trust bundle (`ROOTCA`). */
  secrets: readonly Json[];
}

const typed = (type: string, o: Json): Json => ({ '@type': type, ...o });

/** The whole dump, in Envoy's order of configs; endpoints only with `includeEds`. */
export function envoyConfigDump(d: EnvoyDumpInput, includeEds: boolean): { configs: Json[] } {
  const meta = { version_info: d.versionInfo, last_updated: d.lastUpdated };
  const at = { last_updated: d.lastUpdated };
  const dyn = d.mode === 'dynamic';
  const configs: Json[] = [
    { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: d.bootstrap, last_updated: d.lastUpdated },
    {
      '@type': `${ADMIN}ClustersConfigDump`,
      ...(dyn ? { version_info: d.versionInfo } : {}),
      ...nonEmpty('static_clusters', (dyn ? d.bootstrapClusters ?? [] : d.clusters).map((c) => ({ cluster: typed(TYPE.cluster, c), ...at }))),
      ...(dyn ? nonEmpty('dynamic_active_clusters', d.clusters.map((c) => ({ ...meta, cluster: typed(TYPE.cluster, c) }))) : {}),
    },
  ];
  if (includeEds) {
    configs.push({
      '@type': `${ADMIN}EndpointsConfigDump`,
      ...nonEmpty('static_endpoint_configs', (dyn ? d.bootstrapEndpoints ?? [] : d.endpoints).map((e) => ({ endpoint_config: typed(TYPE.endpoint, e) }))),
      ...(dyn ? nonEmpty('dynamic_endpoint_configs', d.endpoints.map((e) => ({ ...meta, endpoint_config: typed(TYPE.endpoint, e) }))) : {}),
    });
  }
  configs.push(
    {
      '@type': `${ADMIN}ListenersConfigDump`,
      ...(dyn ? { version_info: d.versionInfo } : {}),
      ...nonEmpty(dyn ? 'dynamic_listeners' : 'static_listeners', d.listeners.map((l) => (dyn ? { name: l.name, active_state: { ...meta, listener: typed(TYPE.listener, l) } } : { listener: typed(TYPE.listener, l), ...at }))),
    },
    { '@type': `${ADMIN}ScopedRoutesConfigDump` },
    { '@type': `${ADMIN}RoutesConfigDump`, ...nonEmpty(dyn ? 'dynamic_route_configs' : 'static_route_configs', d.routes.map((r) => ({ ...(dyn ? meta : {}), route_config: typed(TYPE.route, r), ...(dyn ? {} : at) }))) },
    // The workload certificate is fetched and renewed while the proxy runs, as Envoy's SDS
    // secrets are: dynamic whatever the mode.
    { '@type': `${ADMIN}SecretsConfigDump`, ...nonEmpty('dynamic_active_secrets', d.secrets.map((s) => ({ name: s.name, ...meta, secret: typed(TYPE.secret, s) }))) },
  );
  return { configs };
}

/** proto3 JSON leaves an empty repeated field out, as Envoy's dump does. */
function nonEmpty(key: string, list: Json[]): Json {
  return list.length === 0 ? {} : { [key]: list };
}

/** The element type of each repeated field `?resource=` can name (Envoy's message names). */
const ELEMENT_TYPES: Readonly<Record<string, string>> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  static_endpoint_configs: 'EndpointsConfigDump.StaticEndpointConfig',
  static_listeners: 'ListenersConfigDump.StaticListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
  dynamic_active_secrets: 'SecretsConfigDump.DynamicSecret',
};

/**
 * Envoy's `?resource=<field>`: the elements of that repeated field across the dump, each with
 * its element `@type`; null when no config has the field (Envoy answers 404 then).
 */
export function configDumpResource(dump: { configs: Json[] }, field: string): { configs: Json[] } | null {
  if (!Object.hasOwn(ELEMENT_TYPES, field)) return null;
  const type = ELEMENT_TYPES[field]!;
  const out: Json[] = [];
  let found = false;
  for (const c of dump.configs) {
    const list = c[field];
    if (!Array.isArray(list)) continue;
    found = true;
    for (const e of list as Json[]) out.push({ '@type': `${ADMIN}${type}`, ...e });
  }
  return found ? { configs: out } : null;
}

/**
 * Envoy's dump of a TLS secret: the certificate chain or trust bundle inline (base64 bytes, as
 * Envoy's JSON shows `bytes`), the private key replaced by `[redacted]` as Envoy redacts it.
 */
export function tlsSecrets(cert: { certChainPem: string; rootsPem: string } | null): Json[] {
  if (cert === null) return [];
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    { name: 'default', tls_certificate: { certificate_chain: { inline_bytes: b64(cert.certChainPem) }, private_key: { inline_bytes: b64('[redacted]') } } },
    { name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: b64(cert.rootsPem) } } },
  ];
}

export { TYPE as ENVOY_TYPE_URLS };
