// DestinationRule traffic policies to Envoy cluster settings (connect timeout, circuit
// breakers, outlier detection, upstream HTTP options), as Istio's Pilot builds them: policies
// merged top-level → port-level → subset → subset port-level, one component at a time.
import type { Cluster } from '../model/mesh.js';
import { envoyDuration, parseDurationMs } from './duration.js';
import { isObj, type IstioResources, type Obj } from './istio-resources.js';

/** Istio's mesh-wide default connectTimeout. */
export const ISTIO_CONNECT_TIMEOUT_MS = 10_000;
/** Istio sets every circuit-breaker threshold to the maximum unless a DestinationRule lowers it. */
const UINT32_MAX = 4294967295;

const COMPONENTS = ['connectionPool', 'loadBalancer', 'outlierDetection', 'tls', 'tunnel', 'proxyProtocol'] as const;
type Component = (typeof COMPONENTS)[number];
type Policy = Partial<Record<Component, Obj>>;

/** The Envoy fields of one cluster that come from its traffic policy. */
export interface ClusterPolicyFields {
  connect_timeout: string;
  circuit_breakers: Obj;
  outlier_detection?: Obj;
  common_lb_config?: Obj;
  upstream_connection_options?: Obj;
  typed_extension_protocol_options?: Obj;
}

/** Istio's defaults, for a cluster no DestinationRule touches. */
export function defaultClusterPolicy(): ClusterPolicyFields {
  return { connect_timeout: envoyDuration(ISTIO_CONNECT_TIMEOUT_MS), circuit_breakers: { thresholds: [defaultThresholds()] } };
}

function defaultThresholds(): Obj {
  return { max_connections: UINT32_MAX, max_pending_requests: UINT32_MAX, max_requests: UINT32_MAX, max_retries: UINT32_MAX, track_remaining: true };
}

/** Cluster settings from the DestinationRule that applies to `cluster` (Istio's defaults when none). */
export function envoyClusterPolicy(cluster: Cluster, resources: IstioResources, warnings: string[]): ClusterPolicyFields {
  const dr = resources.destinationRule(cluster.host);
  if (dr === undefined) return defaultClusterPolicy();
  const drName = `DestinationRule ${resources.namespaceOf(dr)}/${dr.metadata.name}`;
  const spec = dr.spec ?? {};

  let policy: Policy = {};
  let where = `${drName} trafficPolicy`;
  policy = overlay(policy, spec.trafficPolicy, cluster.port, where, warnings);
  if (cluster.subset !== null && Array.isArray(spec.subsets)) {
    const subset = spec.subsets.find((s) => isObj(s) && s.name === cluster.subset);
    if (isObj(subset)) {
      where = `${drName} subsets[${cluster.subset}].trafficPolicy`;
      policy = overlay(policy, subset.trafficPolicy, cluster.port, where, warnings);
    }
  }

  const out = defaultClusterPolicy();
  const at = `${drName} (cluster ${cluster.name})`;
  if (policy.connectionPool) applyConnectionPool(out, policy.connectionPool, `${at} connectionPool`, warnings);
  if (policy.outlierDetection) applyOutlierDetection(out, policy.outlierDetection, `${at} outlierDetection`, warnings);
  if (policy.loadBalancer) checkLoadBalancer(cluster, policy.loadBalancer, `${at} loadBalancer`, warnings);
  for (const c of ['tls', 'tunnel', 'proxyProtocol'] as const) {
    if (policy[c]) warnings.push(`${at} ${c}: not translated to Envoy`);
  }
  return out;
}

/** Overlays one trafficPolicy (and its portLevelSettings for `port`) component by component. */
function overlay(base: Policy, trafficPolicy: unknown, port: number, where: string, warnings: string[]): Policy {
  if (!isObj(trafficPolicy)) return base;
  const merged: Policy = { ...base };
  for (const key of Object.keys(trafficPolicy)) {
    if (key === 'portLevelSettings') continue;
    if ((COMPONENTS as readonly string[]).includes(key)) {
      if (isObj(trafficPolicy[key])) merged[key as Component] = trafficPolicy[key] as Obj;
    } else {
      warnings.push(`${where}.${key}: not translated to Envoy (unknown traffic policy field)`);
    }
  }
  if (Array.isArray(trafficPolicy.portLevelSettings)) {
    const level = trafficPolicy.portLevelSettings.find((p) => isObj(p) && isObj(p.port) && p.port.number === port);
    if (isObj(level)) {
      for (const c of COMPONENTS) if (isObj(level[c])) merged[c] = level[c] as Obj;
    }
  }
  return merged;
}

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}

function applyConnectionPool(out: ClusterPolicyFields, pool: Obj, where: string, warnings: string[]): void {
  const thresholds = (out.circuit_breakers.thresholds as Obj[])[0];
  const http = isObj(pool.http) ? pool.http : {};
  const tcp = isObj(pool.tcp) ? pool.tcp : {};
  for (const key of Object.keys(pool)) if (key !== 'http' && key !== 'tcp') warnings.push(`${where}.${key}: not translated to Envoy`);

  // As in Istio: zero means "unset" (proto3 cannot tell them apart), so only positive values apply.
  const maxRequests = positive(http.http2MaxRequests);
  if (maxRequests !== undefined) thresholds.max_requests = maxRequests;
  const maxPending = positive(http.http1MaxPendingRequests);
  if (maxPending !== undefined) thresholds.max_pending_requests = maxPending;
  const maxRetries = positive(http.maxRetries);
  if (maxRetries !== undefined) thresholds.max_retries = maxRetries;
  const maxConnections = positive(tcp.maxConnections);
  if (maxConnections !== undefined) thresholds.max_connections = maxConnections;
  if (tcp.connectTimeout !== undefined) out.connect_timeout = envoyDuration(parseDurationMs(tcp.connectTimeout, `${where}.tcp.connectTimeout`));

  const common: Obj = {};
  const idle = http.idleTimeout ?? tcp.idleTimeout;
  if (idle !== undefined) common.idle_timeout = envoyDuration(parseDurationMs(idle, `${where}.http.idleTimeout`));
  const perConnection = positive(http.maxRequestsPerConnection);
  if (perConnection !== undefined) common.max_requests_per_connection = perConnection;
  if (tcp.maxConnectionDuration !== undefined) {
    common.max_connection_duration = envoyDuration(parseDurationMs(tcp.maxConnectionDuration, `${where}.tcp.maxConnectionDuration`));
  }
  if (Object.keys(common).length > 0) {
    out.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: common,
        // wasmesh speaks HTTP/1.1 upstream; Envoy needs the protocol stated with these options.
        explicit_http_config: { http_protocol_options: {} },
      },
    };
  }
  if (isObj(tcp.tcpKeepalive)) {
    const ka = tcp.tcpKeepalive;
    const keepalive: Obj = {};
    if (typeof ka.probes === 'number') keepalive.keepalive_probes = ka.probes;
    if (ka.time !== undefined) keepalive.keepalive_time = Math.round(parseDurationMs(ka.time, `${where}.tcp.tcpKeepalive.time`) / 1000);
    if (ka.interval !== undefined) keepalive.keepalive_interval = Math.round(parseDurationMs(ka.interval, `${where}.tcp.tcpKeepalive.interval`) / 1000);
    out.upstream_connection_options = { tcp_keepalive: keepalive };
  }

  const httpDone = new Set(['http2MaxRequests', 'http1MaxPendingRequests', 'maxRetries', 'idleTimeout', 'maxRequestsPerConnection']);
  for (const key of Object.keys(http)) if (!httpDone.has(key)) warnings.push(`${where}.http.${key}: not translated to Envoy`);
  const tcpDone = new Set(['maxConnections', 'connectTimeout', 'idleTimeout', 'maxConnectionDuration', 'tcpKeepalive']);
  for (const key of Object.keys(tcp)) if (!tcpDone.has(key)) warnings.push(`${where}.tcp.${key}: not translated to Envoy`);
}

function applyOutlierDetection(out: ClusterPolicyFields, od: Obj, where: string, warnings: string[]): void {
  // Istio turns success-rate ejection off: only the consecutive-error detectors apply.
  const o: Obj = { enforcing_success_rate: 0 };
  const consecutive = (value: unknown, field: string, enforcing: string): void => {
    if (typeof value !== 'number') return;
    o[field] = value;
    o[enforcing] = value > 0 ? 100 : 0;
  };
  consecutive(od.consecutive5xxErrors, 'consecutive_5xx', 'enforcing_consecutive_5xx');
  consecutive(od.consecutiveGatewayErrors, 'consecutive_gateway_failure', 'enforcing_consecutive_gateway_failure');
  if (od.interval !== undefined) o.interval = envoyDuration(parseDurationMs(od.interval, `${where}.interval`));
  if (od.baseEjectionTime !== undefined) o.base_ejection_time = envoyDuration(parseDurationMs(od.baseEjectionTime, `${where}.baseEjectionTime`));
  const maxPercent = positive(od.maxEjectionPercent);
  if (maxPercent !== undefined) o.max_ejection_percent = maxPercent;
  if (od.splitExternalLocalOriginErrors === true) {
    o.split_external_local_origin_errors = true;
    const local = positive(od.consecutiveLocalOriginFailures);
    if (local !== undefined) {
      o.consecutive_local_origin_failure = local;
      o.enforcing_consecutive_local_origin_failure = 100;
    }
    o.enforcing_local_origin_success_rate = 0;
  }
  out.outlier_detection = o;
  // Istio disables the panic threshold (Envoy's default 50%) unless minHealthPercent says otherwise:
  // with few endpoints per subset, panic mode would send traffic to ejected hosts.
  const minHealth = typeof od.minHealthPercent === 'number' ? od.minHealthPercent : 0;
  out.common_lb_config = { healthy_panic_threshold: { value: minHealth } };

  const done = new Set(['consecutive5xxErrors', 'consecutiveGatewayErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent',
    'splitExternalLocalOriginErrors', 'consecutiveLocalOriginFailures', 'minHealthPercent']);
  for (const key of Object.keys(od)) if (!done.has(key)) warnings.push(`${where}.${key}: not translated to Envoy`);
}

/** lb_policy comes from the resolved cluster; here only what that cannot carry is reported. */
function checkLoadBalancer(cluster: Cluster, lb: Obj, where: string, warnings: string[]): void {
  for (const key of Object.keys(lb)) {
    if (key !== 'simple') warnings.push(`${where}.${key}: not translated to Envoy (lb_policy is ${cluster.lb})`);
  }
  if (lb.simple === 'PASSTHROUGH') warnings.push(`${where}.simple: PASSTHROUGH not translated to Envoy (lb_policy is ${cluster.lb})`);
}
