// A Gateway TLS passthrough port at the TcpProxyServer level, over loopback, with backends that
// record every byte they receive: what the client sent (a real ClientHello and the bytes after
// it) reaches the backend byte for byte; a ClientHello in 1-byte records, trickled; a reload
// while a ClientHello is coming (the connection keeps the version it was accepted on); connect
// refused on a passthrough route (UF); a ClientHello over the limit; close() during inspection.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import type { TlsInspectorOptions } from '../../host/listener/tcp/tls-inspector.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { tcpServiceEntries } from '../helpers/tcp-yaml.js';
import { nodeTlsHello, refragment } from '../helpers/client-hello-capture.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

let helloA: Buffer;
let helloB: Buffer;
beforeAll(async () => {
  helloA = await nodeTlsHello('echo-a.example.internal');
  helloB = await nodeTlsHello('echo-b.example.internal');
}, 20_000);

/** A backend that records what it receives until the client's FIN, then answers its name and closes. */
async function recorder(name: string): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      received.push(Buffer.concat(parts));
      s.end(name);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => server.close(r)) });
  return { port: (server.address() as { port: number }).port, received };
}

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ['*']
    tls: {mode: PASSTHROUGH}
`;
const vs = (routes: Array<[string, string]>): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*.example.internal']
  gateways: [gw]
  tls:
${routes.map(([sni, to]) => `  - match: [{sniHosts: [${sni}]}]\n    route: [{destination: {host: ${to}.example.internal}}]`).join('\n')}
`;

function meshOf(backends: Array<{ name: string; port: number }>, routes: Array<[string, string]>) {
  const t = tempYaml({ 'a.yaml': tcpServiceEntries(backends), 'b.yaml': GATEWAY, 'c.yaml': vs(routes) });
  return loadConfig([t.dir], { gateway: 'gw' }).mesh;
}

async function passthrough(mesh: ReturnType<typeof meshOf>, tlsInspector: TlsInspectorOptions = {}): Promise<TcpProxyServer> {
  const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: 443, limits: { drainTimeoutMs: 100 }, tlsInspector });
  p.apply(mesh, 1);
  await p.listen();
  open.push(p);
  return p;
}

/** Sends `chunks` (a macrotask apart), half-closes, resolves with the reply when the proxy closes. */
function send(port: number, chunks: Buffer[], between?: (i: number) => Promise<void> | void): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    let reply = '';
    s.on('data', (d) => (reply += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve(reply));
    s.on('end', () => s.end());
    s.once('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        s.write(chunks[i]!);
        await new Promise((r) => setTimeout(r, 2));
        await between?.(i);
      }
      s.end();
    });
  });
}

describe.each(TCP_TRANSPORTS)('TLS passthrough on TcpProxyServer (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('the ClientHello and every byte after it reach the backend its SNI names, byte for byte', async () => {
    const a = await recorder('a');
    const b = await recorder('b');
    const p = await passthrough(meshOf([{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }], [['echo-a.example.internal', 'echo-a'], ['echo-b.example.internal', 'echo-b']]));
    const after = Buffer.from([23, 3, 3, 0, 5, 1, 2, 3, 4, 5]);
    expect(await send(p.port, [Buffer.concat([helloA, after])])).toBe('a');
    expect(await send(p.port, [helloB])).toBe('b');
    expect(a.received).toEqual([Buffer.concat([helloA, after])]);
    expect(b.received).toEqual([helloB]);
    expect(p.stats.tlsInspector.get('sni_found')).toBe(2);
    expect(p.stats.toJSON()['tcp.outbound|7000||echo-a.example.internal.downstream_cx_rx_bytes_total']).toBe(helloA.length + after.length);
  });

  test('the most specific SNI wins, not the first rule: exact beats an earlier *.example.internal (Envoy filter chain match)', async () => {
    const a = await recorder('a');
    const b = await recorder('b');
    const p = await passthrough(meshOf([{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }], [["'*.example.internal'", 'echo-a'], ['echo-b.example.internal', 'echo-b']]));
    expect(await send(p.port, [helloB])).toBe('b');
    expect(await send(p.port, [helloA])).toBe('a');
    expect(b.received).toEqual([helloB]);
    expect(a.received).toEqual([helloA]);
  });

  test('a ClientHello in 1-byte records, sent 50 bytes at a time: routed, and forwarded untouched', async () => {
    const a = await recorder('a');
    const p = await passthrough(meshOf([{ name: 'echo-a', port: a.port }], [['echo-a.example.internal', 'echo-a']]));
    const frag = refragment(helloA, 1);
    const chunks: Buffer[] = [];
    for (let i = 0; i < frag.length; i += 50) chunks.push(frag.subarray(i, i + 50));
    expect(await send(p.port, chunks)).toBe('a');
    expect(a.received).toEqual([frag]);
  });

  test('a reload while the ClientHello comes: that connection is routed by the version it was accepted on', async () => {
    const a = await recorder('a');
    const b = await recorder('b');
    const backends = [{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }];
    const p = await passthrough(meshOf(backends, [['echo-a.example.internal', 'echo-a']]));
    const v2 = meshOf(backends, [['echo-a.example.internal', 'echo-b']]);
    const half = helloA.length >> 1;
    const reply = await send(p.port, [helloA.subarray(0, half), helloA.subarray(half)], (i) => {
      if (i === 0) p.apply(v2, 2);
    });
    expect(reply).toBe('a');
    expect(await send(p.port, [helloA])).toBe('b');
  });

  test('connect refused on a passthrough route: closed, UF, upstream_cx_connect_fail', async () => {
    const dead = await recorder('dead');
    open.pop()!.close(); // close the server now: its port refuses
    await new Promise((r) => setTimeout(r, 20));
    const p = await passthrough(meshOf([{ name: 'echo-a', port: dead.port }], [['echo-a.example.internal', 'echo-a']]));
    expect(await send(p.port, [helloA])).toBe('');
    expect(p.stats.flag('UF')).toBe(1);
    expect(p.stats.toJSON()['cluster.outbound|7000||echo-a.example.internal.upstream_cx_connect_fail']).toBe(1);
  });

  test('a ClientHello over max_client_hello_size: closed before any upstream, client_hello_too_large', async () => {
    const a = await recorder('a');
    const p = await passthrough(meshOf([{ name: 'echo-a', port: a.port }], [['echo-a.example.internal', 'echo-a']]), { maxClientHelloBytes: 100 });
    expect(await send(p.port, [helloA])).toBe('');
    expect(p.stats.tlsInspector.get('client_hello_too_large')).toBe(1);
    expect(a.received).toEqual([]);
  });

  test('close() while a ClientHello is coming: the connection is closed, close() returns', async () => {
    const a = await recorder('a');
    const p = await passthrough(meshOf([{ name: 'echo-a', port: a.port }], [['echo-a.example.internal', 'echo-a']]));
    const s = connect({ host: '127.0.0.1', port: p.port });
    s.on('error', () => {});
    s.write(helloA.subarray(0, 10));
    const closed = new Promise((r) => s.once('close', r));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await p.close();
    await closed;
    expect(Date.now() - t0).toBeLessThan(1000);
    open.splice(open.indexOf(p), 1);
  });
});
