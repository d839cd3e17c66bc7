// DestinationRule `outlierDetection` → the model's OutlierSettings, as Istio's
// applyOutlierDetection writes Envoy's outlier_detection. The deprecated consecutiveErrors is
// ignored, as current Istio ignores it; minHealthPercent becomes Envoy's panic threshold.
import { envoyOutlierDefaults, ENVOY_MAX_EJECTION_TIME_MS } from '../../model/istio-defaults.js';
import type { OutlierSettings } from '../../model/outlier-settings.js';
import { istioDurationMs } from './istio-duration.js';
import { IstioPolicyError } from './istio-policy-error.js';

type UInt32Value = number | { value?: number };
const wrapped = (v: UInt32Value | undefined): number | undefined => (typeof v === 'object' ? v.value ?? 0 : v);

/**
 * Istio's applyOutlierDetection (pilot cluster_traffic_policy.go) onto Envoy's defaults
 * (consecutive_5xx 5 enforced 100 %, consecutive_gateway_failure 5 enforced 0 %,
 * consecutive_local_origin_failure 5 enforced 100 %, interval 10 s, base_ejection_time 30 s,
 * max_ejection_percent 10, max_ejection_time max(300 s, base)). Istio writes a value only when
 * the field is set (a percent only when > 0; local-origin only with the split flag and > 0).
 * `undefined` (no outlierDetection) is null: outlier detection off.
 */
export function outlierSettingsFromIstio(od: {
  consecutive5xxErrors?: UInt32Value; consecutiveGatewayErrors?: UInt32Value; consecutiveLocalOriginFailures?: UInt32Value;
  splitExternalLocalOriginErrors?: boolean; interval?: string; baseEjectionTime?: string; maxEjectionPercent?: number; minHealthPercent?: number;
  consecutiveErrors?: number;
} | undefined, where = 'outlierDetection'): OutlierSettings | null {
  if (od === undefined) return null;
  const s = envoyOutlierDefaults();
  const c5 = wrapped(od.consecutive5xxErrors);
  if (c5 !== undefined) {
    s.consecutive5xx = c5;
    s.enforceConsecutive5xx = c5 > 0;
  }
  const cg = wrapped(od.consecutiveGatewayErrors);
  if (cg !== undefined) {
    s.consecutiveGatewayFailure = cg;
    s.enforceConsecutiveGatewayFailure = cg > 0;
  }
  if (od.splitExternalLocalOriginErrors === true) {
    s.splitExternalLocalOriginErrors = true;
    const cl = wrapped(od.consecutiveLocalOriginFailures);
    if (cl !== undefined && cl > 0) s.consecutiveLocalOriginFailure = cl;
  }
  if (od.interval !== undefined) s.intervalMs = istioDurationMs(od.interval, `${where}.interval`);
  if (od.baseEjectionTime !== undefined) s.baseEjectionTimeMs = istioDurationMs(od.baseEjectionTime, `${where}.baseEjectionTime`);
  if (od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0) s.maxEjectionPercent = Math.min(100, od.maxEjectionPercent);
  if (od.minHealthPercent !== undefined && od.minHealthPercent >= 0) s.minHealthPercent = Math.min(100, od.minHealthPercent);
  s.maxEjectionTimeMs = Math.max(ENVOY_MAX_EJECTION_TIME_MS, s.baseEjectionTimeMs);
  for (const [k, v] of [['interval', s.intervalMs], ['baseEjectionTime', s.baseEjectionTimeMs]] as const) {
    if (v < 1) throw new IstioPolicyError('invalid_setting', `${where}.${k}: must be at least 1ms`);
  }
  for (const [k, v] of [['consecutive5xxErrors', s.consecutive5xx], ['consecutiveGatewayErrors', s.consecutiveGatewayFailure], ['consecutiveLocalOriginFailures', s.consecutiveLocalOriginFailure]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new IstioPolicyError('invalid_setting', `${where}.${k}: ${v} is not a uint32`);
  }
  return s;
}
