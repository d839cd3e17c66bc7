// Smoke test of `npm run bench:protocols` (bench/protocols/run.ts): the real runner, every mode
// for 1 s on both proxies, must produce figures for wasmesh and Envoy in each (operations done,
// no errors, a finite ratio, the load tool's CPU sampled; the Node modes in the default two load
// processes, and in one with --load-procs 1); and a missing h2load must fail the run under
// WASMESH_REQUIRE_LOADGEN=1 (and only skip the HTTP/2 mode without it). No figure is compared
// with a threshold: this is not a timed test. Without Envoy or h2load the suite skips with the
// reason, unless WASMESH_REQUIRE_ENVOY=1 / WASMESH_REQUIRE_LOADGEN=1.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    // So are the load tool's (h2load, or the load processes together) and the upstream's, as the cores each kept busy.
    for (const m of report.measurements) {
      expect(m.proxyCpuS, `${m.mode}/${m.proxy}`).toBeGreaterThan(0);
      expect(m.cpuMsPerUnit, `${m.mode}/${m.proxy}`).toBeGreaterThan(0);
      // Sampled in every measurement; a 1 s window on a loaded machine may hold no 10 ms tick of
      // one process, so only the sums must show work.
      expect(m.loadCpuS, `${m.mode}/${m.proxy}`).toBeGreaterThanOrEqual(0);
      expect(m.loadCores, `${m.mode}/${m.proxy}`).toBeGreaterThanOrEqual(0);
      expect(m.upstreamCores, `${m.mode}/${m.proxy}`).toBeGreaterThanOrEqual(0);
    }
    expect(report.measurements.reduce((a, m) => a + m.loadCpuS!, 0)).toBeGreaterThan(0);
    expect(report.measurements.reduce((a, m) => a + m.upstreamCores!, 0)).toBeGreaterThan(0);
    expect(report.options.loadProcs).toBe(2);
    expect(r.stdout).toContain('Node load modes in 2 load process(es) × 1 thread(s)');
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
    expect(r.stderr).toContain('--modes: unknown mode "h3" (modes: h2, grpc, grpc-h2load, tcp-bytes, tcp-conn, ws, mtls-tcp-bytes, mtls-http)');
    const unknown = await runner(['--frobnicate', '1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown option --frobnicate');
    const procs = await runner(['--load-procs', '0']);
    expect(procs.code).toBe(2);
    expect(procs.stderr).toContain('--load-procs: expected a whole number from 1 to 64, got "0"');
    const proxy = await runner(['--proxies', 'wasmesh,nginx']);
    expect(proxy.code).toBe(2);
    expect(proxy.stderr).toContain('--proxies: unknown proxy "nginx" (proxies: wasmesh, wasmesh-nghttp2, wasmesh-core, wasmesh-core-up, wasmesh-socket, envoy, direct)');
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

  it('--proxies …,direct adds the load straight to each upstream: its figures and the tool\'s CPU, no proxy CPU, no ratio row', async () => {
    await ensureBuilt();
    const json = join(out, 'direct.json');
    const r = await runner(['--modes', 'grpc,ws', '--proxies', 'wasmesh,envoy,direct', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    for (const mode of ['grpc', 'ws']) {
      const d = report.measurements.find((m) => m.mode === mode && m.proxy === 'direct')!;
      expect(d.figures.ops, mode).toBeGreaterThan(0);
      expect(d.figures.errors, `${mode}: ${d.figures.firstError}`).toBe(0);
      expect(d.proxyCpuS).toBeNull();
      expect(d.cpuMsPerUnit).toBeNull();
      expect(d.loadCores).toBeGreaterThanOrEqual(0); // sampled (null when not)
      expect(d.upstreamCores).toBeGreaterThanOrEqual(0);
    }
    expect(report.summary.map((s) => `${s.mode}/${s.variant}`)).toEqual(['grpc/wasmesh', 'ws/wasmesh']);
    expect(r.stdout).toMatch(/\| 1 \| ws \| direct \| \d+ msg\/s \| - \| - \| [\d.]+ \| [\d.]+ \| 0 \|/);
  }, 120_000);

  it('--proxies wasmesh --load-procs 1 runs wasmesh alone from one load process: its figures and CPU per MiB, no ratio', async () => {
    await ensureBuilt();
    const json = join(out, 'alone.json');
    const r = await runner(['--modes', 'tcp-bytes', '--proxies', 'wasmesh', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--load-procs', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    expect(report.measurements.map((m) => m.proxy)).toEqual(['wasmesh']);
    expect(report.measurements[0]!.cpuMsPerUnit).toBeGreaterThan(0);
    expect(report.summary).toEqual([]);
    expect(report.options.loadProcs).toBe(1);
    expect(report.measurements[0]!.figures.errors).toBe(0);
    expect(r.stdout).toMatch(/\| 1 \| tcp-bytes \| wasmesh \| [\d.]+ MiB\/s \| [\d.]+ \| [\d.]+ per MiB \| [\d.]+ \| [\d.]+ \| 0 \|/);
  }, 60_000);

  it('--gc: wasmesh\'s collections per unit over each window (h2load and Node load modes), every proxy\'s RSS, and the log removed', async () => {
    await ensureBuilt();
    const json = join(out, 'gc.json');
    const logsBefore = readdirSync('/tmp');
    const r = await runner(['--modes', 'h2,ws', '--proxies', 'wasmesh,envoy', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--gc', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('--gc:');
    const report = JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport;
    for (const m of report.measurements) {
      expect(m.rssMiB, `${m.mode}/${m.proxy}`).toBeGreaterThan(1);
      expect(m.peakRssMiB!, `${m.mode}/${m.proxy}`).toBeGreaterThanOrEqual(m.rssMiB!);
      if (m.proxy === 'envoy') {
        expect(m.gc).toBeUndefined();
        continue;
      }
      // A second of h2 or ws through a 1 MiB young generation cannot pass without a scavenge.
      expect(m.gc!.scavengesPerUnit, m.mode).toBeGreaterThan(0);
      expect(m.gc!.maxPauseMs, m.mode).toBeGreaterThan(0);
      expect(m.gc!.pauseMsPerUnit * (m.figures.ops / 1000), m.mode).toBeGreaterThanOrEqual(m.gc!.maxPauseMs - 1e-9);
    }
    expect(r.stdout).toMatch(/\| 1 \| ws \| wasmesh \| [\d.e+-]+ per 1000 msg \| [\d.e+-]+ \| [\d.e+-]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
    expect(r.stdout).toMatch(/\| 1 \| ws \| envoy \| - \| - \| - \| - \| [\d.]+ \| [\d.]+ \|/);
    // The run read its wasmesh's log (/tmp/gc-<pid>.json) and removed it.
    expect(readdirSync('/tmp').filter((f) => /^gc-\d+\.json$/.test(f) && !logsBefore.includes(f))).toEqual([]);
  }, 120_000);

  it('--syscalls counts the proxy over an h2load mode\'s window too (a stand-in perf: its counts ÷ the requests)', async () => {
    await ensureBuilt();
    // Prints a fixed perf stat report when stopped (SIGINT), as perf stat does; records the pid.
    const perf = join(out, 'perf');
    const pidFile = join(out, 'perf-pid');
    const events = ['raw_syscalls:sys_enter', ...['read', 'readv', 'recvfrom', 'recvmsg', 'write', 'writev', 'sendto', 'sendmsg', 'epoll_wait', 'epoll_pwait'].map((e) => `syscalls:sys_enter_${e}`)];
    const report = events.map((e) => `${e.endsWith('_write') ? 400 : e.endsWith('sys_enter') ? 3000 : 100},,${e},1,100.00,,`).join('\n');
    writeFileSync(perf, `#!/bin/sh\necho "$@" > ${pidFile}\ntrap 'printf "%s\\n" "${report}" >&2; exit 0' INT\nwhile :; do sleep 0.05; done\n`);
    chmodSync(perf, 0o755);
    const json = join(out, 'h2-syscalls.json');
    const r = await runner(['--modes', 'h2', '--proxies', 'wasmesh', '--duration', '1', '--warmup', '0.3', '--rounds', '1', '--syscalls', '--json', json], { ...process.env, PERF_BIN: perf });
    expect(r.code, r.stderr).toBe(0);
    const m = (JSON.parse(readFileSync(json, 'utf8')) as ProtocolsReport).measurements[0]!;
    expect(m.figures.ops).toBeGreaterThan(0);
    const per = m.figures.ops / 1000;
    expect(m.syscallsPerUnit).toEqual({ total: 3000 / per, reads: 400 / per, writes: (400 + 300) / per, polls: 200 / per });
    expect(readFileSync(pidFile, 'utf8')).toMatch(/-p \d+/);
  }, 120_000);
});
