// A route's resolved retry policy (the model's RetryPolicySpec: Istio's HTTPRetry with
// Istio's defaults applied) as Envoy's route retry_policy, as Pilot's retry.ConvertPolicy
// writes it: retry_on, retriable_status_codes, per_try_timeout, back-off, and the
// previous-hosts predicate with 5 re-picks, which wasmesh's endpoint picks also follow.
import { ENVOY_BACKOFF_BASE_MS, ENVOY_BACKOFF_MAX_FACTOR, HOST_SELECTION_RETRY_MAX_ATTEMPTS, istioDefaultRetryPolicy } from '../model/istio-defaults.js';
import type { RetryPolicySpec } from '../model/retry-policy.js';
import { envoyDuration } from './duration.js';
import type { Obj } from './istio-resources.js';

/** Envoy's built-in predicate: a retry prefers an endpoint not tried yet. */
const PREVIOUS_HOSTS_PREDICATE = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
};

/**
 * The retry_policy for a route, or null when retries are disabled (`attempts: 0`). `spec`
 * undefined is Istio's default policy (a route the model made without one).
 */
export function envoyRetryPolicy(spec: RetryPolicySpec | undefined = istioDefaultRetryPolicy()): Obj | null {
  if (spec.retries <= 0) return null;
  const out: Obj = {
    num_retries: spec.retries,
    retry_on: spec.retryOn.join(','),
    host_selection_retry_max_attempts: HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    retry_host_predicate: [PREVIOUS_HOSTS_PREDICATE],
  };
  if (spec.retriableStatusCodes.length > 0) out.retriable_status_codes = [...spec.retriableStatusCodes];
  if (spec.perTryTimeoutMs > 0) out.per_try_timeout = envoyDuration(spec.perTryTimeoutMs);
  const defaultMax = ENVOY_BACKOFF_MAX_FACTOR * spec.backoffBaseMs;
  if (spec.backoffBaseMs !== ENVOY_BACKOFF_BASE_MS || spec.backoffMaxMs !== defaultMax) {
    const backOff: Obj = { base_interval: envoyDuration(spec.backoffBaseMs) };
    if (spec.backoffMaxMs !== defaultMax) backOff.max_interval = envoyDuration(spec.backoffMaxMs);
    out.retry_back_off = backOff;
  }
  return out;
}
