// Smoke test of the end-to-end benchmark's mTLS mode (`--mtls`): the real harness runs a tiny
// configuration (1 rep, 1 s per run, 20 idle connections) with the wasmesh sidecar pair and, when
// installed, stock Envoy's, each proving mesh mTLS before it is measured, and must produce a
// well-formed report with the pair ratios, memory per idle connection and the proof. No figure is
// compared with a threshold. Without wrk, fortio or Go it skips with the reason, unless
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

const missing = loadToolsMissingForTests('bench:e2e mTLS smoke');

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/bench-client';

describe.skipIf(missing !== null)('bench:e2e --mtls, quick run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-mtls-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // With WASMESH_REQUIRE_ENVOY=1 a missing Envoy fails here instead of leaving its pair out.
  const envoy = envoyForTests('bench:e2e mTLS smoke') !== null;

  it('proves mTLS on each pair, measures it, and reports ratios and memory per idle connection', async () => {
    await ensureBuilt();
    const { code, stdout, stderr } = await runBench('e2e/run.js', ['--quick', '--duration', '1', '--mtls', '--rates', '1000', '--idle-connections', '20', '--out', out]);
    expect(code, stderr).toBe(0);

    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as E2eReport;
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(report.contenders.map((c) => c.name)).toEqual(['direct', 'wasmesh-mtls', 'envoy-mtls']);
    const pairs = envoy ? ['wasmesh-mtls', 'envoy-mtls'] : ['wasmesh-mtls'];

    for (const mode of report.settings.modes) {
      for (const contender of ['direct', ...pairs]) {
        const run = report.runs.find((r) => r.mode === mode.name && r.contender === contender);
        expect(run, `${mode.name}/${contender}`).toBeDefined();
        expect(run!.ok, `${mode.name}/${contender}: ${run!.error}`).toBe(true);
        expect(run!.load!.errors, JSON.stringify(run!.load!.errorKinds)).toBe(0);
        expect(run!.cpuSecondsPer1k!).toBeGreaterThan(0);
      }
    }
    // Each pair proved mTLS before it was measured: the client's SPIFFE ID at the app, plaintext refused.
    for (const contender of pairs) {
      const check = report.mtlsChecks!.find((c) => c.contender === contender);
      expect(check, contender).toBeDefined();
      expect(check!.facts.join('\n')).toContain(`URI=${CLIENT_ID}`);
      expect(check!.facts.join('\n')).toMatch(/plaintext HTTP to the inbound sidecar refused/);
      expect(check!.facts.join('\n')).toMatch(/TLS without a client certificate refused/);
      const idle = report.idleMtls!.find((r) => r.contender === contender);
      expect(idle, `${contender}: ${report.notes.join('; ')}`).toBeDefined();
      expect(idle!.connections).toBe(20);
      expect(idle!.rssAfterMiB).toBeGreaterThan(1);
      expect(Number.isFinite(idle!.kibPerConnection)).toBe(true);
    }
    const tp = report.ratios.find((r) => r.mode === 'throughput')!;
    if (envoy) {
      expect(tp.mtlsThroughput).toBeGreaterThan(0);
      expect(tp.mtlsCpuPer1k).toBeGreaterThan(0);
    } else {
      expect(report.contenders.find((c) => c.name === 'envoy-mtls')!.unavailable['1']).toMatch(/Envoy not installed/);
    }

    const md = readFileSync(join(out, json.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toMatch(/\| max throughput \| wasmesh-mtls \| [\d,]+ \|/);
    expect(md).toContain('## Memory per idle mTLS connection (inbound sidecar)');
    expect(md).toMatch(/\| 1 \| wasmesh-mtls \| 20 \| [\d.]+ → [\d.]+ \| -?[\d.]+ \| -?[\d.]+ \|/);
    expect(md).toContain('## mTLS verified before measuring');
    if (envoy) expect(md).toMatch(/\| 1 \| max throughput \| [\d.]+× \| [\d.]+× \| [\d.]+× \| [\d.]+× \| [\d.]+ \((target met|above target)\) \|/);
    expect(stdout).toBe(md);
  }, 300_000);
});
