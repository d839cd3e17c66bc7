// DestinationRule `connectionPool` → the model's CircuitBreakerLimits, as Istio writes Envoy's
// circuit_breakers thresholds.
import type { CircuitBreakerLimits } from '../../model/circuit-breaker-limits.js';
import { istioCircuitBreakerLimits, ISTIO_CIRCUIT_BREAKER_MAX } from '../../model/istio-defaults.js';

/**
 * Istio's connectionPool to Envoy's thresholds: unset (or 0, which proto3 cannot tell apart)
 * limits stay at Istio's default 2^32-1 (Istio replaces Envoy's 1024/1024/1024/3).
 */
export function circuitBreakerLimitsFromIstio(cp: { tcp?: { maxConnections?: number }; http?: { http1MaxPendingRequests?: number; http2MaxRequests?: number; maxRetries?: number; maxRequestsPerConnection?: number } } | undefined): CircuitBreakerLimits {
  const d = istioCircuitBreakerLimits();
  const pick = (v: number | undefined, unset: number): number => (v !== undefined && v > 0 ? Math.min(v, ISTIO_CIRCUIT_BREAKER_MAX) : unset);
  return {
    maxConnections: pick(cp?.tcp?.maxConnections, d.maxConnections),
    maxPendingRequests: pick(cp?.http?.http1MaxPendingRequests, d.maxPendingRequests),
    maxRequests: pick(cp?.http?.http2MaxRequests, d.maxRequests),
    maxRetries: pick(cp?.http?.maxRetries, d.maxRetries),
    maxRequestsPerConnection: Math.max(d.maxRequestsPerConnection, cp?.http?.maxRequestsPerConnection ?? 0),
  };
}
