// Bytes the wasmesh proxy allocates per gRPC unary call, counted over an exact number of calls at
// a fixed concurrency, so that the figure moves less with the machine's load than a timed run's
// (where the call rate, and with it how many calls share an event-loop turn's costs, swings with
// load). The proxy is the protocol benchmark's (its mesh and gateway, one worker, started as
// bench:protocols starts it) preloaded with scripts/alloc-sampler.cjs; the client is node:http2 on
// one connection with `--concurrency` calls in flight, each a gRPC unary call as grpc-js sends it
// (content-type application/grpc, te: trailers, a 5-byte-framed message) to the grpc-js echo
// server; every call must end with grpc-status 0. Bytes sampled in the proxy, its start-up left
// out (as alloc-summary.cjs --no-startup), divided by the calls made. With --cpu the proxy runs
// without the sampler and the figure is its CPU time (user + system, /proc) per 1000 calls over
// the calls alone (start-up left out). With --grpc-js the calls are made by @grpc/grpc-js (one
// channel, a 10 s deadline: grpc-timeout, user-agent and grpc-accept-encoding as it sends them),
// the bench:protocols grpc mode's client, instead of node:http2.
// Usage: node dist/bench/protocols/grpc-alloc.js [--calls N (20000)] [--concurrency C (32)] [--top K (0)] [--cpu] [--grpc-js]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../e2e/repo-root.js';
import { protocolMeshYaml } from './mesh-yaml.js';
import { startProxy } from './proxies.js';
import { GRPC_ECHO_PATH, GRPC_ECHO_SERVICE } from './servers.js';

/** CPU seconds (user + system) of process `pid` so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const here = dirname(fileURLToPath(import.meta.url));

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: a whole number ≥ 0, got "${process.argv[i + 1] ?? ''}"`);
  return v;
}

async function startGrpcServer(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(here, 'servers.js'), 'grpc'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /WASMESH_PROTO_SERVER (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.once('exit', (code) => reject(new Error(`grpc server exited (${code})`)));
  });
}

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

/** Bytes per function (self), start-up stacks left out as alloc-summary.cjs --no-startup does. */
function summarize(file: string): { total: number; by: Map<string, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
  const startup = (n: ProfileNode): boolean => (n.callFrame.url === '' && n.callFrame.lineNumber === -1) || n.callFrame.url.endsWith('alloc-sampler.cjs') || n.callFrame.url.startsWith('node:inspector');
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode): void => {
    if (n.selfSize > 0) {
      const f = n.callFrame;
      const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/dist\//, '')}:${f.lineNumber + 1}`;
      by.set(name, (by.get(name) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  for (const c of p.head.children) if (!startup(c)) walk(c);
  return { total, by };
}

async function main(): Promise<void> {
  const calls = option('--calls', 20_000);
  const concurrency = option('--concurrency', 32);
  const top = option('--top', 0);
  if (calls < 1 || concurrency < 1) throw new Error('--calls and --concurrency: at least 1');
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-alloc-'));
  const profile = join(dir, 'proxy.heapprofile');
  process.env.HEAP_PROF_OUT = profile;
  const server = await startGrpcServer();
  try {
    for (const [name, text] of Object.entries(protocolMeshYaml({ h2: 1, grpc: server.port, ws: 1, tcp: 1 }))) writeFileSync(join(dir, name), text);
    const cpu = process.argv.includes('--cpu');
    const proxy = await startProxy('wasmesh', dir, cpu ? [] : [`--require=${join(repoRoot(), 'scripts', 'alloc-sampler.cjs')}`]);
    const t0 = performance.now();
    let cpuS = 0;
    try {
      const c0 = cpuSeconds(proxy.pid);
      await (process.argv.includes('--grpc-js') ? callManyGrpcJs : callMany)(proxy.httpPort, calls, concurrency);
      cpuS = cpuSeconds(proxy.pid) - c0;
    } finally {
      await proxy.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (cpu) {
      process.stdout.write(`${calls} calls, ${concurrency} in flight, ${(calls / seconds).toFixed(0)} calls/s: ${((cpuS * 1000 * 1000) / calls).toFixed(1)} CPU ms per 1000 calls in the proxy\n`);
      return;
    }
    const s = summarize(profile);
    process.stdout.write(`${calls} calls, ${concurrency} in flight, ${(calls / seconds).toFixed(0)} calls/s: ${(s.total / calls).toFixed(0)} B/call in the proxy\n`);
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
