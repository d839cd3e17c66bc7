// Smoke test of bench:protocols' mTLS pair modes (bench/protocols/mtls-pairs.ts): the real runner,
// `mtls-tcp-bytes` and `mtls-http` for 1 s on the wasmesh pair and the Envoy pair, each must
// produce figures (operations done, bytes echoed, no errors, a finite ratio) with both processes
// of a pair in the CPU sampled; a variant without a pair is said to be left out; and the modes are
// not in the default run. No figure is compared with a threshold: this is not a timed test.
// Without Envoy or h2load the suite skips with the reason, unless WASMESH_REQUIRE_ENVOY=1 /
// WASMESH_REQUIRE_LOADGEN=1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODES, type ProtocolsReport } from '../../../bench/protocols/run.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { h2loadMissingForTests } from '../../helpers/load-tools-for-tests.js';
import { runBench } from '../../helpers/bench-runner.js';

const envoy = envoyForTests('bench:protocols mTLS smoke');
const missing = envoy === null ? 'Envoy not installed' : h2loadMissingForTests('bench:protocols mTLS smoke');

describe.skipIf(missing !== null)('bench:protocols, the mTLS pair modes', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-mtls-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('mtls-tcp-bytes and mtls-http measured on both pairs: work done, no errors, a ratio, both processes\' CPU', async () => {
    await ensureBuilt();
    const json = join(out, 'report.json');
    const r = await runBench('protocols/run.js', ['--modes', 'mtls-tcp-bytes,mtls-http', '--proxies', 'wasmesh,wasmesh-core,envoy', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    expect(report.summary.map((s) => s.mode)).toEqual(['mtls-tcp-bytes', 'mtls-http']);
    for (const mode of ['mtls-tcp-bytes', 'mtls-http']) {
      for (const proxy of ['wasmesh', 'envoy']) {
        const m = report.measurements.find((x) => x.mode === mode && x.proxy === proxy);
        expect(m, `${mode}/${proxy}`).toBeDefined();
        expect(m!.figures.ops, `${mode}/${proxy}`).toBeGreaterThan(0);
        expect(m!.figures.errors, `${mode}/${proxy}: ${m!.figures.firstError}`).toBe(0);
        expect(m!.figures.latencyMs.p99).toBeGreaterThan(0);
        expect(m!.proxyCpuS, `${mode}/${proxy}`).toBeGreaterThan(0);
      }
      const s = report.summary.find((x) => x.mode === mode)!;
      expect(Number.isFinite(s.throughputRatio) && s.throughputRatio > 0).toBe(true);
    }
    for (const m of report.measurements.filter((x) => x.mode === 'mtls-tcp-bytes')) expect(m.figures.bytes).toBeGreaterThan(0);
    // wasmesh-core has no pair: left out of the mTLS modes, and said so.
    expect(report.measurements.some((m) => m.proxy === 'wasmesh-core')).toBe(false);
    expect(r.stderr).toContain('wasmesh-core has no mTLS pair: not measured in mtls-tcp-bytes, mtls-http');
    expect(r.stdout).toMatch(/\| mtls-tcp-bytes \| [\d.]+ MiB\/s \| [\d.]+ MiB\/s \| \*\*[\d.]+×\*\*/);
    expect(r.stdout).toMatch(/\| mtls-http \| \d+ req\/s \| \d+ req\/s \| \*\*[\d.]+×\*\*/);
  }, 240_000);

  it('the mTLS modes run only when asked for (--modes), not by default', () => {
    expect(MODES).not.toContain('mtls-tcp-bytes');
    expect(MODES).not.toContain('mtls-http');
  });
});
