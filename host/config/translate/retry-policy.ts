// VirtualService `retries` → the model's RetryPolicySpec, as Istio's ConvertPolicy writes
// Envoy's retry_policy (Istio's defaults: host/model/istio-defaults.ts).
import { ENVOY_BACKOFF_MAX_FACTOR, istioDefaultRetryPolicy } from '../../model/istio-defaults.js';
import { MAX_RETRIABLE_CODES, RETRY_ON_CONDITIONS, type RetryOnName, type RetryPolicySpec } from '../../model/retry-policy.js';
import { istioDurationMs } from './istio-duration.js';
import { IstioPolicyError } from './istio-policy-error.js';

/** Accepted by Istio's validation, not implemented here (each needs data wasmesh does not carry yet). */
const UNSUPPORTED_RETRY_ON = new Set(['retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'reset-before-request']);

/** Status codes Go's http.StatusText knows: what Istio's parseRetryOn treats as a code. */
const GO_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423,
  424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/**
 * Istio's ConvertPolicy (pilot/pkg/networking/core/route/retry/retry.go) as a RetryPolicySpec:
 * absent `retries` → the default; `attempts` <= 0 → disabled; `retryOn` replaces the default
 * conditions, its integers (Go-known HTTP statuses) become retriable status codes, and
 * `retriable-status-codes` is added when codes are present. `where` names the field in errors.
 */
export function retryPolicyFromIstio(retries: { attempts?: number; perTryTimeout?: string; retryOn?: string; backoff?: string } | undefined, where = 'retries'): RetryPolicySpec {
  const spec = istioDefaultRetryPolicy();
  if (retries === undefined) return spec;
  const attempts = retries.attempts ?? 0;
  if (!Number.isInteger(attempts)) throw new IstioPolicyError('invalid_setting', `${where}.attempts: ${attempts} is not an integer`);
  if (attempts <= 0) return { ...spec, retries: 0 };
  spec.retries = attempts;
  if (retries.retryOn !== undefined && retries.retryOn !== '') {
    const on: RetryOnName[] = [];
    const codes: number[] = [];
    for (const raw of retries.retryOn.split(',')) {
      const part = raw.trim();
      if (part === '') continue;
      if (/^\d+$/.test(part) && GO_STATUS_CODES.has(Number(part))) codes.push(Number(part));
      else if ((RETRY_ON_CONDITIONS as readonly string[]).includes(part)) on.push(part as RetryOnName);
      else if (UNSUPPORTED_RETRY_ON.has(part)) throw new IstioPolicyError('unsupported_retry_on', `${where}.retryOn: "${part}"`);
      else throw new IstioPolicyError('invalid_retry_on', `${where}.retryOn: "${part}" is not a valid retryOn policy`);
    }
    if (codes.length > MAX_RETRIABLE_CODES) throw new IstioPolicyError('invalid_setting', `${where}.retryOn: more than ${MAX_RETRIABLE_CODES} status codes`);
    if (codes.length > 0 && !on.includes('retriable-status-codes')) on.push('retriable-status-codes');
    spec.retryOn = on;
    spec.retriableStatusCodes = codes;
  }
  if (retries.perTryTimeout !== undefined) spec.perTryTimeoutMs = istioDurationMs(retries.perTryTimeout, `${where}.perTryTimeout`);
  if (retries.backoff !== undefined) {
    const base = istioDurationMs(retries.backoff, `${where}.backoff`);
    if (base < 1) throw new IstioPolicyError('invalid_setting', `${where}.backoff: must be at least 1ms`);
    spec.backoffBaseMs = base;
    spec.backoffMaxMs = ENVOY_BACKOFF_MAX_FACTOR * base; // Envoy: max_interval defaults to 10 × base_interval.
  }
  return spec;
}
