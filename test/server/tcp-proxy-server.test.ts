// A Gateway TCP port end to end over loopback: config from Istio YAML (a Gateway TCP server, a
// VirtualService `tcp:` rule, ServiceEntries, DestinationRules), Node echo servers behind it.
// The weighted split, and every failure path: connect refused (UF), connect timeout (UF),
// maxConnections overflow (UO), no route, outlier ejection on connect failures; the stats and
// istio_tcp_* series each leaves.
import { spawn } from 'node:child_process';
import { connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import { renderIstioTcpPrometheus } from '../../host/telemetry/istio-tcp-metrics.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService, type TcpBackend } from '../helpers/tcp-yaml.js';
import { tcpEchoServer, type TcpEchoServer } from '../helpers/tcp-echo.js';

const GW_PORT = 31400;
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

/** An echo server that prefixes each reply with its name. */
async function echo(name: string): Promise<TcpEchoServer> {
  const server = await tcpEchoServer(name);
  open.push({ close: () => new Promise((r) => { server.close(r); }) });
  return server;
}

async function gateway(backends: TcpBackend[], weights: Array<{ name: string; weight: number }>, extra = ''): Promise<TcpProxyServer> {
  const t = tempYaml({ 'a.yaml': tcpServiceEntries(backends), 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT, weights), ...(extra ? { 'd.yaml': extra } : {}) });
  const { mesh } = loadConfig([t.dir], { gateway: 'tcp-gw' });
  const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, seed: 1, limits: { drainTimeoutMs: 100 } });
  p.apply(mesh, 1);
  await p.listen();
  open.push(p);
  return p;
}

/** Sends `text`, half-closes, and reads until the proxy's FIN: the whole reply ('' when closed at once). */
function exchange(port: number, text: string): Promise<{ reply: string; error: string | null }> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let reply = '';
    let error: string | null = null;
    s.on('data', (d) => (reply += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ reply, error }));
    s.on('end', () => s.end());
    s.end(text);
  });
}

const DR = (host: string, policy: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr-${host.split('.')[0]}}
spec:
  host: ${host}
  trafficPolicy:
${policy}`;

describe.each(TCP_TRANSPORTS)('TcpProxyServer (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('a 75/25 split over two echo servers: exact by the core\'s weighted round robin; bytes and connections counted', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const p = await gateway([{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }], [{ name: 'echo-a', weight: 75 }, { name: 'echo-b', weight: 25 }]);
    const replies: string[] = [];
    for (let i = 0; i < 40; i++) replies.push((await exchange(p.port, `ping${i}`)).reply);
    expect(replies.filter((r) => r.startsWith('a:')).length).toBe(30);
    expect(replies.filter((r) => r.startsWith('b:')).length).toBe(10);
    expect(replies[0]).toMatch(/^[ab]:ping0$/);
    await waitFor(() => p.sessions === 0);
    const stats = p.stats.toJSON();
    expect(stats['tcp.default/tcp-vs/tcp-0.downstream_cx_total']).toBe(40);
    const rx = replies.reduce((n, _r, i) => n + `ping${i}`.length, 0);
    expect(stats['tcp.default/tcp-vs/tcp-0.downstream_cx_rx_bytes_total']).toBe(rx);
    expect(stats['tcp.default/tcp-vs/tcp-0.downstream_cx_tx_bytes_total']).toBe(rx + 80);
    expect(stats['cluster.outbound|7000||echo-a.example.internal.upstream_cx_total']).toBe(30);
    expect(stats['cluster.outbound|7000||echo-b.example.internal.upstream_cx_active']).toBe(0);
    const text = renderIstioTcpPrometheus(p.istio!.snapshot());
    expect(text).toMatch(/istio_tcp_connections_opened_total\{reporter="source",.*destination_service="echo-a\.example\.internal",.*request_protocol="tcp",response_flags="-",connection_security_policy="unknown"\} 30/);
    expect(text).toMatch(/istio_tcp_connections_closed_total\{.*destination_service="echo-b\.example\.internal".*\} 10/);
  });

  test('connect refused: the client is closed; upstream_cx_connect_fail, flag UF, istio series with UF', async () => {
    const dead = await echo('dead');
    const port = dead.port;
    await new Promise((r) => dead.close(r));
    const p = await gateway([{ name: 'echo-a', port }], [{ name: 'echo-a', weight: 1 }]);
    const r = await exchange(p.port, 'x');
    expect(r.reply).toBe('');
    expect(p.stats.toJSON()['cluster.outbound|7000||echo-a.example.internal.upstream_cx_connect_fail']).toBe(1);
    expect(p.stats.flag('UF')).toBe(1);
    expect(renderIstioTcpPrometheus(p.istio!.snapshot())).toMatch(/istio_tcp_connections_opened_total\{.*response_flags="UF".*\} 1/);
  });

  test('connect timeout (DestinationRule connectTimeout) to a port that never answers the SYN: UF once the timeout has passed, not before (fake clock)', async () => {
    const t = tempYaml({
      'a.yaml': tcpServiceEntries([{ name: 'echo-a', port: await silentPort() }]),
      'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT, [{ name: 'echo-a', weight: 1 }]),
      // 1600 ms: the connect-timeout sweep walks every 100 ms (a sixteenth).
      'd.yaml': DR('echo-a.example.internal', '    connectionPool:\n      tcp: {connectTimeout: 1600ms}\n'),
    });
    const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, limits: { drainTimeoutMs: 100 } });
    p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
    await p.listen();
    open.push(p);
    const timeouts = (): number => p.stats.toJSON()['cluster.outbound|7000||echo-a.example.internal.upstream_cx_connect_timeout'] ?? 0;
    // The sockets are real; only the sweep's interval and its clock are fake.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      const r = exchange(p.port, 'x');
      await polled(() => p.activeConnections === 1);
      vi.advanceTimersByTime(1599);
      // The sweep ran inside advanceTimersByTime; a turn for any socket event it would have caused.
      await new Promise((resolve) => setImmediate(resolve));
      expect(timeouts()).toBe(0);
      expect(p.activeConnections).toBe(1);
      vi.advanceTimersByTime(101);
      expect(timeouts()).toBe(1);
      expect((await r).reply).toBe('');
      expect(p.stats.flag('UF')).toBe(1);
      expect(p.activeConnections).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  test('maxConnections 1: a second connection while the first is open is closed (UO, upstream_cx_overflow); released after', async () => {
    const a = await echo('a');
    const p = await gateway([{ name: 'echo-a', port: a.port }], [{ name: 'echo-a', weight: 1 }], DR('echo-a.example.internal', '    connectionPool:\n      tcp: {maxConnections: 1}\n'));
    const first = connect({ host: '127.0.0.1', port: p.port, allowHalfOpen: true });
    first.write('hold');
    await new Promise((r) => first.once('data', r));
    const second = await exchange(p.port, 'x');
    expect(second.reply).toBe('');
    expect(p.stats.toJSON()['cluster.outbound|7000||echo-a.example.internal.upstream_cx_overflow']).toBe(1);
    expect(p.stats.flag('UO')).toBe(1);
    first.end();
    await new Promise((r) => first.once('close', r));
    await waitFor(() => p.sessions === 0);
    expect((await exchange(p.port, 'y')).reply).toBe('a:y');
  });

  test('outlier detection: connect failures eject the dead endpoint; later connections go to the live one', async () => {
    const live = await echo('live');
    const dead = await echo('dead');
    const deadPort = dead.port;
    await new Promise((r) => dead.close(r));
    const se = tcpServiceEntries([{ name: 'echo-a', port: live.port }]).replace(`  - {address: 127.0.0.1, ports: {tcp-main: ${live.port}}}`, `  - {address: 127.0.0.1, ports: {tcp-main: ${live.port}}}\n  - {address: 127.0.0.2, ports: {tcp-main: ${deadPort}}}`);
    const t = tempYaml({
      'a.yaml': se, 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT, [{ name: 'echo-a', weight: 1 }]),
      'd.yaml': DR('echo-a.example.internal', '    loadBalancer: {simple: ROUND_ROBIN}\n    outlierDetection: {consecutive5xxErrors: 1, interval: 10s, baseEjectionTime: 60s, maxEjectionPercent: 100}\n'),
    });
    const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, limits: { drainTimeoutMs: 100 } });
    p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
    await p.listen();
    open.push(p);
    const replies: string[] = [];
    for (let i = 0; i < 8; i++) replies.push((await exchange(p.port, `${i}`)).reply);
    expect(replies.filter((r) => r === '').length).toBe(1);
    expect(replies.slice(2).every((r) => r.startsWith('live:'))).toBe(true);
    const ejected = p.clusters().find((c) => c.name === 'outbound|7000||echo-a.example.internal')!.endpoints.find((e) => e.address === '127.0.0.2')!;
    expect(ejected.healthy).toBe(false);
  });

  test('consistent hash on the source IP: each client address keeps its endpoint, and different addresses spread', async () => {
    // The client address is read only when a balancer hashes it (a getter, no getpeername
    // otherwise): if it were not read, every client would hash alike and land on one endpoint.
    const a = await echo('a');
    const b = await echo('b');
    const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [echo.example.internal]
  ports:
  - {number: 7000, name: tcp-main, protocol: TCP}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {tcp-main: ${a.port}}}
  - {address: 127.0.0.1, ports: {tcp-main: ${b.port}}}
`;
    const t = tempYaml({ 'a.yaml': se, 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT, [{ name: 'echo', weight: 1 }]), 'd.yaml': DR('echo.example.internal', '    loadBalancer: {consistentHash: {useSourceIp: true}}') });
    const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, seed: 1, limits: { drainTimeoutMs: 100 } });
    p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
    await p.listen();
    open.push(p);
    const from = (local: string): Promise<string> => new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port: p.port, localAddress: local, allowHalfOpen: true });
      let reply = '';
      s.on('data', (d) => (reply += d.toString()));
      s.on('error', () => {});
      s.on('end', () => s.end());
      s.on('close', () => resolve(reply.slice(0, 1)));
      s.end('x');
    });
    const byClient = new Map<string, Set<string>>();
    for (let i = 1; i <= 8; i++) {
      const local = `127.0.0.${i}`;
      const seen = new Set<string>();
      for (let k = 0; k < 3; k++) seen.add(await from(local));
      byClient.set(local, seen);
    }
    for (const [local, seen] of byClient) expect([local, seen.size]).toEqual([local, 1]);
    const endpoints = new Set([...byClient.values()].flatMap((s) => [...s]));
    expect(endpoints).toEqual(new Set(['a', 'b']));
  });

  test('destinationSubnets: the accepted socket\'s local address chooses the rule (read only when some rule matches on it)', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const c = await echo('c');
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-vs}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - match: [{port: ${GW_PORT}, destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: echo-c.example.internal, port: {number: 7000}}}]
  - match: [{port: ${GW_PORT}, destinationSubnets: [127.0.0.1/32]}]
    route: [{destination: {host: echo-a.example.internal, port: {number: 7000}}}]
  - match: [{port: ${GW_PORT}}]
    route: [{destination: {host: echo-b.example.internal, port: {number: 7000}}}]
`;
    const t = tempYaml({ 'a.yaml': tcpServiceEntries([{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }, { name: 'echo-c', port: c.port }]), 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': vs });
    const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '0.0.0.0', port: 0, gatewayPort: GW_PORT, limits: { drainTimeoutMs: 100 } });
    p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
    await p.listen();
    open.push(p);
    // To 127.0.0.1: the /32 rule; to 127.0.0.2 (the same listener): the catch-all.
    expect((await exchange(p.port, 'x')).reply).toBe('a:x');
    const other = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.2', port: p.port, allowHalfOpen: true });
      let reply = '';
      s.on('data', (d) => (reply += d.toString()));
      s.on('error', () => {});
      s.on('end', () => s.end());
      s.on('close', () => resolve(reply));
      s.end('y');
    });
    expect(other).toBe('b:y');
  });

  test('no route for the port: closed, counted as downstream_cx_no_route', async () => {
    const a = await echo('a');
    const t = tempYaml({ 'a.yaml': tcpServiceEntries([{ name: 'echo-a', port: a.port }]), 'b.yaml': tcpGateway(GW_PORT), 'c.yaml': tcpVirtualService(GW_PORT + 1, [{ name: 'echo-a', weight: 1 }]) });
    const p = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 0, gatewayPort: GW_PORT, limits: { drainTimeoutMs: 100 } });
    p.apply(loadConfig([t.dir], { gateway: 'tcp-gw' }).mesh, 1);
    await p.listen();
    open.push(p);
    expect((await exchange(p.port, 'x')).reply).toBe('');
    expect(p.stats.toJSON()[`tcp.0.0.0.0_${GW_PORT}.downstream_cx_no_route`]).toBe(1);
  });
});

/**
 * A loopback port whose SYNs go unanswered: a listening socket that never accepts, backlog 0,
 * its queue filled (Node's servers always accept, so a python3 child holds the socket).
 */
async function silentPort(): Promise<number> {
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  open.push({ close: () => py.kill() });
  const port = await new Promise<number>((resolve, reject) => {
    py.once('error', reject);
    py.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  });
  for (let i = 0; i < 3; i++) {
    const s = connect({ host: '127.0.0.1', port }).on('error', () => {});
    open.push({ close: () => s.destroy() });
  }
  await new Promise((r) => setTimeout(r, 100));
  return port;
}

/** waitFor for a test whose Date is fake: at most `tries` polls 10 ms apart (real timers). */
async function polled(cond: () => boolean, tries = 300): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i >= tries) throw new Error('polled: condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
