// Downstream HTTP/2 with prior knowledge (h2c) through a real ProxyServer to an HTTP/1.1
// upstream, with node:http2 clients: the preface is sniffed on the plain port, streams map to
// requests, bodies flow both ways with flow control, resets stay per stream.
import { describe, it, expect, afterEach } from 'vitest';
import { connect as netConnect } from 'node:net';
import { constants } from 'node:http2';
import { startH2Rig, h2c, h2request, closeSession, HOST, type H2Rig } from './h2-rig.js';
import { waitFor } from '../http1/wire-harness.js';
import { HTTP2_CODECS } from '../../../host/listener/http2-listener-kind.js';

let rig: H2Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

describe.each(HTTP2_CODECS)('h2c prior knowledge (%s)', (codec) => {
  it('GET: pseudo-headers become method, path and Host; connection-specific fields are not sent back; counted and logged HTTP/2', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    expect(rig.proxy.http2Codec).toBe(codec);
    const s = h2c(rig.proxy.port);
    const r = await h2request(s, { ':method': 'GET', ':path': '/hello?x=1', 'x-custom': 'v' });
    expect(r.headers[':status']).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ method: 'GET', url: '/hello?x=1', bodyBytes: 0, host: HOST });
    expect(r.headers['x-up']).toBe('yes');
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['connection']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(rig.seen[0]!.headers['x-custom']).toBe('v');
    await closeSession(s);
    expect(rig.proxy.stats.downstream.get('downstream_cx_http2_total')).toBe(1);
    expect(rig.proxy.stats.downstream.get('downstream_rq_http2_total')).toBe(1);
    await waitFor(() => rig!.logs.length === 1, 2000, 'access log entry');
    expect(rig.logs[0]).toMatchObject({ code: 200, protocol: 'HTTP/2', method: 'GET', path: '/hello?x=1' });
  });

  it('POST with a body, with and without content-length, reaches the upstream whole', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const a = await h2request(s, { ':method': 'POST', ':path': '/a', 'content-length': '11' }, 'hello world');
    const b = await h2request(s, { ':method': 'POST', ':path': '/b' }, Buffer.alloc(300_000, 1));
    expect(JSON.parse(a.body.toString())).toMatchObject({ bodyBytes: 11 });
    expect(JSON.parse(b.body.toString())).toMatchObject({ bodyBytes: 300_000 });
    expect(rig.seen[1]!.headers['transfer-encoding']).toBe('chunked');
    await closeSession(s);
  });

  it('a large response to a slow reader: flow control holds it back, every byte arrives', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const size = 24 * 1024 * 1024;
    const req = s.request({ ':authority': HOST, ':method': 'GET', ':path': `/big/${size}` });
    let got = 0;
    req.on('data', (d: Buffer) => {
      got += d.length;
      // Stop reading for a while, twice: the proxy must wait for window updates, not drop.
      if (got > 2_000_000 && got - d.length <= 2_000_000) {
        req.pause();
        setTimeout(() => req.resume(), 300);
      }
    });
    await new Promise<void>((r, j) => {
      req.on('end', () => r());
      req.on('error', j);
    });
    expect(got).toBe(size);
    await closeSession(s);
  });

  it('a large request body with the upstream slower than the client is taken whole (backpressure upstream)', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const r = await h2request(s, { ':method': 'PUT', ':path': '/up' }, Buffer.alloc(8 * 1024 * 1024, 2));
    expect(JSON.parse(r.body.toString())).toMatchObject({ bodyBytes: 8 * 1024 * 1024 });
    await closeSession(s);
  });

  it('many concurrent streams on one connection each get their own answer', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => h2request(s, { ':method': 'GET', ':path': `/n/${i}` })));
    all.forEach((r, i) => expect(JSON.parse(r.body.toString()).url).toBe(`/n/${i}`));
    expect(rig.proxy.stats.downstream.get('downstream_cx_http2_total')).toBe(1);
    await closeSession(s);
  });

  it('a client RST_STREAM mid-response cancels that stream only; the connection serves the next', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const req = s.request({ ':authority': HOST, ':method': 'GET', ':path': '/slow' });
    await new Promise<void>((r) => req.once('data', () => r()));
    req.close(constants.NGHTTP2_CANCEL);
    await waitFor(() => rig!.logs.length === 1, 3000, 'access log of the reset stream');
    expect(rig.logs[0]!.flags).toContain('DC');
    const r = await h2request(s, { ':method': 'GET', ':path': '/after' });
    expect(r.headers[':status']).toBe(200);
    await closeSession(s);
  });

  it('abort() resets the stream with INTERNAL_ERROR (upstream gone mid-body), not the connection', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const s = h2c(rig.proxy.port);
    const req = s.request({ ':authority': HOST, ':method': 'GET', ':path': '/die' });
    req.on('data', () => {});
    req.on('error', () => {});
    const code = new Promise<number>((r) => req.on('close', () => r(req.rstCode)));
    expect(await code).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    const r = await h2request(s, { ':method': 'GET', ':path': '/after' });
    expect(r.headers[':status']).toBe(200);
    await closeSession(s);
  });

  it('HTTP/1.1 on the same port still works, and a broken preface is an HTTP/1 error (400)', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const one = await rawExchange(rig.proxy.port, `GET /one HTTP/1.1\r\nhost: ${HOST}\r\nconnection: close\r\n\r\n`);
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
    const bad = await rawExchange(rig.proxy.port, 'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n');
    expect(bad).toMatch(/^HTTP\/1\.1 (400|505) /);
    expect(rig.proxy.stats.downstream.get('downstream_cx_http2_total')).toBe(0);
  });

  it('a preface split over several reads is still recognised', async () => {
    rig = await startH2Rig({ http2Codec: codec });
    const { HTTP2_PREFACE } = await import('../../../host/listener/protocol-sniff.js');
    const sock = netConnect(rig.proxy.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.setNoDelay(true);
    sock.write(HTTP2_PREFACE.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 50));
    sock.write(HTTP2_PREFACE.subarray(5));
    // An empty SETTINGS frame: the server answers with its own SETTINGS (type 4).
    sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    const first = await new Promise<Buffer>((r) => sock.once('data', (d: Buffer) => r(d)));
    expect(first[3]).toBe(4);
    sock.destroy();
    await waitFor(() => rig!.proxy.stats.downstream.get('downstream_cx_http2_total') === 1, 2000, 'h2 connection counted');
  });
});

function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = netConnect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.on('error', () => resolve(out));
    sock.write(text);
    setTimeout(() => sock.destroy(), 3000);
  });
}
