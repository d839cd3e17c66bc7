// WebSocket to an HTTP/2 upstream (RFC 8441 on the upstream side): a real `ws` client speaks the
// HTTP/1.1 upgrade to a ProxyServer whose cluster is HTTP/2 (port protocol HTTP2); the upstream is
// a node:http2 server that advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and runs WebSocket frames
// (ws's own Receiver and Sender, server side) on the extended CONNECT's stream. Checked: the
// upstream saw CONNECT with :protocol websocket, :path and :authority; the client's handshake
// completed (a 101 with a valid Sec-WebSocket-Accept made from its key); echo both ways, a 2 MiB
// message (HTTP/2 flow control on the upstream hop), close codes; an RFC 8441 client (CONNECT on
// both hops); an upstream refusal (403) is a
// normal response; an HTTP/2 upstream without the setting gets nothing (503 UR, as Envoy's
// CONNECT reset by such an upstream), while plain requests to it go on. Over both upstream
// codecs (node:http2's client sessions and the core codec's connection).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket, { Receiver, Sender } from 'ws';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { h2WebSocketUpstream } from '../helpers/h2-websocket.js';
import { meshWith, waitFor } from './traffic-helpers.js';
import { HTTP2_UPSTREAM_CODECS, type Http2UpstreamCodec } from '../../host/upstream/http2-upstream-codec.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers.length = 0;
});

/** An h2c upstream (test/helpers/h2-websocket.ts); with `connect`, extended CONNECT websocket streams echo WebSocket messages. */
const h2Upstream = (opts: { connect: boolean; refuse?: number }) => h2WebSocketUpstream(opts, closers);

/** The upstream codec under test (describe.each below); the listener's is the environment's. */
let upstreamCodec: Http2UpstreamCodec = 'nghttp2';

async function proxy(upPort: number): Promise<ProxyServer> {
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, istioMetrics: 'off', http2UpstreamCodec: upstreamCodec });
  const m = meshWith([{ name: 'backend', ports: [upPort] }]);
  (m.clusters[0] as { protocol?: string }).protocol = 'HTTP2';
  p.apply(m, 1);
  await p.listen();
  closers.push(() => p.close());
  return p;
}

function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { host: 'svc.test' }, maxPayload: 64 * 1024 * 1024 });
  closers.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe.each(HTTP2_UPSTREAM_CODECS)('WebSocket to an HTTP/2 upstream (extended CONNECT), upstream codec %s', (codec) => {
  beforeEach(() => {
    upstreamCodec = codec;
  });

  it('an HTTP/1.1 upgrade goes upstream as CONNECT :protocol websocket; the handshake completes; echo, 2 MiB, close codes', async () => {
    const up = await h2Upstream({ connect: true });
    const p = await proxy(up.port);
    const ws = await open(p.port);
    expect(up.seen).toEqual([{ method: 'CONNECT', protocol: 'websocket', path: '/chat', authority: 'svc.test' }]);
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data, binary) => got.push({ data: data as Buffer, binary }));
    ws.send('hello h2 upstream');
    const big = randomBytes(2 * 1024 * 1024);
    ws.send(big, { binary: true });
    await waitFor(() => got.length === 2, 10_000);
    expect(got[0]!.data.toString()).toBe('hello h2 upstream');
    expect(got[0]!.binary).toBe(false);
    expect(got[1]!.data.equals(big)).toBe(true);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(4002);
    expect(await closed).toBe(4002);
    expect(up.closes).toEqual([4002]);
  });

  it('an RFC 8441 client through to the HTTP/2 upstream: CONNECT on both hops, frames both ways', async () => {
    const up = await h2Upstream({ connect: true });
    const p = await proxy(up.port);
    const s = http2.connect(`http://127.0.0.1:${p.port}`);
    s.on('error', () => {});
    closers.push(() => void s.destroy());
    await new Promise<void>((r) => s.once('remoteSettings', () => r()));
    const stream = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/h2h2', ':authority': 'svc.test', 'sec-websocket-version': '13' }, { endStream: false });
    stream.on('error', () => {});
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    expect(headers[':status']).toBe(200);
    expect(up.seen).toEqual([{ method: 'CONNECT', protocol: 'websocket', path: '/h2h2', authority: 'svc.test' }]);
    const receiver = new Receiver({ isServer: false, maxPayload: 64 * 1024 * 1024 });
    const sender = new Sender(stream);
    const got: string[] = [];
    receiver.on('message', (data: Buffer) => got.push(Buffer.from(data).toString()));
    receiver.on('error', () => {});
    stream.pipe(receiver);
    sender.send(Buffer.from('both hops h2'), { binary: false, fin: true, mask: true, compress: false, rsv1: false }, () => {});
    await waitFor(() => got.length === 1);
    expect(got).toEqual(['both hops h2']);
  });

  it('a refused CONNECT (403) is a normal response to the client', async () => {
    const up = await h2Upstream({ connect: true, refuse: 403 });
    const p = await proxy(up.port);
    await expect(open(p.port)).rejects.toThrow('status 403');
    expect(up.seen[0]!.method).toBe('CONNECT');
  });

  it('an HTTP/2 upstream without SETTINGS_ENABLE_CONNECT_PROTOCOL gets nothing: 503 UR before any head (Envoy: its CONNECT reset), and plain requests still go', async () => {
    const up = await h2Upstream({ connect: false });
    const p = await proxy(up.port);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ port: p.port, host: '127.0.0.1', path: '/chat', headers: { host: 'svc.test', connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('response', (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(503);
    expect(res.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: remote reset');
    // Neither a CONNECT the upstream did not allow nor a plain GET in its place went out.
    expect(up.seen).toEqual([]);
    await expect(open(p.port)).rejects.toThrow('status 503');
    expect(up.seen).toEqual([]);
    // The connection is fine for plain requests.
    const plain = await new Promise<number>((resolve, reject) => {
      httpRequest({ port: p.port, host: '127.0.0.1', path: '/plain', headers: { host: 'svc.test' } }, (r) => (r.resume(), resolve(r.statusCode!))).on('error', reject).end();
    });
    expect(plain).toBe(426);
    expect(up.seen).toEqual([{ method: 'GET', protocol: undefined, path: '/plain', authority: 'svc.test' }]);
  });
});
