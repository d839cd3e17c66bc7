// The exporter's raw HTTP/1.1 client against real loopback collectors: node's http server for
// keep-alive reuse, and raw net servers for what a collector may do on the wire (close between
// reports, answer 500, never answer, answer chunked or read-to-close, or not be there).
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { CollectorClient } from '../../../host/telemetry/tracing/collector-client.js';
import { closedPort } from '../../helpers/ports.js';
import { until } from '../../helpers/poll-until.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: net.Server | http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    if (server instanceof http.Server) server.closeAllConnections();
    server.close(() => r());
  }));
  return (server.address() as net.AddressInfo).port;
}

/** A raw collector: reads one request (head + Content-Length body) at a time and answers `answer(n)`. */
async function rawCollector(answer: (n: number, sock: net.Socket) => void): Promise<{ port: number; requests: string[]; connections: number; closed: number }> {
  const state = { port: 0, requests: [] as string[], connections: 0, closed: 0 };
  const socks: net.Socket[] = [];
  const server = net.createServer((sock) => {
    state.connections++;
    socks.push(sock);
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('close', () => state.closed++);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        state.requests.push(head + '\r\n\r\n' + buf.toString('utf8', end + 4, end + 4 + len));
        buf = buf.subarray(end + 4 + len);
        answer(state.requests.length, sock);
      }
    });
  });
  state.port = await listen(server);
  cleanups.push(() => { for (const s of socks) s.destroy(); });
  return state;
}

describe('CollectorClient', () => {
  it('keep-alive: many reports over one connection, each a complete POST with Host and Content-Length', async () => {
    const got: Array<{ method: string; url: string; host: string; type: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ method: req.method!, url: req.url!, host: req.headers.host!, type: req.headers['content-type']!, body });
        res.writeHead(202).end();
      });
    });
    const port = await listen(server);
    const c = new CollectorClient('127.0.0.1', port, '/api/v2/spans', 2000);
    cleanups.push(() => c.close());
    for (let i = 0; i < 20; i++) expect(await c.post(JSON.stringify([{ i, name: 'é span' }]))).toBe(202);
    expect(c.connections).toBe(1);
    expect(got).toHaveLength(20);
    expect(got[7]).toEqual({ method: 'POST', url: '/api/v2/spans', host: `127.0.0.1:${port}`, type: 'application/json', body: '[{"i":7,"name":"é span"}]' });
  });

  it('a collector closing the connection between reports: the next report goes on a new connection', async () => {
    const col = await rawCollector((_n, sock) => {
      sock.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
      setTimeout(() => sock.end(), 5);
    });
    const c = new CollectorClient('127.0.0.1', col.port, '/v1/traces', 2000);
    cleanups.push(() => c.close());
    for (let i = 0; i < 3; i++) {
      expect(await c.post('[]')).toBe(202);
      // Until the close has gone both ways (the collector's socket closes once the client's FIN
      // is back), then a few turns for the client's own 'close': not a time, which a loaded
      // machine can outrun (the report then goes on the dying connection and is sent twice).
      await until('the collector connection closed', async () => (col.closed === i + 1 ? true : undefined));
      for (let t = 0; t < 3; t++) await new Promise((r) => setImmediate(r));
    }
    expect(col.requests).toHaveLength(3);
    expect(col.connections).toBe(3);
    expect(c.connections).toBe(3);
  });

  it('a collector that closes the reused connection as the report is written: sent once more on a new one', async () => {
    // The first connection answers and then drops the next request unanswered (as a collector's
    // idle timeout racing our write would); the retry on a fresh connection is answered.
    const col = await rawCollector((n, sock) => {
      if (n === 2) sock.destroy();
      else sock.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
    });
    const c = new CollectorClient('127.0.0.1', col.port, '/v1/traces', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[1]')).toBe(202);
    expect(await c.post('[2]')).toBe(202);
    expect(col.requests.map((r) => r.slice(r.indexOf('\r\n\r\n') + 4))).toEqual(['[1]', '[2]', '[2]']);
    expect(c.connections).toBe(2);
  });

  it('Connection: close and read-to-close answers end the connection; the next report reconnects', async () => {
    const col = await rawCollector((n, sock) => {
      if (n === 1) sock.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else sock.end('HTTP/1.1 201 Created\r\n\r\nbody until close');
    });
    const c = new CollectorClient('127.0.0.1', col.port, '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe(200);
    expect(await c.post('[]')).toBe(201);
    expect(await c.post('[]')).toBe(201);
    expect(c.connections).toBe(3);
  });

  it('a 500 answer with a body: the status is returned and the connection kept', async () => {
    const col = await rawCollector((_n, sock) => sock.write('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nstore down!'));
    const c = new CollectorClient('127.0.0.1', col.port, '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe(500);
    expect(await c.post('[]')).toBe(500);
    expect(c.connections).toBe(1);
  });

  it('chunked answers, split across writes at awkward places, with trailers and a 100 Continue before', async () => {
    const col = await rawCollector((n, sock) => {
      const parts = n === 1
        ? ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'lo\r\n1', '0;ext=1\r\n0123456789abcdef\r\n0\r', '\n\r\n']
        : ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n', '\r\n'];
      let i = 0;
      const next = (): void => {
        if (i < parts.length) { sock.write(parts[i++]!); setTimeout(next, 5); }
      };
      next();
    });
    const c = new CollectorClient('127.0.0.1', col.port, '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe(200);
    expect(await c.post('[]')).toBe(202);
    expect(await c.post('[]')).toBe(202);
    expect(c.connections).toBe(1);
  });

  it('a collector that never answers: the report times out (failed) and the next one uses a new connection', async () => {
    const col = await rawCollector((n, sock) => {
      if (n > 1) sock.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
    });
    const c = new CollectorClient('127.0.0.1', col.port, '/x', 150);
    cleanups.push(() => c.close());
    const t0 = performance.now();
    expect(await c.post('[]')).toBe('failed');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await c.post('[]')).toBe(202);
    expect(c.connections).toBe(2);
  });

  it('a garbled answer fails the report and drops the connection', async () => {
    const col = await rawCollector((_n, sock) => sock.write('SPDY/9 nonsense\r\n\r\n'));
    const c = new CollectorClient('127.0.0.1', col.port, '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe('failed');
  });

  it('a collector that is down: failed, then reports fail at once during the backoff without connecting', async () => {
    const c = new CollectorClient('127.0.0.1', await closedPort(), '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe('failed');
    expect(c.connections).toBe(1);
    expect(await c.post('[]')).toBe('failed');
    expect(c.connections).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(await c.post('[]')).toBe('failed');
    expect(c.connections).toBe(2);
  });

  it('a collector that comes back is reached once the backoff has passed', async () => {
    const port = await closedPort();
    const c = new CollectorClient('127.0.0.1', port, '/x', 2000);
    cleanups.push(() => c.close());
    expect(await c.post('[]')).toBe('failed');
    const server = http.createServer((_q, res) => res.writeHead(202).end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    await new Promise((r) => setTimeout(r, 120));
    expect(await c.post('[]')).toBe(202);
  });
});
