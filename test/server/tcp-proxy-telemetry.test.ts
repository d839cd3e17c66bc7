// TCP telemetry of a Gateway TCP port over real loopback sockets: the istio_tcp_* byte counters
// grow while a connection is still open (Istio's periodic TCP report, tcp_reporting_duration)
// and end exact at its close; one access-log record per connection — proxied, refused (UF) and
// without a route (NR) — on the CLI log in Envoy's default format (`"- - -" 0`) and through a
// Telemetry / meshConfig target (TEXT and JSON).
import { connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import { envoyAccessLogLine } from '../../host/telemetry/access-log-line.js';
import { AccessLogFiles } from '../../host/telemetry/access-log-files.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService } from '../helpers/tcp-yaml.js';
import { tcpEchoServer, type TcpEchoServer } from '../helpers/tcp-echo.js';

const GW_PORT = 31400;
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function echo(name: string): Promise<TcpEchoServer> {
  const server = await tcpEchoServer(name);
  open.push({ close: () => new Promise((r) => { server.close(r); }) });
  return server;
}

function meshFor(backendPort: number, withRoute = true): MeshConfig {
  const t = tempYaml({ 'a.yaml': tcpServiceEntries([{ name: 'echo-a', port: backendPort }]), 'b.yaml': tcpGateway(GW_PORT), ...(withRoute ? { 'c.yaml': tcpVirtualService(GW_PORT, [{ name: 'echo-a', weight: 1 }]) } : {}) });
  return loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh;
}

async function start(mesh: MeshConfig, opts: Partial<ConstructorParameters<typeof TcpProxyServer>[0]> = {}): Promise<TcpProxyServer> {
  const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, seed: 1, limits: { drainTimeoutMs: 100 }, ...opts });
  p.apply(mesh, 7);
  await p.listen();
  open.push(p);
  return p;
}

const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A connected client with what it has read so far. */
async function client(port: number): Promise<{ s: Socket; read: () => string; closed: Promise<void> }> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  let got = '';
  s.on('data', (d) => (got += d.toString()));
  s.on('end', () => s.end());
  s.on('error', () => {});
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  await new Promise<void>((r) => s.once('connect', () => r()));
  return { s, read: () => got, closed };
}

const series = (p: TcpProxyServer): { opened: number; closed: number; sent: number; received: number } => {
  const all = p.istio!.snapshot().filter((s) => s.labels.includes('response_flags="-"'));
  expect(all).toHaveLength(1);
  return all[0]!;
};

describe.each(TCP_TRANSPORTS)('TCP telemetry (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('bytes are reported every tcpReportingMs while the connection is open, and exactly once in total', async () => {
    const a = await echo('a');
    const p = await start(meshFor(a.port), { tcpReportingMs: 50 });
    const c = await client(p.port);
    c.s.write('hello');
    await waitFor(() => c.read() === 'a:hello');
    // Still open: the periodic report has the bytes so far.
    await waitFor(() => series(p).sent === 7);
    expect(series(p)).toMatchObject({ opened: 1, closed: 0, received: 5, sent: 7 });
    expect(p.istio!.snapshot()[0]!.labels).toContain('connection_security_policy="unknown"');
    c.s.write('world!');
    await waitFor(() => c.read() === 'a:helloa:world!');
    c.s.end();
    await c.closed;
    await waitFor(() => p.sessions === 0);
    expect(series(p)).toMatchObject({ opened: 1, closed: 1, received: 11, sent: 15 });
    // No report after the close adds anything again.
    await new Promise((r) => setTimeout(r, 150));
    expect(series(p)).toMatchObject({ received: 11, sent: 15 });
  });

  test('tcpReportingMs 0: an open connection\'s bytes are counted at its close only', async () => {
    const a = await echo('a');
    const p = await start(meshFor(a.port), { tcpReportingMs: 0 });
    const c = await client(p.port);
    c.s.write('hello');
    await waitFor(() => c.read() === 'a:hello');
    await new Promise((r) => setTimeout(r, 100));
    expect(series(p)).toMatchObject({ opened: 1, closed: 0, received: 0, sent: 0 });
    c.s.end();
    await c.closed;
    await waitFor(() => p.sessions === 0);
    expect(series(p)).toMatchObject({ closed: 1, received: 5, sent: 7 });
  });

  test('the CLI access log: one line per connection in Envoy\'s default format, "- - -" and code 0', async () => {
    const a = await echo('a');
    const entries: AccessLogEntry[] = [];
    const p = await start(meshFor(a.port), { accessLog: (e) => entries.push(e) });
    const c = await client(p.port);
    c.s.end('ping');
    await c.closed;
    await waitFor(() => entries.length === 1);
    const line = envoyAccessLogLine(entries[0]!);
    expect(line).toMatch(new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\] "- - -" 0 - 4 6 \\d+ - "-" "-" "-" "-" "127\\.0\\.0\\.1:${a.port}"$`));
    expect(entries[0]).toMatchObject({ upstreamCluster: 'outbound|7000||echo-a.example.internal', route: 'default/tcp-vs/tcp-0', version: 7 });
  });

  test('refused (UF) and unrouted (NR) connections are logged too, with their flag', async () => {
    const dead = await echo('dead');
    const deadPort = dead.port;
    await new Promise((r) => dead.close(r));
    const entries: AccessLogEntry[] = [];
    const p = await start(meshFor(deadPort), { accessLog: (e) => entries.push(e) });
    const c = await client(p.port);
    await c.closed;
    await waitFor(() => entries.length === 1);
    expect(envoyAccessLogLine(entries[0]!)).toMatch(new RegExp(`"- - -" 0 UF 0 0 \\d+ - "-" "-" "-" "-" "127\\.0\\.0\\.1:${deadPort}"$`));

    const nr: AccessLogEntry[] = [];
    const q = await start(meshFor(deadPort, false), { accessLog: (e) => nr.push(e) });
    const d = await client(q.port);
    await d.closed;
    await waitFor(() => nr.length === 1);
    expect(envoyAccessLogLine(nr[0]!)).toMatch(/"- - -" 0 NR 0 0 \d+ - "-" "-" "-" "-" "-"$/);
  });

  test('Telemetry / meshConfig targets: TEXT and JSON through the shared files, HTTP fields `-` / null; a response.code filter sees 0', async () => {
    const a = await echo('a');
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-log-'));
    open.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const files = new AccessLogFiles();
    const mesh: MeshConfig = {
      ...meshFor(a.port),
      accessLogs: [
        { provider: 'envoy', path: join(dir, 'text.log'), encoding: 'TEXT', format: '"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %ROUTE_NAME%' },
        { provider: 'json', path: join(dir, 'json.log'), encoding: 'JSON', labels: { method: '%REQ(:METHOD)%', protocol: '%PROTOCOL%', code: '%RESPONSE_CODE%', sent: '%BYTES_SENT%', cluster: '%UPSTREAM_CLUSTER%' } },
        { provider: 'errors', path: join(dir, 'errors.log'), encoding: 'TEXT', format: '%RESPONSE_CODE%', filter: { op: '>=', value: 400 } },
      ],
    };
    const p = await start(mesh, { accessLogFiles: files });
    const c = await client(p.port);
    c.s.end('ping');
    await c.closed;
    await waitFor(() => p.sessions === 0);
    files.close();
    const text = readFileSync(join(dir, 'text.log'), 'utf8');
    expect(text).toMatch(new RegExp(`^"- - -" 0 - 4 6 "127\\.0\\.0\\.1:${a.port}" outbound\\|7000\\|\\|echo-a\\.example\\.internal 127\\.0\\.0\\.1:\\d+ 127\\.0\\.0\\.1:${p.port} -\\n$`));
    expect(JSON.parse(readFileSync(join(dir, 'json.log'), 'utf8'))).toEqual({ method: null, protocol: null, code: 0, sent: 6, cluster: 'outbound|7000||echo-a.example.internal' });
    expect(() => readFileSync(join(dir, 'errors.log'), 'utf8')).toThrow(/ENOENT/);
  });
});
