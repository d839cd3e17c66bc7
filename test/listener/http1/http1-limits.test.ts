// The HTTP/1.1 listener's timeouts and limits through a real ProxyServer on loopback, each with
// Envoy's default and a lowered setting: the idle timeout closes a connection with no request,
// the stream idle timeout answers 408 (flag SI) when nothing moves but never cuts a slow live
// upload, the request headers timeout (off by default) answers 408, max requests per connection
// closes after the Nth response, the connection limit refuses the next connection.
import { afterEach, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import { DEFAULT_LIMITS } from '../../../host/common/limits.js';
import { DEFAULT_HTTP1_OPTIONS } from '../../../host/listener/http1/listener-options.js';
import type { AccessLogEntry } from '../../../host/telemetry/access-log.js';
import type { Limits } from '../../../host/common/limits.js';
import { noHeaderOps, type MeshConfig } from '../../../host/model/mesh.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * An upstream that answers `ok` once the request's body (content-length) has arrived.
 * `bodyReceived(n)`: resolves once n bytes after the first request's head have arrived.
 */
async function upstream(): Promise<{ port: number; bodies: number[]; bodyReceived: (n: number) => Promise<void> }> {
  const bodies: number[] = [];
  let all = Buffer.alloc(0);
  const bodyBytes = (): number => {
    const end = all.indexOf('\r\n\r\n');
    return end < 0 ? -1 : all.length - end - 4;
  };
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      all = Buffer.concat([all, d]);
      for (const w of waiting.splice(0)) if (bodyBytes() >= w.n) w.resolve(); else waiting.push(w);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const cl = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + cl) return;
        bodies.push(cl);
        buf = buf.subarray(end + 4 + cl);
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const bodyReceived = (n: number): Promise<void> => (bodyBytes() >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve })));
  return { port: (server.address() as net.AddressInfo).port, bodies, bodyReceived };
}

function mesh(port: number): MeshConfig {
  const ops = noHeaderOps();
  return {
    clusters: [{ name: 'c', host: 'svc', port: 80, subset: null, endpoints: [{ address: '127.0.0.1', port, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' }],
    virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'r', matches: [], destinations: [{ cluster: 'c', weight: 100, requestHeaders: ops, responseHeaders: ops }], requestHeaders: ops, responseHeaders: ops, timeoutMs: null }] }],
  };
}

async function proxy(limits: Partial<Limits>): Promise<{ p: ProxyServer; logs: AccessLogEntry[]; up: Awaited<ReturnType<typeof upstream>> }> {
  const up = await upstream();
  const logs: AccessLogEntry[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits, log: (e) => logs.push(e) });
  p.apply(mesh(up.port), 1);
  await p.listen();
  cleanups.push(() => p.close());
  return { p, logs, up };
}

/**
 * A raw client: what it received, and whether the proxy closed the connection. `received(pred)`:
 * resolves once what it received meets `pred`, rejects if the connection closes first.
 */
function client(port: number): { socket: net.Socket; data: () => string; closed: Promise<number>; received: (pred: (data: string) => boolean) => Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  const started = Date.now();
  socket.on('data', (d) => (data += d.toString('latin1')));
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  const received = (pred: (data: string) => boolean): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (pred(data)) done(resolve);
    };
    const closed = (): void => done(() => reject(new Error(`connection closed first; received ${JSON.stringify(data.slice(0, 200))}`)));
    const done = (then: () => void): void => {
      socket.off('data', check);
      socket.off('close', closed);
      then();
    };
    socket.on('data', check);
    socket.on('close', closed);
    check();
  });
  return { socket, data: () => data, closed: new Promise((r) => socket.on('close', () => r(Date.now() - started))), received };
}

const GET = 'GET / HTTP/1.1\r\nhost: svc\r\n\r\n';

describe('HTTP/1.1 listener limits', () => {
  it("defaults are Envoy's: idle 1 h, stream idle 5 min, request headers timeout off, unlimited requests and connections", () => {
    expect(DEFAULT_LIMITS).toMatchObject({ downstreamIdleTimeoutMs: 3_600_000, streamIdleTimeoutMs: 300_000, requestHeadersTimeoutMs: 0, maxRequestsPerConnection: 0, maxDownstreamConnections: 0 });
    expect(DEFAULT_HTTP1_OPTIONS).toMatchObject({ maxRequestHeadBytes: 60 * 1024, maxRequestHeaders: 100, headersWithUnderscoresAction: 'ALLOW' });
  });

  it('closes a keep-alive connection idle for downstreamIdleTimeoutMs, and not before', async () => {
    const { p } = await proxy({ downstreamIdleTimeoutMs: 400 });
    const c = client(p.port);
    c.socket.write(GET);
    const closedAfter = await c.closed;
    expect(c.data()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(closedAfter).toBeGreaterThanOrEqual(400);
    expect(closedAfter).toBeLessThan(5000);
    expect(p.stats.downstream.get('downstream_cx_idle_timeout')).toBe(1);
  });

  it('stream idle timeout: a request whose body stops coming is answered 408, flag SI, and the connection closes', async () => {
    const { p, logs, up } = await proxy({ streamIdleTimeoutMs: 300 });
    const c = client(p.port);
    c.socket.write('POST / HTTP/1.1\r\nhost: svc\r\ncontent-length: 10\r\n\r\nabc');
    await c.closed;
    expect(c.data()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(c.data()).toMatch(/\r\n\r\nstream timeout$/);
    expect(logs[0]).toMatchObject({ code: 408, flags: 'SI' });
    expect(up.bodies).toEqual([]);
    expect(p.stats.downstream.get('downstream_rq_idle_timeout')).toBe(1);
  });

  it('stream idle timeout never cuts a slow upload that keeps moving (1 KiB every 100 ms for 2 s, timeout 300 ms)', async () => {
    // The listener's clock (its sweep interval, performance.now) is fake and the test moves it:
    // each chunk is written 100 ms of that clock after the last and has reached the upstream before
    // the clock moves on. With wall-clock timers, one stall of the loaded event loop past 200 ms
    // let the sweep run before the late chunk was read: a 408 for an upload that never stopped.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const { p, up } = await proxy({ streamIdleTimeoutMs: 300 });
      const c = client(p.port);
      const chunk = 'x'.repeat(1024);
      c.socket.write(`POST / HTTP/1.1\r\nhost: svc\r\ncontent-length: ${20 * 1024}\r\n\r\n`);
      const closedEarly = c.closed.then(() => { throw new Error(`the proxy closed the upload: ${JSON.stringify(c.data().slice(0, 200))}`); });
      await Promise.race([up.bodyReceived(0), closedEarly]); // the head has reached the upstream
      for (let i = 1; i <= 20; i++) {
        await vi.advanceTimersByTimeAsync(100);
        c.socket.write(chunk);
        await Promise.race([up.bodyReceived(i * 1024), closedEarly]);
      }
      await c.received((d) => d.includes('\r\n\r\nok'));
      expect(c.data()).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(up.bodies).toEqual([20 * 1024]);
      expect(p.stats.downstream.get('downstream_rq_idle_timeout')).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('request headers timeout (off by default): a head not complete in time is answered 408', async () => {
    const { p, up } = await proxy({ requestHeadersTimeoutMs: 300, streamIdleTimeoutMs: 0 });
    const c = client(p.port);
    // Bytes keep coming (so no idle timeout applies), but the head never ends.
    c.socket.write('GET / HTTP/1.1\r\n');
    const dribble = setInterval(() => c.socket.write('x-a: b\r\n'), 50);
    await c.closed;
    clearInterval(dribble);
    expect(c.data()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(up.bodies).toEqual([]);
    expect(p.stats.downstream.get('downstream_rq_header_timeout')).toBe(1);
  });

  it('maxRequestsPerConnection: the Nth response says connection: close and the connection ends', async () => {
    const { p, up } = await proxy({ maxRequestsPerConnection: 3 });
    const c = client(p.port);
    c.socket.write(GET + GET + GET + GET);
    await c.closed;
    const heads = c.data().match(/HTTP\/1\.1 [^]*?\r\n\r\n/g) ?? [];
    expect(heads).toHaveLength(3);
    expect(heads[2]).toMatch(/\r\nconnection: close/);
    expect(heads[0]).not.toMatch(/connection: close/);
    expect(up.bodies).toHaveLength(3);
  });

  it('maxDownstreamConnections: a connection over the limit is closed at once, the others are served', async () => {
    const { p } = await proxy({ maxDownstreamConnections: 2 });
    const a = client(p.port);
    const b = client(p.port);
    a.socket.write(GET);
    b.socket.write(GET);
    await Promise.all([a.received((d) => d.includes('ok')), b.received((d) => d.includes('ok'))]);
    const third = client(p.port);
    await third.closed;
    expect(third.data()).toBe('');
    expect(p.stats.downstream.get('downstream_cx_overflow')).toBe(1);
    a.socket.write(GET);
    await a.received((d) => d.split('\r\n\r\nok').length >= 3);
    expect(a.data().split('\r\n\r\nok')).toHaveLength(3);
  });

  it('limits of 0 mean off: invalid values are refused by name', () => {
    expect(() => new ProxyServer({ host: '127.0.0.1', port: 0, limits: { streamIdleTimeoutMs: -1 } })).toThrow(/streamIdleTimeoutMs.*LIMIT_INVALID/);
    expect(() => new ProxyServer({ host: '127.0.0.1', port: 0, limits: { maxRequestsPerConnection: 1.5 } })).toThrow(/maxRequestsPerConnection.*LIMIT_INVALID/);
  });
});

describe('server header', () => {
  it('overwrites the upstream\'s with wasmesh by default, on proxied and local answers alike; settable; null passes it through', async () => {
    const up = await upstream();
    const run = async (serverHeader: string | null | undefined): Promise<string> => {
      const p = new ProxyServer({ host: '127.0.0.1', port: 0, ...(serverHeader === undefined ? {} : { serverHeader }) });
      p.apply(mesh(up.port), 1);
      await p.listen();
      cleanups.push(() => p.close());
      const c = client(p.port);
      c.socket.write(GET + 'GET / HTTP/1.1\r\n\r\n');
      await c.closed;
      return c.data();
    };
    const servers = (text: string): string[] => [...text.matchAll(/\r\nserver: ([^\r]*)/g)].map((m) => m[1]!);
    // The test upstream sends no server field; the second request (no Host) is the proxy's own 400.
    expect(servers(await run(undefined))).toEqual(['wasmesh', 'wasmesh']);
    expect(servers(await run('edge/1.0'))).toEqual(['edge/1.0', 'edge/1.0']);
    expect(servers(await run(null))).toEqual([]);
    expect(() => new ProxyServer({ host: '127.0.0.1', port: 0, serverHeader: 'bad\nvalue' })).toThrow(/SERVER_HEADER_INVALID/);
  });
});
