// WebSocket over HTTP/2 (RFC 8441) through a real proxy: a hand-made HTTP/2 client (node:http2,
// an extended CONNECT with :protocol websocket, h2c) carries WebSocket frames (ws's own Sender and
// Receiver) in its stream's DATA frames; the proxy maps the stream onto its WebSocket upgrade path
// to a `ws` server over HTTP/1.1, as Envoy does. Checked: the server's SETTINGS, the upstream's
// upgrade request, echo both ways, a 5 MiB message (flow control and backpressure on both hops),
// close codes, a refused upgrade, another stream on the same connection during the tunnel, and
// the access log and stats.
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP2_CODECS, type Http2Codec } from '../../host/listener/http2-listener-kind.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { h2cSession, openH2WebSocket as openWebSocket } from '../helpers/h2-websocket.js';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import { meshWith, waitFor } from './traffic-helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers.length = 0;
});

/** A ws echo server behind an http server; `refuse` answers upgrades with that status instead. */
async function wsUpstream(opts: { refuse?: number } = {}): Promise<{ port: number; heads: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>; closes: number[] }> {
  const server = http.createServer((req, res) => res.end(`plain ${req.url}`));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const heads: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }> = [];
  const closes: number[] = [];
  server.on('upgrade', (req, socket, head) => {
    heads.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (opts.refuse) {
      socket.end(`HTTP/1.1 ${opts.refuse} Forbidden\r\ncontent-length: 6\r\n\r\nrefuse`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      ws.on('close', (code) => closes.push(code));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { port: (server.address() as AddressInfo).port, heads, closes };
}

async function gateway(upPort: number, http2Codec: Http2Codec): Promise<{ p: ProxyServer; logs: AccessLogEntry[] }> {
  const logs: AccessLogEntry[] = [];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 100 }, istioMetrics: 'off', http2Codec });
  p.apply(meshWith([{ name: 'backend', ports: [upPort] }]), 1);
  await p.listen();
  closers.push(() => p.close());
  return { p, logs };
}

/** An h2c session to the proxy, once the server's SETTINGS arrived. */
const session = (port: number): Promise<http2.ClientHttp2Session> => h2cSession(port, closers);

describe.each(HTTP2_CODECS)('WebSocket over HTTP/2 (RFC 8441) to an HTTP/1.1 ws server (downstream HTTP/2: %s)', (codec) => {
  it('advertises SETTINGS_ENABLE_CONNECT_PROTOCOL; the stream becomes the upgrade: 200, echo both ways, close codes', async () => {
    const up = await wsUpstream();
    const { p, logs } = await gateway(up.port, codec);
    const s = await session(p.port);
    expect(s.remoteSettings.enableConnectProtocol).toBe(true);
    const ws = await openWebSocket(s);
    expect(ws.status).toBe(200);
    expect(ws.headers['sec-websocket-accept']).toBeTypeOf('string');
    // The upstream saw the HTTP/1.1 upgrade the stream stands for (with a key made for it).
    expect(up.heads).toHaveLength(1);
    expect(up.heads[0]!.method).toBe('GET');
    expect(up.heads[0]!.url).toBe('/chat');
    expect(up.heads[0]!.headers.upgrade).toBe('websocket');
    expect(up.heads[0]!.headers.connection?.toLowerCase()).toContain('upgrade');
    expect(Buffer.from(up.heads[0]!.headers['sec-websocket-key'] as string, 'base64')).toHaveLength(16);
    ws.send('hello over h2');
    const bin = randomBytes(1000);
    ws.send(bin, true);
    await waitFor(() => ws.messages.length === 2);
    expect(ws.messages[0]).toEqual({ data: Buffer.from('hello over h2'), binary: false });
    expect(ws.messages[1]!.binary).toBe(true);
    expect(ws.messages[1]!.data.equals(bin)).toBe(true);
    // A close code goes across and comes back; the server closes, its FIN ends the stream.
    ws.close(4001);
    await waitFor(() => ws.closeCode !== null && up.closes.length === 1);
    expect(ws.closeCode).toBe(4001);
    expect(up.closes).toEqual([4001]);
    await ws.ended;
    ws.stream.end();
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.code).toBe(200);
    expect(logs[0]!.protocol).toBe('HTTP/2');
    expect(logs[0]!.bytesReceived).toBeGreaterThan(1000);
    expect(p.stats.downstream.get('downstream_cx_upgrades_total')).toBe(1);
    await waitFor(() => p.stats.downstream.get('downstream_cx_upgrades_active') === 0);
  });

  it('a 5 MiB message crosses both hops whole (flow control and tunnel backpressure)', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port, codec);
    const ws = await openWebSocket(await session(p.port));
    const big = randomBytes(5 * 1024 * 1024);
    ws.send(big, true);
    await waitFor(() => ws.messages.length === 1, 15000);
    expect(ws.messages[0]!.data.equals(big)).toBe(true);
  });

  it('a client reset (RST_STREAM) resets the upstream connection: flag DC', async () => {
    const up = await wsUpstream();
    const { p, logs } = await gateway(up.port, codec);
    const ws = await openWebSocket(await session(p.port));
    ws.send('x');
    await waitFor(() => ws.messages.length === 1);
    ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    // No close frame reached the server: its socket was cut (1006).
    await waitFor(() => up.closes.length === 1);
    expect(up.closes).toEqual([1006]);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('DC');
    await waitFor(() => p.stats.downstream.get('downstream_cx_upgrades_active') === 0);
  });

  // Also the plain GET of an HTTP/2 client without Istio metrics: its HTTP/1.1 upstream's head
  // used to crash the HTTP/2 head sink (methods called unbound).
  it('other streams of the connection go on while a tunnel is open', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port, codec);
    const s = await session(p.port);
    const ws = await openWebSocket(s);
    const get = s.request({ ':method': 'GET', ':path': '/plain', ':authority': 'svc.test' });
    let body = '';
    get.on('data', (d: Buffer) => (body += d.toString()));
    await new Promise<void>((r) => get.on('end', () => r()));
    expect(body).toBe('plain /plain');
    ws.send('still here');
    await waitFor(() => ws.messages.length === 1);
    expect(ws.messages[0]!.data.toString()).toBe('still here');
  });

  it('an upstream that refuses the upgrade answers the stream as a normal response', async () => {
    const up = await wsUpstream({ refuse: 403 });
    const { p, logs } = await gateway(up.port, codec);
    const ws = await openWebSocket(await session(p.port), '/chat', false);
    expect(ws.status).toBe(403);
    let body = '';
    ws.stream.on('data', (d: Buffer) => (body += d.toString()));
    await ws.ended;
    expect(body).toBe('refuse');
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.code).toBe(403);
    expect(p.stats.downstream.get('downstream_cx_upgrades_total') ?? 0).toBe(0);
  });

  it('an extended CONNECT of another protocol is refused (501), the connection goes on', async () => {
    const up = await wsUpstream();
    const { p } = await gateway(up.port, codec);
    const s = await session(p.port);
    const st = s.request({ ':method': 'CONNECT', ':protocol': 'webtransport', ':scheme': 'http', ':path': '/x', ':authority': 'svc.test' }, { endStream: false });
    st.on('error', () => {});
    const h = await new Promise<http2.IncomingHttpHeaders>((r) => st.once('response', r));
    expect(h[':status']).toBe(501);
    expect((await openWebSocket(s)).status).toBe(200);
  });
});
