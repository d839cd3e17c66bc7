// WebSocket (HTTP/1.1 Upgrade) through a real proxy: a `ws` server upstream, a `ws` client
// through the ProxyServer's listener — echo, a 5 MiB message (backpressure), close codes both
// ways, a refused upgrade, upstream down, the stream idle timeout, an authorization deny,
// stats and the access log line.
import { describe, it, expect } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createServer, connect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import type { Limits } from '../../host/common/limits.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { meshWith, useCleanup, waitFor } from './traffic-helpers.js';
import { f, rule, policy, pre } from '../helpers/authz-builders.js';

useCleanup();

const closers: Array<() => Promise<void> | void> = [];
import { afterEach } from 'vitest';
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers.length = 0;
});

/** A ws echo server on an http server (so a plain HTTP answer can refuse some upgrades). */
async function wsUpstream(opts: { refuse?: number; onConnection?: (ws: WebSocket) => void } = {}): Promise<{ port: number; wss: WebSocketServer; heads: http.IncomingHttpHeaders[] }> {
  const server = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const heads: http.IncomingHttpHeaders[] = [];
  server.on('upgrade', (req, socket, head) => {
    heads.push(req.headers);
    if (opts.refuse) {
      socket.end(`HTTP/1.1 ${opts.refuse} Forbidden\r\ncontent-length: 6\r\n\r\nrefuse`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (opts.onConnection) opts.onConnection(ws);
      else ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { port: (server.address() as AddressInfo).port, wss, heads };
}

async function gateway(upPort: number, opts: { limits?: Partial<Limits>; authorization?: AuthzPolicy[] } = {}): Promise<{ p: ProxyServer; logs: AccessLogEntry[] }> {
  const logs: AccessLogEntry[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 100, ...opts.limits }, istioMetrics: 'off' });
  const m = meshWith([{ name: 'backend', ports: [upPort] }]);
  p.apply(opts.authorization ? { ...m, authorization: opts.authorization } : m, 1);
  await p.listen();
  closers.push(() => p.close());
  return { p, logs };
}

function client(port: number, path = '/chat', opts: { maxPayload?: number } = {}): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host: 'svc.test' }, maxPayload: opts.maxPayload ?? 64 * 1024 * 1024 });
  closers.push(() => ws.terminate());
  return ws;
}

const opened = (ws: WebSocket): Promise<void> => new Promise((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> => new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> => new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
/** The HTTP answer to a refused upgrade (ws's 'unexpected-response'). */
const refusedWith = (ws: WebSocket): Promise<{ status: number; body: string }> => new Promise((resolve) => {
  ws.once('error', () => {});
  ws.once('unexpected-response', (_req, res) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c.toString()));
    res.on('end', () => resolve({ status: res.statusCode!, body }));
  });
});

describe('WebSocket through the gateway', () => {
  it('echoes text and binary messages; the upstream sees Upgrade and Connection: upgrade', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port);
    const ws = client(p.port);
    await opened(ws);
    ws.send('hello');
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from('hello'), isBinary: false });
    const bin = randomBytes(1000);
    ws.send(bin);
    const m = await nextMessage(ws);
    expect(m.isBinary).toBe(true);
    expect(m.data.equals(bin)).toBe(true);
    expect(up.heads[0]!.upgrade).toBe('websocket');
    expect(up.heads[0]!.connection).toMatch(/upgrade/i);
    expect(up.heads[0]!['x-request-id']).toBeDefined();
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(1);
    expect(p.stats.downstream.get('downstream_cx_upgrades_active')).toBe(1);
    ws.close(1000, 'bye');
    await closed(ws);
    await waitFor(() => p.stats.downstream.get('downstream_cx_upgrades_active') === 0);
  });

  it('carries a 5 MiB message each way byte-exact (backpressure on both sockets)', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port);
    const ws = client(p.port);
    await opened(ws);
    const big = randomBytes(5 * 1024 * 1024);
    ws.send(big);
    const m = await nextMessage(ws);
    expect(m.data.length).toBe(big.length);
    expect(m.data.equals(big)).toBe(true);
    ws.close();
    await closed(ws);
  });

  it('a client that stops reading: the bytes its pending writes hold stay intact while other tunnels read on', async () => {
    // Both sockets of a tunnel read into a buffer the thread shares with every other connection;
    // a write to the stalled client stays pending while the other tunnel's reads reuse that buffer.
    // A write that kept a view of a read (no copy) would send the stalled client those bytes.
    const sent: Buffer[] = [];
    let floodSocket: WebSocket | null = null;
    const up = await wsUpstream({
      onConnection: (ws) => ws.on('message', (d, isBinary) => {
        if (isBinary) {
          ws.send(d, { binary: true });
          return;
        }
        floodSocket = ws;
        for (let i = 0; i < 128; i++) {
          const m = randomBytes(256 * 1024);
          sent.push(m);
          ws.send(m);
        }
      }),
    });
    const { p } = await gateway(up.port);
    const stalled = client(p.port);
    const busy = client(p.port);
    await Promise.all([opened(stalled), opened(busy)]);
    const got: Buffer[] = [];
    stalled.on('message', (d) => got.push(d as Buffer));
    const stalledSocket = (stalled as unknown as { _socket: import('node:net').Socket })._socket;
    stalledSocket.pause();
    stalled.send('flood');
    // The whole path is full (the proxy's write to the stalled client pending) once what the
    // server still holds stops going down.
    await waitFor(() => floodSocket !== null, 10_000);
    for (let last = -1, same = 0; same < 4; await new Promise((r) => setTimeout(r, 50))) {
      const now = floodSocket!.bufferedAmount;
      same = now === last && now > 0 ? same + 1 : 0;
      last = now;
    }
    for (let i = 0; i < 64; i++) {
      const m = randomBytes(32 * 1024);
      busy.send(m);
      expect((await nextMessage(busy)).data.equals(m)).toBe(true);
    }
    stalledSocket.resume();
    await waitFor(() => got.length === sent.length, 20_000);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `message ${i}`).toBe(true);
  });

  it('a frame sent right behind the request head (same write) is forwarded, not lost', async () => {
    const up = await wsUpstream({ onConnection: (ws) => ws.on('message', (d) => ws.send(`got ${d.toString()}`)) });
    const { p } = await gateway(up.port);
    // A hand-written handshake with a masked text frame "hi" in the same TCP write.
    const key = randomBytes(16).toString('base64');
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from('hi').map((b, i) => b ^ mask[i % 4]!);
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | 2]), mask, payload]);
    const sock = connect(p.port, '127.0.0.1');
    closers.push(() => {
      sock.destroy();
    });
    await new Promise<void>((r) => sock.once('connect', r));
    sock.write(Buffer.concat([Buffer.from(`GET /chat HTTP/1.1\r\nhost: svc.test\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${key}\r\n\r\n`), frame]));
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    await waitFor(() => got.includes(Buffer.from('got hi')));
    const text = got.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 101 /);
    expect(text).toMatch(/\r\nconnection: upgrade\r\n/i);
    expect(text).toMatch(/\r\nupgrade: websocket\r\n/i);
    expect(text).toMatch(/\r\nsec-websocket-accept: /i);
  });

  it('propagates the close code of a server close and of a client close', async () => {
    let serverSide: WebSocket | null = null;
    let serverSaw: { code: number; reason: string } | null = null;
    const up = await wsUpstream({ onConnection: (ws) => {
      serverSide = ws;
      ws.on('close', (code, reason) => (serverSaw = { code, reason: reason.toString() }));
    } });
    const { p, logs } = await gateway(up.port);
    const a = client(p.port);
    await opened(a);
    await waitFor(() => serverSide !== null);
    serverSide!.close(4001, 'server says bye');
    expect(await closed(a)).toEqual({ code: 4001, reason: 'server says bye' });
    serverSide = null;
    const b = client(p.port);
    await opened(b);
    await waitFor(() => serverSide !== null);
    b.close(4002, 'client says bye');
    await closed(b);
    await waitFor(() => serverSaw !== null && serverSaw.code === 4002);
    expect(serverSaw).toEqual({ code: 4002, reason: 'client says bye' });
    // One access log line per tunnel, when it closed: 101, bytes both ways.
    await waitFor(() => logs.filter((l) => l.code === 101).length === 2);
    for (const l of logs) {
      expect(l.code).toBe(101);
      expect(l.bytesReceived).toBeGreaterThan(0);
      expect(l.bytesSent).toBeGreaterThan(0);
      expect(l.upstreamCluster).toBe('backend');
    }
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(2);
    await waitFor(() => p.stats.downstream.get('downstream_cx_upgrades_active') === 0);
  });

  it('an upgrade the upstream refuses (403) comes back as a normal response', async () => {
    const up = await wsUpstream({ refuse: 403 });
    const { p, logs } = await gateway(up.port);
    const r = await refusedWith(client(p.port));
    expect(r).toEqual({ status: 403, body: 'refuse' });
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(0);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.code).toBe(403);
  });

  it('upstream down: 503 UF, no tunnel', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const { p, logs } = await gateway(port);
    const r = await refusedWith(client(p.port));
    expect(r.status).toBe(503);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toContain('UF');
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(0);
  });

  it('the stream idle timeout closes a quiet tunnel (both sides), flag SI', async () => {
    let serverClosed = false;
    const up = await wsUpstream({ onConnection: (ws) => {
      ws.on('message', (d) => ws.send(d));
      ws.on('close', () => (serverClosed = true));
    } });
    const { p, logs } = await gateway(up.port, { limits: { streamIdleTimeoutMs: 300 } });
    const ws = client(p.port);
    await opened(ws);
    // Traffic keeps it open past the timeout…
    for (let i = 0; i < 4; i++) {
      ws.send('ping');
      await nextMessage(ws);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // …silence closes it.
    const c = await closed(ws);
    expect(c.code).toBe(1006);
    expect(p.stats.downstream.get('downstream_rq_idle_timeout')).toBe(1);
    await waitFor(() => serverClosed);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toContain('SI');
    expect(logs[0]!.code).toBe(101);
    expect(p.stats.downstream.get('downstream_cx_upgrades_active')).toBe(0);
  });

  it('an authorization deny on the upgrade request is a 403 and no tunnel', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port, { authorization: [policy('foo/deny-chat', 'DENY', [rule({ to: [[f('request.path', [pre('/chat')])]] })])] });
    const r = await refusedWith(client(p.port, '/chat'));
    expect(r.status).toBe(403);
    expect(up.heads.length).toBe(0);
    const ok = client(p.port, '/open');
    await opened(ok);
    ok.send('x');
    expect((await nextMessage(ok)).data.toString()).toBe('x');
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(1);
  });

  it('the upstream connection leaves the pool for good: counted active while the tunnel lives, never reused', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port);
    const ws = client(p.port);
    await opened(ws);
    const cs = p.stats.cluster('backend');
    expect(cs.get('upstream_cx_active')).toBe(1);
    ws.close();
    await closed(ws);
    await waitFor(() => cs.get('upstream_cx_active') === 0);
    const again = client(p.port);
    await opened(again);
    expect(cs.get('upstream_cx_total')).toBe(2);
  });
});
