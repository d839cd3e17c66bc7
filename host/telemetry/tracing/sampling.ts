// Whether a request's spans are reported, as Envoy decides it: a decision that came with the
// request's trace context (x-b3-sampled, x-b3-flags, `b3`, the traceparent flag) is honoured;
// otherwise `x-client-trace-id` forces the trace (Envoy's client_sampling, 100 % in Istio), and
// otherwise a random draw against the sampling percentage (Istio's default 1 %). The reason is
// counted as Envoy's connection manager counts it (tracing.random_sampling, tracing.client_enabled,
// tracing.not_traceable).

export const enum SamplingReason {
  /** The request carried a decision (sampled or not). */
  Upstream,
  /** x-client-trace-id forced the trace. */
  ClientForced,
  /** Sampled by the random draw. */
  Random,
  /** Not sampled by the random draw. */
  NotTraceable,
}

export interface SamplingDecision {
  readonly sampled: boolean;
  readonly reason: SamplingReason;
}

const UPSTREAM_YES: SamplingDecision = Object.freeze({ sampled: true, reason: SamplingReason.Upstream });
const UPSTREAM_NO: SamplingDecision = Object.freeze({ sampled: false, reason: SamplingReason.Upstream });
const FORCED: SamplingDecision = Object.freeze({ sampled: true, reason: SamplingReason.ClientForced });
const RANDOM: SamplingDecision = Object.freeze({ sampled: true, reason: SamplingReason.Random });
const NOT_TRACEABLE: SamplingDecision = Object.freeze({ sampled: false, reason: SamplingReason.NotTraceable });

/**
 * The decision for one request. `upstream`: the propagated decision (null: none); `clientTraceId`:
 * the request has x-client-trace-id; `percent`: 0..100; `draw`: a uniform draw in [0, 1), taken
 * only when needed.
 */
export function decideSampling(upstream: boolean | null, clientTraceId: boolean, percent: number, draw: () => number): SamplingDecision {
  if (upstream !== null) return upstream ? UPSTREAM_YES : UPSTREAM_NO;
  if (clientTraceId) return FORCED;
  // No draw at the ends: 0 and 100 are exact.
  if (percent >= 100) return RANDOM;
  if (percent <= 0) return NOT_TRACEABLE;
  return draw() * 100 < percent ? RANDOM : NOT_TRACEABLE;
}
