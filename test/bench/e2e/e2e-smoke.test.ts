// Smoke test of the end-to-end benchmark: the real harness (dist/bench/e2e/run.js) runs a tiny
// configuration (1 rep, 1 s per run) against the real upstream, wasmesh and, when installed,
// Envoy both native and with the wasmesh proxy-wasm filters, and must produce well-formed JSON,
// Markdown and SVG. No figure is compared with a threshold. Without wrk, fortio or Go it skips
// with the reason, unless WASMESH_REQUIRE_LOADGEN=1.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_SCHEMA, type E2eReport } from '../../../bench/e2e/report-types.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { loadToolsMissingForTests } from '../../helpers/load-tools-for-tests.js';
import { ensureBuilt, ROOT } from '../../helpers/wasmesh-process.js';
import { runBench } from '../../helpers/bench-runner.js';

const missing = loadToolsMissingForTests('bench:e2e smoke');

describe.skipIf(missing !== null)('bench:e2e harness, quick run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const benchmarksMd = join(ROOT, 'BENCHMARKS.md');
  const mdBefore = existsSync(benchmarksMd) ? statSync(benchmarksMd).mtimeMs : 0;
  // With WASMESH_REQUIRE_ENVOY=1 a missing Envoy fails here instead of leaving its pair out.
  const envoy = envoyForTests('bench:e2e smoke') !== null;

  it('runs every mode on every contender and writes JSON, Markdown and SVG', async () => {
    await ensureBuilt();
    const { code, stdout, stderr } = await runBench('e2e/run.js', ['--quick', '--duration', '1', '--out', out]);
    expect(code, stderr).toBe(0);

    // One dated report, no e2e-latest copy.
    const written = readdirSync(out).sort();
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^e2e-\d{4}-\d{2}-\d{2}\.json$/);
    const stem = join(out, written[0]!.slice(0, -'.json'.length));
    expect(written).toEqual([`${stem}.json`, `${stem}.md`, `${stem}.svg`].map((f) => f.slice(out.length + 1)));
    const report = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as E2eReport;
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(report.settings).toMatchObject({ reps: 1, durationS: 1, workers: [1], quick: true });
    expect(report.settings.modes.map((m) => m.name)).toEqual(['throughput', 'rate-1000', 'rate-5000']);
    expect(report.machine.cores).toBeGreaterThan(0);

    const expected = envoy ? ['direct', 'wasmesh', 'envoy', 'envoy+filters'] : ['direct', 'wasmesh'];
    for (const mode of report.settings.modes) {
      for (const contender of expected) {
        const run = report.runs.find((r) => r.mode === mode.name && r.contender === contender);
        expect(run, `${mode.name}/${contender}`).toBeDefined();
        expect(run!.ok, `${mode.name}/${contender}: ${run!.error}`).toBe(true);
        const l = run!.load!;
        expect(l.requests).toBeGreaterThan(0);
        expect(l.rps).toBeGreaterThan(0);
        // The upstream never fails and nothing is overloaded at these rates: any error is a bug.
        expect(l.errors, JSON.stringify(l.errorKinds)).toBe(0);
        expect(l.latencyMs.p50).toBeGreaterThan(0);
        expect(l.latencyMs.p50).toBeLessThanOrEqual(l.latencyMs.p90);
        expect(l.latencyMs.p90).toBeLessThanOrEqual(l.latencyMs.p99);
        expect(l.latencyMs.p99).toBeLessThanOrEqual(l.latencyMs.max * 1.001);
        expect(Number.isFinite(run!.cpuSecondsPer1k)).toBe(true);
        expect(run!.cpuSecondsPer1k!).toBeGreaterThanOrEqual(0);
        expect(run!.peakRssMiB!).toBeGreaterThan(1);
        expect(run!.peakAnonMiB!).toBeGreaterThan(0);
        expect(run!.peakAnonMiB!).toBeLessThanOrEqual(run!.peakRssMiB!);
      }
    }
    if (!envoy) {
      for (const name of ['envoy', 'envoy+filters']) expect(report.contenders.find((c) => c.name === name)!.unavailable['1']).toMatch(/Envoy not installed/);
    }
    expect(report.summary.length).toBe(expected.length * report.settings.modes.length);
    const tp = report.ratios.find((r) => r.mode === 'throughput')!;
    if (envoy) {
      expect(tp.throughput).toBeGreaterThan(0);
      expect(tp.filtersThroughput).toBeGreaterThan(0);
      expect(tp.filtersCpuPer1k).toBeGreaterThan(0);
      // Envoy + filters ran on the filters bootstrap, not the native one.
      expect(report.contenders.find((c) => c.name === 'envoy+filters')!.description).toMatch(/envoy-config --filters .*wasmesh-filters\.wasm/);
    } else {
      expect(tp.throughput).toBeNull();
      expect(tp.filtersThroughput).toBeNull();
    }

    const md = readFileSync(`${stem}.md`, 'utf8');
    expect(md).toMatch(/^# wasmesh end-to-end benchmark/);
    expect(md).toContain('| mode | contender | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU s / 1k req | peak RSS MiB | peak anon MiB | errors |');
    expect(md).toMatch(/\| max throughput \| wasmesh \| [\d,]+ \|/);
    expect(md).toMatch(/\| 5,000 rps \| direct \(upstream\) \| [\d,]+ \|/);
    if (envoy) {
      expect(md).toMatch(/\| max throughput \| envoy\+filters \| [\d,]+ \|/);
      expect(md).toMatch(/\| 1 \| max throughput \| [\d.]+× \((target met|below target)\) \| [\d.]+× \| [\d.]+× \|/);
    }
    expect(stdout).toBe(md);

    const svg = readFileSync(`${stem}.svg`, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    // One bar per contender: throughput (1 group) + p99 (2 rates).
    expect((svg.match(/<rect [^>]*><title>/g) ?? []).length).toBe(expected.length * 3);

    // Named after the report's date, and BENCHMARKS.md untouched (--out given).
    expect(`${stem}.json`).toBe(join(out, `e2e-${report.machine.date.slice(0, 10)}.json`));
    expect(existsSync(benchmarksMd) ? statSync(benchmarksMd).mtimeMs : 0).toBe(mdBefore);
  }, 300_000);
});
