// Envoy's response flags for the failures the data path produces, with the status each one
// answers, so that logs and stats use the vocabulary operators already grep for.

export const ResponseFlag = {
  /** No route matched the request. */
  NoRouteFound: 'NR',
  /** The chosen cluster has no healthy endpoint. */
  NoHealthyUpstream: 'UH',
  /** Connecting to the endpoint failed (refused, unreachable, connect timeout). */
  UpstreamConnectionFailure: 'UF',
  /** The cluster's circuit breaker (max connections / pending requests) is open. */
  UpstreamOverflow: 'UO',
  /** The upstream connection was reset or closed before the response completed. */
  UpstreamConnectionTermination: 'UC',
  /** The upstream reset the stream (HTTP/2 RST_STREAM) before the response completed. */
  UpstreamRemoteReset: 'UR',
  /** The route timeout expired before the upstream response completed. */
  UpstreamRequestTimeout: 'UT',
  /** The upstream response head was malformed or too large. */
  UpstreamProtocolError: 'UPE',
  /** The client went away before the response completed. */
  DownstreamConnectionTermination: 'DC',
  /** The downstream request head broke a limit (431) or was otherwise refused. */
  DownstreamProtocolError: 'DPE',
  /** The retries allowed were used up; the last attempt's outcome was answered. */
  UpstreamRetryLimitExceeded: 'URX',
  /** The request was aborted by fault injection. */
  FaultInjected: 'FI',
  /** The request was delayed by fault injection. */
  DelayInjected: 'DI',
  /** Nothing moved either way for the stream idle timeout. */
  StreamIdleTimeout: 'SI',
  /** The external authorizer (ext_authz, AuthorizationPolicy CUSTOM) denied, failed or is missing. */
  UnauthorizedExternalService: 'UAEX',
  /** A local or global rate limit refused the request (429). */
  RateLimited: 'RL',
  /** The rate limit service failed and failureModeDeny refused the request (500). */
  RateLimitServiceError: 'RLSE',
} as const;

export type ResponseFlag = (typeof ResponseFlag)[keyof typeof ResponseFlag];

// Envoy prints a request's flags in the order of its flag table, whatever the order they were
// set in (a connect failure whose retries ran out reads "UF,URX").
const ENVOY_ORDER = ['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR'];
const RANK = new Map(ENVOY_ORDER.map((f, i) => [f, i]));

/** The access log's flags field: '-' when none, else Envoy's comma-separated order, no duplicates. */
export function formatFlags(flags: readonly string[]): string {
  if (flags.length === 0) return '-';
  if (flags.length === 1) return flags[0]!;
  return [...new Set(flags)].sort((a, b) => (RANK.get(a) ?? 99) - (RANK.get(b) ?? 99)).join(',');
}
