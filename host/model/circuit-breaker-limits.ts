// A cluster's circuit-breaker thresholds as the data path applies them: Envoy's
// circuit_breakers after Istio's translation of DestinationRule `connectionPool`.

export interface CircuitBreakerLimits {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
}
