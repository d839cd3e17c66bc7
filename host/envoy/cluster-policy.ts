// A resolved cluster's load balancer and traffic policy (host/config merged the DestinationRule
// levels already) as Envoy cluster fields, the way Pilot's cluster builder writes them:
// lb_policy and its table, connect_timeout, circuit_breakers, upstream HTTP options and TCP
// keepalive, outlier_detection with the panic threshold from minHealthPercent.
import type { Cluster, ClusterPolicy } from '../model/mesh.js';
import { ENVOY_IDLE_TIMEOUT_MS, ENVOY_MAX_EJECTION_TIME_MS, ISTIO_CIRCUIT_BREAKER_MAX, ISTIO_CONNECT_TIMEOUT_MS } from '../model/istio-defaults.js';
import type { OutlierSettings } from '../model/outlier-settings.js';
import { envoyDuration } from './duration.js';
import { envoyHashTable } from './hash-policy.js';
import type { Obj } from './istio-resources.js';
import { upstreamProtocol } from '../upstream/upstream-protocol.js';

/** The Envoy fields of one cluster that come from its lb and traffic policy. */
export interface ClusterPolicyFields {
  type?: string;
  lb_policy: string;
  ring_hash_lb_config?: Obj;
  maglev_lb_config?: Obj;
  original_dst_lb_config?: Obj;
  connect_timeout: string;
  circuit_breakers: Obj;
  outlier_detection?: Obj;
  common_lb_config?: Obj;
  upstream_connection_options?: Obj;
  typed_extension_protocol_options?: Obj;
}

function thresholds(policy: ClusterPolicy | undefined): Obj {
  const l = policy?.limits;
  const cap = (v: number | undefined): number => (v === undefined ? ISTIO_CIRCUIT_BREAKER_MAX : Math.min(v, ISTIO_CIRCUIT_BREAKER_MAX));
  return {
    max_connections: cap(l?.maxConnections),
    max_pending_requests: cap(l?.maxPendingRequests),
    max_requests: cap(l?.maxRequests),
    max_retries: cap(l?.maxRetries),
    track_remaining: true,
  };
}

/** Envoy's OutlierDetection from the resolved settings (Istio's applyOutlierDetection). */
function outlierDetection(o: OutlierSettings): Obj {
  // Istio turns success-rate ejection off: only the consecutive-error detectors apply.
  const out: Obj = {
    consecutive_5xx: o.consecutive5xx,
    enforcing_consecutive_5xx: o.enforceConsecutive5xx ? 100 : 0,
    consecutive_gateway_failure: o.consecutiveGatewayFailure,
    enforcing_consecutive_gateway_failure: o.enforceConsecutiveGatewayFailure ? 100 : 0,
    enforcing_success_rate: 0,
    interval: envoyDuration(o.intervalMs),
    base_ejection_time: envoyDuration(o.baseEjectionTimeMs),
    max_ejection_percent: o.maxEjectionPercent,
  };
  if (o.maxEjectionTimeMs !== ENVOY_MAX_EJECTION_TIME_MS) out.max_ejection_time = envoyDuration(o.maxEjectionTimeMs);
  if (o.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    out.consecutive_local_origin_failure = o.consecutiveLocalOriginFailure;
    out.enforcing_consecutive_local_origin_failure = o.enforceConsecutiveLocalOriginFailure ? 100 : 0;
    out.enforcing_local_origin_success_rate = 0;
  }
  if (o.alwaysEjectOneHost) out.always_eject_one_host = true;
  return out;
}

/** The lb fields: Istio's simple policies by name, consistent hash as its table, PASSTHROUGH as ORIGINAL_DST. */
function lbFields(c: Cluster, where: string, warnings: string[]): Pick<ClusterPolicyFields, 'type' | 'lb_policy' | 'ring_hash_lb_config' | 'maglev_lb_config' | 'original_dst_lb_config'> {
  switch (c.lb) {
    case 'CONSISTENT_HASH': {
      const hash = c.policy?.hash;
      if (!hash) {
        warnings.push(`${where}: CONSISTENT_HASH without a hash policy in the model; Envoy uses RING_HASH with its defaults`);
        return { lb_policy: 'RING_HASH' };
      }
      return envoyHashTable(hash) as { lb_policy: string };
    }
    case 'PASSTHROUGH':
      // Istio's PASSTHROUGH is ORIGINAL_DST: the connection's original destination, restored
      // from iptables. wasmesh has no iptables redirect and takes the destination from the
      // request's authority (`ip:port`); Envoy does the same when told to read that header.
      // An authority that is not an address gets no host: 503, in both.
      return { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: { use_http_header: true, http_header_name: ':authority' } };
    default:
      return { lb_policy: c.lb };
  }
}

/**
 * Cluster settings of `c` (Istio's defaults when the model carries no policy); `http2Limits`: the
 * proxy's HTTP/2 limits as Http2ProtocolOptions fields (http2-limits.ts), added to an HTTP/2 cluster's.
 */
export function envoyClusterPolicy(c: Cluster, warnings: string[], http2Limits: Obj = {}): ClusterPolicyFields {
  const where = `cluster ${c.name}`;
  const policy = c.policy;
  const out: ClusterPolicyFields = {
    ...lbFields(c, where, warnings),
    connect_timeout: envoyDuration(policy?.connection.connectTimeoutMs ?? ISTIO_CONNECT_TIMEOUT_MS),
    circuit_breakers: { thresholds: [thresholds(policy)] },
  };
  // HTTP/2 upstream (a grpc/http2 port, or h2UpgradePolicy UPGRADE), as wasmesh's pool chooses
  // it: Envoy must be told, with the protocol options Istio's cluster builder writes.
  const http2 = upstreamProtocol(c) === 'http2';
  if (policy === undefined) {
    if (http2) out.typed_extension_protocol_options = httpProtocolOptions({}, { ...http2Options(undefined), ...http2Limits });
    return out;
  }

  if (policy.outlier !== null) {
    out.outlier_detection = outlierDetection(policy.outlier);
    if (policy.hash?.table.kind === 'ringHash' && policy.hash.table.stableRebuild) {
      warnings.push(`${where}: ring hash with outlier detection: while endpoints are ejected Envoy rebuilds the ring over the others (some of their keys move too); wasmesh keeps their ring points, so only the ejected endpoints' keys move`);
    }
    // Istio sets the panic threshold from minHealthPercent (0 disables panic mode, where Envoy's
    // default 50 % would send traffic to ejected hosts when few endpoints remain).
    out.common_lb_config = { healthy_panic_threshold: { value: policy.outlier.minHealthPercent } };
  }

  const common: Obj = {};
  if (policy.connection.idleTimeoutMs !== ENVOY_IDLE_TIMEOUT_MS) common.idle_timeout = envoyDuration(policy.connection.idleTimeoutMs);
  if (policy.limits.maxRequestsPerConnection > 0) common.max_requests_per_connection = policy.limits.maxRequestsPerConnection;
  if (Object.keys(common).length > 0 || http2) {
    out.typed_extension_protocol_options = httpProtocolOptions(common, http2 ? { ...http2Options(policy.connection.maxConcurrentStreams), ...http2Limits } : null);
  }
  const ka = policy.connection.tcpKeepalive;
  if (ka !== null) {
    // Envoy takes whole seconds; wasmesh hands the same values to the socket.
    out.upstream_connection_options = {
      tcp_keepalive: { keepalive_probes: ka.probes, keepalive_time: Math.max(1, Math.round(ka.timeMs / 1000)), keepalive_interval: Math.max(1, Math.round(ka.intervalMs / 1000)) },
    };
    if (ka.timeMs % 1000 !== 0 || ka.intervalMs % 1000 !== 0) warnings.push(`${where}: tcpKeepalive time/interval rounded to whole seconds for Envoy`);
  }
  return out;
}

/**
 * Envoy's Http2ProtocolOptions for an HTTP/2 cluster, as Istio's applyConnectionPool writes them:
 * empty, with DestinationRule http.maxConcurrentStreams as max_concurrent_streams when set
 * (http2MaxRequests is the circuit breaker's max_requests, maxRequestsPerConnection the common
 * options', as for HTTP/1.1).
 */
function http2Options(maxConcurrentStreams: number | undefined): Obj {
  return maxConcurrentStreams !== undefined && maxConcurrentStreams > 0 ? { max_concurrent_streams: maxConcurrentStreams } : {};
}

/** The cluster's HttpProtocolOptions extension: the common options, and the protocol it speaks stated explicitly. */
function httpProtocolOptions(common: Obj, http2: Obj | null): Obj {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      ...(Object.keys(common).length > 0 ? { common_http_protocol_options: common } : {}),
      // Envoy needs the protocol stated with these options: HTTP/1.1 unless the cluster is HTTP/2.
      explicit_http_config: http2 === null ? { http_protocol_options: {} } : { http2_protocol_options: http2 },
    },
  };
}
