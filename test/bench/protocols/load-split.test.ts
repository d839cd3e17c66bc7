// The protocol benchmark's load split over several load processes or threads
// (bench/protocols/latency-histogram.ts, load-split.ts, load-client.ts): the histogram's
// percentiles stay within its 1 % bucket of the exact nearest-rank value, merged histograms give
// the percentiles of all the latencies together (not an average of each part's), the connections
// are dealt out without changing the load's shape, malformed parts are refused with the reason,
// and a real ws load run in two worker threads against the benchmark's ws echo merges both
// threads' operations; connections open before the window is set (a handshake slower than the
// whole window still gives a measured load), one that never opens is an error of the run; the
// runner's --load-procs / --load-threads options are checked.
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { LatencyHistogram } from '../../../bench/protocols/latency-histogram.js';
import { percentile, runNodeLoad, type LoadFigures, type NodeLoad } from '../../../bench/protocols/load-client.js';
import { mergeFigures, splitLoad } from '../../../bench/protocols/load-split.js';
import { DEFAULT_LOAD_PROCS, OptionsError, parseOptions } from '../../../bench/protocols/run.js';
import { ensureBuilt, ROOT } from '../../helpers/wasmesh-process.js';

/** A deterministic spread of latencies (ms) from 0.01 to ~200: a few slow ones, as loads have. */
function latencies(n: number, seed: number): number[] {
  let x = seed;
  const next = (): number => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, () => (next() < 0.02 ? 20 + next() * 180 : 0.01 + next() * 3));
}

function histogramOf(xs: readonly number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const x of xs) h.record(x);
  return h;
}

const withinBucket = (got: number, exact: number): void => {
  expect(got).toBeGreaterThanOrEqual(exact);
  expect(got).toBeLessThanOrEqual(exact * 1.01 + 1e-12);
};

describe('latency histogram', () => {
  it('p50 and p99 are the exact nearest-rank values rounded up to their 1 % bucket', () => {
    const xs = latencies(20_000, 7);
    const h = histogramOf(xs);
    const sorted = [...xs].sort((a, b) => a - b);
    for (const p of [1, 50, 90, 99, 99.9, 100]) withinBucket(h.percentile(p), percentile(sorted, p));
    expect(h.count).toBe(20_000);
  });

  it('a merge gives the percentiles of all the latencies together, not an average of the parts', () => {
    // One fast part and one slow part: the averaged p99s would be far from the whole's p99.
    const fast = latencies(9_000, 1).map((x) => x / 10);
    const slow = latencies(1_000, 2).map((x) => x * 10);
    const merged = histogramOf(fast).merge(histogramOf(slow));
    const all = [...fast, ...slow].sort((a, b) => a - b);
    withinBucket(merged.percentile(50), percentile(all, 50));
    withinBucket(merged.percentile(99), percentile(all, 99));
    const averaged = (histogramOf(fast).percentile(99) + histogramOf(slow).percentile(99)) / 2;
    expect(Math.abs(averaged - merged.percentile(99)) / merged.percentile(99)).toBeGreaterThan(0.1);
  });

  it('round-trips through JSON; an empty one has NaN percentiles; bad input is refused with where and why', () => {
    const h = histogramOf([0, 0.0005, 1, 1, 2.5, 1000]);
    const back = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 'test');
    expect(back.count).toBe(6);
    for (const p of [0, 50, 99, 100]) expect(back.percentile(p)).toBe(h.percentile(p));
    expect(h.percentile(0)).toBeLessThanOrEqual(0.001); // 0 and 0.5 µs land in the floor bucket
    expect(new LatencyHistogram().percentile(50)).toBeNaN();
    expect(() => new LatencyHistogram().record(-1)).toThrow(/cannot record -1 ms \(a latency is a finite number ≥ 0\)/);
    expect(() => new LatencyHistogram().record(NaN)).toThrow(/cannot record NaN ms/);
    expect(() => LatencyHistogram.fromJSON({ buckets: { 5: 2 }, count: 3 }, 'ws load, part 2')).toThrow('ws load, part 2: latency histogram counts add up to 2, but its count says 3');
    expect(() => LatencyHistogram.fromJSON({ buckets: { x: 2 }, count: 2 }, 'p')).toThrow('p: latency histogram bucket "x": 2 is not a count ≥ 1 of a bucket ≥ 0');
    expect(() => LatencyHistogram.fromJSON(null as never, 'p')).toThrow('p: latency histogram is not { buckets, count }');
  });
});

const load = (connections: number): NodeLoad => ({ kind: 'ws', host: '127.0.0.1', port: 1, connections, inFlight: 8, durationS: 1, warmupS: 0 });

describe('splitting and merging a load', () => {
  it('deals the connections out evenly, the first parts one more; never a part without a connection', () => {
    expect(splitLoad(load(8), 2).map((l) => l.connections)).toEqual([4, 4]);
    expect(splitLoad(load(4), 3).map((l) => l.connections)).toEqual([2, 1, 1]);
    expect(splitLoad(load(2), 4).map((l) => l.connections)).toEqual([1, 1]);
    expect(splitLoad(load(16), 1)).toEqual([load(16)]);
    for (const part of splitLoad(load(8), 3)) expect(part.inFlight).toBe(8);
    expect(() => splitLoad(load(8), 0)).toThrow('splitLoad: 0 parts (expected an integer ≥ 1)');
  });

  const part = (ops: number, bytes: number, xs: number[], extra: Partial<LoadFigures> = {}): LoadFigures => ({
    ops, bytes, durationS: 2, rate: 0, latencyMs: { p50: NaN, p99: NaN }, errors: 0, histogram: histogramOf(xs).toJSON(), ...extra,
  });

  it('sums operations, bytes, errors and rates; the first error is kept; percentiles from the merged histogram', () => {
    const a = latencies(500, 3);
    const b = latencies(1500, 4).map((x) => x * 3);
    const m = mergeFigures('ws', [part(500, 0, a), part(1500, 0, b, { errors: 2, firstError: 'ECONNRESET' })], 'ws load processes');
    expect(m).toMatchObject({ ops: 2000, bytes: 0, durationS: 2, rate: 1000, errors: 2, firstError: 'ECONNRESET' });
    const all = [...a, ...b].sort((x, y) => x - y);
    withinBucket(m.latencyMs.p50, percentile(all, 50));
    withinBucket(m.latencyMs.p99, percentile(all, 99));
    const bytes = mergeFigures('tcp-bytes', [part(10, 655_360, [1]), part(30, 1_966_080, [2])], 'tcp');
    expect(bytes.rate).toBe((655_360 + 1_966_080) / 2);
  });

  it('refuses parts that cannot be merged, naming which', () => {
    expect(() => mergeFigures('grpc', [], 'grpc load processes')).toThrow('grpc load processes: no figures to merge');
    const { histogram: _, ...bare } = part(1, 0, [1]);
    expect(() => mergeFigures('grpc', [part(1, 0, [1]), bare], 'grpc load processes')).toThrow('grpc load processes: part 2 of 2 has no latency histogram');
  });
});

describe('bench:protocols --load-procs / --load-threads', () => {
  it('default to two load processes of one thread; take whole numbers 1–64; refuse others with the reason', () => {
    expect(DEFAULT_LOAD_PROCS).toBe(2);
    expect(parseOptions([])).toMatchObject({ loadProcs: 2, loadThreads: 1 });
    expect(parseOptions(['--load-procs', '4', '--load-threads', '2'])).toMatchObject({ loadProcs: 4, loadThreads: 2 });
    expect(() => parseOptions(['--load-procs', '0'])).toThrow(OptionsError);
    expect(() => parseOptions(['--load-procs', '1.5'])).toThrow('--load-procs: expected a whole number from 1 to 64, got "1.5"');
    expect(() => parseOptions(['--load-threads', 'two'])).toThrow('--load-threads: expected a whole number from 1 to 64, got "two"');
  });
});

describe('a ws load in two worker threads against the benchmark ws echo', () => {
  let server: ChildProcess;
  let port = 0;
  beforeAll(async () => {
    await ensureBuilt();
    server = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'protocols', 'servers.js'), 'ws'], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', (code) => reject(new Error(`ws server exited (${code})`)));
    });
  }, 60_000);
  afterAll(() => {
    server?.kill('SIGTERM');
  });

  it('runs in threads (one connection each) and gives one set of figures whose histogram holds every operation', async () => {
    // The worker threads run the built file (dist), as the runner's load processes do.
    const { runNodeLoad: builtRun } = await import(join(ROOT, 'dist', 'bench', 'protocols', 'load-client.js')) as { runNodeLoad: typeof runNodeLoad };
    const f = await builtRun({ kind: 'ws', host: '127.0.0.1', port, connections: 2, inFlight: 4, durationS: 0.8, warmupS: 0.2, threads: 2 });
    expect(f.errors, f.firstError).toBe(0);
    expect(f.ops).toBeGreaterThan(0);
    expect(f.histogram!.count).toBe(f.ops);
    expect(f.latencyMs.p99).toBeGreaterThanOrEqual(f.latencyMs.p50);
    expect(f.rate).toBeCloseTo(f.ops / 0.8, 6);
  }, 30_000);
});

describe('connections open before the measuring window is set', () => {
  // The built file, as the runner's load processes and the worker threads run it (a rebuild under load takes minutes).
  beforeAll(() => ensureBuilt(), 300_000);
  const builtRun = async (): Promise<typeof runNodeLoad> =>
    (await import(join(ROOT, 'dist', 'bench', 'protocols', 'load-client.js')) as { runNodeLoad: typeof runNodeLoad }).runNodeLoad;

  it('a WebSocket handshake slower than warm-up and window together still gives a window of load, in threads too', async () => {
    // An echo that accepts each upgrade only after 1.5 s: a loaded machine's slow connect, made certain.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, done) => void setTimeout(() => done(true), 1500) });
    wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as AddressInfo).port;
    try {
      const run = await builtRun();
      for (const threads of [1, 2]) {
        const f = await run({ kind: 'ws', host: '127.0.0.1', port, connections: 2, inFlight: 2, durationS: 0.5, warmupS: 0.1, threads });
        expect(f.errors, f.firstError).toBe(0);
        expect(f.ops, `${threads} thread(s)`).toBeGreaterThan(0);
      }
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  }, 60_000);

  it('a connection that never opens is an error of the run, with its reason; the others still run', async () => {
    const run = await builtRun();
    const closed = await new Promise<number>((resolve) => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      wss.once('listening', () => {
        const p = (wss.address() as AddressInfo).port;
        wss.close(() => resolve(p));
      });
    });
    const f = await run({ kind: 'ws', host: '127.0.0.1', port: closed, connections: 3, inFlight: 1, durationS: 0.2, warmupS: 0 });
    expect(f).toMatchObject({ ops: 0, errors: 3 });
    expect(f.firstError).toMatch(/ECONNREFUSED/);
  }, 30_000);
});
