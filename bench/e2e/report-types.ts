// The shape of one end-to-end benchmark run as written to bench/results/e2e-*.json: settings,
// every individual measurement, and the medians/spreads and the ratios derived from them
// (wasmesh ÷ native Envoy, and Envoy + wasmesh filters ÷ native Envoy).
import type { MachineFacts } from '../machine.js';
import type { ContenderName } from './contenders.js';
import type { LoadResult } from './load-tools.js';

export const REPORT_SCHEMA = 'wasmesh-bench-e2e/1';

export interface Mode {
  /** `throughput`, or `rate-<qps>` for a fixed rate. */
  name: string;
  kind: 'throughput' | 'fixed-rate';
  connections: number;
  /** wrk threads (throughput mode). */
  threads?: number;
  /** Offered requests per second (fixed-rate modes). */
  qps?: number;
}

export interface RunRecord {
  rep: number;
  workers: number;
  mode: string;
  contender: ContenderName;
  ok: boolean;
  /** Why the run failed (load generator error, process died). */
  error?: string;
  load?: LoadResult;
  /** Proxy (or, for `direct`, upstream) CPU seconds per 1,000 requests completed. */
  cpuSecondsPer1k?: number;
  /** Highest resident memory of that process during the run, MiB. */
  peakRssMiB?: number;
  /**
   * Highest anonymous resident memory (RssAnon: heaps, buffers) of that process during the run,
   * MiB: what it allocates, without the binary's file-backed pages. Absent in reports written
   * before it was measured.
   */
  peakAnonMiB?: number;
  /** Fixed-rate run whose achieved rate fell below 95 % of the offered rate. */
  rateNotHeld?: boolean;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SummaryRow {
  workers: number;
  mode: string;
  contender: ContenderName;
  /** Successful runs summarised; failed ones are listed in `runs` with their error. */
  runs: number;
  failed: number;
  rps: Spread;
  p50Ms: Spread;
  p90Ms: Spread;
  p99Ms: Spread;
  maxMs: Spread;
  cpuSecondsPer1k: Spread;
  peakRssMiB: Spread;
  /** Absent when a summarised run has no RssAnon figure (reports written before it was measured). */
  peakAnonMiB?: Spread;
  /** Requests that failed (non-2xx or transport errors), summed over the runs. */
  errors: number;
}

/**
 * Ratios of medians against native Envoy (`envoy`), per workers and mode; null when either side
 * has no figure. The unprefixed fields are wasmesh ÷ Envoy, the `filters…` ones are
 * `envoy+filters` ÷ `envoy` (issue 5's target: throughput ≥ 0.9 at equal workers). Reports
 * written before the fourth contender lack the `filters…` fields.
 */
export interface Ratio {
  workers: number;
  mode: string;
  throughput: number | null;
  p99: number | null;
  cpuPer1k: number | null;
  peakRss: number | null;
  /** Peak RssAnon; absent in reports written before it was measured. */
  peakAnon?: number | null;
  filtersThroughput?: number | null;
  filtersP99?: number | null;
  filtersCpuPer1k?: number | null;
  /** The mTLS mode: the wasmesh sidecar pair ÷ the Envoy pair (CPU and RSS per sidecar). */
  mtlsThroughput?: number | null;
  mtlsP99?: number | null;
  mtlsCpuPer1k?: number | null;
  mtlsPeakRss?: number | null;
  /** The policy mode: wasmesh with policies ÷ Envoy with the same RBAC and jwt_authn. */
  policyThroughput?: number | null;
  policyP99?: number | null;
  policyCpuPer1k?: number | null;
  /** The policy mode: wasmesh with policies ÷ wasmesh without (the policies' cost). */
  policyOverheadThroughput?: number | null;
  policyOverheadP99?: number | null;
  /** The telemetry mode: wasmesh with Istio's metrics and 1 % tracing ÷ stock Envoy with its stats and the same tracing. */
  telemetryThroughput?: number | null;
  telemetryP99?: number | null;
  telemetryCpuPer1k?: number | null;
  /** The telemetry mode: wasmesh with the metrics and tracing ÷ wasmesh with telemetry off (their cost). */
  telemetryOverheadThroughput?: number | null;
  telemetryOverheadP99?: number | null;
  telemetryOverheadCpuPer1k?: number | null;
  /** The telemetry mode: wasmesh as shipped (metrics on) ÷ telemetry off (the metrics' cost alone). */
  metricsOverheadThroughput?: number | null;
  metricsOverheadCpuPer1k?: number | null;
  /** The telemetry pair mode (both reporters): the wasmesh pair with metrics + 1 % tracing ÷ the Envoy pair with its stats and the same tracing. */
  pairTelemetryThroughput?: number | null;
  pairTelemetryP99?: number | null;
  pairTelemetryCpuPer1k?: number | null;
  /** The telemetry pair mode: the wasmesh pair with metrics + tracing ÷ with telemetry off. */
  pairTelemetryOverheadThroughput?: number | null;
  pairTelemetryOverheadP99?: number | null;
  pairTelemetryOverheadCpuPer1k?: number | null;
}

/** The telemetry pair mode's proof that both reporters reported, per start. */
export interface ReporterCheckRecord {
  contender: ContenderName;
  workers: number;
  facts: string[];
}

export interface ProfileFunction {
  name: string;
  selfMs: number;
  percent: number;
}

export interface ProxyProfile {
  /** How the profile was taken. */
  method: string;
  requests: number;
  rps: number;
  sampledMs: number;
  top: ProfileFunction[];
}

/** The mTLS mode's proof that a pair does mesh mTLS (bench/e2e/mtls-check.ts), per start. */
export interface MtlsCheckRecord {
  contender: ContenderName;
  workers: number;
  facts: string[];
}

/** Memory per idle mTLS connection on a pair's inbound sidecar (bench/e2e/idle-connections.ts). */
export interface IdleMtlsRecord {
  contender: ContenderName;
  workers: number;
  connections: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  anonBeforeMiB: number;
  anonAfterMiB: number;
  /** (VmRSS after − before) ÷ connections, KiB. */
  kibPerConnection: number;
  /** The same from RssAnon, KiB. */
  anonKibPerConnection: number;
}

export interface E2eReport {
  schema: typeof REPORT_SCHEMA;
  machine: MachineFacts;
  command: string;
  settings: {
    reps: number;
    durationS: number;
    warmupS: number;
    workers: number[];
    modes: Mode[];
    quick: boolean;
  };
  tools: Record<string, string>;
  contenders: { name: ContenderName; description: string; unavailable: Record<string, string> }[];
  envoyWarnings: string[];
  runs: RunRecord[];
  summary: SummaryRow[];
  ratios: Ratio[];
  notes: string[];
  profile?: ProxyProfile;
  /** The mTLS mode: each pair's proof of mTLS, its memory per idle mTLS connection, its sidecars' profiles. */
  mtlsChecks?: MtlsCheckRecord[];
  idleMtls?: IdleMtlsRecord[];
  mtlsProfiles?: ProxyProfile[];
  /** The policy mode: wasmesh with the policies and JWT, profiled under the same token-carrying load. */
  policyProfile?: ProxyProfile;
  /** The telemetry mode: spans the span sink received per tracing contender during its measured runs, and those runs' requests. */
  telemetrySpans?: Array<{ contender: string; requests: number; spans: number }>;
  /** The telemetry pair mode: per start of a pair with both reporters, the proof that both reported (bench/e2e/reporters-check.ts). */
  reporterChecks?: ReporterCheckRecord[];
  /** The telemetry pair mode, profiled under throughput load: each pair's two processes, telemetry off and on. */
  pairNotelProfiles?: ProxyProfile[];
  pairTelemetryProfiles?: ProxyProfile[];
  /** The telemetry mode: wasmesh with Istio's metrics and 1 % tracing, profiled under throughput load. */
  telemetryProfile?: ProxyProfile;
}
