// Circuit breaking and connection settings through the cluster manager over real loopback
// upstreams: max connections with a real pending queue then overflow (503 UO), max requests,
// max requests per connection, the policy's connect and idle timeouts; clusters without a
// policy keep the proxy-wide limit with no queue; seed 002's productpage connectionPool.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstream-servers.js';
import { harness, meshOf, attempt, CLUSTER, type Harness, type Attempt } from './cluster-harness.js';
import { DEFAULT_LIMITS } from '../../../host/common/limits.js';
import { circuitBreakerLimitsFromIstio } from '../../../host/config/translate/circuit-breaker-limits.js';

let servers: HttpUpstream[] = [];
let harnesses: Harness[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const h of harnesses) h.close();
  for (const s of servers) await s.close();
  for (const c of cleanups.splice(0)) c();
  servers = [];
  harnesses = [];
});

function make(): Harness {
  const h = harness();
  harnesses.push(h);
  return h;
}

/** An upstream that holds every response until the test releases it. */
async function holdingUpstream(): Promise<{ up: HttpUpstream; held: http.ServerResponse[] }> {
  const held: http.ServerResponse[] = [];
  const up = await startHttpUpstream((_q, res) => held.push(res));
  servers.push(up);
  return { up, held };
}

const waitFor = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const stat = (h: Harness, name: string): number => h.stats.cluster(CLUSTER).get(name);

describe('circuit breaking', () => {
  it('maxConnections 1 + http1MaxPendingRequests 1: one waits for the connection, the next overflows (UO)', async () => {
    const { up, held } = await holdingUpstream();
    const h = make();
    const v = h.load(meshOf([up.port], { limits: { maxConnections: 1, maxPendingRequests: 1 } }));
    const first = attempt(h, v);
    await waitFor(() => held.length === 1);
    const second = attempt(h, v);
    await waitFor(() => h.cm.clusters()[0]!.pendingRequests === 1);
    expect(stat(h, 'upstream_rq_pending_active')).toBe(1);
    expect(stat(h, 'upstream_cx_overflow')).toBe(1);
    const third = await attempt(h, v);
    expect(third.result).toBe('overflow');
    expect(stat(h, 'upstream_rq_pending_overflow')).toBe(1);
    // The held response ends: the waiting request takes the same connection.
    held[0]!.end('one');
    const a = await first;
    await waitFor(() => held.length === 2);
    held[1]!.end('two');
    const b: Attempt = await second;
    expect([a.body, b.body]).toEqual(['one', 'two']);
    expect(b.conn).toBe(a.conn);
    expect(up.connections).toBe(1);
    expect(stat(h, 'upstream_rq_pending_active')).toBe(0);
    expect(h.cm.clusters()[0]!.pendingRequests).toBe(0);
  });

  it('a waiter for another endpoint gets a connection when one closes elsewhere in the cluster', async () => {
    const a = await holdingUpstream();
    const b = await holdingUpstream();
    const h = make();
    const v = h.load(meshOf([a.up.port, b.up.port], { lb: 'ROUND_ROBIN', limits: { maxConnections: 1, maxPendingRequests: 5 } }));
    const first = attempt(h, v); // endpoint 0
    await waitFor(() => a.held.length === 1);
    const second = attempt(h, v); // endpoint 1: waits, the cluster is at 1 connection
    await waitFor(() => h.cm.clusters()[0]!.pendingRequests === 1);
    a.held[0]!.end('a');
    await first;
    // The idle connection to endpoint 0 closes so that endpoint 1 can connect.
    await waitFor(() => b.held.length === 1);
    b.held[0]!.end('b');
    expect((await second).body).toBe('b');
    expect(h.cm.clusters()[0]!.connections).toBe(1);
  });

  it('http2MaxRequests caps requests in flight (admitRequest → overflow, counted as pending overflow)', async () => {
    const { up, held } = await holdingUpstream();
    const h = make();
    const v = h.load(meshOf([up.port], { limits: { maxRequests: 2 } }));
    const running = [attempt(h, v), attempt(h, v)];
    await waitFor(() => held.length === 2);
    expect((await attempt(h, v)).result).toBe('overflow');
    expect(stat(h, 'upstream_rq_pending_overflow')).toBe(1);
    for (const r of held) r.end();
    await Promise.all(running);
    held.length = 0;
    const again = attempt(h, v);
    await waitFor(() => held.length === 1);
    held[0]!.end('ok');
    expect((await again).result).toBe(200);
  });

  it('admitRequest hands every request the cluster\'s one RequestUnit (nothing per request); each release gives one unit back', () => {
    const h = make();
    const v = h.load(meshOf([1], { limits: { maxRequests: 2 } }));
    const a = h.cm.admitRequest(v, 0);
    const b = h.cm.admitRequest(v, 0);
    expect(a).not.toBe('overflow');
    expect(b).toBe(a);
    expect(h.cm.admitRequest(v, 0)).toBe('overflow');
    (a as Exclude<typeof a, 'overflow'>).release();
    const c = h.cm.admitRequest(v, 0);
    expect(c).toBe(a);
    expect(h.cm.admitRequest(v, 0)).toBe('overflow');
    // A cluster index the version does not have: a unit whose release gives nothing back.
    const none = h.cm.admitRequest(v, 7);
    expect(none).not.toBe('overflow');
    expect(none).not.toBe(a);
    (none as Exclude<typeof none, 'overflow'>).release();
    expect(h.cm.admitRequest(v, 0)).toBe('overflow');
  });

  it('maxRequestsPerConnection closes a connection after N requests', async () => {
    const up = await startHttpUpstream((_q, res) => res.end('x'));
    servers.push(up);
    const h = make();
    const v = h.load(meshOf([up.port], { limits: { maxRequestsPerConnection: 2 } }));
    for (let i = 0; i < 5; i++) expect((await attempt(h, v)).result).toBe(200);
    expect(up.connections).toBe(3);
    expect(stat(h, 'upstream_cx_max_requests')).toBe(2);
  });

  it('the policy’s idleTimeout closes idle connections; tcpKeepalive is set on new sockets', async () => {
    const up = await startHttpUpstream((_q, res) => res.end('x'));
    servers.push(up);
    const h = make();
    const keep = new Set<net.Socket>();
    const orig = net.Socket.prototype.setKeepAlive;
    net.Socket.prototype.setKeepAlive = function (this: net.Socket, enable?: boolean, delay?: number) {
      if (enable && delay === 7_000) keep.add(this);
      return orig.call(this, enable, delay);
    };
    cleanups.push(() => void (net.Socket.prototype.setKeepAlive = orig));
    const v = h.load(meshOf([up.port], { connection: { idleTimeoutMs: 80, tcpKeepalive: { timeMs: 7_000, intervalMs: 1000, probes: 3 } } }));
    expect((await attempt(h, v)).result).toBe(200);
    expect(keep.size).toBe(1);
    expect(h.cm.clusters()[0]!.connections).toBe(1);
    await waitFor(() => h.cm.clusters()[0]!.connections === 0, 1000);
    expect(stat(h, 'upstream_cx_idle_timeout')).toBe(1);
  });

  const python = spawnSync('python3', ['-c', 'print(1)']).status === 0;
  it.skipIf(!python)('the policy’s connectTimeout applies (not the proxy-wide 10 s)', async () => {
    // A listener with backlog 0 that never accepts: once its queue is full, connects hang.
    const py: ChildProcess = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)']);
    cleanups.push(() => void py.kill());
    const port = await new Promise<number>((r) => py.stdout!.once('data', (d) => r(Number(String(d).trim()))));
    const fill = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    cleanups.push(() => fill.forEach((s) => s.destroy()));
    await new Promise((r) => setTimeout(r, 200));
    const h = make();
    const v = h.load(meshOf([port], { connection: { connectTimeoutMs: 150 } }));
    const t0 = Date.now();
    const r = await attempt(h, v);
    expect(r.result).toBe('connect_timeout');
    // Far below the proxy-wide 10 s default, with room for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(stat(h, 'upstream_cx_connect_timeout')).toBe(1);
  });

  it('a cluster without a policy takes the proxy-wide connection limit; with no pending queue it overflows at once', async () => {
    const { up, held } = await holdingUpstream();
    const h = harness({ maxConnectionsPerCluster: 1, maxPendingPerCluster: 0 });
    harnesses.push(h);
    const v = h.load(meshOf([up.port], { noPolicy: true }));
    const first = attempt(h, v);
    await waitFor(() => held.length === 1);
    expect((await attempt(h, v)).result).toBe('overflow');
    held[0]!.end();
    expect((await first).result).toBe(200);
  });

  it('a cluster without a policy queues up to the proxy-wide maxPendingPerCluster, then overflows; the queued request is served', async () => {
    const { up, held } = await holdingUpstream();
    const h = harness({ maxConnectionsPerCluster: 1, maxPendingPerCluster: 1 });
    harnesses.push(h);
    const v = h.load(meshOf([up.port], { noPolicy: true }));
    const first = attempt(h, v);
    await waitFor(() => held.length === 1);
    const queued = attempt(h, v);
    expect((await attempt(h, v)).result).toBe('overflow');
    expect(stat(h, 'upstream_rq_pending_overflow')).toBe(1);
    held[0]!.end();
    expect((await first).result).toBe(200);
    await waitFor(() => held.length === 2);
    held[1]!.end();
    expect((await queued).result).toBe(200);
  });

  it('the proxy-wide defaults are Envoy\'s circuit breaker: 1024 connections, 1024 pending', () => {
    expect(DEFAULT_LIMITS.maxConnectionsPerCluster).toBe(1024);
    expect(DEFAULT_LIMITS.maxPendingPerCluster).toBe(1024);
  });

  it('limits change on reload; in-flight counts carry over', async () => {
    const { up, held } = await holdingUpstream();
    const h = make();
    const v1 = h.load(meshOf([up.port], { limits: { maxRequests: 1 } }));
    const first = attempt(h, v1);
    await waitFor(() => held.length === 1);
    expect((await attempt(h, v1)).result).toBe('overflow');
    const v2 = h.load(meshOf([up.port], { limits: { maxRequests: 2 } }));
    const second = attempt(h, v2);
    await waitFor(() => held.length === 2);
    expect((await attempt(h, v2)).result).toBe('overflow');
    for (const r of held) r.end();
    await Promise.all([first, second]);
  });
});

describe('seed 002: productpage DestinationRule connectionPool', () => {
  it('maxConnections 50, http1MaxPendingRequests 25, http2MaxRequests 5, maxRequestsPerConnection 50, connectTimeout 1s', async () => {
    const limits = circuitBreakerLimitsFromIstio({ tcp: { maxConnections: 50 }, http: { http1MaxPendingRequests: 25, http2MaxRequests: 5, maxRetries: 3, maxRequestsPerConnection: 50 } });
    expect(limits).toEqual({ maxConnections: 50, maxPendingRequests: 25, maxRequests: 5, maxRetries: 3, maxRequestsPerConnection: 50 });
    const { up, held } = await holdingUpstream();
    const h = make();
    const v = h.load(meshOf([up.port], { limits, connection: { connectTimeoutMs: 1000, idleTimeoutMs: 60_000 } }));
    const running = Array.from({ length: 5 }, () => attempt(h, v));
    await waitFor(() => held.length === 5);
    // The sixth and seventh concurrent requests overflow max requests: 503 UO.
    expect((await attempt(h, v)).result).toBe('overflow');
    expect((await attempt(h, v)).result).toBe('overflow');
    expect(stat(h, 'upstream_rq_pending_overflow')).toBe(2);
    for (const r of held) r.end('ok');
    expect((await Promise.all(running)).every((a) => a.result === 200)).toBe(true);
    expect(up.connections).toBe(5);
  });
});
