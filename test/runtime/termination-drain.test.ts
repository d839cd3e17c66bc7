// The sidecar's termination drain (host/runtime/termination-drain.ts) in-process over loopback:
// through startSidecarRuntime with terminationDrainMs, readiness fails at once, the app's
// keep-alive connection to the outbound listener holds the drain open and still serves new
// requests (the app finishing its work), and the drain ends the moment the app lets it go (as
// when the app container exits), long before the deadline; an idle HTTP/2 session on the inbound
// listener is ended (GOAWAY). Also the drain function alone: idle at once, the deadline, the poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { terminationDrain } from '../../host/runtime/termination-drain.js';
import { request } from '../helpers/http-client.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';
import { peerMeshConfig } from '../helpers/peer-mesh-config.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

describe('terminationDrain', () => {
  it('drains the inbound sides first and ends at once when nothing is open', async () => {
    const drained: string[] = [];
    const r = await terminationDrain({ inbound: [{ drain: () => drained.push('in'), activeConnections: 0 }], outbound: [{ activeConnections: 0 }], deadlineMs: 5000 });
    expect(drained).toEqual(['in']);
    expect(r).toMatchObject({ outcome: 'idle', remaining: 0 });
    expect(r.elapsedMs).toBeLessThan(50);
  });

  it('waits while either side holds a connection, and gives up at the deadline with the count left', async () => {
    let outbound = 2;
    const inbound = { n: 1, drain() {}, get activeConnections() { return this.n; } };
    setTimeout(() => (inbound.n = 0), 60);
    const idle = terminationDrain({ inbound: [inbound], outbound: [{ get activeConnections() { return outbound; } }], deadlineMs: 5000, pollMs: 5 });
    setTimeout(() => (outbound = 0), 150);
    const r = await idle;
    expect(r.outcome).toBe('idle');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(140);
    expect(r.elapsedMs).toBeLessThan(1000);
    const late = await terminationDrain({ inbound: [], outbound: [{ activeConnections: 3 }], deadlineMs: 120, pollMs: 50 });
    expect(late.outcome).toBe('deadline');
    expect(late.remaining).toBe(3);
    expect(late.elapsedMs).toBeGreaterThanOrEqual(115);
    expect(late.elapsedMs).toBeLessThan(400);
  });
});

describe('terminationDrain with a minimum duration (Istio\'s MINIMUM_DRAIN_DURATION)', () => {
  it('idle from the start still waits the minimum; a minimum past the deadline is cut to it', async () => {
    const r = await terminationDrain({ inbound: [], outbound: [{ activeConnections: 0 }], deadlineMs: 5000, minimumMs: 150, pollMs: 10 });
    expect(r.outcome).toBe('idle');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(145);
    expect(r.elapsedMs).toBeLessThan(1000);
    const capped = await terminationDrain({ inbound: [], outbound: [{ activeConnections: 0 }], deadlineMs: 100, minimumMs: 10_000, pollMs: 10 });
    expect(capped.outcome).toBe('idle');
    expect(capped.elapsedMs).toBeGreaterThanOrEqual(95);
    expect(capped.elapsedMs).toBeLessThan(1000);
  });
});

describe('sidecar runtime with a termination drain', () => {
  let dir = '';
  let app: HttpUpstream;
  let peer: HttpUpstream;
  let sidecar: SidecarRuntime;
  const logs: string[] = [];

  beforeAll(async () => {
    app = await startHttpUpstream((_req, res) => res.end('app'));
    peer = await startHttpUpstream((_req, res) => res.end('peer'));
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-term-drain-'));
    writeFileSync(join(dir, 'peer.yaml'), peerMeshConfig({ address: '127.0.0.1', port: peer.port }, { address: '127.0.0.1', port: peer.port }));
    sidecar = await startSidecarRuntime({
      sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [app.port],
      terminationDrainMs: 10_000,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await Promise.all([app, peer].map((s) => s?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the app\'s keep-alive outbound connection serves through the drain and holds it until the app closes it; an idle HTTP/2 inbound session ends', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const viaOutbound = () => request(sidecar.ports.outbound, { path: '/', headers: { host: 'peer-svc:8080' }, agent });
    expect((await viaOutbound()).body.toString()).toBe('peer');
    const h2 = http2.connect(`http://127.0.0.1:${sidecar.ports.inbound}`);
    await new Promise<void>((r, j) => h2.once('connect', () => r()).once('error', j));
    let goaway = false;
    h2.on('goaway', () => (goaway = true));
    h2.on('close', () => (goaway = true));
    h2.on('error', () => {});

    const t0 = Date.now();
    const closed = sidecar.close();
    await new Promise((r) => setTimeout(r, 300));
    // Readiness failed at once; the drain is waiting on the app's connection.
    expect(sidecar.notReadyReason()).toMatch(/^draining/);
    expect(goaway).toBe(true);
    expect(logs.some((l) => /termination drain: inbound listener draining, outbound serving, for up to 10000 ms/.test(l))).toBe(true);
    // The app finishing its work: another call on its pooled connection is served.
    const again = await viaOutbound();
    expect([again.status, again.body.toString()]).toEqual([200, 'peer']);
    expect(again.headers.connection).not.toBe('close');
    let done = false;
    void closed.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    // The app exits: its connections close, and the sidecar stops right after.
    agent.destroy();
    h2.destroy();
    await closed;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(logs.some((l) => /termination drain: no connection left after \d+ ms/.test(l))).toBe(true);
  }, 30_000);
});
