// The Telemetry API's metrics overrides (telemetry.istio.io Telemetry `metrics`) resolved for one
// proxy, per reporter: Istio's CLIENT mode is the source reporter (a sidecar's outbound side, a
// gateway), SERVER the destination reporter (a sidecar's inbound side). Applied to the standard
// metrics when they are scraped (host/telemetry/istio-metric-overrides.ts).

/** Istio's standard metrics (HTTP with the gRPC message counts, and TCP) as the Telemetry API names them. */
export type IstioMetric = 'REQUEST_COUNT' | 'REQUEST_DURATION' | 'REQUEST_SIZE' | 'RESPONSE_SIZE' | 'GRPC_REQUEST_MESSAGES' | 'GRPC_RESPONSE_MESSAGES'
  | 'TCP_OPENED_CONNECTIONS' | 'TCP_CLOSED_CONNECTIONS' | 'TCP_SENT_BYTES' | 'TCP_RECEIVED_BYTES';
export const ISTIO_HTTP_METRICS: readonly IstioMetric[] = ['REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES'];
export const ISTIO_TCP_METRICS: readonly IstioMetric[] = ['TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES'];
/** What ALL_METRICS matches (Istio: every standard metric, TCP included). */
export const ISTIO_METRICS: readonly IstioMetric[] = [...ISTIO_HTTP_METRICS, ...ISTIO_TCP_METRICS];

/** One metric's overrides for one reporter. */
export interface MetricOverride {
  /** The metric is not emitted. */
  readonly disabled: boolean;
  /** Labels dropped (series that then share a label set are merged). */
  readonly remove: readonly string[];
  /** Labels set to a constant ([name, value]; an existing label keeps its place, a new one is appended). */
  readonly upsert: ReadonlyArray<readonly [string, string]>;
}

/** Per metric, the overrides of one reporter (a metric absent: as Istio's default). */
export type ReporterOverrides = Readonly<Partial<Record<IstioMetric, MetricOverride>>>;

export interface MetricsOverrides {
  /** CLIENT: the source reporter. */
  readonly client: ReporterOverrides;
  /** SERVER: the destination reporter. */
  readonly server: ReporterOverrides;
}
