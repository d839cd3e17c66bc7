// The convergence benchmark's report: what was measured per change (each simulated proxy's time
// to its last ACK, bytes pushed, control-plane CPU), summarised as p50/p99 raw and after the
// debounce quiet period, with the goals of the issue checked, and rendered as Markdown.
import type { MachineFacts } from '../machine.js';
import type { SimKind } from './sim-proxy.js';

export const XDS_REPORT_SCHEMA = 'wasmesh-bench-xds/1';

export type ChangeKind = 'route' | 'endpoint';

/** One change: a file write and everything the proxies received until the stream went quiet. */
export interface ChangeSample {
  kind: ChangeKind;
  rep: number;
  /** Proxies that received at least one response. */
  affected: number;
  /** Per affected proxy: ms from the file write to its last ACK. */
  proxyMs: number[];
  /** The kind of each proxy in proxyMs (same order). */
  proxyKinds: SimKind[];
  /** ms from the file write until the last affected proxy ACKed. */
  allAckedMs: number;
  bytes: number;
  bytesByKind: Record<SimKind, number>;
  responses: number;
  /** Control-plane CPU seconds from the write until quiet. */
  cpuSeconds: number;
  /** The control plane's VmRSS once the change had converged (MiB): growth over changes shows here. */
  rssMiB: number;
  /** Stock Envoy: ms from the write until it served the new route (route changes), or null. */
  envoyServeMs: number | null;
}

export interface Quantiles {
  p50: number;
  p99: number;
  max: number;
}

export interface ChangeSummary {
  kind: ChangeKind;
  reps: number;
  affectedMedian: number;
  /** Over every (proxy, rep): ms to the proxy's last ACK. */
  proxyMs: Quantiles;
  proxyMsAfterDebounce: Quantiles;
  /** The same after the debounce, per kind of client. */
  proxyMsAfterDebounceByKind: Record<SimKind, Quantiles>;
  /** Over reps: ms until every affected proxy had ACKed. */
  allAckedMs: Quantiles;
  allAckedMsAfterDebounce: Quantiles;
  bytesMedian: number;
  /** Median bytes ÷ the full push's bytes (all proxies connecting). */
  bytesRatioToFull: number;
  bytesByKindMedian: Record<SimKind, number>;
  cpuSecondsMedian: number;
  envoyServeMs: Quantiles | null;
}

export interface XdsReport {
  schema: typeof XDS_REPORT_SCHEMA;
  machine: MachineFacts;
  settings: {
    services: number;
    endpointsPerService: number;
    proxies: number;
    mix: Record<SimKind, number>;
    repeat: number;
    debounceMs: number;
    settleMs: number;
    cpNodeArgs: string[];
    command: string;
  };
  controlPlane: {
    /** RSS with the mesh loaded, before any proxy connected (MiB). */
    idleRssMiB: number;
    /** VmHWM once every proxy had connected: the peak of the full push (MiB). */
    connectPeakRssMiB: number;
    /** VmHWM at the end of the run: the process's peak resident memory (MiB). */
    peakRssMiB: number;
    /** Highest RssAnon sampled during the run (MiB). */
    peakAnonMiB: number;
    /** All proxies connecting: ms until every one had its whole config ACKed, and CP CPU seconds. */
    connectMs: number;
    connectCpuSeconds: number;
    /** pilot_proxy_convergence_time as the control plane measured it (all pushes of the run). */
    convergenceMetric: { count: number; sumSeconds: number } | null;
  };
  /** Every proxy's first config (the full push). */
  fullPush: { bytes: number; bytesByKind: Record<SimKind, number>; bytesPerProxy: Record<SimKind, number> };
  envoy: { connected: boolean; note: string };
  samples: ChangeSample[];
  summary: ChangeSummary[];
  goals: Array<{ goal: string; value: string; met: boolean }>;
}

/** Nearest-rank quantiles. */
export function quantiles(values: number[]): Quantiles {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0 };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

const median = (values: number[]): number => quantiles(values).p50;
const minus = (q: Quantiles, ms: number): Quantiles => ({ p50: Math.max(0, q.p50 - ms), p99: Math.max(0, q.p99 - ms), max: Math.max(0, q.max - ms) });

export function summarize(samples: ChangeSample[], kind: ChangeKind, fullBytes: number, debounceMs: number): ChangeSummary {
  const of = samples.filter((s) => s.kind === kind);
  const proxyMs = quantiles(of.flatMap((s) => s.proxyMs));
  const allAckedMs = quantiles(of.map((s) => s.allAckedMs));
  const envoy = of.map((s) => s.envoyServeMs).filter((x): x is number => x !== null);
  const bytesMedian = median(of.map((s) => s.bytes));
  const kinds: SimKind[] = ['wasmesh-delta', 'envoy-sotw', 'envoy-delta'];
  return {
    kind,
    reps: of.length,
    affectedMedian: median(of.map((s) => s.affected)),
    proxyMs,
    proxyMsAfterDebounce: minus(proxyMs, debounceMs),
    proxyMsAfterDebounceByKind: Object.fromEntries(kinds.map((k) => [k, minus(quantiles(of.flatMap((s) => s.proxyMs.filter((_, i) => s.proxyKinds[i] === k))), debounceMs)])) as Record<SimKind, Quantiles>,
    allAckedMs,
    allAckedMsAfterDebounce: minus(allAckedMs, debounceMs),
    bytesMedian,
    bytesRatioToFull: fullBytes > 0 ? bytesMedian / fullBytes : 0,
    bytesByKindMedian: Object.fromEntries(kinds.map((k) => [k, median(of.map((s) => s.bytesByKind[k]))])) as Record<SimKind, number>,
    cpuSecondsMedian: median(of.map((s) => s.cpuSeconds)),
    envoyServeMs: envoy.length ? quantiles(envoy) : null,
  };
}

/** istiod's published figure for 1,000 services and 2,000 sidecars (Istio performance docs). */
export const ISTIOD_ANCHOR = { vcpu: 1, memoryGiB: 1.5, services: 1000, sidecars: 2000 };

export function goals(summary: ChangeSummary[], peakRssMiB: number): XdsReport['goals'] {
  const out: XdsReport['goals'] = [];
  for (const s of summary) {
    out.push({ goal: `${s.kind} change: p99 convergence after the debounce < 100 ms`, value: `${s.proxyMsAfterDebounce.p99.toFixed(1)} ms (every proxy ACKed: p99 ${s.allAckedMsAfterDebounce.p99.toFixed(1)} ms)`, met: s.allAckedMsAfterDebounce.p99 < 100 });
  }
  const ep = summary.find((s) => s.kind === 'endpoint');
  if (ep) out.push({ goal: 'endpoint change pushes < 1 % of a full push\'s bytes', value: `${(ep.bytesRatioToFull * 100).toFixed(2)} %`, met: ep.bytesRatioToFull < 0.01 });
  const fifth = (ISTIOD_ANCHOR.memoryGiB * 1024) / 5;
  out.push({ goal: `peak RSS < a fifth of istiod's ${ISTIOD_ANCHOR.memoryGiB} GB (${fifth.toFixed(0)} MiB)`, value: `${peakRssMiB.toFixed(0)} MiB`, met: peakRssMiB < fifth });
  return out;
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number): string => x.toFixed(1);
const kib = (b: number): string => `${(b / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })}`;

export function markdownReport(r: XdsReport): string {
  const s = r.settings;
  const lines = [
    `# wasmesh control-plane convergence benchmark`,
    '',
    `${r.machine.date} · ${r.machine.cpu} × ${r.machine.cores} cores (load ${r.machine.loadAvg1} at start) · node ${r.machine.node}`,
    '',
    `\`${s.command}\``,
    '',
    `Mesh: ${n0(s.services)} services × ${s.endpointsPerService} endpoints (a ServiceEntry and a VirtualService each) and a Gateway. ` +
      `Proxies: ${s.proxies} simulated over real gRPC ADS streams (${s.mix['wasmesh-delta']} wasmesh delta, ${s.mix['envoy-sotw']} Envoy SotW, ${s.mix['envoy-delta']} Envoy delta), each ACKing every response` +
      `${r.envoy.connected ? ', plus one stock Envoy gateway' : ''}. Debounce ${s.debounceMs} ms; ${s.repeat} changes of each kind; a change has converged after ${s.settleMs} ms without a response.`,
    '',
    '| change | affected proxies | p50 ms (raw) | p99 ms (raw) | p50 ms after debounce | p99 ms after debounce | all ACKed p99 after debounce | bytes pushed (KiB) | ÷ full push | CP CPU s | stock Envoy serves it, p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of r.summary) {
    lines.push(`| ${c.kind === 'route' ? 'one VirtualService' : 'one endpoint'} | ${c.affectedMedian} | ${ms(c.proxyMs.p50)} | ${ms(c.proxyMs.p99)} | ${ms(c.proxyMsAfterDebounce.p50)} | ${ms(c.proxyMsAfterDebounce.p99)} | ${ms(c.allAckedMsAfterDebounce.p99)} | ${kib(c.bytesMedian)} | ${(c.bytesRatioToFull * 100).toFixed(2)} % | ${c.cpuSecondsMedian.toFixed(2)} | ${c.envoyServeMs ? `${ms(c.envoyServeMs.p50)} / ${ms(c.envoyServeMs.p99)}` : '—'} |`);
  }
  lines.push(
    '',
    'Per kind of client, ms from the write to its last ACK, after the debounce (p50 / p99):',
    '',
    '| change | wasmesh delta | Envoy SotW | Envoy delta |',
    '|---|---|---|---|',
    ...r.summary.map((c) => `| ${c.kind === 'route' ? 'one VirtualService' : 'one endpoint'} | ${(['wasmesh-delta', 'envoy-sotw', 'envoy-delta'] as SimKind[]).map((k) => `${ms(c.proxyMsAfterDebounceByKind[k].p50)} / ${ms(c.proxyMsAfterDebounceByKind[k].p99)}`).join(' | ')} |`),
  );
  const cp = r.controlPlane;
  lines.push(
    '',
    `Full push (every proxy connecting): ${kib(r.fullPush.bytes)} KiB — per proxy ${kib(r.fullPush.bytesPerProxy['wasmesh-delta'])} KiB (wasmesh), ${kib(r.fullPush.bytesPerProxy['envoy-sotw'])} KiB (Envoy SotW), ${kib(r.fullPush.bytesPerProxy['envoy-delta'])} KiB (Envoy delta); ` +
      `all connected and ACKed in ${n0(cp.connectMs)} ms, ${cp.connectCpuSeconds.toFixed(2)} CP CPU s.`,
    '',
    `Bytes per change by client kind (median, KiB): ${r.summary.map((c) => `${c.kind}: wasmesh ${kib(c.bytesByKindMedian['wasmesh-delta'])}, Envoy SotW ${kib(c.bytesByKindMedian['envoy-sotw'])}, Envoy delta ${kib(c.bytesByKindMedian['envoy-delta'])}`).join('; ')}.`,
    '',
    `Control plane: ${cp.idleRssMiB.toFixed(0)} MiB RSS with the mesh loaded and no proxy; peak RSS (VmHWM) ${cp.connectPeakRssMiB.toFixed(0)} MiB once every proxy had its full push, ${cp.peakRssMiB.toFixed(0)} MiB at the end; peak anonymous ${cp.peakAnonMiB.toFixed(0)} MiB.` +
      (cp.convergenceMetric ? ` pilot_proxy_convergence_time over the run: ${cp.convergenceMetric.count} observations, mean ${((cp.convergenceMetric.sumSeconds / Math.max(1, cp.convergenceMetric.count)) * 1000).toFixed(1)} ms.` : ''),
    '',
    `Stock Envoy: ${r.envoy.note}`,
    '',
    '| goal | measured | met |',
    '|---|---|---|',
    ...r.goals.map((g) => `| ${g.goal} | ${g.value} | ${g.met ? 'yes' : 'no'} |`),
    '',
  );
  return lines.join('\n');
}
