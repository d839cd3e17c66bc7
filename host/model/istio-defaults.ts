// Istio's defaults, written once (Envoy's own where Istio leaves them): what
// host/config/translate fills in for a field the YAML leaves unset, and what a model field left
// absent means to host/compile, the data path and the Envoy translation.
//
// Where Istio and Envoy differ, wasmesh follows what current Istio makes Envoy do:
// - default retries: 2, `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`,
//   and NO retriable status code (Istio ≥ 1.24, EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY=true;
//   older Istio also retried 503);
// - circuit-breaker limits default to 2^32-1 (Istio), not Envoy's 1024/1024/1024/3;
// - outlierDetection: consecutive5xxErrors unset → Envoy's 5, enforced; consecutiveGatewayErrors
//   unset → Envoy's 5 but NOT enforced (only detected).
import type { CircuitBreakerLimits } from './circuit-breaker-limits.js';
import type { LbPolicy } from './mesh.js';
import type { OutlierSettings } from './outlier-settings.js';
import type { RetryOnName, RetryPolicySpec } from './retry-policy.js';

// ── Retries (a route without `retries`, or a Route without `retry`) ──────────────────────────

/** Istio's default retryOn: for a route without `retries`, or with `retries` but no `retryOn`. */
export const ISTIO_DEFAULT_RETRY_ON: readonly RetryOnName[] = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];
/** Istio's default number of retries. */
export const ISTIO_DEFAULT_RETRIES = 2;
/** Envoy's back-off base interval; its max_interval defaults to ENVOY_BACKOFF_MAX_FACTOR × base. */
export const ENVOY_BACKOFF_BASE_MS = 25;
export const ENVOY_BACKOFF_MAX_FACTOR = 10;
/** Envoy's host_selection_retry_max_attempts as Istio sets it with retries (previous_hosts). */
export const HOST_SELECTION_RETRY_MAX_ATTEMPTS = 5;

/** Istio's retry policy for a route that sets none (a fresh copy: callers may change it). */
export function istioDefaultRetryPolicy(): RetryPolicySpec {
  return {
    retries: ISTIO_DEFAULT_RETRIES,
    retryOn: [...ISTIO_DEFAULT_RETRY_ON],
    retriableStatusCodes: [],
    perTryTimeoutMs: 0,
    backoffBaseMs: ENVOY_BACKOFF_BASE_MS,
    backoffMaxMs: ENVOY_BACKOFF_MAX_FACTOR * ENVOY_BACKOFF_BASE_MS,
  };
}

// ── Connection pool and circuit breakers ─────────────────────────────────────────────────────

/** Istio's load balancer when a DestinationRule names none (also for UNSPECIFIED and LEAST_CONN). */
export const ISTIO_DEFAULT_LB: LbPolicy = 'LEAST_REQUEST';
/** Istio's mesh-wide default connectTimeout. */
export const ISTIO_CONNECT_TIMEOUT_MS = 10_000;
/** Envoy's default upstream idle timeout, which Istio leaves alone unless http.idleTimeout says. */
export const ENVOY_IDLE_TIMEOUT_MS = 3_600_000;
/** Linux's keepalive defaults (net.ipv4.tcp_keepalive_time / _intvl / _probes), which Envoy leaves to the OS. */
export const LINUX_KEEPALIVE = { timeMs: 7_200_000, intervalMs: 75_000, probes: 9 } as const;
/** Istio sets every circuit-breaker threshold to the maximum unless a DestinationRule lowers it. */
export const ISTIO_CIRCUIT_BREAKER_MAX = 0xffffffff;

/** Istio's circuit-breaker limits for a cluster whose connectionPool sets none (a fresh copy). */
export function istioCircuitBreakerLimits(): CircuitBreakerLimits {
  return {
    maxConnections: ISTIO_CIRCUIT_BREAKER_MAX,
    maxPendingRequests: ISTIO_CIRCUIT_BREAKER_MAX,
    maxRequests: ISTIO_CIRCUIT_BREAKER_MAX,
    maxRetries: ISTIO_CIRCUIT_BREAKER_MAX,
    maxRequestsPerConnection: 0,
  };
}

// ── Outlier detection (Envoy's defaults, onto which Istio writes what a rule sets) ────────────

/** Envoy's default max_ejection_time; Istio's translation takes max(this, baseEjectionTime). */
export const ENVOY_MAX_EJECTION_TIME_MS = 300_000;

/**
 * Envoy's outlier detection defaults as Istio leaves them (a fresh copy): consecutive_5xx 5
 * enforced 100 %, consecutive_gateway_failure 5 enforced 0 %, consecutive_local_origin_failure
 * 5 enforced 100 %, interval 10 s, base_ejection_time 30 s, max_ejection_percent 10, and no
 * panic threshold (Istio's minHealthPercent default 0).
 */
export function envoyOutlierDefaults(): OutlierSettings {
  return {
    consecutive5xx: 5, enforceConsecutive5xx: true,
    consecutiveGatewayFailure: 5, enforceConsecutiveGatewayFailure: false,
    consecutiveLocalOriginFailure: 5, enforceConsecutiveLocalOriginFailure: true,
    splitExternalLocalOriginErrors: false, alwaysEjectOneHost: false,
    maxEjectionPercent: 10, minHealthPercent: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: ENVOY_MAX_EJECTION_TIME_MS,
  };
}

// ── Consistent hash (Envoy's ring_hash.proto and maglev.proto defaults) ──────────────────────

export const DEFAULT_MIN_RING_SIZE = 1024;
/** Also the largest ring Envoy accepts. */
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
