// The sidecar's pod lifecycle on a real `wasmesh sidecar` process over real sockets: SIGTERM
// drains the inbound listener (new connections refused, idle keep-alive connections closed, a
// request under way answered with `connection: close`) while the outbound listener keeps serving
// the app; the process exits 0 as soon as no connection is left, or at the one deadline
// (--termination-drain-duration, or TERMINATION_DRAIN_DURATION_SECONDS as the injector sets it)
// with what still runs cut. POST /quitquitquit on the merged-stats port (Istio's 15020, the Job's
// way out) takes the same path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { peerMeshConfig } from '../helpers/peer-mesh-config.js';
import { request } from '../helpers/http-client.js';
import { freePort } from '../helpers/ports.js';

let dir = '';
let app: Server;
let appPort = 0;
let peer: Server;
const procs: WasmeshProcess[] = [];

/** Waiters for the app's next request to a URL (nextArrival): a test waits for its request to be under way, not a fixed time. */
const arrivals = new Map<string, Array<() => void>>();
function nextArrival(url: string): Promise<void> {
  return new Promise((resolve) => arrivals.set(url, [...(arrivals.get(url) ?? []), resolve]));
}

/** The app: /slow?ms=N answers after N ms; anything else at once. */
function appServer(): Server {
  return createServer((req, res) => {
    for (const resolve of arrivals.get(req.url ?? '') ?? []) resolve();
    arrivals.delete(req.url ?? '');
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
    const t = setTimeout(() => res.end(`app ${req.url}`), ms);
    res.on('close', () => clearTimeout(t));
  });
}

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-drain-'));
  app = appServer();
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as { port: number }).port;
  peer = createServer((_req, res) => res.end('peer'));
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const peerPort = (peer.address() as { port: number }).port;
  writeFileSync(join(dir, 'mesh.yaml'), peerMeshConfig({ address: '127.0.0.1', port: peerPort }, { address: '127.0.0.1', port: peerPort }));
}, 300_000);

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  app?.closeAllConnections();
  app?.close();
  peer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Sidecar {
  proc: WasmeshProcess;
  outbound: number;
  inbound: number;
  merged: number;
}

async function startSidecar(extra: string[], env: Record<string, string> = {}): Promise<Sidecar> {
  const merged = await freePort();
  const proc = new WasmeshProcess(['sidecar', '-f', dir, '--app-ports', String(appPort), '--outbound', '127.0.0.1:0', '--inbound', '127.0.0.1:0',
    '--health', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--stats', 'off', '--merged-stats', `127.0.0.1:${merged}`, '--access-log', 'off', ...extra], undefined, env);
  procs.push(proc);
  const m = await proc.waitFor(/outbound on [^:]+:(\d+), inbound on [^:]+:(\d+)/);
  return { proc, outbound: Number(m[1]), inbound: Number(m[2]), merged };
}

/** A raw keep-alive connection to `port`; `send` writes a request, `next()` reads one whole response. */
async function rawConnection(port: number): Promise<{ socket: Socket; data: () => string; closed: Promise<void>; send(path: string): void; waitFor(re: RegExp, ms?: number): Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  let text = '';
  socket.setEncoding('latin1').on('data', (d: string) => (text += d));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => {});
  return {
    socket,
    data: () => text,
    closed,
    send: (path) => void socket.write(`GET ${path} HTTP/1.1\r\nhost: app\r\n\r\n`),
    waitFor: async (re, ms = 10_000) => {
      const end = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(text)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('wasmesh sidecar: the termination drain', () => {
  it('SIGTERM: inbound refuses new connections and closes idle ones, a slow request finishes with connection: close, outbound keeps serving; exit 0 once idle, before the deadline', async () => {
    const s = await startSidecar(['--termination-drain-duration', '8s']);
    // An idle keep-alive connection (one request served), and one with a slow request under way.
    const idle = await rawConnection(s.inbound);
    idle.send('/fast');
    await idle.waitFor(/\r\n\r\napp \/fast$/);
    const busy = await rawConnection(s.inbound);
    const reached = nextArrival('/slow?ms=1500');
    busy.send('/slow?ms=1500');
    await reached;
    const t0 = Date.now();
    s.proc.child.kill('SIGTERM');
    await s.proc.waitFor(/termination drain: inbound listener draining/);
    // The idle connection is closed by the sidecar, new inbound connections are refused.
    await idle.closed;
    expect(await refused(s.inbound)).toBe(true);
    // Outbound still serves the app (a new connection, closed after: it must not hold the drain).
    const out = await request(s.outbound, { path: '/x', headers: { host: 'peer-svc:8080', connection: 'close' } });
    expect([out.status, out.body.toString()]).toEqual([200, 'peer']);
    // The slow request completes, told that the connection ends.
    await busy.waitFor(/app \/slow\?ms=1500$/);
    expect(busy.data()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(busy.data().toLowerCase()).toContain('connection: close\r\n');
    await busy.closed;
    const exit = await s.proc.exited;
    const took = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.proc.stderr).toMatch(/termination drain: no connection left after \d+ ms/);
    // Idle after the slow request (~1.3 s more), long before the 8 s deadline.
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(6000);
  }, 60_000);

  it('a request still running at the deadline is cut and the process exits at about the deadline', async () => {
    const s = await startSidecar(['--termination-drain-duration', '1500ms']);
    const busy = await rawConnection(s.inbound);
    const reached = nextArrival('/slow?ms=20000');
    busy.send('/slow?ms=20000');
    await reached;
    const t0 = Date.now();
    s.proc.child.kill('SIGTERM');
    const exit = await s.proc.exited;
    const took = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.proc.stderr).toMatch(/deadline of 1500 ms reached with 1 connection\(s\) open; closing them/);
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(3500);
    await busy.closed;
    expect(busy.data()).not.toMatch(/app \/slow/);
  }, 60_000);

  it('TERMINATION_DRAIN_DURATION_SECONDS (the injector\'s env) sets the deadline when the flag is absent; a bad value is refused', async () => {
    const s = await startSidecar([], { TERMINATION_DRAIN_DURATION_SECONDS: '1' });
    const busy = await rawConnection(s.inbound);
    const reached = nextArrival('/slow?ms=20000');
    busy.send('/slow?ms=20000');
    await reached;
    const t0 = Date.now();
    s.proc.child.kill('SIGTERM');
    await s.proc.exited;
    const took = Date.now() - t0;
    expect(s.proc.stderr).toMatch(/for up to 1000 ms \(terminationDrainDuration\)/);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    const bad = new WasmeshProcess(['sidecar', '-f', dir, '--app-ports', String(appPort), '--termination-drain-duration', '5']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toMatch(/--termination-drain-duration: "5" is not a valid duration: missing or unknown unit/);
  }, 60_000);

  it('POST /quitquitquit on the merged-stats port (Istio\'s 15020): GET is refused; POST answers OK, the request under way completes, exit 0', async () => {
    const s = await startSidecar(['--termination-drain-duration', '10s']);
    const get = await fetch(`http://127.0.0.1:${s.merged}/quitquitquit`);
    expect([get.status, await get.text()]).toEqual([405, '/quitquitquit answers POST only\n']);
    const busy = await rawConnection(s.inbound);
    const reached = nextArrival('/slow?ms=800');
    busy.send('/slow?ms=800');
    await reached;
    const post = await fetch(`http://127.0.0.1:${s.merged}/quitquitquit`, { method: 'POST' });
    expect([post.status, await post.text()]).toEqual([200, 'OK\n']);
    await busy.waitFor(/app \/slow\?ms=800$/);
    expect(busy.data()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await s.proc.exited).toEqual({ code: 0, signal: null });
    expect(s.proc.stderr).toMatch(/POST \/quitquitquit: shutting down/);
    expect(s.proc.stderr).toMatch(/termination drain: no connection left/);
  }, 60_000);
});
