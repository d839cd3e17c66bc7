// The error of the policy translations (retries, outlierDetection): a stable code and the
// field, which route-actions.ts and traffic-policy.ts turn into located config issues.

export type IstioPolicyErrorCode = 'invalid_retry_on' | 'unsupported_retry_on' | 'invalid_setting';

const REASON: Record<IstioPolicyErrorCode, string> = {
  invalid_retry_on: 'retryOn holds a condition Istio does not accept',
  unsupported_retry_on: 'retryOn holds a condition Istio accepts that wasmesh does not implement',
  invalid_setting: 'an Istio setting is out of its allowed range',
};

export class IstioPolicyError extends Error {
  readonly code: IstioPolicyErrorCode;
  /** `detail` starts with the field (`retries.retryOn: …`, `outlierDetection.interval: …`). */
  constructor(code: IstioPolicyErrorCode, detail: string) {
    super(`${detail}: ${REASON[code]} (${code})`);
    this.name = 'IstioPolicyError';
    this.code = code;
  }
}
