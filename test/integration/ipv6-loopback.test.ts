// The mesh on IPv6 loopback: a real wasmesh gateway (`wasmesh proxy --gateway --port-map`
// runtime) whose listener, Gateway ports and admin API are bound to ::1, and whose backends are
// ServiceEntry endpoints at ::1 — a node:http server (HTTP/1.1), a node:http2 server (an HTTP2
// port, h2c upstream), a TCP echo and two node:https servers behind a PASSTHROUGH port routed by
// SNI. Clients speak HTTP/1.1, HTTP/2 (prior knowledge), raw TCP and TLS over [::1]; the access
// log prints IPv6 upstream hosts bracketed with their port (Envoy's %UPSTREAM_HOST%), and the
// admin API shows the endpoints the same way. Then the same YAML on every data plane of the
// interop table (stock Envoy from `wasmesh envoy-config`, with and without the wasmesh filters, and
// `wasmesh proxy`), listening on 127.0.0.1 as those runners do, to the same IPv6 endpoints.
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { connect as h2Connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import type { Server } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { tcpServiceEntries } from '../helpers/tcp-yaml.js';
import { staticServiceEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';
import { passthroughYaml, reach, refused, startPassthroughBackends, type PassthroughBackends } from '../helpers/tls-passthrough-fixture.js';
import { dataPlanes, type RunningProxy } from '../interop/data-planes.js';

const V6 = '::1';
let rt: ProxyRuntime;
let web: HttpServer;
let h2: Http2Server;
let echo: Server;
let tls: PassthroughBackends;
const seenBy: { web: string[]; h2: string[] } = { web: [], h2: [] };
const lines: string[] = [];
const at: Record<number, number> = {};
const portOf = (s: Server | HttpServer | Http2Server): number => (s.address() as { port: number }).port;

const config = (): string => `${yamlDocs(
  staticServiceEntryYaml({ name: 'web', host: 'web.example.internal', port: { number: 80, name: 'http', protocol: 'HTTP' }, endpointPort: portOf(web), address: V6 }),
  staticServiceEntryYaml({ name: 'h2', host: 'h2.example.internal', port: { number: 80, name: 'http2', protocol: 'HTTP2' }, endpointPort: portOf(h2), address: V6 }),
)}---
${tcpServiceEntries([{ name: 'echo', port: portOf(echo), address: V6 }])}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: http-vs}
spec:
  hosts: [web.example.internal, h2.example.internal]
  gateways: [tls-gw]
  http:
  - match: [{authority: {prefix: h2.example.internal}}]
    route: [{destination: {host: h2.example.internal, port: {number: 80}}}]
  - route: [{destination: {host: web.example.internal, port: {number: 80}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-vs}
spec:
  hosts: ['*']
  gateways: [tls-gw]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: echo.example.internal, port: {number: 7000}}}]
---
${passthroughYaml(tls).replace(`  - port: {number: 443, name: tls, protocol: TLS}`, `  - port: {number: 31400, name: tcp-echo, protocol: TCP}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}`)}`;

beforeAll(async () => {
  web = createHttpServer((req, res) => {
    seenBy.web.push(req.socket.remoteAddress ?? '');
    res.end(`web ${req.httpVersion} ${req.url}`);
  });
  await new Promise<void>((r) => web.listen(0, V6, r));
  h2 = createH2Server((req, res) => {
    seenBy.h2.push(req.socket.remoteAddress ?? '');
    res.end(`h2 ${req.httpVersion} ${req.url}`);
  });
  await new Promise<void>((r) => h2.listen(0, V6, r));
  echo = await tcpEchoServer('e', V6);
  tls = await startPassthroughBackends(V6);
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-ipv6-'));
  writeFileSync(join(dir, 'config.yaml'), config());
  rt = await startProxyRuntime({
    sources: [dir],
    gateway: 'tls-gw',
    listen: { host: V6, port: 0 },
    gatewayPorts: [80, 31400, 443].map((p) => ({ port: p, at: { host: V6, port: 0 } })),
    admin: { host: V6, port: 0 },
    accessLog: (line: string) => lines.push(line),
    log: () => {},
  });
  // Port 80 is the listener itself (the first mapped port); the others are further Gateway ports.
  at[80] = rt.listenPort;
  for (const g of rt.gatewayPorts) at[g.port] = g.tcp?.port ?? g.server.port;
}, 60_000);

afterAll(async () => {
  await rt?.close();
  for (const s of [web, h2, echo]) await new Promise((r) => s?.close(r));
  await tls?.close();
}, 30_000);

function get11(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: V6, port: at[80], path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitForLine(re: RegExp): Promise<string> {
  const end = Date.now() + 10_000;
  for (;;) {
    const hit = lines.find((l) => re.test(l));
    if (hit !== undefined) return hit;
    if (Date.now() > end) throw new Error(`no access log line matches ${re}; got:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the gateway on [::1] with IPv6 endpoints', () => {
  test('HTTP/1.1 over [::1] to an endpoint at [::1]; the access log prints [::1]:port', async () => {
    const r = await get11('/one', 'web.example.internal');
    expect(r).toEqual({ status: 200, body: 'web 1.1 /one' });
    expect(seenBy.web.at(-1)).toBe('::1');
    const line = await waitForLine(/"GET \/one HTTP\/1\.1"/);
    expect(line).toContain(`"[::1]:${portOf(web)}"`);
  });

  test('HTTP/2 (prior knowledge) over [::1], and h2c to the HTTP2 port at [::1]', async () => {
    const session = h2Connect(`http://[::1]:${at[80]}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/two', ':authority': 'h2.example.internal' });
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolve(text));
        s.on('error', reject);
        s.end();
      });
      expect(body).toBe('h2 2.0 /two');
    } finally {
      session.close();
    }
    expect(seenBy.h2.at(-1)).toBe('::1');
    const line = await waitForLine(/"GET \/two HTTP\/2"/);
    expect(line).toContain(`"[::1]:${portOf(h2)}"`);
  });

  test('TCP over [::1] to an echo at [::1], bytes both ways', async () => {
    const r = await exchange(at[31400]!, 'hello v6', V6);
    expect(r).toEqual({ reply: 'e:hello v6', error: null });
  });

  test('TLS passthrough over [::1] routed by SNI to backends at [::1], their own certificates', async () => {
    const a = await reach(at[443]!, 'a.example.com', '/a', undefined, V6);
    expect(a).toEqual({ body: 'backend-a /a', fingerprint: tls.fingerprint('a'), authorized: true });
    const b = await reach(at[443]!, 'b.example.com', '/b', undefined, V6);
    expect(b.body).toBe('backend-b /b');
    expect(tls.seen.b).toContain('b.example.com');
    expect(await refused(at[443]!, 'c.example.com', V6)).toBe('closed');
  });

  test('the admin API on [::1]: clusters show the endpoints as [::1]:port, and IPv6 stats', async () => {
    const clusters = await (await fetch(`http://[::1]:${rt.adminPort}/clusters`)).text();
    expect(clusters).toContain(`outbound|80||web.example.internal::[::1]:${portOf(web)}::`);
    const stats = await (await fetch(`http://[::1]:${rt.adminPort}/stats/prometheus`)).text();
    expect(stats).toMatch(/istio_requests_total\{[^}]*destination_service="web\.example\.internal"[^}]*\} [1-9]/);
    expect(stats).toMatch(/istio_tcp_connections_opened_total\{[^}]*destination_service="echo\.example\.internal"[^}]*\} [1-9]/);
  });
});

function h2Get(url: string, authority: string, path: string): Promise<string> {
  const session = h2Connect(url);
  return new Promise<string>((resolve, reject) => {
    const s = session.request({ ':path': path, ':authority': authority });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
    s.end();
  }).finally(() => session.close());
}

for (const plane of dataPlanes()) {
  describe.skipIf(plane.unavailable !== null)(`IPv6 endpoints on ${plane.name}`, () => {
    let proxy: RunningProxy | undefined;
    beforeAll(async () => {
      proxy = await plane.start({ name: 'ipv6', gateway: 'tls-gw', files: () => ({ 'config.yaml': config() }), exchanges: [] }, { v1: 1, v2: 1 }, { tcpPorts: [31400, 443], httpPort: 80 });
    }, 60_000);
    afterAll(async () => { await proxy?.stop(); });

    test('HTTP/1.1 and HTTP/2 (h2c upstream) to endpoints at [::1]', async () => {
      const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: proxy!.port, path: '/p1', headers: { host: 'web.example.internal' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(r).toEqual({ status: 200, body: 'web 1.1 /p1' });
      expect(await h2Get(`http://127.0.0.1:${proxy!.port}`, 'h2.example.internal', '/p2')).toBe('h2 2.0 /p2');
    });

    test('TCP to an echo at [::1], and TLS passthrough by SNI to backends at [::1]', async () => {
      expect(await exchange(proxy!.tcp.get(31400)!, 'plane v6')).toEqual({ reply: 'e:plane v6', error: null });
      const a = await reach(proxy!.tcp.get(443)!, 'a.example.com', '/pa');
      expect(a).toEqual({ body: 'backend-a /pa', fingerprint: tls.fingerprint('a'), authorized: true });
    });
  });
}
