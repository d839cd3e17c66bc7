// From individual runs to what the report states: per workers × mode × contender the median and
// the min–max spread over repetitions of every figure, then the ratios of medians against native
// Envoy: wasmesh ÷ Envoy, and Envoy + wasmesh filters ÷ Envoy.
import type { ContenderName } from './contenders.js';
import type { Ratio, RunRecord, Spread, SummaryRow } from './report-types.js';

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  // Even count: the mean of the two middle values, the usual median.
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

export function summarize(runs: readonly RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = `${r.workers}\u0000${r.mode}\u0000${r.contender}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const rows: SummaryRow[] = [];
  for (const group of groups.values()) {
    const ok = group.filter((r) => r.ok && r.load !== undefined);
    if (ok.length === 0) continue;
    const of = (f: (r: RunRecord) => number): Spread => spread(ok.map(f));
    // Runs recorded before RssAnon was measured have no anon figure: no spread rather than a partial one.
    const anon = ok.every((r) => r.peakAnonMiB !== undefined) ? of((r) => r.peakAnonMiB!) : undefined;
    rows.push({
      workers: group[0].workers,
      mode: group[0].mode,
      contender: group[0].contender,
      runs: ok.length,
      failed: group.length - ok.length,
      rps: of((r) => r.load!.rps),
      p50Ms: of((r) => r.load!.latencyMs.p50),
      p90Ms: of((r) => r.load!.latencyMs.p90),
      p99Ms: of((r) => r.load!.latencyMs.p99),
      maxMs: of((r) => r.load!.latencyMs.max),
      cpuSecondsPer1k: of((r) => r.cpuSecondsPer1k!),
      peakRssMiB: of((r) => r.peakRssMiB!),
      ...(anon ? { peakAnonMiB: anon } : {}),
      errors: ok.reduce((n, r) => n + r.load!.errors, 0),
    });
  }
  return rows;
}

export function findRow(rows: readonly SummaryRow[], workers: number, mode: string, contender: ContenderName): SummaryRow | undefined {
  return rows.find((r) => r.workers === workers && r.mode === mode && r.contender === contender);
}

export function ratios(rows: readonly SummaryRow[], workers: readonly number[], modes: readonly string[]): Ratio[] {
  const out: Ratio[] = [];
  for (const w of workers) {
    for (const m of modes) {
      // A figure either side lacks (no row, or an older report without it) gives no ratio.
      const over = (a: SummaryRow | undefined, b = findRow(rows, w, m, 'envoy')) => (f: (r: SummaryRow) => number | undefined): number | null => {
        const x = a ? f(a) : undefined;
        const y = b ? f(b) : undefined;
        return x !== undefined && y !== undefined && y > 0 ? x / y : null;
      };
      const wasmesh = over(findRow(rows, w, m, 'wasmesh'));
      const filters = over(findRow(rows, w, m, 'envoy+filters'));
      const mtls = over(findRow(rows, w, m, 'wasmesh-mtls'), findRow(rows, w, m, 'envoy-mtls'));
      const policy = over(findRow(rows, w, m, 'wasmesh-policy'), findRow(rows, w, m, 'envoy-policy'));
      const policyCost = over(findRow(rows, w, m, 'wasmesh-policy'), findRow(rows, w, m, 'wasmesh'));
      const telemetry = over(findRow(rows, w, m, 'wasmesh-telemetry'), findRow(rows, w, m, 'envoy-telemetry'));
      const telemetryCost = over(findRow(rows, w, m, 'wasmesh-telemetry'), findRow(rows, w, m, 'wasmesh-notel'));
      const metricsCost = over(findRow(rows, w, m, 'wasmesh'), findRow(rows, w, m, 'wasmesh-notel'));
      const pairTelemetry = over(findRow(rows, w, m, 'wasmesh-pair-telemetry'), findRow(rows, w, m, 'envoy-pair-telemetry'));
      const pairTelemetryCost = over(findRow(rows, w, m, 'wasmesh-pair-telemetry'), findRow(rows, w, m, 'wasmesh-pair-notel'));
      // Throughput only means something in the closed-loop mode; fixed rates achieve the offered rate.
      const tp = m === 'throughput';
      out.push({
        workers: w,
        mode: m,
        throughput: tp ? wasmesh((r) => r.rps.median) : null,
        p99: wasmesh((r) => r.p99Ms.median),
        cpuPer1k: wasmesh((r) => r.cpuSecondsPer1k.median),
        peakRss: wasmesh((r) => r.peakRssMiB.median),
        peakAnon: wasmesh((r) => r.peakAnonMiB?.median),
        filtersThroughput: tp ? filters((r) => r.rps.median) : null,
        filtersP99: filters((r) => r.p99Ms.median),
        filtersCpuPer1k: filters((r) => r.cpuSecondsPer1k.median),
        mtlsThroughput: tp ? mtls((r) => r.rps.median) : null,
        mtlsP99: mtls((r) => r.p99Ms.median),
        mtlsCpuPer1k: mtls((r) => r.cpuSecondsPer1k.median),
        mtlsPeakRss: mtls((r) => r.peakRssMiB.median),
        policyThroughput: tp ? policy((r) => r.rps.median) : null,
        policyP99: policy((r) => r.p99Ms.median),
        policyCpuPer1k: policy((r) => r.cpuSecondsPer1k.median),
        policyOverheadThroughput: tp ? policyCost((r) => r.rps.median) : null,
        policyOverheadP99: policyCost((r) => r.p99Ms.median),
        telemetryThroughput: tp ? telemetry((r) => r.rps.median) : null,
        telemetryP99: telemetry((r) => r.p99Ms.median),
        telemetryCpuPer1k: telemetry((r) => r.cpuSecondsPer1k.median),
        telemetryOverheadThroughput: tp ? telemetryCost((r) => r.rps.median) : null,
        telemetryOverheadP99: telemetryCost((r) => r.p99Ms.median),
        telemetryOverheadCpuPer1k: telemetryCost((r) => r.cpuSecondsPer1k.median),
        metricsOverheadThroughput: tp ? metricsCost((r) => r.rps.median) : null,
        metricsOverheadCpuPer1k: metricsCost((r) => r.cpuSecondsPer1k.median),
        pairTelemetryThroughput: tp ? pairTelemetry((r) => r.rps.median) : null,
        pairTelemetryP99: pairTelemetry((r) => r.p99Ms.median),
        pairTelemetryCpuPer1k: pairTelemetry((r) => r.cpuSecondsPer1k.median),
        pairTelemetryOverheadThroughput: tp ? pairTelemetryCost((r) => r.rps.median) : null,
        pairTelemetryOverheadP99: pairTelemetryCost((r) => r.p99Ms.median),
        pairTelemetryOverheadCpuPer1k: pairTelemetryCost((r) => r.cpuSecondsPer1k.median),
      });
    }
  }
  return out;
}
