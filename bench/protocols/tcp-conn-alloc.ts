// What one proxied TCP connection costs the wasmesh proxy, over an exact number of connections
// (bench:protocols' tcp-conn load: `--loops` loops of connect, 5 bytes echoed, close, through the
// gateway's TCP port to the TCP echo server), so that the figures move less with the machine's
// load than a timed run's. The proxy is bench:protocols' (its mesh and gateway, one worker,
// WASMESH_NODE_FLAGS), preloaded with scripts/alloc-sampler.cjs (bytes allocated per
// connection, by function) or, with --cpu, scripts/gc-counter.cjs: CPU ms, scavenges,
// mark-sweeps and GC pause per 1000 connections over the measured connections alone (a warm-up
// of --warmup connections first), and where the tail is — each connection's round trip is
// timed in the client, and the slowest 1 % are checked against the proxy's collections: how many
// of them overlap a GC pause (against what windows of their lengths would by chance, the pauses
// falling at random, and against all connections), and what share of their time the proxy spent
// in GC pauses. If GC made the tail, that share is large and the overlap above chance.
// Usage: node dist/bench/protocols/tcp-conn-alloc.js [--conns N (20000)] [--warmup N (2000)]
//          [--loops C (16)] [--top K (0)] [--cpu] [--socket] [--node-flag F]…
// --socket: the proxy on `--tcp-transport socket` (net.Socket) instead of raw handles.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../e2e/repo-root.js';
import { percentile } from './load-client.js';
import { protocolMeshYaml } from './mesh-yaml.js';
import { startProxy } from './proxies.js';
import { cpuSeconds, option, repeated, startServer, summarize } from './proxy-probe.js';
import { gcBetween, readGcLog, type GcEvent } from './gc-window.js';

/** Epoch ms, sub-millisecond (the proxy's gc-counter.cjs stamps its collections the same way). */
const now = (): number => performance.timeOrigin + performance.now();

/** `n` connections, `loops` at a time, each: connect, write 5 bytes, read them back, end; [start, end] of each (epoch ms). */
async function connectMany(port: number, n: number, loops: number): Promise<Float64Array> {
  const spans = new Float64Array(2 * n);
  let next = 0;
  const one = (i: number): Promise<void> => new Promise((resolve, reject) => {
    spans[2 * i] = now();
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    let got = 0;
    s.on('connect', () => s.write('ping\n'));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 5) s.end();
    });
    s.on('error', reject);
    s.on('close', () => {
      spans[2 * i + 1] = now();
      if (got >= 5) resolve();
      else reject(new Error(`connection ${i + 1}: closed before the echo (${got} bytes)`));
    });
  });
  const loop = async (): Promise<void> => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(loops, n) }, loop));
  return spans;
}

/** The tail against the collections: p50/p99, and how often a slow (≥ p99) and any connection overlaps a GC pause. */
function tailAgainstGc(spans: Float64Array, events: readonly GcEvent[]): string {
  const n = spans.length / 2;
  const ms = Array.from({ length: n }, (_, i) => spans[2 * i + 1]! - spans[2 * i]!);
  const sorted = [...ms].sort((a, b) => a - b);
  const p99 = percentile(sorted, 99);
  const pauses = events.filter((e) => e[0] === 'scavenge' || e[0] === 'mark-sweep').sort((a, b) => a[1] - b[1]);
  /** Milliseconds of connection `i` spent while the proxy was in a GC pause. */
  const inPause = (i: number): number => {
    const a = spans[2 * i]!;
    const b = spans[2 * i + 1]!;
    let ms = 0;
    // Few pauses per thousand connections: a linear scan is fine.
    for (const [, at, d] of pauses) if (at < b && at + d > a) ms += Math.min(b, at + d) - Math.max(a, at);
    return ms;
  };
  const window = spans.length > 0 ? spans[spans.length - 1]! - spans[0]! : 0;
  const rate = window > 0 ? pauses.length / window : 0;
  const meanPause = pauses.length > 0 ? pauses.reduce((x, e) => x + e[2], 0) / pauses.length : 0;
  let slow = 0;
  let slowOverlap = 0;
  let allOverlap = 0;
  let slowMs = 0;
  let slowInPause = 0;
  // What a window as long as each slow connection would overlap by chance, pauses falling at random.
  let slowChance = 0;
  for (let i = 0; i < n; i++) {
    const p = inPause(i);
    if (p > 0) allOverlap++;
    if (ms[i]! >= p99) {
      slow++;
      if (p > 0) slowOverlap++;
      slowMs += ms[i]!;
      slowInPause += p;
      slowChance += Math.min(1, (ms[i]! + meanPause) * rate);
    }
  }
  const pct = (a: number, b: number): string => `${((100 * a) / Math.max(b, 1)).toFixed(1)} %`;
  const durations = pauses.map((e) => e[2]).sort((a, b) => a - b);
  return `round trip p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted[n - 1]!.toFixed(2)} ms; `
    + `GC pauses ${durations.length} (median ${percentile(durations, 50).toFixed(2)} ms, max ${(durations[durations.length - 1] ?? 0).toFixed(2)} ms); `
    + `connections ≥ p99 overlapping a pause ${pct(slowOverlap, slow)} (${slowOverlap}/${slow}; by chance ${pct(slowChance, slow)}), all connections ${pct(allOverlap, n)}; `
    + `GC pauses' share of the ≥ p99 connections' time ${((100 * slowInPause) / Math.max(slowMs, 1)).toFixed(2)} %`;
}

async function main(): Promise<void> {
  const conns = option('--conns', 20_000);
  const warmup = option('--warmup', 2_000);
  const loops = option('--loops', 16);
  const top = option('--top', 0);
  if (conns < 1 || loops < 1) throw new Error('--conns and --loops: at least 1');
  const cpu = process.argv.includes('--cpu');
  const flags = repeated('--node-flag');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-conn-alloc-'));
  const profile = join(dir, 'proxy.heapprofile');
  const gcFile = join(dir, 'proxy-gc.json');
  process.env.HEAP_PROF_OUT = profile;
  process.env.GC_COUNT_OUT = gcFile;
  const echo = await startServer('tcp');
  try {
    for (const [name, text] of Object.entries(protocolMeshYaml({ h2: 1, grpc: 1, ws: 1, tcp: echo.port }))) writeFileSync(join(dir, name), text);
    const preload = join(repoRoot(), 'scripts', cpu ? 'gc-counter.cjs' : 'alloc-sampler.cjs');
    const proxy = await startProxy(process.argv.includes('--socket') ? 'wasmesh-socket' : 'wasmesh', dir, [...flags, `--require=${preload}`]);
    let spans: Float64Array = new Float64Array(0);
    let cpuS = 0;
    let from = 0;
    let to = 0;
    try {
      await connectMany(proxy.tcpPort, warmup, loops);
      const c0 = cpuSeconds(proxy.pid);
      from = now();
      spans = await connectMany(proxy.tcpPort, conns, loops);
      to = now();
      cpuS = cpuSeconds(proxy.pid) - c0;
    } finally {
      await proxy.stop();
    }
    const head = `tcp-conn: ${conns} connections (after ${warmup}), ${loops} loops, ${((conns * 1000) / (to - from)).toFixed(0)} conn/s, ${process.argv.includes('--socket') ? 'socket' : 'handle'} transport${flags.length > 0 ? ` (proxy node ${flags.join(' ')})` : ''}`;
    const per = (x: number): string => ((x * 1000) / conns).toFixed(2);
    if (cpu) {
      const events = readGcLog(gcFile).filter((e) => e[1] >= from && e[1] <= to);
      const gc = gcBetween(events, from, to);
      process.stdout.write(`${head}: ${per(cpuS * 1000)} CPU ms, ${per(gc.scavenges)} scavenges, ${per(gc.markSweeps)} mark-sweeps, ${per(gc.pauseMs)} ms GC pause per 1000 connections in the proxy\n  ${tailAgainstGc(spans, events)}\n`);
      return;
    }
    // The sampler ran over the warm-up too (it cannot be restarted from here): bytes per connection of both.
    const s = summarize(profile);
    const total = conns + warmup;
    process.stdout.write(`${head}: ${(s.total / total).toFixed(0)} B/connection in the proxy (warm-up included)\n`);
    for (const [k, v] of [...s.by].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${(v / total).toFixed(0).padStart(6)} B  ${k}\n`);
  } finally {
    echo.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`tcp-conn-alloc: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
