// `wasmesh demo protocols` as a real process on free ports, and the commands it prints run as
// printed (a shell, from the checkout, as a user pastes them): the repo's gRPC client (a unary
// call, a server stream, 100 calls counted by version: the VirtualService's 80/20), the repo's
// WebSocket client (the server's greeting and both echoes, a clean close), redis-cli SET/GET
// through the gateway's TCP port to a real redis-server, the printed `cp` that sends every gRPC
// call to v2 live (and back), and the printed metrics curl, whose
// answer must count what was sent: istio_requests_total with request_protocol="grpc" and
// grpc_response_status="0", the 101 of the upgrade and downstream_cx_upgrades_total, and
// istio_tcp_* for the Redis connections. Then SIGINT stops everything (redis-server included).
// Without redis-server the demo must say so and run the rest; with WASMESH_REQUIRE_TCPSERVERS=1
// (CI installs it with scripts/install-tcpservers.sh) a missing Redis fails the test.
import { beforeAll, describe, expect, it } from 'vitest';
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { proxyStatus } from '../helpers/demo-proxy-status.js';
import { findOnPath } from '../../host/demo/apps/redis-app.js';

const FREE = ['--port', '0', '--admin', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--app-ports', '0', '--redis-port', '0', '--no-access-log'];

const redisServer = findOnPath('redis-server');
const redisCli = findOnPath('redis-cli');
const redisMissing = [redisServer === null && 'redis-server', redisCli === null && 'redis-cli'].filter(Boolean).join(', ');

/** Runs one printed command line in a shell from the checkout, as a user pastes it. */
function run(line: string): string {
  return execSync(line, { cwd: ROOT, shell: '/bin/sh', encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The printed command lines (two-space indent) that start with `prefix`. */
function printed(out: string, prefix: string): string[] {
  return out.split('\n').filter((l) => l.startsWith(`  ${prefix}`)).map((l) => l.slice(2));
}

function one(out: string, pattern: RegExp): string {
  const lines = out.split('\n').filter((l) => pattern.test(l)).map((l) => l.slice(2));
  if (lines.length !== 1) throw new Error(`expected one printed line matching ${pattern}, got ${lines.length}:\n${out}`);
  return lines[0]!;
}

/** The value of the Prometheus sample named `name` whose labels include every one of `labels`; 0 when none. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

beforeAll(async () => {
  await ensureBuilt();
  if (redisMissing !== '') {
    if (process.env.WASMESH_REQUIRE_TCPSERVERS === '1') throw new Error(`demo-protocols: WASMESH_REQUIRE_TCPSERVERS=1 but ${redisMissing} not found (run scripts/install-tcpservers.sh)`);
    console.warn(`demo-protocols: ${redisMissing} not installed (scripts/install-tcpservers.sh); the Redis commands are not run`);
  }
}, 300_000);

describe('wasmesh demo protocols (process)', () => {
  it('gRPC, WebSocket and Redis through the gateway, each as the printout shows, counted in the gateway\'s metrics; SIGINT stops it all', async () => {
    const demo = new WasmeshProcess(['demo', 'protocols', ...FREE]);
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 'stdout', 30_000);
      const out = demo.stdout;

      // gRPC: the unary call and the stream, as printed.
      const grpc = printed(out, 'node ').filter((l) => l.includes('grpc-client.mjs'));
      expect(grpc).toHaveLength(3);
      // Run from the checkout, the paths are the README's: relative.
      const gw = /^ {2}gateway +http:\/\/(127\.0\.0\.1:\d+)\//m.exec(out)![1];
      expect(grpc[0]).toBe(`node examples/005-protocols/grpc-client.mjs ${gw} hello alice`);
      expect(run(grpc[0]!)).toMatch(/^Hello alice from greeter v[12]\n$/);
      const stream = run(grpc[1]!).split('\n').filter((l) => l !== '');
      expect(stream).toHaveLength(3);
      const version = /from greeter (v[12]) \(1\/3\)$/.exec(stream[0]!)?.[1];
      expect(stream).toEqual([1, 2, 3].map((i) => `Hello alice from greeter ${version} (${i}/3)`));
      // 100 calls, counted with sort | uniq -c: the 80/20 split (smooth weighted round robin: exact over any 100 picks).
      const counts = Object.fromEntries(run(grpc[2]!).trim().split('\n').map((l) => { const m = /^\s*(\d+) (.*)$/.exec(l)!; return [m[2], Number(m[1])]; }));
      expect(counts).toEqual({ 'Hello alice from greeter v1': 80, 'Hello alice from greeter v2': 20 });
      // The printed `cp` of the all-v2 variant: pushed to the gateway, every call then answered by v2.
      const [toV2, back] = printed(out, 'cp ');
      expect(toV2).toMatch(/^cp examples\/005-protocols\/variants\/02-protocols-routes-v2\.yaml \S+\/02-protocols-routes\.yaml$/);
      expect(back).toMatch(/^cp examples\/005-protocols\/02-protocols-routes\.yaml \S+\/02-protocols-routes\.yaml$/);
      const synced = (version: string) => async () => (await proxyStatus(out)).some((r) => r.version === version && r.states.WASMESH === 'SYNCED');
      run(toV2!);
      await until(synced('2'), 'version 2 SYNCED');
      expect(run(`${grpc[0]!} --repeat 10`)).toBe('Hello alice from greeter v2\n'.repeat(10));
      run(back!);
      await until(synced('3'), 'version 3 SYNCED');

      // WebSocket: the server speaks first, then echoes each message; a clean close.
      const ws = one(out, /^ {2}node \S+ws-client\.mjs /);
      expect(run(ws)).toBe('> hello\n> world\n< welcome to chat v1\n< chat v1 echoes: hello\n< chat v1 echoes: world\nclosed 1000\n');

      // Redis through the gateway's TCP port, or the demo's word that it is not there.
      const redis = printed(out, 'redis-cli ');
      if (redisMissing === '') {
        expect(redis).toHaveLength(2);
        expect(redis[0]).toMatch(/^redis-cli -p \d+ set greeting hello$/);
        expect(run(redis[0]!)).toBe('OK\n');
        expect(run(redis[1]!)).toBe('hello\n');
        // The gateway's port is not redis-server's own: the bytes went through the proxy.
        const appPort = Number(/ {2}redis +127\.0\.0\.1:(\d+) /.exec(out)![1]);
        expect(redis[0]).not.toContain(`-p ${appPort} `);
      }

      // The printed metrics curl: what the gateway counted.
      const curl = one(out, /^ {2}curl -s http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus \| grep/);
      const grpcOk = { destination_service_name: 'greeter', request_protocol: 'grpc', response_code: '200', grpc_response_status: '0', response_flags: '-' };
      const text = run(curl);
      expect(sample(text, 'istio_requests_total', grpcOk)).toBe(112);
      expect(sample(text, 'istio_requests_total', { destination_service_name: 'chat', request_protocol: 'http', response_code: '101' })).toBe(1);
      expect(sample(text, 'envoy_downstream_cx_upgrades_total', {})).toBe(1);
      if (redisMissing === '') {
        // istio_tcp_* are added when a connection closes: redis-cli has gone, the proxy may still be closing.
        const tcp = { destination_service_name: 'redis', request_protocol: 'tcp', response_flags: '-' };
        await until(() => sample(run(curl), 'istio_tcp_connections_closed_total', tcp) === 2, 'both Redis connections closed');
        // The bytes (not in the printed grep): "+OK\r\n" and "$5\r\nhello\r\n" came back through the gateway.
        const all = await (await fetch(/curl -s (\S+)/.exec(curl)![1]!)).text();
        expect(sample(all, 'istio_tcp_sent_bytes_total', tcp)).toBe(16);
        expect(sample(all, 'istio_tcp_received_bytes_total', tcp)).toBeGreaterThan(0);
      }

      // The gateway took its config from the control plane.
      expect((await proxyStatus(out)).map((r) => [r.name, r.states.WASMESH])).toEqual([['router~127.0.0.1~istio-ingressgateway.default~default.svc.cluster.local', 'SYNCED']]);

      // Ctrl-C: everything stops, the apps' and redis-server's ports included, the run folder goes.
      // Every port of the block that says where things listen (apps, redis-server, gateway, admin, control plane).
      const where = out.slice(0, out.indexOf('gRPC through the gateway'));
      const ports = [...where.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(ports.length).toBeGreaterThanOrEqual(redisMissing === '' ? 9 : 7);
      const runDir = /config folder +(\S+)/.exec(out)![1]!;
      expect(existsSync(runDir)).toBe(true);
      expect(await demo.stop('SIGINT')).toEqual({ code: 0, signal: null });
      for (const p of new Set(ports)) expect(await refused(p)).toBe(true);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
    }
  }, 120_000);

  it('without redis-server on PATH it says so, serves no Redis port, and runs gRPC and WebSocket', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'wasmesh-no-redis-'));
    const demo = new WasmeshProcess(['demo', 'protocols', ...FREE], ROOT, { ...process.env, PATH: emptyPath });
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 'stdout', 30_000);
      const out = demo.stdout;
      expect(demo.stderr).toMatch(/\[warn\] redis-server is not installed \(Debian: apt-get install redis-server redis-tools, or scripts\/install-tcpservers\.sh\): the demo runs without Redis/);
      expect(out).toMatch(/ {2}redis +not started: redis-server is not installed/);
      expect(out).not.toMatch(/redis-cli -p/);
      expect(out).not.toMatch(/Gateway port 6379/);
      const grpc = printed(out, 'node ').filter((l) => l.includes('grpc-client.mjs'));
      expect(run(grpc[0]!)).toMatch(/^Hello alice from greeter v[12]\n$/);
      expect(run(one(out, /^ {2}node \S+ws-client\.mjs /))).toContain('< chat v1 echoes: world\n');
      expect(await demo.stop('SIGINT')).toEqual({ code: 0, signal: null });
    } finally {
      if (demo.running) await demo.stop('SIGKILL');
      rmSync(emptyPath, { recursive: true, force: true });
    }
  }, 120_000);
});
