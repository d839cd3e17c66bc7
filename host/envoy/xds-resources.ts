// The translation `wasmesh envoy-config` prints, as the resources an ADS server sends stock Envoy:
// each listener's inline route configuration becomes a RouteConfiguration the listener asks for
// over RDS, and each STATIC cluster's endpoints become a ClusterLoadAssignment it asks for over
// EDS (DNS and original-destination clusters keep theirs: Envoy resolves those itself). One
// translation serves the static bootstrap and the control plane alike.
import { PATH_RUNTIME_FLAGS } from './path-normalization.js';

type Json = Record<string, unknown>;

export interface EnvoyXdsResources {
  listeners: Json[];
  routes: Json[];
  clusters: Json[];
  endpoints: Json[];
}

export class XdsTranslationError extends Error {
  readonly code = 'XDS_TRANSLATION';
  constructor(detail: string) {
    super(`${detail} (XDS_TRANSLATION)`);
    this.name = 'XdsTranslationError';
  }
}

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const WASM = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
const NETWORK_WASM = 'type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm';
const TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';
/** Where the resources come from: the ADS stream the bootstrap opened (Istio's config_source). */
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** A filter chain with its filters and their typed configs copied one level deep (what the split edits). */
function copyChain(chain: Json): Json {
  const filters = chain.filters as Json[] | undefined;
  if (!Array.isArray(filters)) return { ...chain };
  return { ...chain, filters: filters.map((f) => (f.typed_config !== null && typeof f.typed_config === 'object' ? { ...f, typed_config: { ...(f.typed_config as Json) } } : { ...f })) };
}

/** The static bootstrap's listeners and clusters, split into LDS, RDS, CDS and EDS resources. */
export function envoyXdsResources(bootstrap: Json): EnvoyXdsResources {
  const statics = (bootstrap.static_resources ?? {}) as { listeners?: Json[]; clusters?: Json[] };
  const out: EnvoyXdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const routeNames = new Set<string>();
  // A route configuration several listeners share (an Envoy sidecar's per-port HTTP listeners:
  // the same object) is served once, under the first listener's name.
  const shared = new Map<object, string>();
  for (const listener of statics.listeners ?? []) {
    // Copies along the path to each HTTP connection manager only (the bootstrap is left as it
    // was): the route configuration, a megabyte at 1,000 services, moves over uncopied.
    const l: Json = { ...listener };
    if (Array.isArray(listener.filter_chains)) l.filter_chains = (listener.filter_chains as Json[]).map(copyChain);
    for (const chain of (l.filter_chains as Json[] | undefined) ?? []) {
      for (const filter of (chain.filters as Json[] | undefined) ?? []) {
        const hcm = filter.typed_config as Json | undefined;
        if (!hcm || hcm['@type'] !== HCM || !hcm.route_config) continue;
        const rc = hcm.route_config as Json;
        const known = shared.get(rc);
        if (known !== undefined) {
          delete hcm.route_config;
          hcm.rds = { route_config_name: known, config_source: ADS_SOURCE };
          continue;
        }
        // Route configuration names must be unique across listeners: the listener's own name
        // prefixes the translation's (a port number), as two gateways may serve the same port.
        // An Envoy sidecar's outbound listeners (traffic_direction OUTBOUND) share one route
        // configuration per port, named by the port as Istio's RDS names them ("80").
        const name = l.traffic_direction === 'OUTBOUND' ? String(rc.name) : `${String(l.name)}/${String(rc.name ?? 'routes')}`;
        if (routeNames.has(name)) throw new XdsTranslationError(`two route configurations named ${name}`);
        routeNames.add(name);
        shared.set(rc, name);
        out.routes.push({ ...rc, name });
        delete hcm.route_config;
        hcm.rds = { route_config_name: name, config_source: ADS_SOURCE };
      }
      for (const filter of (chain.filters as Json[] | undefined) ?? []) {
        // The network wasm filter (wasmesh_tcp_stats before a tcp_proxy) too.
        if ((filter.typed_config as Json | undefined)?.['@type'] === NETWORK_WASM) filter.typed_config = asTypedStruct(filter.typed_config as Json);
        const hcm = filter.typed_config as Json | undefined;
        if (!hcm || hcm['@type'] !== HCM) continue;
        for (const http of (hcm.http_filters as Json[] | undefined) ?? []) http.typed_config = asTypedStruct(http.typed_config as Json | undefined);
      }
    }
    out.listeners.push(l);
  }
  for (const cluster of statics.clusters ?? []) {
    // Only top-level members change: a shallow copy keeps the bootstrap's cluster as it was.
    const c: Json = { ...cluster };
    const type = (c.type as string | undefined) ?? 'STATIC';
    if (type === 'STATIC' && c.load_assignment) {
      const la = c.load_assignment as Json;
      out.endpoints.push({ ...la, cluster_name: c.name });
      delete c.load_assignment;
      c.type = 'EDS';
      c.eds_cluster_config = { eds_config: ADS_SOURCE, service_name: c.name };
    }
    out.clusters.push(c);
  }
  return out;
}

/**
 * The wasm filter's configuration as an xds.type.v3.TypedStruct (its fields as JSON, for Envoy to
 * read with its own API), other filters' as they are. The Envoy API bundled with
 * @grpc/grpc-js-xds, which the control plane encodes with, predates PluginConfig.failure_policy
 * (field 7, Envoy 1.34): encoded directly, the filters' FAIL_CLOSED could not be sent at all.
 * Envoy accepts a TypedStruct wherever an extension's typed_config goes (as Istio sends its
 * EnvoyFilter patches) and converts it against the API of the Envoy that runs.
 */
function asTypedStruct(typed: Json | undefined): Json | undefined {
  if (!typed || (typed['@type'] !== WASM && typed['@type'] !== NETWORK_WASM)) return typed;
  const { '@type': type, ...value } = typed;
  return { '@type': TYPED_STRUCT, type_url: type, value };
}

export interface AdsBootstrapOptions {
  /** The control plane's xDS address (Istio's 15010, plaintext gRPC). */
  xds: { host: string; port: number };
  admin: { host: string; port: number };
  nodeId: string;
  /** Istio's node metadata (NAMESPACE, LABELS, CLUSTER_ID …), as plain JSON. */
  metadata: Record<string, unknown>;
  /** State of the world (GRPC, the default) or incremental (DELTA_GRPC). */
  delta?: boolean;
}

/**
 * A bootstrap as Istio's agent writes one: the admin interface, one cluster for the control
 * plane (HTTP/2), and ADS for listeners and clusters; everything else arrives over xDS.
 */
export function adsBootstrap(o: AdsBootstrapOptions): Json {
  return {
    node: { id: o.nodeId, cluster: String(o.metadata.CLUSTER_ID ?? 'Kubernetes'), metadata: o.metadata },
    admin: { address: { socket_address: { address: o.admin.host, port_value: o.admin.port } } },
    dynamic_resources: {
      ads_config: {
        api_type: o.delta ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
        set_node_on_first_message_only: true,
      },
      cds_config: ADS_SOURCE,
      lds_config: ADS_SOURCE,
    },
    static_resources: {
      clusters: [{
        name: 'xds-grpc',
        type: 'STATIC',
        connect_timeout: '1s',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
        load_assignment: {
          cluster_name: 'xds-grpc',
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: o.xds.host, port_value: o.xds.port } } } }] }],
        },
      }],
    },
    layered_runtime: { layers: [{ name: 'static', static_layer: { ...PATH_RUNTIME_FLAGS } }] },
  };
}
