// The PromQL the dashboard asks Prometheus, over Istio's standard metrics. Kiali's choice of
// reporter: the destination proxy's report (reporter="destination") is what the server saw and the
// only one carrying the real connection_security_policy (a source reports "unknown"); the source
// report stands in for calls no destination proxy reported (a destination outside the mesh).

/** A PromQL string literal: Prometheus' escaping (backslash, double quote, newline). */
export function promString(value: string): string {
  return '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

/** A range like `1m`, `30s`, `2h`: checked, since it is pasted into the query text. */
export function promRange(text: string): string {
  if (!/^[1-9][0-9]{0,5}(ms|s|m|h|d)$/.test(text)) throw new RangeError(`not a Prometheus duration: ${JSON.stringify(text)} (e.g. 30s, 1m, 5m)`);
  return text;
}

export type Reporter = 'source' | 'destination';

/** The labels a graph edge is keyed and described by. */
export const EDGE_LABELS = [
  'source_workload', 'source_workload_namespace', 'source_canonical_service', 'source_canonical_revision',
  'destination_workload', 'destination_workload_namespace', 'destination_canonical_service', 'destination_canonical_revision',
  'destination_service',
] as const;

const BY_EDGE = EDGE_LABELS.join(', ');

/** Request rate per edge, split by response code and security policy (error rate and mTLS share come from the split). */
export function edgeRequestRate(reporter: Reporter, window: string): string {
  return `sum(rate(istio_requests_total{reporter=${promString(reporter)}}[${promRange(window)}])) by (${BY_EDGE}, response_code, grpc_response_status, connection_security_policy)`;
}

/** p99 latency per edge in milliseconds (Istio's dashboards' quantile over the duration histogram). */
export function edgeLatencyQuantile(reporter: Reporter, window: string, q = 0.99): string {
  return `histogram_quantile(${q}, sum(rate(istio_request_duration_milliseconds_bucket{reporter=${promString(reporter)}}[${promRange(window)}])) by (le, ${BY_EDGE}))`;
}

/** TCP bytes per edge (sent + received), for calls that are not HTTP. */
export function edgeTcpBytesRate(reporter: Reporter, window: string): string {
  const r = promString(reporter);
  const w = promRange(window);
  // One selector over both names: `a + b` would drop an edge that has only one of the two series.
  return `sum(rate({__name__=~"istio_tcp_sent_bytes_total|istio_tcp_received_bytes_total", reporter=${r}}[${w}])) by (${BY_EDGE}, connection_security_policy)`;
}

/** The workload a service panel shows: what its destination proxy received. */
export interface WorkloadRef {
  readonly namespace: string;
  readonly workload: string;
}

function inbound(ref: WorkloadRef, extra = ''): string {
  return `reporter="destination", destination_workload=${promString(ref.workload)}, destination_workload_namespace=${promString(ref.namespace)}${extra}`;
}

/** The golden signals of one workload's inbound traffic, as Istio's workload dashboard plots them. */
export function workloadSignals(ref: WorkloadRef, window: string): Record<'requests' | 'errors' | 'p50' | 'p90' | 'p99' | 'tcpBytes', string> {
  const w = promRange(window);
  const quantile = (q: number) => `histogram_quantile(${q}, sum(rate(istio_request_duration_milliseconds_bucket{${inbound(ref)}}[${w}])) by (le))`;
  return {
    requests: `sum(rate(istio_requests_total{${inbound(ref)}}[${w}]))`,
    // Istio's "success rate (non-5xx responses)", as its complement.
    errors: `sum(rate(istio_requests_total{${inbound(ref, ', response_code=~"5.."')}}[${w}])) / sum(rate(istio_requests_total{${inbound(ref)}}[${w}]))`,
    p50: quantile(0.5),
    p90: quantile(0.9),
    p99: quantile(0.99),
    tcpBytes: `sum(rate({__name__=~"istio_tcp_sent_bytes_total|istio_tcp_received_bytes_total", ${inbound(ref)}}[${w}]))`,
  };
}
