// Istio's standard metrics as the stats filters define them: one number per metric (the
// Telemetry API's names, as the plugin configuration's override lines give them), its Prometheus
// name and its Envoy metric type. A series' metric ids sit in series-ids.ts by position: an HTTP
// series' positions are REQUEST_COUNT…GRPC_RESPONSE_MESSAGES, a TCP series' TCP_OPENED…TCP_RECEIVED
// (the metric's number minus TCP_FIRST).
import { MetricType } from '../abi/abi-types';
import { ascii, Ascii } from '../common/ascii';

export const enum Metric {
  RequestCount = 0,
  RequestDuration = 1,
  RequestSize = 2,
  ResponseSize = 3,
  GrpcRequestMessages = 4,
  GrpcResponseMessages = 5,
  TcpOpened = 6,
  TcpClosed = 7,
  TcpSent = 8,
  TcpReceived = 9,
  Count = 10,
}

export const HTTP_METRICS: u32 = 6;
export const TCP_FIRST: u32 = 6;
export const TCP_METRICS: u32 = 4;

/** The Telemetry API's metric names (`metrics.overrides.match.metric`), by Metric. */
export const API_NAMES: string[] = [
  'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
  'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES',
];

/** Prometheus names, by Metric. */
export const PROM_NAMES: Ascii[] = [
  ascii('istio_requests_total'), ascii('istio_request_duration_milliseconds'), ascii('istio_request_bytes'), ascii('istio_response_bytes'),
  ascii('istio_request_messages_total'), ascii('istio_response_messages_total'),
  ascii('istio_tcp_connections_opened_total'), ascii('istio_tcp_connections_closed_total'), ascii('istio_tcp_sent_bytes_total'), ascii('istio_tcp_received_bytes_total'),
];

/** Envoy metric types, by Metric. */
export const TYPES: MetricType[] = [
  MetricType.Counter, MetricType.Histogram, MetricType.Histogram, MetricType.Histogram, MetricType.Counter, MetricType.Counter,
  MetricType.Counter, MetricType.Counter, MetricType.Counter, MetricType.Counter,
];
