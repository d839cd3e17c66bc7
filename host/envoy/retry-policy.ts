// Istio's HTTPRetry (VirtualService `retries`) to Envoy's route retry_policy, with the defaults
// Istio's Pilot applies when a route says nothing: retries are on unless explicitly disabled.
import { STATUS_CODES } from 'node:http';
import { envoyDuration, parseDurationMs } from './duration.js';
import { isObj, type Obj } from './istio-resources.js';

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

/** Istio's policy for routes without `retries`: 2 retries, no status code retried, 5 host re-picks. */
export function istioDefaultRetryPolicy(): Obj {
  return {
    num_retries: 2,
    retry_on: ISTIO_DEFAULT_RETRY_ON,
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [PREVIOUS_HOSTS_PREDICATE],
  };
}

const KNOWN_FIELDS = new Set(['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff']);

/**
 * The retry_policy for one route, or null when retries are disabled (`attempts: 0`, as in
 * Istio). `retries` is the rule's raw `retries` value (undefined when absent); `where` names it
 * in errors and warnings.
 */
export function envoyRetryPolicy(retries: unknown, where: string, warnings: string[]): Obj | null {
  const policy = istioDefaultRetryPolicy();
  if (retries === undefined || retries === null) return policy;
  if (!isObj(retries)) {
    warnings.push(`${where}: retries is not an object; Istio's default retry policy used`);
    return policy;
  }
  for (const key of Object.keys(retries)) {
    if (!KNOWN_FIELDS.has(key)) warnings.push(`${where}.${key}: not translated to Envoy (unknown retry field)`);
  }
  // Istio: a retries block whose attempts is 0 or absent disables retries for the route.
  const attempts = typeof retries.attempts === 'number' ? retries.attempts : 0;
  if (attempts <= 0) return null;
  policy.num_retries = attempts;

  if (typeof retries.retryOn === 'string' && retries.retryOn.trim() !== '') {
    const { retryOn, codes } = splitRetryOn(retries.retryOn);
    // Istio: integers in retryOn are status codes; they need the retriable-status-codes policy.
    policy.retry_on = codes.length > 0 && !retryOn.includes('retriable-status-codes')
      ? [retryOn, 'retriable-status-codes'].filter((s) => s !== '').join(',')
      : retryOn;
    if (codes.length > 0) policy.retriable_status_codes = codes;
    else delete policy.retriable_status_codes;
  }
  if (retries.perTryTimeout !== undefined) {
    policy.per_try_timeout = envoyDuration(parseDurationMs(retries.perTryTimeout, `${where}.perTryTimeout`));
  }
  if (retries.retryIgnorePreviousHosts === false) delete policy.retry_host_predicate;
  if (retries.backoff !== undefined) {
    policy.retry_back_off = { base_interval: envoyDuration(parseDurationMs(retries.backoff, `${where}.backoff`)) };
  }
  if (retries.retryRemoteLocalities === true) {
    policy.retry_priority = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
        update_frequency: 2,
      },
    };
  }
  return policy;
}

/** Splits Istio's retryOn into Envoy's retry_on conditions and HTTP status codes. */
function splitRetryOn(value: string): { retryOn: string; codes: number[] } {
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const raw of value.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    // As Istio does: a part is a status code when it is an integer HTTP knows by name.
    if (/^\d+$/.test(part) && STATUS_CODES[Number(part)] !== undefined) codes.push(Number(part));
    else conditions.push(part);
  }
  return { retryOn: conditions.join(','), codes };
}
