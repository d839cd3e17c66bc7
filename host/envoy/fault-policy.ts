// Istio's HTTPFaultInjection as Envoy's fault filter: the filter sits in the HTTP chain with an
// empty configuration and each faulted route carries its HTTPFault in typed_per_filter_config,
// as Pilot does. The filter runs before the router, so the route's retries and timeout never
// apply to an injected delay or abort (wasmesh: the same rule, as Istio).
import type { FaultPolicy } from '../model/mesh.js';
import { envoyDuration } from './duration.js';
import { fractionalPercent } from './fractional-percent.js';
import type { Obj } from './istio-resources.js';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
const HTTP_FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

/** The fault filter for the HTTP chain: no fault of its own, only what routes configure. */
export function faultFilter(): Obj {
  return { name: FAULT_FILTER_NAME, typed_config: { '@type': HTTP_FAULT_TYPE } };
}

/** The per-route HTTPFault for `fault`, or null when it injects nothing. */
export function envoyFault(fault: FaultPolicy): Obj | null {
  const out: Obj = { '@type': HTTP_FAULT_TYPE };
  if (fault.delay) out.delay = { fixed_delay: envoyDuration(fault.delay.fixedDelayMs), percentage: fractionalPercent(fault.delay.percentage) };
  if (fault.abort) out.abort = { http_status: fault.abort.httpStatus, percentage: fractionalPercent(fault.abort.percentage) };
  return fault.delay || fault.abort ? out : null;
}
