// TcpProxyServer as a sidecar's outbound capture uses it (`adopt`: no listener of its own,
// connections handed in with their original destination), over loopback without TPROXY: a
// plain server accepts and hands each socket to handle() / blackHole() with the target the
// capture would have computed. Checks: a service's default cluster, a mesh-bound `tcp:` rule of
// that service's host (port match, other hosts' rules ignored), PassthroughCluster to the
// original destination, the passthrough guard refusing the proxy's own port (no loop),
// BlackHoleCluster, and the serviceAddresses the config builds from ServiceEntry addresses.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer, type TcpTarget } from '../../host/server/tcp-proxy-server.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { tcpServiceEntries } from '../helpers/tcp-yaml.js';
import { tcpEchoServer, type TcpEchoServer } from '../helpers/tcp-echo.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function echo(name: string): Promise<TcpEchoServer> {
  const server = await tcpEchoServer(name);
  open.push({ close: () => new Promise((r) => { server.close(r); }) });
  return server;
}

/** A front that hands every accepted socket to `hand` (what host/sidecar/outbound-capture.ts does). */
async function front(hand: (s: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, hand);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => { server.close(r); }) });
  return (server.address() as { port: number }).port;
}

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let reply = '';
    s.on('data', (d) => (reply += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve(reply));
    s.on('end', () => s.end());
    s.end(text);
  });
}

const MESH_TCP_RULE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: to-b}
spec:
  hosts: [echo-a.example.internal]
  tcp:
  - match: [{port: 7000}]
    route: [{destination: {host: echo-b.example.internal, port: {number: 7000}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other-host}
spec:
  hosts: [echo-c.example.internal]
  tcp:
  - route: [{destination: {host: echo-c.example.internal, port: {number: 7000}}}]
`;

async function sidecarTcp(files: Record<string, string>, reserved: () => number[] = () => []): Promise<{ tcp: TcpProxyServer; mesh: ReturnType<typeof loadConfig>['mesh'] }> {
  const t = tempYaml(files);
  const { mesh } = loadConfig([t.dir], {});
  const tcp = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 15001, gatewayPort: 15001, adopt: true, seed: 1, limits: { drainTimeoutMs: 100 }, reservedPorts: reserved });
  tcp.apply(mesh, 1);
  await tcp.listen();
  open.push(tcp);
  return { tcp, mesh };
}

describe.each(TCP_TRANSPORTS)('TcpProxyServer with handed-in connections (a sidecar\'s original destinations) (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('a service with no tcp: rule goes to its default cluster; a rule of its host routes it elsewhere', async () => {
    const [a, b, c] = [await echo('a'), await echo('b'), await echo('c')];
    const { tcp } = await sidecarTcp({ 'se.yaml': tcpServiceEntries([{ name: 'echo-a', port: a.port }, { name: 'echo-b', port: b.port }, { name: 'echo-c', port: c.port }]), 'vs.yaml': MESH_TCP_RULE });
    let target: TcpTarget = { address: '10.0.0.1', port: 7000, service: { host: 'echo-c.example.internal', cluster: 'outbound|7000||echo-c.example.internal' } };
    const port = await front((s) => tcp.handle(s, target));
    expect(await exchange(port, 'one')).toBe('c:one');
    // echo-a's own rule (port 7000) sends it to echo-b; echo-c's rule does not apply to echo-a.
    target = { address: '10.0.0.2', port: 7000, service: { host: 'echo-a.example.internal', cluster: 'outbound|7000||echo-a.example.internal' } };
    expect(await exchange(port, 'two')).toBe('b:two');
    // Another original port: echo-a's rule (match port 7000) does not hold: its default cluster.
    target = { address: '10.0.0.2', port: 7001, service: { host: 'echo-a.example.internal', cluster: 'outbound|7000||echo-a.example.internal' } };
    expect(await exchange(port, 'three')).toBe('a:three');
    const s = Object.fromEntries(tcp.stats.records().map((r) => [r.name, r.value]));
    expect(s['tcp.outbound|7000||echo-c.example.internal.downstream_cx_total']).toBe(1);
    expect(s['tcp.outbound|7000||echo-b.example.internal.downstream_cx_total']).toBe(1);
    expect(s['tcp.outbound|7000||echo-a.example.internal.downstream_cx_total']).toBe(1);
  });

  test('no service: PassthroughCluster to the original destination; the proxy\'s own ports are refused (UH), never looped into', async () => {
    const x = await echo('x');
    let ownPort = 0;
    const { tcp } = await sidecarTcp({ 'se.yaml': tcpServiceEntries([{ name: 'echo-a', port: 1 }]) }, () => [ownPort]);
    let target: TcpTarget = { address: '127.0.0.1', port: x.port, service: null };
    const port = await front((s) => tcp.handle(s, target));
    ownPort = port;
    expect(await exchange(port, 'through')).toBe('x:through');
    target = { address: '127.0.0.1', port, service: null };
    expect(await exchange(port, 'loop')).toBe('');
    const s = Object.fromEntries(tcp.stats.records().map((r) => [r.name, r.value]));
    expect(s['tcp.PassthroughCluster.downstream_cx_total']).toBe(2);
    expect(s['cluster.PassthroughCluster.upstream_cx_passthrough_self_refused']).toBe(1);
  });

  test('blackHole closes at once through BlackHoleCluster (UH)', async () => {
    const { tcp } = await sidecarTcp({ 'se.yaml': tcpServiceEntries([{ name: 'echo-a', port: 1 }]) });
    const port = await front((s) => tcp.blackHole(s));
    expect(await exchange(port, 'nobody')).toBe('');
    const s = Object.fromEntries(tcp.stats.records().map((r) => [r.name, r.value]));
    expect(s['tcp.BlackHoleCluster.downstream_cx_total']).toBe(1);
  });

  test('the config lists service ports by address: ServiceEntry addresses, and TCP ports of services without one', () => {
    const t = tempYaml({ 'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.example.internal]
  addresses: [10.9.9.9, 10.8.0.0/16]
  ports: [{number: 5432, name: tcp-pg}, {number: 8080, name: http-admin}, {number: 9000, name: other}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache}
spec:
  hosts: [cache.example.internal]
  ports: [{number: 6379, name: redis}, {number: 80, name: http}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`, 'mesh.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    protocolDetectionTimeout: 250ms
` });
    const { mesh } = loadConfig([t.dir], {});
    expect(mesh.serviceAddresses).toEqual([
      { address: null, port: 6379, protocol: 'REDIS', host: 'cache.example.internal', cluster: 'outbound|6379||cache.example.internal' },
      ...[5432, 8080, 9000].flatMap((port, i) => ['10.9.9.9', '10.8.0.0/16'].map((address) => ({ address, port, protocol: ['TCP', 'HTTP', 'AUTO'][i], host: 'db.example.internal', cluster: `outbound|${port}||db.example.internal` }))),
    ]);
    expect(mesh.protocolDetectionTimeoutMs).toBe(250);
  });

  test('protocolDetectionTimeout: a bad value is a located config error', () => {
    const t = tempYaml({ 'mesh.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    protocolDetectionTimeout: soon
` });
    expect(() => loadConfig([t.dir], {})).toThrow(/mesh\.yaml.*protocolDetectionTimeout "soon"/s);
  });
});
