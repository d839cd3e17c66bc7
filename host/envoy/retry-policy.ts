// A route's resolved retry policy (host/config's RetryPolicySpec: Istio's HTTPRetry with
// Istio's defaults applied) as Envoy's route retry_policy, as Pilot's retry.ConvertPolicy
// writes it: retry_on, retriable_status_codes, per_try_timeout, back-off, and the
// previous-hosts predicate with 5 re-picks, which wasmesh's endpoint picks also follow.
import type { RetryPolicySpec } from '../core/upstream-policy.js';
import { envoyDuration } from './duration.js';
import type { Obj } from './istio-resources.js';

/** Envoy's built-in predicate: a retry prefers an endpoint not tried yet. */
const PREVIOUS_HOSTS_PREDICATE = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
};

/**
 * Istio's default retry_on. Since Istio 1.24 (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY) the default
 * names retriable-status-codes but lists no code, so no status code is retried by default.
 */
export const ISTIO_DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** Envoy's back-off defaults: 25 ms base, 10 × base maximum. */
const ENVOY_BACKOFF_BASE_MS = 25;

/** Istio's policy for routes without `retries`: 2 retries, no status code retried, 5 host re-picks. */
export function istioDefaultRetryPolicy(): Obj {
  return {
    num_retries: 2,
    retry_on: ISTIO_DEFAULT_RETRY_ON,
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [PREVIOUS_HOSTS_PREDICATE],
  };
}

/**
 * The retry_policy for a route, or null when retries are disabled (`attempts: 0`). `spec`
 * undefined is Istio's default policy (a route the model made without one).
 */
export function envoyRetryPolicy(spec: RetryPolicySpec | undefined): Obj | null {
  if (spec === undefined) return istioDefaultRetryPolicy();
  if (spec.retries <= 0) return null;
  const out: Obj = {
    num_retries: spec.retries,
    retry_on: spec.retryOn.join(','),
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [PREVIOUS_HOSTS_PREDICATE],
  };
  if (spec.retriableStatusCodes.length > 0) out.retriable_status_codes = [...spec.retriableStatusCodes];
  if (spec.perTryTimeoutMs > 0) out.per_try_timeout = envoyDuration(spec.perTryTimeoutMs);
  if (spec.backoffBaseMs !== ENVOY_BACKOFF_BASE_MS || spec.backoffMaxMs !== 10 * spec.backoffBaseMs) {
    const backOff: Obj = { base_interval: envoyDuration(spec.backoffBaseMs) };
    if (spec.backoffMaxMs !== 10 * spec.backoffBaseMs) backOff.max_interval = envoyDuration(spec.backoffMaxMs);
    out.retry_back_off = backOff;
  }
  return out;
}
