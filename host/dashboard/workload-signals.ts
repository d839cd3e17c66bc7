// One workload's golden signals over time (the panel a click on a graph node opens): inbound
// request rate, 5xx share, latency quantiles and TCP bytes, as range queries on the
// destination reporter, the way Istio's workload dashboard plots them.
import { workloadSignals, type WorkloadRef } from './promql.js';
import type { PrometheusApi } from './prometheus-api.js';

export interface SignalSeries {
  /** Unix seconds of each point (shared by every signal). */
  readonly times: readonly number[];
  /** Per signal, one value per time; null where Prometheus had no value (no traffic then). */
  readonly values: Readonly<Record<'requests' | 'errors' | 'p50' | 'p90' | 'p99' | 'tcpBytes', ReadonlyArray<number | null>>>;
}

export interface WorkloadSignals extends SignalSeries {
  readonly workload: WorkloadRef;
  readonly window: string;
  readonly stepS: number;
}

/** Range queries over [end - rangeS, end] every stepS seconds, aligned on one time axis. */
export async function queryWorkloadSignals(prom: PrometheusApi, ref: WorkloadRef, opts: { window: string; rangeS: number; stepS: number; endS?: number }): Promise<WorkloadSignals> {
  const endS = Math.floor((opts.endS ?? Date.now() / 1000) / opts.stepS) * opts.stepS;
  const startS = endS - opts.rangeS;
  const queries = workloadSignals(ref, opts.window);
  const names = Object.keys(queries) as Array<keyof typeof queries>;
  const results = await Promise.all(names.map((n) => prom.queryRange(queries[n], startS, endS, opts.stepS)));
  const times: number[] = [];
  for (let t = startS; t <= endS; t += opts.stepS) times.push(t);
  const values = {} as Record<keyof typeof queries, Array<number | null>>;
  names.forEach((name, i) => {
    const byTime = new Map<number, number>();
    // Every query sums to one series (or none, when nothing matched).
    for (const series of results[i]!) for (const [t, v] of series.points) if (Number.isFinite(v)) byTime.set(Math.round(t), v);
    values[name] = times.map((t) => byTime.get(t) ?? null);
  });
  return { workload: ref, window: opts.window, stepS: opts.stepS, times, values };
}
