// Smoke test of the end-to-end benchmark's telemetry mode (`--telemetry`, issue 14): the real
// harness runs a tiny configuration (1 rep, 1 s per run) with wasmesh telemetry off, as shipped
// (Istio's metrics on) and with the metrics and 1 % Zipkin tracing to its span sink, and, when
// installed, stock Envoy with its stats and the same tracing; it must produce a well-formed report
// with the telemetry ratios, and the tracing contenders must really have exported spans. No figure
// is compared with a threshold. Without wrk, fortio or Go it skips with the reason, unless
// WASMESH_REQUIRE_LOADGEN=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_SCHEMA, type E2eReport } from '../../../bench/e2e/report-types.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { loadToolsMissingForTests } from '../../helpers/load-tools-for-tests.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { runBench } from '../../helpers/bench-runner.js';

const missing = loadToolsMissingForTests('bench:e2e telemetry smoke');

describe.skipIf(missing !== null)('bench:e2e --telemetry, quick run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-telemetry-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // With WASMESH_REQUIRE_ENVOY=1 a missing Envoy fails here instead of leaving it out.
  const envoy = envoyForTests('bench:e2e telemetry smoke') !== null;

  it('measures wasmesh with and without telemetry and Envoy with its stats and tracing; spans reach the sink', async () => {
    await ensureBuilt();
    const { code, stdout, stderr } = await runBench('e2e/run.js', ['--quick', '--duration', '1', '--telemetry', '--rates', '1000', '--out', out]);
    expect(code, stderr).toBe(0);

    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as E2eReport;
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(report.contenders.map((c) => c.name)).toEqual(['wasmesh', 'wasmesh-notel', 'wasmesh-telemetry', 'envoy-telemetry']);
    const measured = envoy ? ['wasmesh', 'wasmesh-notel', 'wasmesh-telemetry', 'envoy-telemetry'] : ['wasmesh', 'wasmesh-notel', 'wasmesh-telemetry'];
    for (const mode of report.settings.modes) {
      for (const contender of measured) {
        const run = report.runs.find((r) => r.mode === mode.name && r.contender === contender);
        expect(run, `${mode.name}/${contender}`).toBeDefined();
        expect(run!.ok, `${mode.name}/${contender}: ${run!.error}`).toBe(true);
        expect(run!.load!.errors, JSON.stringify(run!.load!.errorKinds)).toBe(0);
        expect(run!.cpuSecondsPer1k!).toBeGreaterThan(0);
      }
    }
    // 1 % of thousands of requests were sampled: spans arrived, about two per sampled request
    // (the stream span and its attempt's), far fewer than one per request.
    for (const contender of measured.filter((c) => c.endsWith('-telemetry'))) {
      const s = report.telemetrySpans!.find((x) => x.contender === contender);
      expect(s, contender).toBeDefined();
      expect(s!.spans, `${contender}: ${report.notes.join('; ')}`).toBeGreaterThan(0);
      expect(s!.spans).toBeLessThan(s!.requests * 0.2);
    }
    const tp = report.ratios.find((r) => r.mode === 'throughput')!;
    expect(tp.telemetryOverheadThroughput).toBeGreaterThan(0);
    expect(tp.telemetryOverheadCpuPer1k).toBeGreaterThan(0);
    expect(tp.metricsOverheadCpuPer1k).toBeGreaterThan(0);
    if (envoy) expect(tp.telemetryThroughput).toBeGreaterThan(0);
    else expect(report.contenders.find((c) => c.name === 'envoy-telemetry')!.unavailable['1']).toMatch(/Envoy not installed/);

    const md = readFileSync(join(out, json.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toContain('## Telemetry (Istio metrics + 1 % tracing): wasmesh ÷ Envoy, and with ÷ without (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| ([\d.]+×|—) \| ([\d.]+×|—) \| ([\d.]+×|—) \| [\d.]+× \| [\d.]+× \| [\d.]+× \| [\d.]+× \| [\d.]+× \|/);
    expect(md).toMatch(/wasmesh-telemetry exported [\d,]+ spans/);
    expect(stdout).toBe(md);
  }, 300_000);
});
