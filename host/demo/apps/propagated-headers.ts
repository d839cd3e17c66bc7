// The request headers a mesh app copies onto its outbound calls: Istio asks every service to
// forward the trace headers its proxies set (the seed 003 list plus W3C trace context), and the
// seeds' scenarios add their own (Istio101's `fail` and `x-dev-user`, bookinfo's `end-user`,
// `user-agent` and `cookie`), because routing rules further down the chain match on them.
import type { IncomingHttpHeaders } from 'node:http';

/** Istio's trace headers (seed 003's list, plus W3C traceparent/tracestate). */
export const TRACE_HEADERS: readonly string[] = [
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-ot-span-context',
  'traceparent',
  'tracestate',
];

/** Seed 003: the failure probability and the canary key travel with the request. */
export const ISTIO101_HEADERS: readonly string[] = [...TRACE_HEADERS, 'fail', 'x-dev-user'];

/** Seed 002: bookinfo's productpage forwards the user and browser to reviews (rules match them). */
export const BOOKINFO_HEADERS: readonly string[] = [...TRACE_HEADERS, 'end-user', 'user-agent', 'cookie'];

/** The subset of `incoming` named in `names` (first value of a repeated field joined by ", "). */
export function propagatedHeaders(incoming: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = incoming[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
