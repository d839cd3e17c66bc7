// The end-to-end harness's pure parts: medians and spreads, wasmesh ÷ Envoy and Envoy + filters ÷
// Envoy ratios, option parsing, the BENCHMARKS.md section splice (keeping hand-written notes), the
// SVG with missing contenders, the dated output files, /proc readings, and reports written before
// RssAnon was measured.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAND_WRITTEN_MARKER, replaceSection } from '../../../bench/e2e/benchmarks-md.js';
import { markdownReport } from '../../../bench/e2e/markdown-report.js';
import { OptionsError, parseOptions } from '../../../bench/e2e/options.js';
import { cpuSeconds, statusMiB, UsageMeter } from '../../../bench/e2e/proc-stats.js';
import { REPORT_SCHEMA, type E2eReport, type RunRecord } from '../../../bench/e2e/report-types.js';
import { ratios, spread, summarize } from '../../../bench/e2e/summarize.js';
import { svgChart } from '../../../bench/e2e/svg-chart.js';
import { writeOutputs } from '../../../bench/e2e/run.js';
import { machineFacts } from '../../../bench/machine.js';

function run(contender: RunRecord['contender'], mode: string, rep: number, rps: number, p99: number, cpu = 0.05, rss = 50, anon = 20): RunRecord {
  return {
    rep, workers: 1, mode, contender, ok: true,
    load: { requests: rps * 10, durationS: 10, rps, latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2 }, errors: 0, errorKinds: {} },
    cpuSecondsPer1k: cpu, peakRssMiB: rss, peakAnonMiB: anon,
  };
}

/** A run as recorded before RssAnon was measured: no `peakAnonMiB`. */
function oldRun(r: RunRecord): RunRecord {
  const { peakAnonMiB: _anon, ...rest } = r;
  return rest;
}

/** `report` as a JSON file written before RssAnon was measured holds it: no anon figure anywhere. */
function oldReport(report: E2eReport): E2eReport {
  const old: E2eReport = {
    ...report,
    runs: report.runs.map(oldRun),
    summary: report.summary.map(({ peakAnonMiB: _a, ...row }) => row),
    ratios: report.ratios.map(({ peakAnon: _a, ...ratio }) => ratio),
  };
  return JSON.parse(JSON.stringify(old)) as E2eReport;
}

describe('spread', () => {
  it('takes the middle value for odd counts and the mean of the middle two for even counts', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(() => spread([])).toThrow();
  });
});

describe('summarize and ratios', () => {
  const runs = [
    run('wasmesh', 'throughput', 1, 12_000, 4, 0.05, 50, 14), run('wasmesh', 'throughput', 2, 10_000, 6, 0.05, 50, 12),
    run('wasmesh', 'throughput', 3, 11_000, 5, 0.05, 50, 13),
    run('envoy', 'throughput', 1, 10_000, 5, 0.04, 40, 16), run('envoy', 'throughput', 2, 9_000, 5, 0.04, 40, 16), run('envoy', 'throughput', 3, 8_000, 5, 0.04, 40, 16),
    { rep: 4, workers: 1, mode: 'throughput', contender: 'envoy', ok: false, error: 'boom' } as RunRecord,
    run('envoy+filters', 'throughput', 1, 8_100, 6, 0.05, 45), run('envoy+filters', 'throughput', 2, 7_200, 7, 0.06, 45),
    run('envoy+filters', 'throughput', 3, 9_000, 8, 0.07, 45),
    run('envoy', 'rate-1000', 1, 1_000, 4, 0.1, 40), run('envoy+filters', 'rate-1000', 1, 1_000, 5, 0.12, 45),
  ];
  const rows = summarize(runs);

  it('summarises successful runs and counts failed ones', () => {
    const e = rows.find((r) => r.contender === 'envoy')!;
    expect(e.runs).toBe(3);
    expect(e.failed).toBe(1);
    expect(e.rps).toEqual({ median: 9_000, min: 8_000, max: 10_000 });
    expect(rows.find((r) => r.contender === 'wasmesh')!.peakAnonMiB).toEqual({ median: 13, min: 12, max: 14 });
  });

  it('gives no anon spread or ratio where a run predates RssAnon, and keeps the other figures', () => {
    // One envoy run from an older record among new ones: no partial anon spread for envoy.
    const mixed = summarize(runs.map((r) => (r.contender === 'envoy' && r.rep === 2 ? oldRun(r) : r)));
    const e = mixed.find((r) => r.contender === 'envoy' && r.mode === 'throughput')!;
    expect(e.peakAnonMiB).toBeUndefined();
    expect(e.peakRssMiB.median).toBe(40);
    const [tp] = ratios(mixed, [1], ['throughput']);
    expect(tp.peakAnon).toBeNull();
    expect(tp.peakRss).toBeCloseTo(50 / 40);
    const [wasmeshOnlyOld] = ratios(summarize(runs.map((r) => (r.contender === 'wasmesh' ? oldRun(r) : r))), [1], ['throughput']);
    expect(wasmeshOnlyOld.peakAnon).toBeNull();
  });

  it('divides wasmesh medians by Envoy medians, null where a side is missing', () => {
    const [tp, r1k] = ratios(rows, [1], ['throughput', 'rate-1000']);
    expect(tp.throughput).toBeCloseTo(11_000 / 9_000);
    expect(tp.p99).toBeCloseTo(5 / 5);
    expect(tp.cpuPer1k).toBeCloseTo(0.05 / 0.04);
    expect(tp.peakRss).toBeCloseTo(50 / 40);
    expect(tp.peakAnon).toBeCloseTo(13 / 16);
    expect(r1k).toMatchObject({ workers: 1, mode: 'rate-1000', throughput: null, p99: null, cpuPer1k: null, peakRss: null, peakAnon: null });
  });

  it('divides Envoy + filters medians by native Envoy medians; throughput only in the throughput mode', () => {
    const [tp, r1k, r5k] = ratios(rows, [1], ['throughput', 'rate-1000', 'rate-5000']);
    expect(tp.filtersThroughput).toBeCloseTo(8_100 / 9_000);
    expect(tp.filtersP99).toBeCloseTo(7 / 5);
    expect(tp.filtersCpuPer1k).toBeCloseTo(0.06 / 0.04);
    expect(r1k.filtersThroughput).toBeNull();
    expect(r1k.filtersP99).toBeCloseTo(5 / 4);
    expect(r1k.filtersCpuPer1k).toBeCloseTo(0.12 / 0.1);
    // No wasmesh figure at 1,000 rps: its side is null, the filters' is not.
    expect(r1k.p99).toBeNull();
    expect(r5k).toMatchObject({ filtersThroughput: null, filtersP99: null, filtersCpuPer1k: null });
  });
});

describe('the mTLS mode', () => {
  const runs = [
    run('wasmesh-mtls', 'throughput', 1, 9_000, 6, 0.08, 60), run('envoy-mtls', 'throughput', 1, 6_000, 9, 0.1, 70),
    run('wasmesh-mtls', 'rate-1000', 1, 1_000, 3, 0.09, 60), run('envoy-mtls', 'rate-1000', 1, 1_000, 4, 0.12, 70),
    run('envoy', 'throughput', 1, 10_000, 5, 0.04, 40),
  ];
  const rows = summarize(runs);

  it('divides the wasmesh pair by the Envoy pair, apart from the single-proxy ratios', () => {
    const [tp, r1k] = ratios(rows, [1], ['throughput', 'rate-1000']);
    expect(tp.mtlsThroughput).toBeCloseTo(9_000 / 6_000);
    expect(tp.mtlsP99).toBeCloseTo(6 / 9);
    expect(tp.mtlsCpuPer1k).toBeCloseTo(0.08 / 0.1);
    expect(tp.mtlsPeakRss).toBeCloseTo(60 / 70);
    expect(tp.throughput).toBeNull();
    expect(r1k.mtlsThroughput).toBeNull();
    expect(r1k.mtlsP99).toBeCloseTo(3 / 4);
  });

  it('reports the pair ratios and the per-sidecar CPU against the 0.10 vCPU goal', () => {
    const report = {
      schema: REPORT_SCHEMA, machine: machineFacts(), command: 'npm run bench:e2e -- --mtls',
      settings: { reps: 1, durationS: 10, warmupS: 3, workers: [1], modes: [{ name: 'throughput', kind: 'throughput', connections: 64 }, { name: 'rate-1000', kind: 'fixed-rate', connections: 16, qps: 1000 }], quick: false },
      tools: { node: process.version }, contenders: [{ name: 'wasmesh-mtls', description: 'pair', unavailable: {} }, { name: 'envoy-mtls', description: 'pair', unavailable: {} }],
      envoyWarnings: [], runs, summary: rows, ratios: ratios(rows, [1], ['throughput', 'rate-1000']), notes: [],
    } as unknown as E2eReport;
    const md = markdownReport(report);
    expect(md).toContain('## mTLS sidecar pair: wasmesh ÷ Envoy (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| 1\.50× \| 0\.67× \| 0\.80× \| 0\.86× \| 0\.080 \(target met\) \|/);
    expect(md).toMatch(/\| 1 \| 1,000 rps \| — \| 0\.75× \| 0\.75× \| 0\.86× \| 0\.090 \(target met\) \|/);
  });

  it('--mtls runs the upstream and the two pairs', () => {
    const o = parseOptions(['--mtls']);
    if (o === 'help') throw new Error('help');
    expect(o.contenders).toEqual(['direct', 'wasmesh-mtls', 'envoy-mtls']);
    expect(o.benchmarksMd).toBe(false);
  });
});

describe('the policy mode', () => {
  const runs = [
    run('wasmesh', 'throughput', 1, 10_000, 5, 0.05, 50), run('wasmesh-policy', 'throughput', 1, 9_600, 6, 0.06, 55),
    run('envoy', 'throughput', 1, 8_000, 7, 0.07, 40), run('envoy-policy', 'throughput', 1, 6_400, 8, 0.08, 45),
    run('wasmesh-policy', 'rate-1000', 1, 1_000, 3, 0.09, 55), run('envoy-policy', 'rate-1000', 1, 1_000, 4, 0.12, 45),
  ];
  const rows = summarize(runs);

  it('divides wasmesh with policies by Envoy with them, and by wasmesh without them', () => {
    const [tp, r1k] = ratios(rows, [1], ['throughput', 'rate-1000']);
    expect(tp.policyThroughput).toBeCloseTo(9_600 / 6_400);
    expect(tp.policyP99).toBeCloseTo(6 / 8);
    expect(tp.policyCpuPer1k).toBeCloseTo(0.06 / 0.08);
    expect(tp.policyOverheadThroughput).toBeCloseTo(9_600 / 10_000);
    expect(tp.policyOverheadP99).toBeCloseTo(6 / 5);
    // The plain pair's ratio stays the plain one.
    expect(tp.throughput).toBeCloseTo(10_000 / 8_000);
    expect(r1k.policyThroughput).toBeNull();
    expect(r1k.policyP99).toBeCloseTo(3 / 4);
    expect(r1k.policyOverheadP99).toBeNull();
  });

  it('reports both ratios against their targets', () => {
    const report = {
      schema: REPORT_SCHEMA, machine: machineFacts(), command: 'npm run bench:e2e -- --policy',
      settings: { reps: 1, durationS: 10, warmupS: 3, workers: [1], modes: [{ name: 'throughput', kind: 'throughput', connections: 64 }, { name: 'rate-1000', kind: 'fixed-rate', connections: 16, qps: 1000 }], quick: false },
      tools: { node: process.version }, contenders: ['wasmesh', 'wasmesh-policy', 'envoy', 'envoy-policy'].map((name) => ({ name, description: name, unavailable: {} })),
      envoyWarnings: [], runs, summary: rows, ratios: ratios(rows, [1], ['throughput', 'rate-1000']), notes: [],
    } as unknown as E2eReport;
    const md = markdownReport(report);
    expect(md).toContain('## Policies (AuthorizationPolicy + JWT): wasmesh ÷ Envoy, and with ÷ without (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| 1\.50× \| 0\.75× \| 0\.75× \| 0\.96× \| 1\.20× \|/);
    expect(md).toMatch(/\| 1 \| 1,000 rps \| — \| 0\.75× \| 0\.75× \| — \| n\/a \|/);
  });

  it('--policy runs wasmesh and Envoy, each without and with the policies', () => {
    const o = parseOptions(['--policy']);
    if (o === 'help') throw new Error('help');
    expect(o.contenders).toEqual(['wasmesh', 'wasmesh-policy', 'envoy', 'envoy-policy']);
    expect(o.benchmarksMd).toBe(false);
  });
});

describe('the telemetry mode', () => {
  const runs = [
    run('wasmesh-notel', 'throughput', 1, 10_000, 5, 0.020, 50), run('wasmesh', 'throughput', 1, 9_900, 5, 0.021, 50),
    run('wasmesh-telemetry', 'throughput', 1, 9_500, 6, 0.024, 52), run('envoy-telemetry', 'throughput', 1, 6_000, 8, 0.040, 45),
    run('wasmesh-notel', 'rate-5000', 1, 5_000, 2, 0.025, 50), run('wasmesh', 'rate-5000', 1, 5_000, 2, 0.025, 50),
    run('wasmesh-telemetry', 'rate-5000', 1, 5_000, 3, 0.030, 52), run('envoy-telemetry', 'rate-5000', 1, 5_000, 4, 0.050, 45),
  ];
  const rows = summarize(runs);

  it('divides wasmesh with telemetry by Envoy with its stats and tracing, and by wasmesh with telemetry off', () => {
    const [tp, r5k] = ratios(rows, [1], ['throughput', 'rate-5000']);
    expect(tp.telemetryThroughput).toBeCloseTo(9_500 / 6_000);
    expect(tp.telemetryCpuPer1k).toBeCloseTo(0.024 / 0.040);
    expect(tp.telemetryOverheadThroughput).toBeCloseTo(9_500 / 10_000);
    expect(tp.telemetryOverheadCpuPer1k).toBeCloseTo(0.024 / 0.020);
    expect(tp.metricsOverheadThroughput).toBeCloseTo(9_900 / 10_000);
    expect(tp.metricsOverheadCpuPer1k).toBeCloseTo(0.021 / 0.020);
    // No plain wasmesh ÷ envoy: there is no plain envoy in this mode.
    expect(tp.throughput).toBeNull();
    expect(r5k.telemetryThroughput).toBeNull();
    expect(r5k.telemetryP99).toBeCloseTo(3 / 4);
    expect(r5k.telemetryOverheadCpuPer1k).toBeCloseTo(0.030 / 0.025);
  });

  it('reports the ratios against their targets, without the plain wasmesh ÷ Envoy table', () => {
    const report = {
      schema: REPORT_SCHEMA, machine: machineFacts(), command: 'npm run bench:e2e -- --telemetry',
      settings: { reps: 1, durationS: 10, warmupS: 3, workers: [1], modes: [{ name: 'throughput', kind: 'throughput', connections: 64 }, { name: 'rate-5000', kind: 'fixed-rate', connections: 16, qps: 5000 }], quick: false },
      tools: { node: process.version }, contenders: ['wasmesh', 'wasmesh-notel', 'wasmesh-telemetry', 'envoy-telemetry'].map((name) => ({ name, description: name, unavailable: {} })),
      envoyWarnings: [], runs, summary: rows, ratios: ratios(rows, [1], ['throughput', 'rate-5000']), notes: [],
    } as unknown as E2eReport;
    const md = markdownReport(report);
    expect(md).toContain('## Telemetry (Istio metrics + 1 % tracing): wasmesh ÷ Envoy, and with ÷ without (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| 1\.58× \| 0\.75× \| 0\.60× \| 0\.95× \| 1\.20× \| 1\.20× \| 0\.99× \| 1\.05× \|/);
    expect(md).not.toContain('## wasmesh ÷ Envoy (medians)');
  });

  it('--telemetry runs wasmesh off, as shipped and with telemetry, and Envoy with telemetry', () => {
    const o = parseOptions(['--telemetry']);
    if (o === 'help') throw new Error('help');
    expect(o.contenders).toEqual(['wasmesh-notel', 'wasmesh', 'wasmesh-telemetry', 'envoy-telemetry']);
    expect(o.benchmarksMd).toBe(false);
  });
});

describe('telemetry pair mode (both reporters)', () => {
  const runs: RunRecord[] = [
    run('wasmesh-pair-notel', 'throughput', 1, 6_000, 9, 0.030, 60), run('wasmesh-pair-telemetry', 'throughput', 1, 5_800, 10, 0.032, 62),
    run('envoy-pair-telemetry', 'throughput', 1, 4_000, 12, 0.045, 40),
    run('wasmesh-pair-notel', 'rate-1000', 1, 1_000, 3, 0.06, 60), run('wasmesh-pair-telemetry', 'rate-1000', 1, 1_000, 4, 0.066, 62),
    run('envoy-pair-telemetry', 'rate-1000', 1, 1_000, 5, 0.08, 40),
  ];
  const rows = summarize(runs);

  it('divides the wasmesh pair with telemetry by the Envoy pair and by the wasmesh pair without', () => {
    const [tp, r1k] = ratios(rows, [1], ['throughput', 'rate-1000']);
    expect(tp.pairTelemetryThroughput).toBeCloseTo(5_800 / 4_000);
    expect(tp.pairTelemetryCpuPer1k).toBeCloseTo(0.032 / 0.045);
    expect(tp.pairTelemetryOverheadThroughput).toBeCloseTo(5_800 / 6_000);
    expect(tp.pairTelemetryOverheadCpuPer1k).toBeCloseTo(0.032 / 0.030);
    // The single-gateway telemetry ratios have nothing to divide here.
    expect(tp.telemetryThroughput).toBeNull();
    expect(r1k.pairTelemetryThroughput).toBeNull();
    expect(r1k.pairTelemetryP99).toBeCloseTo(4 / 5);
    expect(r1k.pairTelemetryOverheadP99).toBeCloseTo(4 / 3);
  });

  it('reports the pair\'s table, the pair path and the reporters\' proof, without the single-proxy tables', () => {
    const report = {
      schema: REPORT_SCHEMA, machine: machineFacts(), command: 'npm run bench:e2e -- --telemetry-pair',
      settings: { reps: 1, durationS: 10, warmupS: 3, workers: [1], modes: [{ name: 'throughput', kind: 'throughput', connections: 64 }, { name: 'rate-1000', kind: 'fixed-rate', connections: 16, qps: 1000 }], quick: false },
      tools: { node: process.version }, contenders: ['wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry'].map((name) => ({ name, description: name, unavailable: {} })),
      envoyWarnings: [], runs, summary: rows, ratios: ratios(rows, [1], ['throughput', 'rate-1000']), notes: [],
      reporterChecks: [{ contender: 'wasmesh-pair-telemetry', workers: 1, facts: ['source reporter (client side\'s proxy): x = 5', 'destination reporter (app\'s sidecar): y = 5'] }],
    } as unknown as E2eReport;
    const md = markdownReport(report);
    expect(md).toContain('## Telemetry, both reporters (sidecar pair): wasmesh ÷ Envoy, and with ÷ without (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| 1\.45× \| 0\.83× \| 0\.71× \| 0\.97× \| 1\.11× \| 1\.07× \|/);
    expect(md).toContain('- wasmesh-pair-telemetry, 1 worker(s): destination reporter (app\'s sidecar): y = 5');
    expect(md).toContain('- Path (the both-reporters telemetry mode)');
    expect(md).not.toContain('- Routes (every proxy');
    expect(md).not.toContain('## Telemetry (Istio metrics + 1 % tracing)');
  });

  it('--telemetry-pair runs the wasmesh pair off and on and the Envoy pair', () => {
    const o = parseOptions(['--telemetry-pair']);
    if (o === 'help') throw new Error('help');
    expect(o.contenders).toEqual(['wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry']);
    expect(o.benchmarksMd).toBe(false);
  });
});

describe('parseOptions', () => {
  it('defaults to 3 reps of 10 s at 1 and 2 workers, and writes BENCHMARKS.md', () => {
    const o = parseOptions([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o).toMatchObject({ reps: 3, durationS: 10, workers: [1, 2], quick: false, benchmarksMd: true });
    expect(o.modes.map((m) => m.name)).toEqual(['throughput', 'rate-1000', 'rate-5000']);
    expect(o.modes[0]).toMatchObject({ connections: 64, threads: 2 });
  });

  it('--quick shortens everything and leaves BENCHMARKS.md alone; --out does too', () => {
    const q = parseOptions(['--quick', '--rates', '200']);
    if (q === 'help') throw new Error('unexpected help');
    expect(q).toMatchObject({ reps: 1, durationS: 2, workers: [1], benchmarksMd: false });
    expect(q.modes.map((m) => m.name)).toEqual(['throughput', 'rate-200']);
    const o = parseOptions(['--out', '/tmp/x']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.benchmarksMd).toBe(false);
  });

  it('--render names a saved report to re-render', () => {
    const o = parseOptions(['--render', 'bench/results/e2e-2026-11-21.json']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.render).toBe('bench/results/e2e-2026-11-21.json');
    expect(parseOptions(['--help'])).toBe('help');
  });

  it('rejects bad values with a stable code naming the flag', () => {
    for (const argv of [['--reps', '0'], ['--duration', 'x'], ['--workers', '1,a'], ['--bogus'], ['--reps'], ['--render'],
      ['--contenders', 'wasmesh,nginx'], ['--contenders', ''], ['--node-args', 'max-semi-space-size=2'], ['--node-args']]) {
      try {
        parseOptions(argv);
        expect.unreachable(`accepted ${argv.join(' ')}`);
      } catch (err) {
        expect(err).toBeInstanceOf(OptionsError);
        expect((err as OptionsError).code).toBe('E2E_BAD_OPTION');
        expect((err as Error).message).toContain(argv[0]);
      }
    }
  });
});

describe('parseOptions: a partial run', () => {
  it('runs the named contenders with the extra node flags, and leaves BENCHMARKS.md alone', () => {
    const o = parseOptions(['--contenders', 'wasmesh,envoy', '--node-args', '--max-semi-space-size=2  --expose-gc']);
    if (o === 'help') throw new Error('help');
    expect(o.contenders).toEqual(['wasmesh', 'envoy']);
    expect(o.wasmeshNodeArgs).toEqual(['--max-semi-space-size=2', '--expose-gc']);
    expect(o.benchmarksMd).toBe(false);
    const all = parseOptions([]);
    if (all === 'help') throw new Error('help');
    expect(all.contenders).toEqual(['direct', 'wasmesh', 'envoy', 'envoy+filters']);
    expect(all.wasmeshNodeArgs).toEqual([]);
    expect(all.benchmarksMd).toBe(true);
  });
});

describe('replaceSection', () => {
  const section = '## End-to-end\n\nnew figures\n';

  it('replaces only the End-to-end section, keeping what follows', () => {
    const text = '# B\n\n## Results\n\nmicro\n\n## End-to-end\n\nold figures\n\n### sub\n\nold\n\n## Profile\n\np\n';
    expect(replaceSection(text, section)).toBe('# B\n\n## Results\n\nmicro\n\n## End-to-end\n\nnew figures\n\n## Profile\n\np\n');
  });

  it('keeps the hand-written part after the marker, once, and leaves the rest of the file alone', () => {
    const hand = `${HAND_WRITTEN_MARKER}\n\n### Envoy + wasmesh filters\n\nby hand\n`;
    const text = `# B\n\n## End-to-end\n\nold figures\n\n${hand}\n## Optimisation log\n\nlog\n`;
    const once = replaceSection(text, section);
    expect(once).toBe(`# B\n\n## End-to-end\n\nnew figures\n\n${hand}\n## Optimisation log\n\nlog\n`);
    expect(replaceSection(once, section)).toBe(once);
    // At the end of the file too.
    expect(replaceSection(`## End-to-end\n\nold\n\n${hand}`, section)).toBe(`## End-to-end\n\nnew figures\n\n${hand}`);
    // A marker outside the section is not the section's.
    const outside = `## End-to-end\n\nold\n\n## Other\n\n${hand}`;
    expect(replaceSection(outside, section)).toBe(`## End-to-end\n\nnew figures\n\n## Other\n\n${hand}`);
  });

  it('appends the section when the file has none, and is stable when repeated', () => {
    const once = replaceSection('# B\n\n## Results\n\nmicro\n', section);
    expect(once).toBe('# B\n\n## Results\n\nmicro\n\n## End-to-end\n\nnew figures\n');
    expect(replaceSection(once, section)).toBe(once);
  });
});

describe('report rendering', () => {
  const report: E2eReport = {
    schema: REPORT_SCHEMA,
    machine: machineFacts(),
    command: 'npm run bench:e2e',
    settings: { reps: 3, durationS: 10, warmupS: 3, workers: [1, 2], quick: false,
      modes: [{ name: 'throughput', kind: 'throughput', connections: 64, threads: 2 }, { name: 'rate-1000', kind: 'fixed-rate', connections: 16, qps: 1000 }] },
    tools: { wrk: 'wrk 4.1.0' },
    contenders: [
      { name: 'direct', description: 'no proxy', unavailable: {} },
      { name: 'wasmesh', description: 'wasmesh', unavailable: { '2': 'no --workers flag' } },
      { name: 'envoy', description: 'envoy', unavailable: {} },
      { name: 'envoy+filters', description: 'envoy --filters', unavailable: { '2': 'filters not built' } },
    ],
    envoyWarnings: [],
    runs: [run('direct', 'throughput', 1, 40_000, 2), run('wasmesh', 'throughput', 1, 10_000, 5, 0.05, 50, 12), run('envoy', 'throughput', 1, 9_000, 6, 0.05, 50, 16),
      run('envoy+filters', 'throughput', 1, 7_200, 7, 0.06, 50, 18.25)],
    summary: [],
    ratios: [],
    notes: [],
  };
  report.summary = summarize(report.runs);
  report.ratios = ratios(report.summary, [1, 2], ['throughput', 'rate-1000']);

  it('draws n/a for contenders without figures and never NaN', () => {
    const svg = svgChart(report);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).toBe(4);
    expect(svg).toContain('<title>envoy+filters: 7.2k (7.2k–7.2k)</title>');
    expect(svg).toContain('>envoy+filters</text>');
    // Throughput at 2 workers: 4 bars; p99 at 1,000 rps: 4 bars at each worker count.
    expect((svg.match(/>n\/a</g) ?? []).length).toBe(4 + 4 * 2);
  });

  it('states why a contender did not run and renders ratios', () => {
    const md = markdownReport(report);
    expect(md).toContain('| max throughput | wasmesh | n/a | | | | | | | | no --workers flag |');
    expect(md).toContain('| 1 | max throughput | 1.11× | 0.83× | 1.00× | 1.00× | 0.75× |');
    expect(md).toContain('| max throughput | envoy+filters | 7,200 | 1.75 | 3.50 | 7.00 | 14.00 | 0.060 | 50.0 | 18.3 | 0 |');
    expect(md).toContain('| max throughput | envoy+filters | n/a | | | | | | | | filters not built |');
    expect(md).toContain('## Envoy + wasmesh filters ÷ native Envoy (medians)');
    expect(md).toContain('| 1 | max throughput | 0.80× (below target) | 1.17× | 1.20× |');
    expect(md).toContain('| 2 | max throughput | n/a | n/a | n/a |');
  });

  it('puts peak anon MiB right after peak RSS MiB, an anon RSS ratio after peak RSS, and says what RssAnon is', () => {
    const md = markdownReport(report);
    expect(md).toContain('| mode | contender | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU s / 1k req | peak RSS MiB | peak anon MiB | errors |');
    expect(md).toContain('| max throughput | wasmesh | 10,000 | 1.25 | 2.50 | 5.00 | 10.00 | 0.050 | 50.0 | 12.0 | 0 |');
    expect(md).toContain('| workers | mode | throughput | p99 | CPU / 1k req | peak RSS | anon RSS |');
    // 2 workers: no wasmesh row, no ratio.
    expect(md).toContain('| 2 | max throughput | n/a | n/a | n/a | n/a | n/a |');
    expect(md).toMatch(/Anon RSS: RssAnon .*\(heaps, buffers\), without the executable's and shared libraries' file-backed pages that VmRSS also counts\./);
    // Every table row has as many cells as its header (no cell holds a '|').
    for (const table of md.split('\n\n').filter((b) => b.startsWith('| '))) {
      const counts = new Set(table.split('\n').map((l) => (l.match(/\|/g) ?? []).length));
      expect(counts.size, table).toBe(1);
    }
  });

  it('renders a report written before RssAnon was measured (--render of an old JSON): n/a in the anon columns', () => {
    const old = oldReport(report);
    const md = markdownReport(old);
    expect(md).not.toMatch(/NaN|undefined|Infinity/);
    expect(md).toContain('| max throughput | wasmesh | 10,000 | 1.25 | 2.50 | 5.00 | 10.00 | 0.050 | 50.0 | n/a | 0 |');
    expect(md).toContain('| 1 | max throughput | 1.11× | 0.83× | 1.00× | 1.00× | n/a |');
    expect(svgChart(old)).toBe(svgChart(report));
    // Re-summarising its runs gives no anon figure either.
    expect(summarize(old.runs).every((r) => r.peakAnonMiB === undefined)).toBe(true);
  });

  it('says "target met" at 0.9× and leaves the filters table out of reports that predate it', () => {
    const met = { ...report, runs: report.runs.map((r) => (r.contender === 'envoy+filters' ? { ...r, load: { ...r.load!, rps: 8_100 } } : r)) };
    met.summary = summarize(met.runs);
    met.ratios = ratios(met.summary, [1], ['throughput']);
    expect(markdownReport(met)).toContain('| 1 | max throughput | 0.90× (target met) |');
    const old = { ...report, ratios: report.ratios.map(({ filtersThroughput: _t, filtersP99: _p, filtersCpuPer1k: _c, ...r }) => r) };
    expect(markdownReport(old)).not.toContain('Envoy + wasmesh filters ÷ native Envoy');
  });

  it('writes the dated report files only: no e2e-latest copy', () => {
    const out = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-out-'));
    try {
      const dated = { ...report, machine: { ...report.machine, date: '2026-12-01T10:00:00.000Z' } };
      const files = writeOutputs(dated, out);
      expect(files).toEqual({ json: join(out, 'e2e-2026-12-01.json'), md: join(out, 'e2e-2026-12-01.md'), svg: join(out, 'e2e-2026-12-01.svg') });
      expect(readdirSync(out).sort()).toEqual(['e2e-2026-12-01.json', 'e2e-2026-12-01.md', 'e2e-2026-12-01.svg']);
      expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(dated);
      expect(readFileSync(files.md, 'utf8')).toBe(markdownReport(dated));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('proc-stats', () => {
  it('reads this process\'s CPU seconds (growing with work) and resident memory', () => {
    const before = cpuSeconds(process.pid);
    const end = Date.now() + 60;
    while (Date.now() < end) Math.sqrt(Math.random());
    expect(cpuSeconds(process.pid)).toBeGreaterThanOrEqual(before);
    expect(statusMiB(process.pid, 'VmRSS')).toBeGreaterThan(5);
    expect(statusMiB(process.pid, 'VmHWM')).toBeGreaterThanOrEqual(statusMiB(process.pid, 'VmRSS') - 1);
    // The anonymous part is a part: node's heap is in it, its binary's pages are not.
    const anon = statusMiB(process.pid, 'RssAnon');
    expect(anon).toBeGreaterThan(1);
    expect(anon).toBeLessThan(statusMiB(process.pid, 'VmRSS'));
  });

  it('UsageMeter reports peak anonymous memory no larger than peak RSS', async () => {
    const meter = new UsageMeter(process.pid, 10);
    const held = Buffer.alloc(16 * 1024 * 1024, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const usage = meter.stop();
    expect(held.length).toBe(16 * 1024 * 1024);
    expect(usage.peakAnonMiB).toBeGreaterThan(16);
    // Every sample reads both from one status text, where RssAnon ≤ VmRSS.
    expect(usage.peakAnonMiB).toBeLessThanOrEqual(usage.peakRssMiB);
  });
});
