// Istio's standard metrics in Prometheus' text format 0.0.4, as Istio's sidecars expose them
// beside Envoy's own stats: istio_requests_total (counter) and the istio_request_duration_milliseconds,
// istio_request_bytes and istio_response_bytes histograms (`_bucket{le}` cumulative, `_sum`, `_count`),
// and for gRPC requests istio_request_messages_total / istio_response_messages_total.
import { ISTIO_BUCKETS, cumulative, histogramCount, histogramSum } from '../telemetry/istio-histogram.js';
import type { IstioSeriesSnapshot, IstioSnapshot } from '../telemetry/istio-metrics.js';
import type { IstioMetric, MetricsOverrides } from '../model/metrics-overrides.js';
import { overriddenSeries, overriddenTcpSamples } from '../telemetry/istio-metric-overrides.js';
import { renderIstioTcpPrometheus } from '../telemetry/istio-tcp-metrics.js';

/** `le` values as Prometheus prints them (Envoy writes `0.5`, `1`, … `3600000`, `+Inf`). */
const LE = [...ISTIO_BUCKETS.map((b) => String(b)), '+Inf'];

type HistogramField = 'duration' | 'requestBytes' | 'responseBytes';
const HISTOGRAMS: ReadonlyArray<readonly [string, HistogramField, IstioMetric]> = [
  ['istio_request_bytes', 'requestBytes', 'REQUEST_SIZE'],
  ['istio_request_duration_milliseconds', 'duration', 'REQUEST_DURATION'],
  ['istio_response_bytes', 'responseBytes', 'RESPONSE_SIZE'],
];

const MESSAGE_COUNTERS: ReadonlyArray<readonly [string, 'requestMessages' | 'responseMessages', IstioMetric]> = [
  ['istio_request_messages_total', 'requestMessages', 'GRPC_REQUEST_MESSAGES'],
  ['istio_response_messages_total', 'responseMessages', 'GRPC_RESPONSE_MESSAGES'],
];

const byLabels = (a: IstioSeriesSnapshot, b: IstioSeriesSnapshot): number => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0);

/**
 * The exposition text of `series` (empty when there are none: no family without samples), with
 * the Telemetry API's metrics overrides of the current config applied (a disabled metric has no family).
 */
export function renderIstioPrometheus(snapshot: IstioSnapshot, overrides?: MetricsOverrides): string {
  const { series, overflow } = snapshot;
  const tcpSeries = snapshot.tcp ?? [];
  const tcp = renderIstioTcpPrometheus(tcpSeries, overrides === undefined ? undefined : (field, metric) => overriddenTcpSamples(tcpSeries, field, metric, overrides));
  if (series.length === 0 && overflow === 0) return tcp;
  let plain: IstioSeriesSnapshot[] | undefined;
  const family = (metric: IstioMetric): IstioSeriesSnapshot[] => {
    const list = overriddenSeries(series, metric, overrides);
    // Without overrides every family is the same list: sorted once.
    return list === series ? (plain ??= [...series].sort(byLabels)) : [...list].sort(byLabels);
  };
  const parts: string[] = [];
  if (series.length > 0) {
    const counted = family('REQUEST_COUNT');
    if (counted.length > 0) parts.push('# TYPE istio_requests_total counter\n');
    for (const s of counted) parts.push(`istio_requests_total{${s.labels}} ${s.requests}\n`);
    // gRPC message counts: the series of gRPC requests only (others have none to count).
    for (const [name, field, metric] of MESSAGE_COUNTERS) {
      const grpc = family(metric).filter((s) => s[field] !== undefined);
      if (grpc.length > 0) parts.push(`# TYPE ${name} counter\n`);
      for (const s of grpc) parts.push(`${name}{${s.labels}} ${s[field]}\n`);
    }
    const buckets: number[] = [];
    for (const [name, field, metric] of HISTOGRAMS) {
      const sorted = family(metric);
      if (sorted.length > 0) parts.push(`# TYPE ${name} histogram\n`);
      for (const s of sorted) {
        const h = s[field];
        cumulative(h, buckets);
        for (let i = 0; i < LE.length; i++) parts.push(`${name}_bucket{${s.labels},le="${LE[i]}"} ${buckets[i]}\n`);
        parts.push(`${name}_sum{${s.labels}} ${histogramSum(h)}\n`, `${name}_count{${s.labels}} ${histogramCount(h)}\n`);
      }
    }
  }
  if (overflow > 0) parts.push('# TYPE wasmesh_istio_series_overflow_total counter\n', `wasmesh_istio_series_overflow_total ${overflow}\n`);
  parts.push(tcp);
  return parts.join('');
}
