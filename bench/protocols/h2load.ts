// h2load (nghttp2's HTTP/2 load generator, Debian's nghttp2-client) for the HTTP/2 modes: h2c
// with prior knowledge, C clients × M concurrent streams for a fixed time after a warm-up; for
// `grpc-h2load`, each request a POST of one framed gRPC message (`-d`) with the gRPC headers.
// h2load prints no percentiles, so every request's time comes from its --log-file and the
// percentiles are computed here (over the measured window only: h2load logs warm-up requests
// too, before the measured start). Found through H2LOAD_BIN, bench/.bin/, or PATH.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from '../e2e/load-tools.js';
import { percentile, type LoadFigures } from './load-client.js';

/** The h2load binary, or null (H2LOAD_BIN, when set, must be executable; else bench/.bin, else PATH). */
export function findH2load(): string | null {
  return findTool('h2load', process.env.H2LOAD_BIN);
}

export interface H2Load {
  url: string;
  clients: number;
  streams: number;
  durationS: number;
  warmupS: number;
  /** A request body sent with every request (POST), and extra headers (`name: value`). */
  body?: Uint8Array;
  headers?: readonly string[];
  /**
   * Response DATA bytes a good response carries (a gRPC echo: its framed message). h2load counts
   * a 200 as success whatever grpc-status its trailers hold; a gRPC error is a trailers-only
   * response with no DATA, so fewer DATA bytes than this many per success are counted as errors.
   */
  dataBytesPerResponse?: number;
  /** HTTP/1.1 instead of h2c (`--h1`; `streams` is then the pipelining depth: 1 for none). */
  h1?: boolean;
}

/** `onSpawn` gets h2load's pid (the runner samples its CPU). */
export async function runH2load(bin: string, l: H2Load, onSpawn?: (pid: number) => void): Promise<LoadFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-h2load-'));
  try {
    const log = join(dir, 'requests.tsv');
    const extra: string[] = [];
    if (l.body !== undefined) {
      const file = join(dir, 'body');
      writeFileSync(file, l.body);
      extra.push('-d', file);
    }
    for (const h of l.headers ?? []) extra.push('-H', h);
    if (l.h1 === true) extra.push('--h1');
    const measuredFrom = Date.now() * 1000 + l.warmupS * 1e6;
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(bin, ['-c', String(l.clients), '-m', String(l.streams), '-t', '1', '-D', `${Math.round(l.durationS * 1000)}ms`, '--warm-up-time', `${Math.round(l.warmupS * 1000)}ms`, `--log-file=${log}`, ...extra, l.url],
        { timeout: (l.durationS + l.warmupS + 30) * 1000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`h2load failed: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout)));
      if (child.pid !== undefined) onSpawn?.(child.pid);
    });
    // "requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout"
    const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    if (req === null) throw new Error(`h2load printed no request counts:\n${out}`);
    let succeeded = Number(req[4]);
    let errors = Number(req[5]) + Number(req[6]);
    let short = 0;
    if (l.dataBytesPerResponse !== undefined) {
      // "traffic: 3.63MB (3806012) total, 1.03MB (1082490) headers (space savings 95.40%), 2.38MB (2494000) data"
      const traffic = /traffic: .*?\((\d+)\) data/.exec(out);
      if (traffic === null) throw new Error(`h2load printed no traffic counts:\n${out}`);
      // Responses in flight across the warm-up's end may be counted on one side only: 1 % slack.
      const answered = Math.floor(Number(traffic[1]) / l.dataBytesPerResponse);
      if (answered < succeeded * 0.99) {
        short = succeeded - answered;
        errors += short;
        succeeded = answered;
      }
    }
    const latencies: number[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const [start, status, us] = line.split('\t');
      if (us === undefined || Number(start) < measuredFrom) continue;
      if (status === '200') latencies.push(Number(us) / 1000);
    }
    latencies.sort((a, b) => a - b);
    // h2load's own rate counts the measured window ("finished in 10.00s, 1234.5 req/s").
    const fin = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(out);
    if (fin === null) throw new Error(`h2load printed no rate:\n${out}`);
    const durationS = Number(fin[1]) / (fin[2] === 'ms' ? 1000 : 1);
    return {
      ops: succeeded, bytes: 0, durationS, rate: short > 0 ? succeeded / durationS : Number(fin[3]),
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      errors,
      ...(errors > 0 ? { firstError: `${errors} failed or errored requests (${/status codes: [^\n]*/.exec(out)?.[0] ?? 'no status counts'}${short > 0 ? `; ${short} answered without the response message` : ''})` } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
