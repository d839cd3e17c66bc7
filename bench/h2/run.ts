// HTTP/2 (h2c) server prototypes side by side under h2load (nghttp2-client): the core's frame
// scanner + HPACK on raw net sockets against node:http2. Each contender runs in its own
// process; rounds alternate (core, node, core, node, …) so drift on a shared machine hits
// both; each round reports requests/s from h2load and the server's CPU µs per request from
// process.cpuUsage over the round.
//
//   node dist/bench/h2/run.js [--requests 200000] [--clients 4] [--streams 10] [--rounds 3]
//                             [--servers core,node]  (also: listener-core, listener-node — the
//                             production listeners alone, listener-h2c-server.ts)
import { fork, execFile, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus } from 'node:os';

type Kind = 'core' | 'node' | 'listener-core' | 'listener-node';
const KINDS: readonly Kind[] = ['core', 'node', 'listener-core', 'listener-node'];

interface Round {
  kind: Kind;
  rps: number;
  seconds: number;
  succeeded: number;
  failed: number;
  cpuUsPerRequest: number;
  serverRequests: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const REQUESTS = arg('requests', 200_000);
const CLIENTS = arg('clients', 4);
const STREAMS = arg('streams', 10);
const ROUNDS = arg('rounds', 3);
const H2LOAD = process.env.H2LOAD_BIN ?? 'h2load';
const SERVERS: Kind[] = (() => {
  const i = process.argv.indexOf('--servers');
  const names = i >= 0 ? (process.argv[i + 1] ?? '').split(',').filter((x) => x !== '') : ['core', 'node'];
  const bad = names.find((n) => !KINDS.includes(n as Kind));
  if (bad !== undefined || names.length === 0) {
    console.error(`--servers: unknown server "${bad ?? ''}" (servers: ${KINDS.join(', ')})`);
    process.exit(2);
  }
  return names as Kind[];
})();

function message<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (key in m) {
        child.off('message', on);
        resolve(m as T);
      }
    };
    child.on('message', on);
  });
}

async function startServer(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const entry = fileURLToPath(new URL('./server-process.js', import.meta.url));
  const child = fork(entry, [kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await message<{ port: number }>(child, 'port');
  return { child, port };
}

function h2load(port: number): Promise<string> {
  const args = ['-n', String(REQUESTS), '-c', String(CLIENTS), '-m', String(STREAMS), `http://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => {
    execFile(H2LOAD, args, { maxBuffer: 1 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`h2load failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Parses "finished in 1.23s, 162000.00 req/s" and "requests: N total, … N succeeded, N failed". */
export function parseH2load(out: string): { seconds: number; rps: number; succeeded: number; failed: number } {
  const fin = out.match(/finished in ([\d.]+)(m?s), ([\d.]+) req\/s/);
  const req = out.match(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/);
  if (!fin || !req) throw new Error(`cannot read h2load's output:\n${out}`);
  const seconds = Number(fin[1]) / (fin[2] === 'ms' ? 1000 : 1);
  return { seconds, rps: Number(fin[3]), succeeded: Number(req[1]), failed: Number(req[2]) };
}

async function round(kind: Kind, server: { child: ChildProcess; port: number }): Promise<Round> {
  server.child.send('start');
  await message(server.child, 'started');
  const out = await h2load(server.port);
  server.child.send('stop');
  const cpu = await message<{ userUs: number; systemUs: number; requests: number }>(server.child, 'requests');
  const r = parseH2load(out);
  return {
    kind, ...r,
    serverRequests: cpu.requests,
    cpuUsPerRequest: (cpu.userUs + cpu.systemUs) / Math.max(1, cpu.requests),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const servers: Array<[Kind, { child: ChildProcess; port: number }]> = [];
  for (const kind of SERVERS) servers.push([kind, await startServer(kind)]);
  const rounds: Round[] = [];
  try {
    // One short warm-up each (JIT, Wasm tier-up), not reported.
    for (const [, s] of servers) {
      await new Promise<void>((r, j) => execFile(H2LOAD, ['-n', '20000', '-c', String(CLIENTS), '-m', String(STREAMS), `http://127.0.0.1:${s.port}/`], (e) => (e ? j(e) : r())));
    }
    for (let i = 0; i < ROUNDS; i++) {
      for (const [kind, s] of servers) rounds.push(await round(kind, s));
    }
  } finally {
    for (const [, s] of servers) s.child.send('exit');
  }
  console.log(`h2load -n ${REQUESTS} -c ${CLIENTS} -m ${STREAMS}; ${ROUNDS} alternating rounds; ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}; node ${process.version}; ${new Date().toISOString()}`);
  console.log('| round | server | req/s | s | succeeded | failed | server CPU µs/req |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  rounds.forEach((r, i) => console.log(`| ${Math.floor(i / SERVERS.length) + 1} | ${r.kind} | ${r.rps.toFixed(0)} | ${r.seconds.toFixed(2)} | ${r.succeeded} | ${r.failed} | ${r.cpuUsPerRequest.toFixed(2)} |`));
  for (const kind of SERVERS) {
    const rs = rounds.filter((r) => r.kind === kind);
    console.log(`median ${kind}: ${median(rs.map((r) => r.rps)).toFixed(0)} req/s, ${median(rs.map((r) => r.cpuUsPerRequest)).toFixed(2)} CPU µs/req`);
  }
  const bad = rounds.filter((r) => r.failed > 0 || r.succeeded !== REQUESTS);
  if (bad.length > 0) {
    console.error(`${bad.length} round(s) had failures or missing responses`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
