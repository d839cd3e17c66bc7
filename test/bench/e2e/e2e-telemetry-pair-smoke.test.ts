// Smoke test of the end-to-end benchmark's both-reporters telemetry mode (`--telemetry-pair`,
// issue 14): the real harness runs a tiny configuration (1 rep, 1 s per run) with the wasmesh
// sidecar pair (client side's proxy → app's sidecar) with telemetry off and with Istio's metrics on
// both and 1 % Zipkin tracing, and, when installed, the stock Envoy pair with its stats and the
// same tracing. It must produce a well-formed report with the pair's telemetry ratios, both
// reporters' series (the destination reporter knowing the client side's workload from the peer
// metadata, the source reporter the app's), and spans at the sink. No figure is compared with a
// threshold. Without wrk, fortio or Go it skips with the reason, unless WASMESH_REQUIRE_LOADGEN=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_SCHEMA, type E2eReport } from '../../../bench/e2e/report-types.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { loadToolsMissingForTests } from '../../helpers/load-tools-for-tests.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { runBench } from '../../helpers/bench-runner.js';

const missing = loadToolsMissingForTests('bench:e2e telemetry pair smoke');

describe.skipIf(missing !== null)('bench:e2e --telemetry-pair, quick run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-telemetry-pair-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // With WASMESH_REQUIRE_ENVOY=1 a missing Envoy fails here instead of leaving its pair out.
  const envoy = envoyForTests('bench:e2e telemetry pair smoke') !== null;

  it('measures the pairs; both reporters report with their peers known; spans reach the sink', async () => {
    await ensureBuilt();
    const { code, stdout, stderr } = await runBench('e2e/run.js', ['--quick', '--duration', '1', '--telemetry-pair', '--rates', '1000', '--out', out]);
    expect(code, stderr).toBe(0);

    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as E2eReport;
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(report.contenders.map((c) => c.name)).toEqual(['wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry']);
    const measured = envoy ? ['wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry'] : ['wasmesh-pair-notel', 'wasmesh-pair-telemetry'];
    for (const mode of report.settings.modes) {
      for (const contender of measured) {
        const run = report.runs.find((r) => r.mode === mode.name && r.contender === contender);
        expect(run, `${mode.name}/${contender}`).toBeDefined();
        expect(run!.ok, `${mode.name}/${contender}: ${run!.error}`).toBe(true);
        expect(run!.cpuSecondsPer1k!).toBeGreaterThan(0);
      }
    }

    // Both reporters, each knowing its peer from the metadata exchange, read from the proxies themselves.
    const check = report.reporterChecks!.find((c) => c.contender === 'wasmesh-pair-telemetry');
    expect(check, report.notes.join('; ')).toBeDefined();
    const [source, destination] = check!.facts;
    expect(source).toMatch(/^source reporter \(client side's proxy\): istio_requests_total\{reporter="source",destination_workload="bench-app"\} = [1-9]\d*/);
    expect(source).toMatch(/istio_requests_total\{reporter="source",source_workload="bench-client",.*destination_workload="bench-app",.*response_code="200".*\} [1-9]\d*\)$/);
    expect(destination).toMatch(/^destination reporter \(app's sidecar\): istio_requests_total\{reporter="destination",source_workload="bench-client"\} = [1-9]\d*/);
    expect(destination).toMatch(/istio_requests_total\{reporter="destination",source_workload="bench-client",.*destination_workload="bench-app",.*response_code="200".*\} [1-9]\d*\)$/);
    // Telemetry off has nothing to prove.
    expect(report.reporterChecks!.map((c) => c.contender)).toEqual(['wasmesh-pair-telemetry']);

    // 1 % of thousands of requests were sampled: spans arrived (each proxy of the pair writes its own), far fewer than one per request.
    for (const contender of measured.filter((c) => c.endsWith('-telemetry'))) {
      const s = report.telemetrySpans!.find((x) => x.contender === contender);
      expect(s, contender).toBeDefined();
      expect(s!.spans, `${contender}: ${report.notes.join('; ')}`).toBeGreaterThan(0);
      expect(s!.spans).toBeLessThan(s!.requests * 0.3);
    }
    const tp = report.ratios.find((r) => r.mode === 'throughput')!;
    expect(tp.pairTelemetryOverheadThroughput).toBeGreaterThan(0);
    expect(tp.pairTelemetryOverheadCpuPer1k).toBeGreaterThan(0);
    if (envoy) expect(tp.pairTelemetryThroughput).toBeGreaterThan(0);
    else expect(report.contenders.find((c) => c.name === 'envoy-pair-telemetry')!.unavailable['1']).toMatch(/Envoy not installed/);

    const md = readFileSync(join(out, json.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toContain('## Telemetry, both reporters (sidecar pair): wasmesh ÷ Envoy, and with ÷ without (medians)');
    expect(md).toMatch(/\| 1 \| max throughput \| ([\d.]+×|—) \| ([\d.]+×|—) \| ([\d.]+×|—) \| [\d.]+× \| [\d.]+× \| [\d.]+× \|/);
    expect(md).toContain('## Both reporters reported');
    expect(md).toContain('- Path (the both-reporters telemetry mode)');
    expect(stdout).toBe(md);
  }, 300_000);
});
