// Fault injection as Envoy's fault filter does it for Istio's HTTPFaultInjection: per request,
// a delay (fixedDelay for `percentage` % of requests) then an abort (httpStatus for
// `percentage` % of requests), drawn independently; the abort is answered by the proxy.
import type { FaultPolicy } from '../model/mesh.js';
import type { Random } from './random.js';

/** What one request gets: a delay in ms (0: none) and an abort status (0: none). */
export interface FaultDecision {
  delayMs: number;
  abortStatus: number;
}

export const NO_FAULT: Readonly<FaultDecision> = Object.freeze({ delayMs: 0, abortStatus: 0 });

/** Envoy's local reply body for a fault abort. */
export const FAULT_ABORT_BODY = 'fault filter abort';

/** Draws the faults for one request (delay first, as Envoy's filter draws and applies them). */
export function decideFault(policy: FaultPolicy, rng: Random): Readonly<FaultDecision> {
  const delay = policy.delay !== null && policy.delay.fixedDelayMs > 0 && rng.chance(policy.delay.percentage);
  const abort = policy.abort !== null && rng.chance(policy.abort.percentage);
  if (!delay && !abort) return NO_FAULT;
  return { delayMs: delay ? policy.delay!.fixedDelayMs : 0, abortStatus: abort ? policy.abort!.httpStatus : 0 };
}
