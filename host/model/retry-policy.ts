// A route's retry policy as the data path applies it (Envoy's retry_policy after Istio's
// translation of VirtualService `retries`): what host/config/translate produces, what
// host/compile encodes for the core, and what the Envoy translation prints.

/** retryOn conditions by Istio/Envoy name (x-envoy-retry-on and x-envoy-retry-grpc-on). */
export const RETRY_ON_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'refused-stream',
  'retriable-4xx',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'resource-exhausted',
  'unavailable',
  'internal',
] as const;
export type RetryOnName = (typeof RETRY_ON_CONDITIONS)[number];

/** At most this many retriable status codes: the core's retry policy record holds 16. */
export const MAX_RETRIABLE_CODES = 16;

/** A route's retry policy. */
export interface RetryPolicySpec {
  /** Retries allowed after the first try (Istio `attempts`); 0 disables retries. */
  retries: number;
  retryOn: RetryOnName[];
  retriableStatusCodes: number[];
  /** Per-try timeout in ms (0: none, the route timeout alone applies). */
  perTryTimeoutMs: number;
  /** Envoy's base interval (Istio `retries.backoff`, default 25 ms) and max (10 × base). */
  backoffBaseMs: number;
  backoffMaxMs: number;
}
