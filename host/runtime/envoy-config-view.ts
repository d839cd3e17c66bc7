// The applied config as Envoy resources, for the admin API's Envoy-shaped /config_dump and
// /listeners: the same translation the control plane sends stock Envoy (host/envoy: the
// outbound or gateway listener per bound address, Istio's virtualInbound for a sidecar, split
// into LDS/RDS/CDS/EDS as the control plane does when the config came over xDS, or kept as a
// static bootstrap holds it when it came from files), run on the mesh this proxy serves, so that
// `wasmesh proxy-config` and Envoy's tools print the same rows for a wasmesh proxy and a stock
// Envoy given the same mesh. Translated once per config version, when first asked for.
import type { HostPort } from '../common/host-port.js';
import { inboundAccessLogsOf, inboundTracingOf, type MeshConfig } from '../model/mesh.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import { envoyBootstrap } from '../envoy/bootstrap.js';
import { envoyInbound } from '../envoy/inbound-listener.js';
import { adsBootstrap, envoyXdsResources, type EnvoyXdsResources } from '../envoy/xds-resources.js';
import { envoyConfigDump, tlsSecrets } from '../admin/envoy-config-dump.js';
import type { ListenerStatus } from '../admin/listeners-status.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';

type Json = Record<string, unknown>;

/** Where the proxy listens, read when asked (ports bound as 0 show as the OS's pick). */
export interface EnvoyListenPlan {
  /** The outbound (or gateway) listeners' addresses, first the main one. */
  listens: HostPort[];
  /** The Gateway served (a gateway's listener names and security filters), absent for a mesh proxy. */
  gateway?: string;
  /** A sidecar's inbound listener and app ports (Istio's virtualInbound). */
  inbound?: { listen: HostPort; appPorts: readonly number[]; mode: EffectiveMtlsMode };
}

export interface EnvoyViewOptions {
  manager: ProxyConfigSource;
  /** static: config from files (shown as a bootstrap holds it); dynamic: from the control plane over xDS. */
  mode: 'static' | 'dynamic';
  plan: () => EnvoyListenPlan;
  admin: () => HostPort;
  /** The node the proxy reports as (id, cluster, metadata), as Envoy's bootstrap node. */
  node: () => Json;
  /** The clusters' live endpoint health (/clusters), for the endpoints' health_status. */
  clusters: () => ClusterStatus[];
  namespace?: string;
  workloadCertificates?: WorkloadCertificateSource;
  /** The control plane's xDS address when the config comes over ADS: the bootstrap is then Istio's (ADS, the `xds-grpc` cluster). */
  xds?: HostPort;
}

interface Translated {
  key: string;
  resources: EnvoyXdsResources;
  /** What could not be translated (a listener stock Envoy cannot serve as wasmesh does): listed in the node metadata. */
  errors: string[];
}

export class EnvoyConfigView {
  readonly #o: EnvoyViewOptions;
  #cache: Translated | null = null;

  constructor(options: EnvoyViewOptions) {
    this.#o = options;
  }

  /** Envoy's admin.v3.ConfigDump of the applied version. */
  dump(includeEds: boolean): { configs: Json[] } {
    const t = this.#translate();
    const admin = this.#o.admin();
    const node = this.#o.node();
    const metadata = { ...((node.metadata as Json | undefined) ?? {}), ...(t.errors.length > 0 ? { WASMESH_ENVOY_TRANSLATION_ERRORS: t.errors } : {}) };
    const loadedAt = this.#o.manager.dump().loadedAt ?? new Date(0).toISOString();
    // Over xDS the proxy runs as an Envoy with Istio's ADS bootstrap does: the same bootstrap
    // (host/envoy's adsBootstrap), whose xds-grpc cluster Envoy dumps among its static clusters.
    const ads = this.#o.mode === 'dynamic' && this.#o.xds !== undefined
      ? adsBootstrap({ xds: this.#o.xds, admin, nodeId: String(node.id ?? ''), metadata })
      : null;
    const bootstrap: Json = ads !== null
      ? { ...ads, node: { ...node, metadata } }
      : { node: { ...node, metadata }, admin: { address: { socket_address: { address: admin.host, port_value: admin.port } } } };
    return envoyConfigDump({
      bootstrap,
      ...(ads !== null ? bootstrapParts(ads) : {}),
      mode: this.#o.mode,
      versionInfo: String(this.#o.manager.version),
      lastUpdated: loadedAt,
      ...t.resources,
      endpoints: includeEds ? withHealth(t.resources.endpoints, this.#o.clusters()) : [],
      secrets: tlsSecrets(this.#o.workloadCertificates?.current() ?? null),
    }, includeEds);
  }

  /** Each listener of the dump with its bound address (/listeners). */
  listeners(): ListenerStatus[] {
    return this.#translate().resources.listeners.map((l) => {
      const sa = ((l.address as Json | undefined)?.socket_address ?? {}) as { address?: string; port_value?: number };
      return { name: String(l.name), host: sa.address ?? '', port: sa.port_value ?? 0 };
    });
  }

  #translate(): Translated {
    const plan = this.#o.plan();
    const mesh = this.#o.manager.current?.mesh ?? null;
    const key = `${this.#o.manager.version}|${JSON.stringify(plan)}`;
    if (this.#cache?.key === key) return this.#cache;
    const out: EnvoyXdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
    const errors: string[] = [];
    if (mesh !== null) translateInto(out, errors, mesh, plan, this.#o.admin(), this.#o.namespace, this.#o.mode);
    this.#cache = { key, resources: out, errors };
    return this.#cache;
  }
}

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/**
 * A bootstrap's listeners and clusters as Envoy dumps them when given statically: the listeners
 * as they are (route configuration inline), each inline route configuration among the routes,
 * and each cluster's load_assignment among the endpoints.
 */
function staticResources(listeners: Json[], clusters: Json[]): EnvoyXdsResources {
  const routes: Json[] = [];
  for (const l of listeners) {
    for (const chain of (l.filter_chains as Json[] | undefined) ?? []) {
      for (const f of (chain.filters as Json[] | undefined) ?? []) {
        const hcm = f.typed_config as Json | undefined;
        if (hcm?.['@type'] === HCM && hcm.route_config) routes.push(hcm.route_config as Json);
      }
    }
  }
  const endpoints = clusters.filter((c) => c.load_assignment).map((c) => c.load_assignment as Json);
  return { listeners, routes, clusters, endpoints };
}

function translateInto(out: EnvoyXdsResources, errors: string[], mesh: MeshConfig, plan: EnvoyListenPlan, admin: HostPort, namespace: string | undefined, mode: 'static' | 'dynamic'): void {
  const seen = new Set<string>();
  const merge = (r: EnvoyXdsResources) => {
    out.listeners.push(...r.listeners);
    out.routes.push(...r.routes);
    for (const c of r.clusters) if (!seen.has(`c:${String(c.name)}`)) (seen.add(`c:${String(c.name)}`), out.clusters.push(c));
    for (const e of r.endpoints) if (!seen.has(`e:${String(e.cluster_name)}`)) (seen.add(`e:${String(e.cluster_name)}`), out.endpoints.push(e));
  };
  const add = (listeners: Json[], clusters: Json[]) =>
    merge(mode === 'static' ? staticResources(listeners, clusters) : envoyXdsResources({ static_resources: { listeners, clusters } }));
  for (const listen of plan.listens) {
    try {
      const { config } = envoyBootstrap({ mesh }, { listen, admin, ...(plan.gateway !== undefined ? { gateway: plan.gateway } : {}), ...(namespace !== undefined ? { namespace } : {}) });
      const statics = (config.static_resources ?? {}) as { listeners?: Json[]; clusters?: Json[] };
      add(statics.listeners ?? [], statics.clusters ?? []);
    } catch (err) {
      errors.push(`listener ${listen.host}:${listen.port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (plan.inbound) {
    try {
      const { listener, clusters } = envoyInbound({
        listen: plan.inbound.listen,
        appPorts: plan.inbound.appPorts,
        mode: plan.inbound.mode,
        ...(mesh.authorization !== undefined ? { authorization: mesh.authorization } : {}),
        ...(mesh.extAuthzProviders !== undefined ? { extAuthzProviders: mesh.extAuthzProviders } : {}),
        meshClusters: mesh.clusters,
        ...(mesh.pathNormalization !== undefined ? { pathNormalization: mesh.pathNormalization } : {}),
        ...(mesh.jwtRules !== undefined ? { jwtRules: mesh.jwtRules } : {}),
        // As the control plane's view of an Envoy sidecar (control-plane/proxy-view.ts) has them.
        ...(inboundTracingOf(mesh) !== undefined ? { tracing: inboundTracingOf(mesh)! } : {}),
        ...(inboundAccessLogsOf(mesh) !== undefined ? { accessLogs: inboundAccessLogsOf(mesh)! } : {}),
        ...(mesh.inboundRateLimit !== undefined ? { rateLimit: mesh.inboundRateLimit } : {}),
      });
      add([listener], clusters);
    } catch (err) {
      errors.push(`inbound listener ${plan.inbound.listen.host}:${plan.inbound.listen.port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * The ADS bootstrap's own clusters (xds-grpc) and their hosts, HEALTHY as Envoy reports a host
 * no health check or outlier detection has judged.
 */
function bootstrapParts(ads: Json): { bootstrapClusters: Json[]; bootstrapEndpoints: Json[] } {
  const clusters = ((ads.static_resources as Json | undefined)?.clusters as Json[] | undefined) ?? [];
  const endpoints = clusters.filter((c) => c.load_assignment).map((c) => {
    const la = c.load_assignment as Json;
    return { ...la, endpoints: ((la.endpoints as Json[] | undefined) ?? []).map((g) => ({ ...g, lb_endpoints: ((g.lb_endpoints as Json[] | undefined) ?? []).map((lb) => ({ ...lb, health_status: 'HEALTHY' })) })) };
  });
  return { bootstrapClusters: clusters, bootstrapEndpoints: endpoints };
}

/**
 * The load assignments with each endpoint's live health, as Envoy dumps its clusters' hosts:
 * HEALTHY, or UNHEALTHY while ejected; an endpoint the data path does not hold (yet) is UNKNOWN.
 */
function withHealth(endpoints: readonly Json[], clusters: readonly ClusterStatus[]): Json[] {
  const health = new Map<string, boolean>();
  for (const c of clusters) for (const e of c.endpoints) health.set(`${c.name} ${e.address}:${e.port}`, e.healthy);
  return endpoints.map((la) => ({
    ...la,
    endpoints: ((la.endpoints as Json[] | undefined) ?? []).map((group) => ({
      ...group,
      lb_endpoints: ((group.lb_endpoints as Json[] | undefined) ?? []).map((lb) => {
        const sa = (((lb.endpoint as Json | undefined)?.address as Json | undefined)?.socket_address ?? {}) as { address?: string; port_value?: number };
        const h = health.get(`${String(la.cluster_name)} ${sa.address}:${sa.port_value}`);
        return { ...lb, health_status: h === undefined ? 'UNKNOWN' : h ? 'HEALTHY' : 'UNHEALTHY' };
      }),
    })),
  }));
}
