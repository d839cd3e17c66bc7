// The load generators: wrk for the throughput mode (as many requests as 64 keep-alive
// connections can carry) and fortio for the fixed-rate modes. wrk is closed-loop, so its
// latencies under a fixed rate would suffer coordinated omission; fortio paces every connection
// at qps/c and catches up after a stall, so the offered rate holds and the latency histogram
// covers every request sent. Both found on PATH, in bench/.bin/ (scripts/install-loadgen.sh), or
// through WRK_BIN / FORTIO_BIN.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from './repo-root.js';

export interface LoadResult {
  /** Requests completed (any status). */
  requests: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Non-2xx answers plus transport errors (connect, read, write, timeout). */
  errors: number;
  /** What the errors were, e.g. `{ "status": 3, "timeout": 1 }`; empty when none. */
  errorKinds: Record<string, number>;
}

export interface LoadTools {
  wrk: string | null;
  fortio: string | null;
  /** Version strings, for the report. */
  versions: { wrk?: string; fortio?: string };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `override` when set (must be executable, else null), else bench/.bin/<name>, else PATH. */
export function findTool(name: string, override: string | undefined): string | null {
  if (override !== undefined && override !== '') return executable(override) ? override : null;
  const local = join(repoRoot(), 'bench', '.bin', name);
  if (executable(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

export function findLoadTools(): LoadTools {
  const wrk = findTool('wrk', process.env.WRK_BIN);
  const fortio = findTool('fortio', process.env.FORTIO_BIN);
  const versions: LoadTools['versions'] = {};
  if (wrk) {
    // `wrk -v` prints "wrk 4.1.0 [epoll] Copyright ..." and exits 1.
    const r = spawnSync(wrk, ['-v'], { encoding: 'utf8' });
    versions.wrk = `${r.stdout}${r.stderr}`.split('\n')[0].replace(/\s*Copyright.*$/, '').trim();
  }
  if (fortio) {
    const r = spawnSync(fortio, ['version'], { encoding: 'utf8' });
    versions.fortio = `fortio ${`${r.stdout}${r.stderr}`.trim().split('\n')[0]}`;
  }
  return { wrk, fortio, versions };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface ThroughputLoad {
  url: string;
  connections: number;
  threads: number;
  durationS: number;
  /** Request header lines (`Name: value`) every request carries. */
  headers?: readonly string[];
}

/** `wrk -t<threads> -c<connections> -d<duration>s` with a Lua report printing one JSON line. */
export async function runWrk(wrk: string, load: ThroughputLoad): Promise<LoadResult> {
  const script = join(repoRoot(), 'bench', 'e2e', 'wrk-report.lua');
  const out = await run(
    wrk,
    [`-t${load.threads}`, `-c${load.connections}`, `-d${load.durationS}s`, '--timeout', '5s', ...headerArgs(load.headers), '-s', script, load.url],
    (load.durationS + 30) * 1000,
  );
  const line = out.split('\n').find((l) => l.startsWith('WASMESH_WRK '));
  if (!line) throw new Error(`wrk printed no report line (is ${script} readable?):\n${out}`);
  const r = JSON.parse(line.slice('WASMESH_WRK '.length)) as {
    requests: number;
    durationUs: number;
    errors: Record<string, number>;
    latencyUs: { p50: number; p90: number; p99: number; max: number };
  };
  const errorKinds = Object.fromEntries(Object.entries(r.errors).filter(([, n]) => n > 0));
  const durationS = r.durationUs / 1e6;
  return {
    requests: r.requests,
    durationS,
    rps: r.requests / durationS,
    latencyMs: {
      p50: r.latencyUs.p50 / 1000,
      p90: r.latencyUs.p90 / 1000,
      p99: r.latencyUs.p99 / 1000,
      max: r.latencyUs.max / 1000,
    },
    errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
    errorKinds,
  };
}

export interface FixedRateLoad {
  url: string;
  qps: number;
  connections: number;
  durationS: number;
  /** Request header lines (`Name: value`) every request carries. */
  headers?: readonly string[];
}

/** `-H <line>` per header: wrk and fortio take the same flag. */
function headerArgs(headers: readonly string[] | undefined): string[] {
  return (headers ?? []).flatMap((h) => ['-H', h]);
}

interface FortioJson {
  ActualQPS: number;
  ActualDuration: number;
  DurationHistogram: { Count: number; Max: number; Percentiles: { Percentile: number; Value: number }[] };
  RetCodes: Record<string, number>;
  ErrorsDurationHistogram?: { Count: number };
}

/**
 * `fortio load -qps <qps> -c <connections> -t <duration>s`, histogram resolution 10 µs (the
 * default 1 ms buckets would interpolate sub-millisecond percentiles from one bucket).
 */
export async function runFortio(fortio: string, load: FixedRateLoad): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-fortio-'));
  try {
    const file = join(dir, 'result.json');
    await run(
      fortio,
      ['load', '-quiet', '-qps', String(load.qps), '-c', String(load.connections), '-t', `${load.durationS}s`,
        '-r', '0.00001', '-p', '50,90,99', '-timeout', '5s', ...headerArgs(load.headers), '-json', file, load.url],
      (load.durationS + 30) * 1000,
    );
    const r = JSON.parse(readFileSync(file, 'utf8')) as FortioJson;
    const pct = (p: number): number => {
      const v = r.DurationHistogram.Percentiles.find((x) => x.Percentile === p);
      if (!v) throw new Error(`fortio's report has no p${p}`);
      return v.Value * 1000;
    };
    const errorKinds: Record<string, number> = {};
    for (const [code, n] of Object.entries(r.RetCodes ?? {})) {
      // fortio reports transport failures as code -1.
      if (!/^2\d\d$/.test(code) && n > 0) errorKinds[code === '-1' ? 'transport' : `status ${code}`] = n;
    }
    const durationS = r.ActualDuration / 1e9;
    return {
      requests: r.DurationHistogram.Count,
      durationS,
      rps: r.ActualQPS,
      latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: r.DurationHistogram.Max * 1000 },
      errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
      errorKinds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
