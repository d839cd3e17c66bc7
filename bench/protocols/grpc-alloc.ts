// Bytes the wasmesh proxy allocates per call (a gRPC unary call, or an HTTP/2 request), counted
// over an exact number of calls at a fixed concurrency, so that the figure moves less with the
// machine's load than a timed run's (where the call rate, and with it how many calls share an
// event-loop turn's costs, swings with load). The proxy is the protocol benchmark's (its mesh and
// gateway, one worker, started as bench:protocols starts it) preloaded with
// scripts/alloc-sampler.cjs. The load, by --mode:
// - `grpc` (the default): node:http2 on one connection with `--concurrency` calls in flight, each
//   a gRPC unary call as grpc-js sends it (content-type application/grpc, te: trailers, a 5-byte-
//   framed message) to the grpc-js echo server; every call must end with grpc-status 0;
// - `h2`: h2load `-n <calls> -c 4 -m 16 -t 1`, GET / to the node:http2 upstream (bench:protocols'
//   h2 mode for an exact count); `grpc-h2load`: the same with grpc-h2load's POST of one framed
//   message to the grpc-js echo server; `http1`: h2load `--h1 -n <calls> -c 16 -m 1 -t 1` (HTTP/1.1,
//   16 connections, one request at a time on each: no pipelining), GET / as in `h2`. Every request
//   must succeed.
// Bytes sampled in the proxy, its start-up left out (as alloc-summary.cjs --no-startup), divided
// by the calls made. With --cpu the proxy runs without the sampler, preloaded with
// scripts/gc-counter.cjs instead, and the figures are its CPU time (user + system, /proc), its
// scavenges and mark-sweeps (and their pause) per 1000 calls over the calls alone (start-up left
// out), and its peak RSS (VmHWM). --node-flag <flag> (repeatable) is given to the proxy's node
// after the default WASMESH_NODE_FLAGS (a V8 flag given twice: the last one counts), e.g.
// --node-flag --max-semi-space-size=16.
// Usage: node dist/bench/protocols/grpc-alloc.js [--mode grpc|h2|grpc-h2load|http1] [--calls N (20000)]
//          [--concurrency C (32; grpc mode)] [--top K (0)] [--cpu] [--node-flag F]… [--profile-out <file>
//          (keeps the heap profile, for a stack walk)] [--grpc-js]
// With --grpc-js (grpc mode) the calls are made by @grpc/grpc-js (one channel, a 10 s deadline:
// grpc-timeout, user-agent and grpc-accept-encoding as it sends them), the bench:protocols grpc
// mode's client, instead of node:http2.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../e2e/repo-root.js';
import { statusMiB } from '../e2e/proc-stats.js';
import { GC_COUNTER, gcBetween, readGcLog } from './gc-window.js';
import { protocolMeshYaml } from './mesh-yaml.js';
import { startProxy } from './proxies.js';
import { findH2load } from './h2load.js';
import { GRPC_ECHO_PATH, GRPC_ECHO_SERVICE, GRPC_MESSAGE } from './servers.js';
import { cpuSeconds, option, repeated, startServer, summarize } from './proxy-probe.js';

/** `calls` unary calls, `concurrency` at a time, on one connection; rejects on any status but 0. */
function callMany(port: number, calls: number, concurrency: number): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const message = Buffer.alloc(5 + 32, 0x61);
  message.writeUInt8(0, 0);
  message.writeUInt32BE(32, 1);
  let started = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    const one = (): void => {
      started++;
      const s = session.request({
        ':method': 'POST', ':path': GRPC_ECHO_PATH, ':authority': 'grpc-echo.bench.internal', 'content-type': 'application/grpc',
        te: 'trailers', 'user-agent': 'grpc-node-js/1.12.0', 'grpc-accept-encoding': 'identity,deflate,gzip', 'accept-encoding': 'identity',
      });
      let status: string | undefined;
      s.on('trailers', (t) => { status = String(t['grpc-status']); });
      s.on('response', (h) => { if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); });
      s.on('data', () => {});
      s.on('error', reject);
      s.on('close', () => {
        if (status !== '0') {
          session.destroy();
          reject(new Error(`call ${done + 1}: grpc-status ${status ?? 'none'} (rst ${s.rstCode})`));
          return;
        }
        if (++done === calls) {
          session.close();
          resolve();
        } else if (started < calls) one();
      });
      s.end(message);
    };
    for (let i = 0; i < Math.min(concurrency, calls); i++) one();
  });
}

const EchoClient = grpc.makeGenericClientConstructor(GRPC_ECHO_SERVICE, 'Echo');

/** callMany by grpc-js: one channel, `concurrency` unary calls in flight, each with a 10 s deadline. */
async function callManyGrpcJs(port: number, calls: number, concurrency: number): Promise<void> {
  const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'grpc-echo.bench.internal' });
  const message = Buffer.alloc(32, 0x61);
  let left = calls;
  const loop = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await new Promise<void>((resolve, reject) => client.Say(message, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => (e ? reject(new Error(`grpc-status ${e.code}: ${e.details}`)) : resolve())));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, loop));
  } finally {
    client.close();
  }
}

/** The h2load load of a mode: HTTP/2 4 connections × 16 streams, HTTP/1.1 16 connections × 1 request. */
const H2LOAD_SHAPE = ['-c', '4', '-m', '16'];
const H1LOAD_SHAPE = ['--h1', '-c', '16', '-m', '1'];

/** h2load `-n calls <shape> -t 1`; rejects unless every request succeeded (for gRPC: with its response message). */
function h2loadMany(bin: string, url: string, calls: number, grpcBody: string | null, shape: readonly string[] = H2LOAD_SHAPE): Promise<void> {
  const extra = grpcBody === null ? [] : ['-d', grpcBody, '-H', ':authority: grpc-echo.bench.internal', '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  return new Promise((resolve, reject) => {
    execFile(bin, ['-n', String(calls), ...shape, '-t', '1', ...extra, url], { maxBuffer: 4 * 1024 * 1024, timeout: 600_000 }, (err, out, errOut) => {
      if (err) return reject(new Error(`h2load failed: ${err.message}\n${out}${errOut}`));
      const ok = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out);
      const data = /traffic: .*?\((\d+)\) data/.exec(out);
      // A gRPC error is a trailers-only 200 (no DATA): every call must carry the echoed message.
      const answered = grpcBody === null ? calls : Math.floor(Number(data?.[1] ?? 0) / GRPC_MESSAGE.length);
      if (ok === null || Number(ok[1]) !== calls || answered < calls) return reject(new Error(`h2load: not every request succeeded\n${out}`));
      resolve();
    });
  });
}

const MODES = ['grpc', 'h2', 'grpc-h2load', 'http1'] as const;
type AllocMode = (typeof MODES)[number];

async function main(): Promise<void> {
  const calls = option('--calls', 20_000);
  const concurrency = option('--concurrency', 32);
  const top = option('--top', 0);
  if (calls < 1 || concurrency < 1) throw new Error('--calls and --concurrency: at least 1');
  const mi = process.argv.indexOf('--mode');
  const mode = (mi < 0 ? 'grpc' : process.argv[mi + 1]) as AllocMode;
  if (!MODES.includes(mode)) throw new Error(`--mode: one of ${MODES.join(', ')}, got "${String(mode)}"`);
  const nodeFlags = repeated('--node-flag');
  const h2load = mode === 'grpc' ? null : findH2load();
  if (mode !== 'grpc' && h2load === null) throw new Error(`--mode ${mode} needs h2load (nghttp2-client; H2LOAD_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-alloc-'));
  const profile = join(dir, 'proxy.heapprofile');
  const gcFile = join(dir, 'proxy-gc.json');
  process.env.HEAP_PROF_OUT = profile;
  process.env.GC_COUNT_OUT = gcFile;
  const plain = mode === 'h2' || mode === 'http1';
  const server = await startServer(plain ? 'h2' : 'grpc');
  try {
    const ports = plain ? { h2: server.port, grpc: 1, ws: 1, tcp: 1 } : { h2: 1, grpc: server.port, ws: 1, tcp: 1 };
    for (const [name, text] of Object.entries(protocolMeshYaml(ports))) writeFileSync(join(dir, name), text);
    const cpu = process.argv.includes('--cpu');
    const preload = cpu ? GC_COUNTER() : join(repoRoot(), 'scripts', 'alloc-sampler.cjs');
    const proxy = await startProxy('wasmesh', dir, [...nodeFlags, `--require=${preload}`]);
    const body = join(dir, 'grpc-message');
    writeFileSync(body, GRPC_MESSAGE);
    const t0 = performance.now();
    const from = Date.now();
    let cpuS = 0;
    let to = 0;
    let rss = NaN;
    try {
      const c0 = cpuSeconds(proxy.pid);
      if (mode === 'grpc') await (process.argv.includes('--grpc-js') ? callManyGrpcJs : callMany)(proxy.httpPort, calls, concurrency);
      else await h2loadMany(h2load!, `http://127.0.0.1:${proxy.httpPort}${plain ? '/' : GRPC_ECHO_PATH}`, calls, plain ? null : body, mode === 'http1' ? H1LOAD_SHAPE : H2LOAD_SHAPE);
      cpuS = cpuSeconds(proxy.pid) - c0;
      to = Date.now();
      rss = statusMiB(proxy.pid, 'VmHWM');
    } finally {
      await proxy.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const load = mode === 'grpc' ? `${concurrency} in flight` : `h2load ${(mode === 'http1' ? H1LOAD_SHAPE : H2LOAD_SHAPE).join(' ')}`;
    const head = `${mode}: ${calls} calls, ${load}, ${(calls / seconds).toFixed(0)} calls/s${nodeFlags.length > 0 ? ` (proxy node ${nodeFlags.join(' ')})` : ''}`;
    if (cpu) {
      const gc = gcBetween(readGcLog(gcFile), from, to);
      const per = (n: number): string => ((n * 1000) / calls).toFixed(2);
      process.stdout.write(`${head}: ${((cpuS * 1000 * 1000) / calls).toFixed(1)} CPU ms, ${per(gc.scavenges)} scavenges, ${per(gc.markSweeps)} mark-sweeps, ${per(gc.pauseMs)} ms GC pause per 1000 calls in the proxy; peak RSS ${rss.toFixed(1)} MiB\n`);
      return;
    }
    const s = summarize(profile);
    const keep = process.argv.indexOf('--profile-out');
    if (keep >= 0) copyFileSync(profile, process.argv[keep + 1]!);
    process.stdout.write(`${head}: ${(s.total / calls).toFixed(0)} B/call in the proxy\n`);
    for (const [k, v] of [...s.by].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${(v / calls).toFixed(0).padStart(6)} B  ${k}\n`);
  } finally {
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`grpc-alloc: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
