// ProxyServer end to end over loopback: proxying, keep-alive reuse, failures with their
// response flags (NR, UH, UF, UC, UT, UPE, UO, DPE), header behaviour and version swaps.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import type { Limits } from '../../host/common/limits.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { startHttpUpstream, startRawUpstream, readHead, type HttpUpstream, type RawUpstream } from '../helpers/upstream-servers.js';
import { closedPort } from '../helpers/ports.js';
import { request, rawExchange } from '../helpers/http-client.js';
import { mesh, oneCluster } from '../helpers/mesh-fixtures.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function proxy(m: MeshConfig, limits: Partial<Limits> = {}): Promise<{ p: ProxyServer; logs: AccessLogEntry[] }> {
  const logs: AccessLogEntry[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 200, ...limits } });
  p.apply(m, 1);
  await p.listen();
  cleanups.push(() => p.close());
  return { p, logs };
}

async function upstream(handler: http.RequestListener): Promise<HttpUpstream> {
  const up = await startHttpUpstream(handler);
  cleanups.push(() => up.close());
  return up;
}

async function raw(onConn: Parameters<typeof startRawUpstream>[0]): Promise<RawUpstream> {
  const up = await startRawUpstream(onConn);
  cleanups.push(() => up.close());
  return up;
}

const waitFor = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('ProxyServer: proxying', () => {
  it('proxies a request and reuses the upstream connection across downstream connections', async () => {
    const up = await upstream((req, res) => {
      res.setHeader('x-up', 'yes');
      res.end(`${req.method} ${req.url}`);
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    for (let i = 0; i < 5; i++) {
      const r = await request(p.port, { path: `/a/${i}?q=1` });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`GET /a/${i}?q=1`);
      expect(r.headers['x-up']).toBe('yes');
      expect(r.headers['server']).toBe('wasmesh');
      expect(Number(r.headers['x-envoy-upstream-service-time'])).toBeGreaterThanOrEqual(0);
    }
    expect(up.connections).toBe(1);
    expect(up.requests[0]!.headers.host).toBe('svc.test');
    await waitFor(() => logs.length === 5);
    expect(logs[0]).toMatchObject({ code: 200, flags: '-', upstreamCluster: 'backend', route: 'default/vs/0', version: 1 });
    expect(p.stats.downstream.get('downstream_rq_2xx')).toBe(5);
    expect(p.stats.cluster('backend').get('upstream_rq_200')).toBe(5);
    expect(p.stats.render()).toMatch(/^cluster\.backend\.upstream_cx_total: 1$/m);
  });

  it('forwards request bodies (content-length and chunked) and chunked responses', async () => {
    const up = await upstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.write(`${req.headers['content-length'] ?? '-'}|${req.headers['transfer-encoding'] ?? '-'}|`);
        res.end(Buffer.concat(chunks));
      });
    });
    const { p } = await proxy(oneCluster([up.port]));
    const a = await request(p.port, { method: 'POST', body: 'hello body' });
    expect(a.body.toString()).toBe('10|-|hello body');
    const b = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/', headers: { host: 'svc.test', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        let s = '';
        res.on('data', (d) => (s += d));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.write('part1-');
      setTimeout(() => req.end('part2'), 20);
    });
    expect(b).toBe('-|chunked|part1-part2');
  });

  it('answers HEAD and 204 without a body', async () => {
    const up = await upstream((req, res) => {
      if (req.url === '/none') {
        res.statusCode = 204;
        res.end();
      } else {
        res.setHeader('content-length', '10');
        res.end(req.method === 'HEAD' ? undefined : '0123456789');
      }
    });
    const { p } = await proxy(oneCluster([up.port]));
    const h = await request(p.port, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe('10');
    expect(h.body.length).toBe(0);
    const n = await request(p.port, { path: '/none' });
    expect(n.status).toBe(204);
    expect(n.body.length).toBe(0);
  });
});

describe('ProxyServer: headers', () => {
  it('sends one date (uWS) and overwrites server, like Envoy; hop-by-hop response fields are not forwarded', async () => {
    const up = await upstream((_req, res) => {
      res.setHeader('server', 'backend/1.0');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-app', 'a');
      res.end('ok');
    });
    const { p } = await proxy(oneCluster([up.port]));
    const r = await rawExchange(p.port, 'GET / HTTP/1.1\r\nhost: svc.test\r\n\r\n', 10_000, (d) => d.includes('\r\n\r\nok'));
    const head = r.data.toString().split('\r\n\r\n')[0]!.toLowerCase();
    expect(head.match(/^date:/gm)?.length).toBe(1);
    expect(head.match(/^server:.*$/gm)).toEqual(['server: wasmesh']);
    expect(head).not.toMatch(/^keep-alive:/m);
    expect(head).toMatch(/^x-app: a$/m);
  });

  it('adds x-request-id when absent, keeps it when present, appends to x-forwarded-for, sets x-forwarded-proto, passes trace headers untouched', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const { p, logs } = await proxy(oneCluster([up.port]));
    await request(p.port);
    const trace = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'congo=t61rcWkgMzE',
      'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
      'x-b3-spanid': 'e457b5a2e4d86bd1',
      'x-b3-sampled': '1',
      b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
    };
    await request(p.port, { headers: { 'x-request-id': 'abc-123', 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'https', ...trace } });
    const [first, second] = up.requests;
    expect(first!.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(first!.headers['x-forwarded-proto']).toBe('http');
    expect(second!.headers['x-request-id']).toBe('abc-123');
    expect(second!.headers['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(second!.headers['x-forwarded-proto']).toBe('https');
    for (const [k, v] of Object.entries(trace)) expect(second!.headers[k]).toBe(v);
    await waitFor(() => logs.length === 2);
    expect(logs[1]!.requestId).toBe('abc-123');
    expect(logs[0]!.requestId).toBe(first!.headers['x-request-id']);
  });

  it('x-forwarded-for names each request\'s own client as clients from different addresses alternate', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const { p } = await proxy(oneCluster([up.port]));
    // Loopback is a /8: clients bound to 127.0.0.2 and 127.0.0.3 reach the proxy on 127.0.0.1.
    const from = ['127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.1', '127.0.0.3'];
    for (const localAddress of from) expect((await request(p.port, { localAddress })).status).toBe(200);
    expect(up.requests.map((r) => r.headers['x-forwarded-for'])).toEqual(from);
  });

  it('applies route and destination header ops to requests and responses', async () => {
    const up = await upstream((_req, res) => {
      res.setHeader('x-secret', 's');
      res.setHeader('x-keep', 'k');
      res.end('ok');
    });
    const m = mesh([{ name: 'backend', ports: [up.port] }], [{
      name: 'r',
      dests: [{ cluster: 'backend', requestHeaders: { set: [['x-dest', 'd']] }, responseHeaders: { add: [['x-served-by', 'backend']] } }],
      requestHeaders: { set: [['x-route', 'r']], remove: ['x-drop'] },
      responseHeaders: { remove: ['x-secret'] },
    }]);
    const { p } = await proxy(m);
    const r = await request(p.port, { headers: { 'x-drop': 'gone', 'x-route': 'client' } });
    const seen = up.requests[0]!.headers;
    expect(seen['x-route']).toBe('r');
    expect(seen['x-dest']).toBe('d');
    expect(seen['x-drop']).toBeUndefined();
    expect(r.headers['x-secret']).toBeUndefined();
    expect(r.headers['x-keep']).toBe('k');
    expect(r.headers['x-served-by']).toBe('backend');
  });
});

describe('ProxyServer: failures and flags', () => {
  it('404 NR when no route matches', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const { p, logs } = await proxy(oneCluster([up.port], { prefix: '/api' }));
    expect((await request(p.port, { path: '/other' })).status).toBe(404);
    expect((await request(p.port, { path: '/api/x', headers: { host: 'unknown.host' } })).status).toBe(404);
    await waitFor(() => logs.length === 2);
    expect(logs.map((l) => l.flags)).toEqual(['NR', 'NR']);
    expect(p.stats.flag('NR')).toBe(2);
    expect(p.stats.downstream.get('no_route')).toBe(2);
  });

  it('503 UH when the cluster has no endpoint', async () => {
    const { p, logs } = await proxy(oneCluster([]));
    const r = await request(p.port);
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe('no healthy upstream');
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UH');
  });

  it('503 UF when the endpoint refuses connections (after Istio\'s default 2 retries on connect-failure: UF,URX)', async () => {
    const { p, logs } = await proxy(oneCluster([await closedPort()]));
    const r = await request(p.port);
    expect(r.status).toBe(503);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UF,URX');
    expect(logs[0]!.attempts).toBe(3);
    expect(p.stats.cluster('backend').get('upstream_cx_connect_fail')).toBe(3);
    expect(p.stats.cluster('backend').get('upstream_rq_retry')).toBe(2);
    expect(p.stats.cluster('backend').get('upstream_rq_retry_limit_exceeded')).toBe(1);
  });

  it('503 UC when the upstream resets before the head; abort downstream (UC) when it resets mid-body', async () => {
    const up = await raw(async (s, i) => {
      await readHead(s);
      if (i === 0) s.destroy();
      else {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n' + 'x'.repeat(100));
        setTimeout(() => s.destroy(), 30);
      }
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    const r = await request(p.port);
    expect(r.status).toBe(503);
    await expect(request(p.port)).rejects.toThrow();
    await waitFor(() => logs.length === 2);
    expect(logs.map((l) => [l.code, l.flags])).toEqual([[503, 'UC'], [200, 'UC']]);
  });

  it('aborts a chunked downstream response when the upstream dies mid-body (client sees no terminal chunk)', async () => {
    const up = await raw(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => s.destroy(), 30);
    });
    const { p } = await proxy(oneCluster([up.port]));
    const r = await rawExchange(p.port, 'GET / HTTP/1.1\r\nhost: svc.test\r\n\r\n', 5000);
    expect(r.closedByServer).toBe(true);
    const text = r.data.toString();
    expect(text).toContain('hello');
    expect(text.endsWith('0\r\n\r\n')).toBe(false);
  });

  it('502 UPE for an invalid upstream response head', async () => {
    const up = await raw(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 abc nonsense\r\n\r\n');
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    expect((await request(p.port)).status).toBe(502);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UPE');
  });

  it('504 UT when the route timeout expires before the head, and the upstream socket is closed', async () => {
    const up = await raw(async (s) => {
      await readHead(s); // never answers
    });
    const { p, logs } = await proxy(oneCluster([up.port], { timeoutMs: 150 }));
    const t0 = Date.now();
    const r = await request(p.port);
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await waitFor(() => logs.length === 1 && up.sockets[0]!.destroyed === false);
    expect(logs[0]!.flags).toBe('UT');
    await waitFor(() => p.clusters()[0]!.connections === 0);
    expect(p.stats.cluster('backend').get('upstream_rq_timeout')).toBe(1);
  });

  it('a request deadline (grpc-timeout) shorter than the route timeout: 504 UT at the deadline', async () => {
    const up = await raw(async (s) => {
      await readHead(s); // never answers
    });
    const { p, logs } = await proxy(oneCluster([up.port], { timeoutMs: 60_000 }));
    const t0 = Date.now();
    const r = await request(p.port, { headers: { 'grpc-timeout': '150m' } });
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UT');
  });

  it('grpc-timeout beyond a Node timer\'s range (99999999H, no route timeout) is not cut to 1 ms: the late answer goes through', async () => {
    const up = await upstream((_req, res) => setTimeout(() => res.end('late'), 100));
    const { p, logs } = await proxy(oneCluster([up.port], { timeoutMs: 0 }), { defaultRouteTimeoutMs: 0 });
    const r = await request(p.port, { headers: { 'grpc-timeout': '99999999H' } });
    expect([r.status, r.body.toString()]).toEqual([200, 'late']);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('-');
  });

  it('route timeouts of requests answered in time never fire; a later stalled request still times out (one timer for all)', async () => {
    let stall = false;
    const up = await raw(async (s) => {
      for (;;) {
        await readHead(s);
        if (stall) return; // never answers
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
    const { p, logs } = await proxy(oneCluster([up.port], { timeoutMs: 300 }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) expect((await request(p.port, { agent })).status).toBe(200);
    agent.destroy();
    stall = true;
    const t0 = Date.now();
    const r = await request(p.port);
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await waitFor(() => logs.length === 21);
    expect(logs.filter((l) => l.flags === 'UT')).toHaveLength(1);
    expect(p.stats.cluster('backend').get('upstream_rq_timeout')).toBe(1);
  });

  it('route timeout after the head was sent: the downstream is aborted (UT), never completed', async () => {
    const up = await raw(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhalf'); // then stalls
    });
    const { p, logs } = await proxy(oneCluster([up.port], { timeoutMs: 150 }));
    const r = await rawExchange(p.port, 'GET / HTTP/1.1\r\nhost: svc.test\r\n\r\n', 5000);
    expect(r.closedByServer).toBe(true);
    expect(r.data.toString()).toMatch(/^HTTP\/1\.1 200[^]*half$/);
    await waitFor(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ code: 200, flags: 'UT' });
  });

  it('503 UO when the cluster connection limit is reached', async () => {
    const hold: http.ServerResponse[] = [];
    const up = await upstream((_req, res) => hold.push(res));
    const { p, logs } = await proxy(oneCluster([up.port]), { maxConnectionsPerCluster: 1, maxPendingPerCluster: 0 });
    const first = request(p.port);
    await waitFor(() => hold.length === 1);
    const r = await request(p.port);
    expect(r.status).toBe(503);
    hold[0]!.end('done');
    expect((await first).body.toString()).toBe('done');
    await waitFor(() => logs.length === 2);
    expect(logs.map((l) => l.flags).sort()).toEqual(['-', 'UO']);
  });

  it('client abort cancels the upstream request (socket closed), flag DC', async () => {
    let upstreamClosed = false;
    const up = await raw(async (s) => {
      s.on('close', () => (upstreamClosed = true));
      await readHead(s);
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    const net = await import('node:net');
    const c = net.connect(p.port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nhost: svc.test\r\n\r\n'));
    c.on('error', () => {});
    await waitFor(() => up.connections === 1 && up.sockets[0]!.bytesRead > 0);
    c.destroy();
    await waitFor(() => upstreamClosed && logs.length === 1);
    expect(logs[0]).toMatchObject({ flags: 'DC', code: 0 });
    expect(p.stats.flag('DC')).toBe(1);
    expect(p.inflight).toBe(0);
  });

  it('retries once on a fresh connection when a reused keep-alive connection was closed under it', async () => {
    const up = await raw(async (s, i) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      if (i === 0) {
        await readHead(s);
        s.destroy(); // the race: closes instead of answering the second request
      }
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    expect((await request(p.port)).status).toBe(200);
    expect((await request(p.port)).status).toBe(200);
    expect(up.connections).toBe(2);
    expect(p.stats.cluster('backend').get('upstream_rq_retry_stale')).toBe(1);
    await waitFor(() => logs.length === 2);
  });
});

describe('ProxyServer: limits enforced by wasmesh', () => {
  it('431 DPE for a request head over maxRequestHeadBytes or more headers than maxRequestHeaders', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const { p, logs } = await proxy(oneCluster([up.port]), { maxRequestHeaders: 10 });
    const many: Record<string, string> = {};
    for (let i = 0; i < 12; i++) many[`x-h${i}`] = 'v';
    expect((await request(p.port, { headers: many })).status).toBe(431);
    expect((await request(p.port, { headers: { 'x-big': 'a'.repeat(61 * 1024) } })).status).toBe(431);
    expect((await request(p.port, { headers: { 'x-big': 'a'.repeat(50 * 1024) } })).status).toBe(200);
    await waitFor(() => logs.length === 3);
    expect(logs[0]!.flags).toBe('DPE');
    expect(up.requests.length).toBe(1);
  });

  it('answers 431 above 100 header lines (Envoy\'s max_headers_count) and serves 100, with nothing forwarded for the refused one', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const { p, logs } = await proxy(oneCluster([up.port]));
    let h = '';
    for (let i = 0; i < 100; i++) h += `x-h${i}: v\r\n`;
    const r = await rawExchange(p.port, `GET / HTTP/1.1\r\nhost: svc.test\r\n${h}\r\n`, 10_000, (d) => d.includes('\r\n\r\n'));
    expect(r.data.toString()).toMatch(/^HTTP\/1\.1 431 /);
    expect(up.requests.length).toBe(0);
    h = '';
    for (let i = 0; i < 99; i++) h += `x-h${i}: v\r\n`;
    const ok = await rawExchange(p.port, `GET / HTTP/1.1\r\nhost: svc.test\r\n${h}\r\n`, 10_000, (d) => d.includes('\r\n'));
    expect(ok.data.toString()).toMatch(/^HTTP\/1\.1 200/);
    await waitFor(() => logs.length === 2);
    expect(logs[0]).toMatchObject({ code: 431, flags: 'DPE' });
  });
});

describe('ProxyServer: versions', () => {
  it('rejects a bad mesh and keeps serving the old version', async () => {
    const up = await upstream((_req, res) => res.end('v1'));
    const { p } = await proxy(oneCluster([up.port]));
    const bad = oneCluster([up.port]);
    bad.virtualHosts[0]!.routes[0]!.destinations[0]!.cluster = 'nope';
    expect(() => p.apply(bad, 2)).toThrow(/unknown_cluster|nope/);
    expect(p.current!.version).toBe(1);
    expect((await request(p.port)).body.toString()).toBe('v1');
  });

  it('keeps pooled connections across a reload with unchanged endpoints; in-flight requests finish on their version, which is then freed', async () => {
    const hold: http.ServerResponse[] = [];
    const up = await upstream((req, res) => {
      if (req.url === '/slow') hold.push(res);
      else res.end('fast');
    });
    const { p, logs } = await proxy(oneCluster([up.port]));
    await request(p.port);
    const v1 = p.current!;
    const slow = request(p.port, { path: '/slow' });
    await waitFor(() => hold.length === 1);
    p.apply(oneCluster([up.port], { name: 'renamed' }), 2);
    expect(v1.freed).toBe(false);
    expect(v1.inflight).toBe(1);
    expect((await request(p.port)).body.toString()).toBe('fast');
    hold[0]!.end('slow done');
    expect((await slow).body.toString()).toBe('slow done');
    await waitFor(() => v1.freed);
    expect(up.connections).toBe(2); // one warm connection reused, one for the concurrent slow request
    await waitFor(() => logs.length === 3);
    expect(logs.map((l) => `${l.version}:${l.route}`).sort()).toEqual(['1:default/vs/0', '1:default/vs/0', '2:renamed']);
  });
});
