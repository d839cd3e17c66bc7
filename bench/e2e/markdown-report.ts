// The end-to-end report as Markdown: machine and command, one table per worker count (median and
// min–max over repetitions for every figure), the wasmesh ÷ Envoy and Envoy + filters ÷ Envoy
// ratios, failed runs, method.
// Also the shorter section that goes into BENCHMARKS.md under "## End-to-end".
import type { E2eReport, Ratio, Spread, SummaryRow } from './report-types.js';
import { shownContenders } from './contenders.js';
import { findRow } from './summarize.js';

function num(v: number, digits: number): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with a precision that suits the magnitude. */
function ms(v: number): string {
  return v < 1 ? num(v, 3) : v < 100 ? num(v, 2) : num(v, 0);
}

function rps(v: number): string {
  return num(v, 0);
}

function cpu(v: number): string {
  return num(v, 3);
}

function mib(v: number): string {
  return num(v, 1);
}

function cell(s: Spread, f: (v: number) => string, runs: number): string {
  return runs > 1 && s.min !== s.max ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

function ratio(v: number | null): string {
  return v === null ? 'n/a' : `${num(v, 2)}×`;
}

function modeLabel(mode: string): string {
  if (mode === 'throughput') return 'max throughput';
  const m = /^rate-(\d+)$/.exec(mode);
  return m ? `${Number(m[1]).toLocaleString('en-US')} rps` : mode;
}

function summaryTable(report: E2eReport, workers: number): string[] {
  const lines = [
    '| mode | contender | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU s / 1k req | peak RSS MiB | peak anon MiB | errors |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const mode of report.settings.modes) {
    for (const c of shownContenders(report.summary)) {
      // Contenders left out of the run (--contenders) have no row at all.
      if (!report.contenders.some((x) => x.name === c)) continue;
      const row = findRow(report.summary, workers, mode.name, c);
      const unavailable = report.contenders.find((x) => x.name === c)?.unavailable[String(workers)];
      if (!row) {
        lines.push(`| ${modeLabel(mode.name)} | ${c} | n/a | | | | | | | | ${unavailable ?? 'every run failed'} |`);
        continue;
      }
      const n = row.runs;
      const who = c === 'direct' ? 'direct (upstream)' : c;
      // Reports written before RssAnon was measured have no anon figure.
      const anon = row.peakAnonMiB ? cell(row.peakAnonMiB, mib, n) : 'n/a';
      lines.push(
        `| ${modeLabel(mode.name)} | ${who} | ${cell(row.rps, rps, n)} | ${cell(row.p50Ms, ms, n)} | ${cell(row.p90Ms, ms, n)} | ` +
          `${cell(row.p99Ms, ms, n)} | ${cell(row.maxMs, ms, n)} | ${cell(row.cpuSecondsPer1k, cpu, n)} | ${cell(row.peakRssMiB, mib, n)} | ${anon} | ` +
          `${row.errors}${row.failed ? ` (+${row.failed} failed run${row.failed > 1 ? 's' : ''})` : ''} |`,
      );
    }
  }
  return lines;
}

/** issue 5's target for Envoy + wasmesh filters: this share of native Envoy's throughput at equal workers. */
export const FILTERS_THROUGHPUT_TARGET = 0.9;

/** Envoy + wasmesh filters ÷ native Envoy; empty when no ratio has a filters figure (older reports, or Envoy absent). */
function filtersRatioTable(rs: readonly Ratio[]): string[] {
  if (!rs.some((r) => (r.filtersThroughput ?? r.filtersCpuPer1k ?? r.filtersP99 ?? null) !== null)) return [];
  const lines = [
    `Throughput: above 1 is better for the filters (target ≥ ${num(FILTERS_THROUGHPUT_TARGET, 1)}×); p99 and CPU: below 1 is better.`,
    '',
    '| workers | mode | throughput | p99 | CPU / 1k req |',
    '|--:|---|--:|--:|--:|',
  ];
  for (const r of rs) {
    const tp = r.mode === 'throughput'
      ? `${ratio(r.filtersThroughput ?? null)}${r.filtersThroughput == null ? '' : r.filtersThroughput >= FILTERS_THROUGHPUT_TARGET ? ' (target met)' : ' (below target)'}`
      : '—';
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${tp} | ${ratio(r.filtersP99 ?? null)} | ${ratio(r.filtersCpuPer1k ?? null)} |`);
  }
  return lines;
}

/** The mTLS mode's goals (issue 12): throughput ≥ 1.25 × the Envoy pair's, p99 ≤ its, ≤ 0.10 vCPU per 1,000 rps per sidecar. */
export const MTLS_THROUGHPUT_TARGET = 1.25;
export const MTLS_CPU_TARGET = 0.1;

/** wasmesh sidecar pair ÷ Envoy pair under STRICT mTLS; empty when no ratio has an mTLS figure. */
function mtlsRatioTable(rs: readonly Ratio[], rows: readonly SummaryRow[]): string[] {
  if (!rs.some((r) => (r.mtlsThroughput ?? r.mtlsP99 ?? null) !== null)) return [];
  const lines = [
    `Sidecar pair with STRICT mTLS between them: wasmesh ÷ Envoy (targets: throughput ≥ ${num(MTLS_THROUGHPUT_TARGET, 2)}×, p99 ≤ 1×); ` +
      `wasmesh CPU per sidecar in vCPU per 1,000 rps (target ≤ ${num(MTLS_CPU_TARGET, 2)}).`,
    '',
    '| workers | mode | throughput | p99 | CPU / 1k req | peak RSS | wasmesh vCPU per 1k rps per sidecar |',
    '|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rs) {
    if ((r.mtlsThroughput ?? r.mtlsP99 ?? null) === null) continue;
    const cpu = rows.find((x) => x.workers === r.workers && x.mode === r.mode && x.contender === 'wasmesh-mtls')?.cpuSecondsPer1k.median;
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${r.mode === 'throughput' ? ratio(r.mtlsThroughput ?? null) : '—'} | ${ratio(r.mtlsP99 ?? null)} | ${ratio(r.mtlsCpuPer1k ?? null)} | ${ratio(r.mtlsPeakRss ?? null)} | ${cpu === undefined ? '—' : `${num(cpu, 3)}${cpu <= MTLS_CPU_TARGET ? ' (target met)' : ' (above target)'}`} |`);
  }
  return lines;
}

export const POLICY_THROUGHPUT_TARGET = 1.25;
export const POLICY_OVERHEAD_TARGET = 0.95;

/** The policy mode: wasmesh with policies ÷ Envoy with RBAC + jwt_authn, and ÷ wasmesh without; empty without figures. */
function policyRatioTable(rs: readonly Ratio[]): string[] {
  if (!rs.some((r) => (r.policyThroughput ?? r.policyP99 ?? r.policyOverheadThroughput ?? null) !== null)) return [];
  const lines = [
    `Ten AuthorizationPolicies and JWT verification on the gateway (bench/e2e/config-policy/): wasmesh ÷ stock Envoy with the same ` +
      `policies as RBAC and jwt_authn (target: throughput ≥ ${num(POLICY_THROUGHPUT_TARGET, 2)}×), and wasmesh with ÷ without them ` +
      `(target: throughput ≥ ${num(POLICY_OVERHEAD_TARGET, 2)}×, i.e. within 5 %).`,
    '',
    '| workers | mode | ÷ Envoy: throughput | ÷ Envoy: p99 | ÷ Envoy: CPU / 1k req | with ÷ without: throughput | with ÷ without: p99 |',
    '|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rs) {
    if ((r.policyThroughput ?? r.policyP99 ?? r.policyOverheadThroughput ?? r.policyOverheadP99 ?? null) === null) continue;
    const tp = r.mode === 'throughput';
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${tp ? ratio(r.policyThroughput ?? null) : '—'} | ${ratio(r.policyP99 ?? null)} | ${ratio(r.policyCpuPer1k ?? null)} | ${tp ? ratio(r.policyOverheadThroughput ?? null) : '—'} | ${ratio(r.policyOverheadP99 ?? null)} |`);
  }
  return lines;
}

export const TELEMETRY_THROUGHPUT_TARGET = 1.25;
export const TELEMETRY_OVERHEAD_TARGET = 0.95;

/** The telemetry mode: wasmesh with metrics + 1 % tracing ÷ Envoy with its stats + the same tracing, and ÷ wasmesh with telemetry off. */
function telemetryRatioTable(rs: readonly Ratio[]): string[] {
  const has = (r: Ratio): boolean => (r.telemetryThroughput ?? r.telemetryP99 ?? r.telemetryOverheadThroughput ?? r.telemetryOverheadP99 ?? r.metricsOverheadCpuPer1k ?? null) !== null;
  if (!rs.some(has)) return [];
  const lines = [
    `Istio's standard metrics and 1 % Zipkin tracing on the gateway (bench/e2e/config-telemetry/): wasmesh ÷ stock Envoy with its stats and the ` +
      `same tracing (target: throughput ≥ ${num(TELEMETRY_THROUGHPUT_TARGET, 2)}×), and wasmesh with ÷ without telemetry (--istio-metrics off, no tracing; ` +
      `target: throughput ≥ ${num(TELEMETRY_OVERHEAD_TARGET, 2)}×, i.e. within 5 %). "metrics only": wasmesh as shipped (metrics on, no tracing) ÷ telemetry off. ` +
      'CPU / 1k req is the proxy\'s CPU seconds per 1,000 requests: the figure least moved by other load on the machine.',
    '',
    '| workers | mode | ÷ Envoy: throughput | ÷ Envoy: p99 | ÷ Envoy: CPU / 1k req | with ÷ without: throughput | with ÷ without: p99 | with ÷ without: CPU / 1k req | metrics only ÷ without: throughput | metrics only ÷ without: CPU / 1k req |',
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rs) {
    if (!has(r)) continue;
    const tp = r.mode === 'throughput';
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${tp ? ratio(r.telemetryThroughput ?? null) : '—'} | ${ratio(r.telemetryP99 ?? null)} | ${ratio(r.telemetryCpuPer1k ?? null)} | ` +
      `${tp ? ratio(r.telemetryOverheadThroughput ?? null) : '—'} | ${ratio(r.telemetryOverheadP99 ?? null)} | ${ratio(r.telemetryOverheadCpuPer1k ?? null)} | ` +
      `${tp ? ratio(r.metricsOverheadThroughput ?? null) : '—'} | ${ratio(r.metricsOverheadCpuPer1k ?? null)} |`);
  }
  return lines;
}

/** The telemetry pair mode (both reporters): wasmesh pair ÷ Envoy pair, and with ÷ without telemetry. */
function pairTelemetryRatioTable(rs: readonly Ratio[]): string[] {
  const has = (r: Ratio): boolean => (r.pairTelemetryThroughput ?? r.pairTelemetryP99 ?? r.pairTelemetryOverheadThroughput ?? r.pairTelemetryOverheadP99 ?? null) !== null;
  if (!rs.some(has)) return [];
  const lines = [
    `Both reporters: client → client side's proxy (source reporter) → plain HTTP → app's sidecar inbound (destination reporter) → upstream, the peer metadata ` +
      `exchanged in x-envoy-peer-metadata headers; Istio's standard metrics on both and 1 % Zipkin tracing (bench/e2e/config-pair/ + config-telemetry/). ` +
      `wasmesh pair ÷ stock Envoy pair with its stats and the same tracing (target: throughput ≥ ${num(TELEMETRY_THROUGHPUT_TARGET, 2)}×), and the wasmesh pair ` +
      `with ÷ without telemetry (--istio-metrics off on both, no tracing; target: throughput ≥ ${num(TELEMETRY_OVERHEAD_TARGET, 2)}×, i.e. within 5 %). ` +
      'CPU / 1k req is per sidecar (the pair\'s CPU ÷ 2).',
    '',
    '| workers | mode | ÷ Envoy pair: throughput | ÷ Envoy pair: p99 | ÷ Envoy pair: CPU / 1k req | with ÷ without: throughput | with ÷ without: p99 | with ÷ without: CPU / 1k req |',
    '|--:|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rs) {
    if (!has(r)) continue;
    const tp = r.mode === 'throughput';
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${tp ? ratio(r.pairTelemetryThroughput ?? null) : '—'} | ${ratio(r.pairTelemetryP99 ?? null)} | ${ratio(r.pairTelemetryCpuPer1k ?? null)} | ` +
      `${tp ? ratio(r.pairTelemetryOverheadThroughput ?? null) : '—'} | ${ratio(r.pairTelemetryOverheadP99 ?? null)} | ${ratio(r.pairTelemetryOverheadCpuPer1k ?? null)} |`);
  }
  return lines;
}

/** The telemetry pair mode's proof, per start: both reporters' series. */
function reporterCheckLines(report: E2eReport): string[] {
  return (report.reporterChecks ?? []).flatMap((c) => c.facts.map((f) => `- ${c.contender}, ${c.workers} worker(s): ${f}`));
}

/** Memory per idle mTLS connection on each pair's inbound sidecar; empty when none was measured. */
function idleMtlsTable(report: E2eReport): string[] {
  const recs = report.idleMtls ?? [];
  if (recs.length === 0) return [];
  const lines = [
    `Idle keep-alive mTLS connections opened to each pair's inbound sidecar (the client side's certificate, Istio's ALPN), each after one request to the app: ` +
      'the sidecar\'s resident memory before and after, ÷ the connection count. Lower is better.',
    '',
    '| workers | contender | connections | RSS before → after MiB | KiB per connection (RSS) | KiB per connection (anon) |',
    '|--:|---|--:|--:|--:|--:|',
  ];
  for (const r of recs) {
    lines.push(`| ${r.workers} | ${r.contender} | ${r.connections} | ${mib(r.rssBeforeMiB)} → ${mib(r.rssAfterMiB)} | ${num(r.kibPerConnection, 1)} | ${num(r.anonKibPerConnection, 1)} |`);
  }
  for (const w of new Set(recs.map((r) => r.workers))) {
    const ours = recs.find((r) => r.workers === w && r.contender === 'wasmesh-mtls');
    const theirs = recs.find((r) => r.workers === w && r.contender === 'envoy-mtls');
    if (ours && theirs && theirs.kibPerConnection > 0) lines.push('', `${w} worker(s): wasmesh ÷ Envoy per idle connection ${ratio(ours.kibPerConnection / theirs.kibPerConnection)} (RSS).`);
  }
  return lines;
}

/** What each pair showed before it was measured (bench/e2e/mtls-check.ts). */
function mtlsCheckLines(report: E2eReport): string[] {
  return (report.mtlsChecks ?? []).map((c) => `- ${c.contender}, ${c.workers} worker(s): ${c.facts.join('; ')}`);
}

function ratioTable(rs: readonly Ratio[]): string[] {
  const lines = [
    '| workers | mode | throughput | p99 | CPU / 1k req | peak RSS | anon RSS |',
    '|--:|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rs) {
    lines.push(`| ${r.workers} | ${modeLabel(r.mode)} | ${r.mode === 'throughput' ? ratio(r.throughput) : '—'} | ${ratio(r.p99)} | ${ratio(r.cpuPer1k)} | ${ratio(r.peakRss)} | ${ratio(r.peakAnon ?? null)} |`);
  }
  return lines;
}

function machineLines(report: E2eReport): string[] {
  const m = report.machine;
  return [
    `- Date: ${m.date}`,
    `- Machine: ${m.cpu}, ${m.cores} cores (${m.platform}), load average ${m.loadAvg1} at start. ` +
      'Shared: other engineers build and test on the same 2 cores, so figures are noisy; compare contenders within a run, not across runs.',
    `- Command: \`${report.command}\``,
    `- ${report.settings.reps} repetition(s) × ${report.settings.durationS} s per run, after a ${report.settings.warmupS} s warm-up per contender; ` +
      'contenders alternate within each repetition (order rotated per repetition), so drift hits all of them alike.',
    `- Tools: ${Object.entries(report.tools).map(([k, v]) => `${k}: ${v}`).join('; ')}`,
  ];
}

/** A run of the mTLS mode alone (`--mtls`): the single-proxy ratios have nothing to compare. */
function isMtlsOnly(report: E2eReport): boolean {
  return report.contenders.every((c) => c.name === 'direct' || c.name.endsWith('-mtls'));
}

/** A run of sidecar pairs alone (`--mtls`, `--telemetry-pair`): no single-proxy route YAML. */
function isPairOnly(report: E2eReport): boolean {
  return report.contenders.every((c) => c.name === 'direct' || c.name.endsWith('-mtls') || c.name.includes('-pair-'));
}

/** The method, stated once for both outputs. */
export function methodLines(report: E2eReport): string[] {
  const tp = report.settings.modes.find((m) => m.kind === 'throughput');
  const fixed = report.settings.modes.filter((m) => m.kind === 'fixed-rate');
  const mtlsOnly = isMtlsOnly(report);
  return [
    ...(mtlsOnly
      ? ['- Path (the mTLS mode): client → outbound sidecar → Istio mTLS (ALPN istio-http/1.1, the app\'s SPIFFE ID required) → inbound sidecar (STRICT, XFCC) → the upstream\'s v1 port. ' +
          'wasmesh from bench/e2e/config-pair/ + config-mtls/ (one route; auto mTLS from the WorkloadEntry\'s tlsMode label; a mesh-wide STRICT PeerAuthentication), Envoy from static bootstraps doing the same (bench/e2e/mtls-pair.ts); ' +
          'one CA and the same two certificates for both. CPU and memory per sidecar: the pair\'s CPU ÷ 2, the larger RSS peak.']
      : []),
    ...(!mtlsOnly && isPairOnly(report)
      ? ['- Path (the both-reporters telemetry mode): client → client side\'s proxy (`wasmesh proxy --gateway`, workload bench-client: source reporter) → plain HTTP → ' +
          'app\'s sidecar inbound (`wasmesh sidecar`, workload bench-app: destination reporter) → the upstream\'s v1 port, the peer metadata exchanged in x-envoy-peer-metadata headers. ' +
          'wasmesh from bench/e2e/config-pair/ (+ config-telemetry/ for 1 % Zipkin tracing), Envoy from static bootstraps doing the same with Envoy\'s stats and the tracing ' +
          '`wasmesh envoy-config` translates from that YAML (bench/e2e/mtls-pair.ts). CPU and memory per sidecar: the pair\'s CPU ÷ 2, the larger RSS peak.']
      : []),
    ...(isPairOnly(report) ? [] : ['- Routes (every proxy, same YAML: bench/e2e/config/bench-mesh.yaml): one Gateway-bound VirtualService, an 80/20 weighted split ' +
      'between two subsets (one WorkloadEntry each), retries (2 attempts, 2 s per try). `envoy` runs the bootstrap `wasmesh envoy-config` produces for it ' +
      '(Envoy\'s native routing); `envoy+filters` runs the same Envoy binary on `wasmesh envoy-config --filters` (the wasmesh proxy-wasm filters pick the ' +
      'route and destination, Envoy forwards by `cluster_header`), at the same `--concurrency`.']),
    '- Upstream: Go net/http in its own process (bench/e2e/upstream/upstream.go), 1 KiB body, keep-alive; `direct` is the load sent to it without a proxy, ' +
      'which shows the upstream is not the bottleneck when its throughput is well above the proxies\'.',
    ...(tp ? [`- Throughput: wrk, ${tp.connections} keep-alive connections, ${tp.threads} threads: as many requests as they carry (closed loop).`] : []),
    ...(fixed.length
      ? [`- Fixed rate (${fixed.map((m) => m.qps).join(' and ')} rps): fortio, ${fixed[0].connections} keep-alive connections each paced at rate/${fixed[0].connections}, ` +
          'catching up after a stall so the offered rate holds; latency from each request\'s actual send, histogram resolution 10 µs. ' +
          'wrk cannot hold a fixed rate (coordinated omission), wrk2 is not packaged by Debian. A run whose achieved rate fell below 95 % is flagged.']
      : []),
    '- CPU: utime+stime of the proxy process (Envoy, with or without filters: the real binary\'s pid; wasmesh: the node process, all threads) from /proc/<pid>/stat before and after each run, ' +
      'per 1,000 requests completed (at a fixed rate of R rps, CPU s per 1k req × R/1000 is vCPU used). Peak RSS: VmRSS from /proc/<pid>/status sampled every 100 ms during the run. ' +
      'Anon RSS: RssAnon from the same samples, the private anonymous memory (heaps, buffers), without the executable\'s and shared libraries\' ' +
      'file-backed pages that VmRSS also counts. ' +
      'For `direct` all three are the upstream\'s.',
    '- The load generator, the upstream and the proxy share the machine\'s cores, as they would on a 2-core node.',
    '- Access logs are off on every proxy: wasmesh runs with `--access-log off` and neither translated Envoy config has an access log. ' +
      '(wasmesh\'s default is an access log on stdout, written in batches every 100 ms or 32 KiB, as Envoy buffers its own.)',
  ];
}

export function markdownReport(report: E2eReport): string {
  const out: string[] = ['# wasmesh end-to-end benchmark', '', ...machineLines(report), ''];
  if (report.settings.quick) out.push('**Quick (smoke) run: durations too short for meaningful figures.**', '');
  for (const w of report.settings.workers) {
    out.push(`## ${w} worker${w > 1 ? 's' : ''} per proxy`, '', 'Median (min–max over repetitions).', '', ...summaryTable(report, w), '');
  }
  // The telemetry and mTLS modes have no plain `envoy` to divide by: their own tables follow.
  if (!isMtlsOnly(report) && report.contenders.some((c) => c.name === 'envoy')) out.push('## wasmesh ÷ Envoy (medians)', '', 'Throughput: above 1 is better for wasmesh; p99, CPU and RSS: below 1 is better.', '', ...ratioTable(report.ratios), '');
  const filters = filtersRatioTable(report.ratios);
  if (filters.length) out.push('## Envoy + wasmesh filters ÷ native Envoy (medians)', '', ...filters, '');
  const mtls = mtlsRatioTable(report.ratios, report.summary);
  if (mtls.length) out.push('## mTLS sidecar pair: wasmesh ÷ Envoy (medians)', '', ...mtls, '');
  const policy = policyRatioTable(report.ratios);
  if (policy.length) out.push('## Policies (AuthorizationPolicy + JWT): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...policy, '');
  const telemetry = telemetryRatioTable(report.ratios);
  if (telemetry.length) out.push('## Telemetry (Istio metrics + 1 % tracing): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...telemetry, '');
  const pairTelemetry = pairTelemetryRatioTable(report.ratios);
  if (pairTelemetry.length) out.push('## Telemetry, both reporters (sidecar pair): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...pairTelemetry, '');
  const reporters = reporterCheckLines(report);
  if (reporters.length) out.push('## Both reporters reported (after the runs, from each proxy\'s /stats/prometheus)', '', ...reporters, '');
  const idle = idleMtlsTable(report);
  if (idle.length) out.push('## Memory per idle mTLS connection (inbound sidecar)', '', ...idle, '');
  const checks = mtlsCheckLines(report);
  if (checks.length) out.push('## mTLS verified before measuring', '', ...checks, '');
  const failed = report.runs.filter((r) => !r.ok || r.rateNotHeld);
  if (failed.length) {
    out.push('## Runs to read with care', '');
    for (const r of failed) {
      out.push(`- rep ${r.rep}, ${r.workers} worker(s), ${r.mode}, ${r.contender}: ${r.ok ? `rate not held (${r.load ? rps(r.load.rps) : '?'} rps achieved)` : `failed: ${r.error}`}`);
    }
    out.push('');
  }
  if (report.envoyWarnings.length) out.push('## Configuration warnings (loader and envoy-config)', '', 'What the translation or wasmesh itself does not do with this YAML:', '', ...report.envoyWarnings.map((w) => `- ${w}`), '');
  out.push('## Contenders', '', ...report.contenders.map((c) => `- **${c.name}**: ${c.description}` +
    (Object.keys(c.unavailable).length ? ` — not run: ${Object.entries(c.unavailable).map(([w, why]) => `${w} worker(s): ${why}`).join('; ')}` : '')), '');
  out.push('## Method', '', ...methodLines(report), '');
  if (report.notes.length) out.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  if (report.profile) out.push(...profileLines(report), '');
  for (const p of report.mtlsProfiles ?? []) out.push(...profileLines(report, p, 'Where the wasmesh mTLS pair spends its time'), '');
  if (report.policyProfile) out.push(...profileLines(report, report.policyProfile, 'Where wasmesh with the policies spends its time'), '');
  if (report.telemetryProfile) out.push(...profileLines(report, report.telemetryProfile, 'Where wasmesh with the metrics and tracing spends its time'), '');
  for (const p of report.pairNotelProfiles ?? []) out.push(...profileLines(report, p, 'Where the wasmesh pair with telemetry off spends its time'), '');
  for (const p of report.pairTelemetryProfiles ?? []) out.push(...profileLines(report, p, 'Where the wasmesh pair with both reporters and tracing spends its time'), '');
  return out.join('\n');
}

function profileLines(report: E2eReport, p = report.profile!, title = 'Where wasmesh spends its time'): string[] {
  return [
    `## ${title}`,
    '',
    `${p.method}: ${rps(p.rps)} req/s, ${p.requests.toLocaleString('en-US')} requests, ${num(p.sampledMs, 0)} ms sampled. Top self time:`,
    '',
    'Native calls have no frame of their own in a V8 profile: the time inside uWS\'s cork/write/end and Node\'s socket `writeBuffer` ' +
      '(mostly their send() system calls) is the self time of the JavaScript function that made the call.',
    '',
    '| self % | self ms | function |',
    '|--:|--:|---|',
    ...p.top.map((f) => `| ${num(f.percent, 1)} | ${num(f.selfMs, 0)} | \`${f.name}\` |`),
  ];
}

/** The "## End-to-end" section of BENCHMARKS.md (heading included), pointing at the full report. */
export function benchmarksSection(report: E2eReport, files: { md: string; svg: string; json: string }): string {
  const out = [
    '## End-to-end',
    '',
    'The same Istio YAML served by `wasmesh proxy`, by stock Envoy (from `wasmesh envoy-config`), by stock Envoy with the wasmesh proxy-wasm filters ' +
      '(from `wasmesh envoy-config --filters`), and the upstream alone, under the same load in one run ' +
      `(\`npm run bench:e2e\`; harness in bench/e2e/). Full report: [${files.md}](${files.md}), raw figures: [${files.json}](${files.json}).`,
    '',
    ...machineLines(report),
    '- **Noisy figures**: 10+ engineers share this machine\'s 2 cores; the load generator, upstream and proxy compete with them and with each other. ' +
      'Read the ratios, measured alternately in the same run, rather than the absolute numbers.',
    '',
    `![throughput and p99 per contender](${files.svg})`,
    '',
  ];
  for (const w of report.settings.workers) out.push(`### ${w} worker${w > 1 ? 's' : ''} per proxy`, '', 'Median (min–max over repetitions).', '', ...summaryTable(report, w), '');
  out.push('### wasmesh ÷ Envoy (medians)', '', 'Throughput: above 1 is better for wasmesh; p99, CPU and RSS: below 1 is better.', '', ...ratioTable(report.ratios), '');
  const filters = filtersRatioTable(report.ratios);
  if (filters.length) out.push('### Envoy + wasmesh filters ÷ native Envoy (medians)', '', ...filters, '');
  const mtls = mtlsRatioTable(report.ratios, report.summary);
  if (mtls.length) out.push('### mTLS sidecar pair: wasmesh ÷ Envoy (medians)', '', ...mtls, '');
  const policy = policyRatioTable(report.ratios);
  if (policy.length) out.push('### Policies (AuthorizationPolicy + JWT): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...policy, '');
  const telemetry = telemetryRatioTable(report.ratios);
  if (telemetry.length) out.push('### Telemetry (Istio metrics + 1 % tracing): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...telemetry, '');
  const pairTelemetry = pairTelemetryRatioTable(report.ratios);
  if (pairTelemetry.length) out.push('### Telemetry, both reporters (sidecar pair): wasmesh ÷ Envoy, and with ÷ without (medians)', '', ...pairTelemetry, '');
  const idle = idleMtlsTable(report);
  if (idle.length) out.push('### Memory per idle mTLS connection (inbound sidecar)', '', ...idle, '');
  out.push('### Method', '', ...methodLines(report), '');
  if (report.profile) out.push(...profileLines(report).map((l) => (l.startsWith('## ') ? `#${l}` : l)), '');
  for (const p of report.mtlsProfiles ?? []) out.push(...profileLines(report, p, 'Where the wasmesh mTLS pair spends its time').map((l) => (l.startsWith('## ') ? `#${l}` : l)), '');
  if (report.policyProfile) out.push(...profileLines(report, report.policyProfile, 'Where wasmesh with the policies spends its time').map((l) => (l.startsWith('## ') ? `#${l}` : l)), '');
  if (report.telemetryProfile) out.push(...profileLines(report, report.telemetryProfile, 'Where wasmesh with the metrics and tracing spends its time').map((l) => (l.startsWith('## ') ? `#${l}` : l)), '');
  for (const p of report.pairTelemetryProfiles ?? []) out.push(...profileLines(report, p, 'Where the wasmesh pair with both reporters and tracing spends its time').map((l) => (l.startsWith('## ') ? `#${l}` : l)), '');
  return out.join('\n');
}
