// Http2Downstream against a real node:http2 session (no proxy): how one stream's request is
// read (pseudo-headers, Host, cookies, framing, refusals) and how its response is written
// (connection-specific fields dropped, trailers for a `te: trailers` client, local replies,
// reset on abort, backpressure through onWritable).
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, connect, constants, type Http2Server, type ServerHttp2Stream, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Http2Downstream, type Http2DownstreamConnection } from '../../../host/listener/http2/http2-downstream.js';
import { BodyMode, type DownstreamHandler, type HeadSink } from '../../../host/listener/downstream.js';

const CONN: Http2DownstreamConnection = { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', security: null, serverName: 'wasmesh', originalDestination: null, streamEnded() {} };

let server: Http2Server | null = null;
let client: ClientHttp2Session | null = null;
afterEach(async () => {
  client?.destroy();
  client = null;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A server whose streams become Http2Downstreams handed to `onStream`; a client connected to it. */
async function pair(onStream: (ds: Http2Downstream) => void): Promise<ClientHttp2Session> {
  server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) => {
    onStream(new Http2Downstream(stream, CONN, raw, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0, 100));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', () => {});
  return client;
}

interface Got { headers: IncomingHttpHeaders; body: string; trailers: IncomingHttpHeaders | null; rstCode: number }

function fetch(c: ClientHttp2Session, headers: Record<string, string | string[]>, body?: string): Promise<Got> {
  return new Promise((resolve) => {
    const req = c.request({ ':path': '/p?q=1', ':authority': 'svc.test', ...headers }, { endStream: body === undefined });
    let h: IncomingHttpHeaders = {};
    let t: IncomingHttpHeaders | null = null;
    let b = '';
    req.on('response', (x) => (h = x));
    req.on('trailers', (x) => (t = x));
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('error', () => {});
    req.on('close', () => resolve({ headers: h, body: b, trailers: t, rstCode: req.rstCode ?? 0 }));
    if (body !== undefined) req.end(body);
  });
}

const source = (fields: Array<[string, string]>) => ({ emitHead(sink: HeadSink) { sink.status('OK'); for (const [n, v] of fields) sink.header(n, v); } });

function handler(over: Partial<DownstreamHandler> = {}): DownstreamHandler {
  return { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {}, ...over };
}

describe('Http2Downstream', () => {
  it('reads pseudo-headers into method/path/authority, Host first, split cookies joined, framing from content-length', async () => {
    let seen: Http2Downstream | null = null;
    const c = await pair((ds) => {
      seen = ds;
      ds.attach(handler(), false);
      ds.reply('204', [], '');
    });
    await fetch(c, { ':method': 'GET', cookie: ['a=1', 'b=2'], 'x-y': 'z' });
    const ds = seen! as Http2Downstream;
    expect(ds.method).toBe('GET');
    expect(ds.path).toBe('/p?q=1');
    expect(ds.authority).toBe('svc.test');
    expect(ds.protocol).toBe('HTTP/2');
    expect(ds.headers.slice(0, 2)).toEqual(['host', 'svc.test']);
    expect(ds.headers).toContain('x-y');
    expect(ds.headers.filter((x) => x.startsWith(':'))).toEqual([]);
    expect(ds.headers[ds.headers.indexOf('cookie') + 1]).toBe('a=1; b=2');
    expect(ds.bodyFraming).toBe('none');
    expect(ds.protocolError).toBeNull();
  });

  it('streams a request body to the handler, ending with last=true; content-length gives length framing', async () => {
    const chunks: number[] = [];
    let framing = '';
    const c = await pair((ds) => {
      framing = `${ds.bodyFraming}/${ds.bodyLength}`;
      ds.attach(handler({
        onBodyData: (chunk, last) => {
          chunks.push(chunk.length);
          if (last) ds.reply('200', [], `got ${chunks.reduce((a, b) => a + b, 0)}`);
        },
      }), true);
    });
    const r = await fetch(c, { ':method': 'POST', 'content-length': '5' }, 'hello');
    expect(framing).toBe('length/5');
    expect(r.body).toBe('got 5');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['server']).toBe('wasmesh');
  });

  it('drops connection-specific and framing fields from a response head; keeps repeated fields', async () => {
    const c = await pair((ds) => {
      ds.attach(handler(), false);
      ds.writeHead(200, source([['Connection', 'keep-alive'], ['keep-alive', 'timeout=5'], ['transfer-encoding', 'chunked'], ['upgrade', 'h2c'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['X-Mixed', 'v']]), BodyMode.Stream);
      ds.write(new TextEncoder().encode('body'));
      ds.end();
    });
    const r = await fetch(c, { ':method': 'GET' });
    expect(r.headers[':status']).toBe(200);
    for (const f of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade']) expect(r.headers[f]).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['x-mixed']).toBe('v');
    expect(r.body).toBe('body');
    expect(r.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it("takes a head from a source that calls the sink's methods as plain functions (the router does)", async () => {
    const c = await pair((ds) => {
      ds.attach(handler(), false);
      ds.writeHead(200, { emitHead(sink: HeadSink) { const { status, header } = sink; status('OK'); header('x-unbound', 'v'); } }, BodyMode.None);
    });
    const r = await fetch(c, { ':method': 'GET' });
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['x-unbound']).toBe('v');
  });

  it('an extended CONNECT :protocol websocket (RFC 8441) reads as a WebSocket upgrade: GET, no body, a key made', () => {
    // The head alone (the stream object is not read before attach).
    const stream = { on() {} } as never;
    const ds = new Http2Downstream(stream, CONN, [':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'https', ':path', '/chat', ':authority', 'svc.test', 'sec-websocket-version', '13'], false, 100);
    expect([ds.method, ds.path, ds.upgrade, ds.bodyFraming, ds.protocolError]).toEqual(['GET', '/chat', 'websocket', 'none', null]);
    const key = ds.headers[ds.headers.indexOf('sec-websocket-key') + 1]!;
    expect(Buffer.from(key, 'base64')).toHaveLength(16);
    // A client's own key is kept; another :protocol is 501.
    const own = new Http2Downstream(stream, CONN, [':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'https', ':path', '/', ':authority', 'a', 'sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='], false, 100);
    expect(own.headers.filter((h) => h === 'sec-websocket-key')).toHaveLength(1);
    expect(new Http2Downstream(stream, CONN, [':method', 'CONNECT', ':protocol', 'webtransport', ':scheme', 'https', ':path', '/', ':authority', 'a'], false, 100).protocolError?.status).toBe(501);
  });

  it('sends trailers in a trailing HEADERS frame to a client that takes them (te: trailers, gRPC)', async () => {
    const c = await pair((ds) => {
      ds.attach(handler(), false);
      ds.writeHead(200, source([['content-type', 'application/grpc']]), BodyMode.Stream);
      ds.write(new Uint8Array([0, 0, 0, 0, 0]));
      ds.end(['grpc-status', '7', 'grpc-message', 'denied', 'connection', 'x']);
    });
    const r = await fetch(c, { ':method': 'POST', te: 'trailers', 'content-type': 'application/grpc' }, '');
    expect(r.trailers).toMatchObject({ 'grpc-status': '7', 'grpc-message': 'denied' });
    expect(r.trailers!['connection']).toBeUndefined();
    expect(r.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
  });

  it('ends cleanly with an empty trailer block when a te: trailers client gets none; drops trailers for other clients', async () => {
    const c = await pair((ds) => {
      ds.attach(handler(), false);
      ds.writeHead(200, source([]), BodyMode.Stream);
      ds.write(new TextEncoder().encode('x'));
      ds.end(ds.path === '/p?q=1' && ds.headers.includes('te') ? undefined : ['grpc-status', '0']);
    });
    const a = await fetch(c, { ':method': 'GET', te: 'trailers' });
    expect(a.body).toBe('x');
    expect(a.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    const b = await fetch(c, { ':method': 'GET' });
    expect(b.body).toBe('x');
    expect(b.trailers).toBeNull();
  });

  it('abort() resets only its stream with INTERNAL_ERROR and does not report a client abort', async () => {
    let aborted = 0;
    let n = 0;
    const c = await pair((ds) => {
      ds.attach(handler({ onAborted: () => aborted++ }), false);
      if (n++ === 0) {
        ds.writeHead(200, source([]), BodyMode.Length, 100);
        ds.write(new Uint8Array(10));
        setTimeout(() => ds.abort(), 20);
      } else ds.reply('200', [], 'second');
    });
    const a = await fetch(c, { ':method': 'GET' });
    expect(a.rstCode).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    const b = await fetch(c, { ':method': 'GET' });
    expect(b.body).toBe('second');
    expect(aborted).toBe(0);
  });

  it('reports a client reset as onAborted', async () => {
    let aborted = 0;
    const c = await pair((ds) => {
      ds.attach(handler({ onAborted: () => aborted++ }), false);
      ds.writeHead(200, source([]), BodyMode.Stream);
      ds.write(new Uint8Array(1));
    });
    const req = c.request({ ':path': '/', ':authority': 'x' });
    req.on('error', () => {});
    await new Promise<void>((r) => req.once('data', () => r()));
    req.close(constants.NGHTTP2_CANCEL);
    for (let i = 0; i < 100 && aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(1);
  });

  it('write() returns false under backpressure and onWritable follows once the client reads', async () => {
    let falses = 0;
    let writable = 0;
    const c = await pair((ds) => {
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!ds.write(chunk)) {
            falses++;
            return;
          }
        }
        ds.end();
      };
      ds.attach(handler({ onWritable: () => { writable++; pump(); } }), false);
      ds.writeHead(200, source([]), BodyMode.Stream);
      pump();
    });
    const r = await fetch(c, { ':method': 'GET' });
    expect(r.body.length).toBe(4 * 1024 * 1024);
    expect(falses).toBeGreaterThan(0);
    expect(writable).toBe(falses);
  });
});
