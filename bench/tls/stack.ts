// TLS stack comparison (issue 12): node:tls (OpenSSL) against uWebSockets.js SSLApp (BoringSSL),
// side by side in one run on this machine, each server alone in its own process:
//   - handshakes/s: new TLS 1.3 connections (ECDSA P-256), closed once secure, from one client
//     process with 8 in flight; full handshakes, then resumed (the first session's ticket offered)
//   - small HTTP/1.1 requests over keep-alive TLS: wrk, 1 thread, 32 connections
//   - memory per idle TLS connection: the server's RSS (after a GC) before and after 2,000
//     connections are open, divided by 2,000
// The server's CPU time per handshake and per request is reported too: with one machine for
// client and server, the rate alone is partly the client's. Writes bench/results/tls-stack-<date>.json
// (a later run of the same day gets -2, -3, …: a result is never overwritten).
// Usage: npm run bench:tls [-- --seconds 3 --idle 2000 --out <dir>]
import { fork, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLoadTools } from '../e2e/load-tools.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 3);
const IDLE = opt('idle', 2000);
const outIndex = args.indexOf('--out');
const OUT = outIndex >= 0 ? args[outIndex + 1]! : join(here, '..', '..', '..', 'bench', 'results');
for (const [name, v] of [['seconds', SECONDS], ['idle', IDLE]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`bench:tls: --${name} must be a positive integer, got ${args[args.indexOf(`--${name}`) + 1]}`);
}
const WRK = findLoadTools().wrk;
if (WRK === null) throw new Error('bench:tls: wrk not found (apt install wrk, or scripts/install-loadgen.sh; WRK_BIN names it)');
const CONCURRENCY = 8;
const WRK_CONNECTIONS = 32;

function makeCerts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tls-bench-'));
  const ssl = (a: string[]): void => void execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(['req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.crt', '-days', '1', '-subj', '/CN=bench root']);
  ssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=critical,URI:spiffe://cluster.local/ns/bench/sa/server,DNS:localhost\n');
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-CAcreateserial', '-days', '1', '-extfile', 'server.ext', '-out', 'server.crt']);
  return dir;
}

interface ServerStats { rss: number; cpuUs: number; open: number }

class Server {
  readonly child: ChildProcess;
  port = 0;
  constructor(stack: string, certs: string) {
    this.child = fork(join(here, 'stack-server.js'), [stack, certs], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  async ready(): Promise<void> {
    this.port = await new Promise<number>((resolve, reject) => {
      this.child.once('message', (m: { ready: number }) => resolve(m.ready));
      this.child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
  }
  stats(): Promise<ServerStats> {
    return new Promise((resolve) => {
      this.child.once('message', (m: ServerStats) => resolve(m));
      this.child.send('stats');
    });
  }
  stop(): void {
    this.child.send('exit');
  }
}

function runClient(certs: string, argv: string[]): Promise<{ handshakes: number; resumed: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'stack-client.js'), ...argv], { env: { ...process.env, TLS_BENCH_CERTS: certs }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
  });
}

async function handshakes(server: Server, certs: string, resume: boolean): Promise<Record<string, number>> {
  const before = await server.stats();
  const r = await runClient(certs, ['handshake', String(server.port), String(SECONDS * 1000), String(CONCURRENCY), resume ? '1' : '0']);
  const after = await server.stats();
  return {
    handshakesPerSecond: Math.round(r.handshakes / SECONDS),
    resumedShare: Number((r.resumed / Math.max(1, r.handshakes)).toFixed(3)),
    failed: r.failed,
    serverCpuUsPerHandshake: Math.round((after.cpuUs - before.cpuUs) / Math.max(1, r.handshakes)),
  };
}

function throughput(server: Server): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    void server.stats().then((before) => {
      const wrk = spawn(WRK!, ['-t1', `-c${WRK_CONNECTIONS}`, `-d${SECONDS}s`, '--latency', `https://localhost:${server.port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      wrk.stdout!.on('data', (d) => (out += d));
      wrk.on('exit', async (code) => {
        if (code !== 0) return reject(new Error(`wrk exited ${code}`));
        const after = await server.stats();
        const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
        const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
        const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
        const p99Ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : NaN;
        const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? '';
        resolve({ requestsPerSecond: Math.round(rps), p99Ms, serverCpuUsPerRequest: Number(((after.cpuUs - before.cpuUs) / total).toFixed(2)), ...(errors ? { errors: errors as unknown as number } : {}) });
      });
    }, reject);
  });
}

async function idleMemory(server: Server, certs: string): Promise<Record<string, number>> {
  const before = await server.stats();
  const client = fork(join(here, 'stack-client.js'), ['idle', String(server.port), String(IDLE)], { env: { ...process.env, TLS_BENCH_CERTS: certs }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const t0 = performance.now();
  const open = await new Promise<number>((resolve) => client.once('message', (m: { open: number }) => resolve(m.open)));
  const openedMs = performance.now() - t0;
  const after = await server.stats();
  // Still open when the RSS was read (uWS closes HTTP connections idle for 10 s).
  const stillOpen = await new Promise<number>((resolve) => {
    client.once('message', (m: { open: number }) => resolve(m.open));
    client.send('count');
  });
  client.send('exit');
  return {
    connections: open,
    stillOpenAfterMeasure: stillOpen,
    openedInMs: Math.round(openedMs),
    rssBeforeMiB: Number((before.rss / 2 ** 20).toFixed(1)),
    rssAfterMiB: Number((after.rss / 2 ** 20).toFixed(1)),
    bytesPerIdleConnection: Math.round((after.rss - before.rss) / stillOpen),
  };
}

async function main(): Promise<void> {
  const certs = makeCerts();
  const results: Record<string, unknown> = {};
  for (const stack of ['node', 'uws']) {
    const server = new Server(stack, certs);
    await server.ready();
    const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      process.stderr.write(`${stack}: ${name}…\n`);
      return run();
    };
    // Warm-up: the first handshakes and requests pay for lazy initialisation.
    await phase('warm-up', () => runClient(certs, ['handshake', String(server.port), '300', '2', '0']));
    const r = {
      fullHandshake: await phase('full handshakes', () => handshakes(server, certs, false)),
      resumedHandshake: await phase('resumed handshakes', () => handshakes(server, certs, true)),
      keepAliveRequests: await phase('keep-alive requests', () => throughput(server)),
      idleConnections: await phase(`${IDLE} idle connections`, () => idleMemory(server, certs)),
    };
    server.stop();
    results[stack] = r;
    console.log(stack, JSON.stringify(r, null, 1));
    await new Promise((res) => setTimeout(res, 300));
  }
  const date = new Date().toISOString().slice(0, 10);
  const report = {
    date,
    node: process.version,
    openssl: process.versions.openssl,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
    setup: { seconds: SECONDS, handshakeConcurrency: CONCURRENCY, wrkConnections: WRK_CONNECTIONS, idleConnections: IDLE, tls: 'TLS 1.3, ECDSA P-256 leaf, server-only auth' },
    stacks: { node: 'node:tls (OpenSSL ' + process.versions.openssl + ')', uws: 'uWebSockets.js SSLApp (BoringSSL)' },
    results,
  };
  mkdirSync(OUT, { recursive: true });
  let file = join(OUT, `tls-stack-${date}.json`);
  for (let n = 2; existsSync(file); n++) file = join(OUT, `tls-stack-${date}-${n}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

await main();
