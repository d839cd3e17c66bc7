// Smoke test of `npm run bench:protocols` (bench/protocols/run.ts): the real runner, every mode
// for 1 s on both proxies, must produce figures for wasmesh and Envoy in each (operations done,
// no errors, a finite ratio); and a missing h2load must fail the run under
// WASMESH_REQUIRE_LOADGEN=1 (and only skip the HTTP/2 mode without it). No figure is compared
// with a threshold: this is not a timed test. Without Envoy or h2load the suite skips with the
// reason, unless WASMESH_REQUIRE_ENVOY=1 / WASMESH_REQUIRE_LOADGEN=1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProtocolsReport } from '../../../bench/protocols/run.js';
import { envoyForTests } from '../../helpers/envoy-for-tests.js';
import { ensureBuilt } from '../../helpers/wasmesh-process.js';
import { h2loadMissingForTests } from '../../helpers/load-tools-for-tests.js';
import { runBench, type BenchRun } from '../../helpers/bench-runner.js';


const envoy = envoyForTests('bench:protocols smoke');
const missing = envoy === null ? 'Envoy not installed' : h2loadMissingForTests('bench:protocols smoke');

const runner = (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<BenchRun> => runBench('protocols/run.js', args, { env });

describe.skipIf(missing !== null)('bench:protocols, quick run', () => {
  const out = mkdtempSync(join(tmpdir(), 'wasmesh-protocols-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('every mode measured on wasmesh and Envoy: operations done, no errors, a ratio', async () => {
    await ensureBuilt();
    const json = join(out, 'report.json');
    const r = await runner(['--duration', '1', '--warmup', '0.3', '--rounds', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    expect(report.summary.map((s) => s.mode)).toEqual(['h2', 'grpc', 'grpc-h2load', 'tcp-bytes', 'tcp-conn', 'ws']);
    for (const mode of ['h2', 'grpc', 'grpc-h2load', 'tcp-bytes', 'tcp-conn', 'ws']) {
      for (const proxy of ['wasmesh', 'envoy']) {
        const m = report.measurements.find((x) => x.mode === mode && x.proxy === proxy);
        expect(m, `${mode}/${proxy}`).toBeDefined();
        expect(m!.figures.ops, `${mode}/${proxy}`).toBeGreaterThan(0);
        expect(m!.figures.errors, `${mode}/${proxy}: ${m!.figures.firstError}`).toBe(0);
        expect(m!.figures.latencyMs.p99).toBeGreaterThan(0);
      }
      const s = report.summary.find((x) => x.mode === mode)!;
      expect(Number.isFinite(s.throughputRatio) && s.throughputRatio > 0).toBe(true);
    }
    for (const m of report.measurements.filter((x) => x.mode === 'tcp-bytes')) expect(m.figures.bytes).toBeGreaterThan(0);
    // The proxy's CPU over the window is sampled in every mode (h2load's from a timer at the end of its warm-up).
    for (const m of report.measurements) {
      expect(m.proxyCpuS, `${m.mode}/${m.proxy}`).toBeGreaterThan(0);
      expect(m.cpuMsPerUnit, `${m.mode}/${m.proxy}`).toBeGreaterThan(0);
    }
    expect(r.stdout).toMatch(/\| h2 \| \d+ req\/s \| \d+ req\/s \| \*\*[\d.]+×\*\*/);
  }, 240_000);

  it('a missing h2load fails the run under WASMESH_REQUIRE_LOADGEN=1, and only skips the HTTP/2 mode without it', async () => {
    await ensureBuilt();
    const env = { ...process.env, H2LOAD_BIN: '/nonexistent/h2load' };
    const required = await runner(['--modes', 'h2', '--duration', '1', '--json', join(out, 'required.json')], { ...env, WASMESH_REQUIRE_LOADGEN: '1' });
    expect(required.code).toBe(1);
    expect(required.stderr).toContain('WASMESH_REQUIRE_LOADGEN=1 but h2load not found (H2LOAD_BIN=/nonexistent/h2load');
    const optional = await runner(['--modes', 'h2,grpc-h2load', '--duration', '1', '--json', join(out, 'optional.json')], { ...env, WASMESH_REQUIRE_LOADGEN: '0' });
    expect(optional.code, optional.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'optional.json'), 'utf8')) as ProtocolsReport;
    expect(report.skipped.h2).toMatch(/^h2load not found/);
    expect(report.skipped['grpc-h2load']).toMatch(/^h2load not found/);
    expect(report.measurements).toEqual([]);
  }, 60_000);

  it('bad options are refused with the reason', async () => {
    const r = await runner(['--modes', 'h3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--modes: unknown mode "h3" (modes: h2, grpc, grpc-h2load, tcp-bytes, tcp-conn, ws)');
    const unknown = await runner(['--frobnicate', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option --frobnicate');
    const proxy = await runner(['--proxies', 'wasmesh,nginx']);
    expect(proxy.code).toBe(2);
    expect(proxy.stderr).toContain('--proxies: unknown proxy "nginx" (proxies: wasmesh, wasmesh-nghttp2, wasmesh-core, wasmesh-core-up, envoy)');
  });

  it('--proxies wasmesh,wasmesh-nghttp2,wasmesh-core,envoy: the HTTP/2 codec variants against Envoy in the same rounds, a row each', async () => {
    await ensureBuilt();
    const json = join(out, 'core.json');
    const r = await runner(['--modes', 'h2,grpc', '--proxies', 'wasmesh,wasmesh-nghttp2,wasmesh-core,envoy', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    expect(report.summary.map((s) => `${s.mode}/${s.variant}`)).toEqual(['h2/wasmesh', 'h2/wasmesh-nghttp2', 'h2/wasmesh-core', 'grpc/wasmesh', 'grpc/wasmesh-nghttp2', 'grpc/wasmesh-core']);
    for (const m of report.measurements) expect(m.figures.errors, `${m.mode}/${m.proxy}: ${m.figures.firstError}`).toBe(0);
    expect(r.stdout).toMatch(/\| h2 \(wasmesh-core\) \| \d+ req\/s \| \d+ req\/s \| \*\*[\d.]+×\*\*/);
    expect(r.stdout).toMatch(/\| grpc \(wasmesh-nghttp2\) \| \d+ calls\/s \| \d+ calls\/s \| \*\*[\d.]+×\*\*/);
  }, 240_000);

  it('--proxies wasmesh runs wasmesh alone: its figures and CPU per MiB, no ratio', async () => {
    await ensureBuilt();
    const json = join(out, 'alone.json');
    const r = await runner(['--modes', 'tcp-bytes', '--proxies', 'wasmesh', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    expect(report.measurements.map((m) => m.proxy)).toEqual(['wasmesh']);
    expect(report.measurements[0]!.cpuMsPerUnit).toBeGreaterThan(0);
    expect(report.summary).toEqual([]);
    expect(r.stdout).toMatch(/\| 1 \| tcp-bytes \| wasmesh \| [\d.]+ MiB\/s \| [\d.]+ \| [\d.]+ per MiB \| 0 \|/);
  }, 60_000);
});
