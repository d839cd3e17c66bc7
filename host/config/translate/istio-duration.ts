// An Istio duration field of a policy block in ms, or an IstioPolicyError naming the field: the
// policy translations (retries, outlierDetection) read their durations through this.
import { parseDuration } from '../../common/duration.js';
import { IstioPolicyError } from './istio-policy-error.js';

/** An Istio duration field in ms; `where` names it in the error. */
export function istioDurationMs(value: unknown, where: string): number {
  if (typeof value !== 'string') throw new IstioPolicyError('invalid_setting', `${where}: expected a duration string`);
  const d = parseDuration(value);
  if (!d.ok) throw new IstioPolicyError('invalid_setting', `${where}: ${d.reason}`);
  return d.ms;
}
