// TcpProxyServer.handleTls as a sidecar's outbound capture uses it for TLS (a `tls`/`https` port,
// or TLS sniffed on an unnamed one), over loopback without TPROXY: a plain server accepts and
// hands each socket in with the original destination the capture would have found. Real
// node:https backends with their own certificates answer over the TLS session the client opens
// through the proxy (never terminated there). Checks: the service's own cluster when no mesh
// `tls:` rule holds; a rule of the service's host by SNI with destinationSubnets, port and
// sourceLabels; the SNI naming a service that shares the port (no addresses); PassthroughCluster
// to the original destination for an unknown service; not TLS → routed without SNI; the
// inspector's stats and the route's `tcp.<prefix>` stats.
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { TCP_TRANSPORTS, currentTcpTransport, useTcpTransport } from '../helpers/tcp-transports.js';
import { loadConfig } from '../../host/config/index.js';
import { TcpProxyServer, type HandleTlsOptions, type TcpTarget } from '../../host/server/tcp-proxy-server.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { reach, startPassthroughBackends, type PassthroughBackends } from '../helpers/tls-passthrough-fixture.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

let backends: PassthroughBackends;
beforeAll(async () => {
  backends = await startPassthroughBackends();
}, 20_000);
afterAll(() => backends.close());

const portOf = (name: 'a' | 'b'): number => (backends.servers[name].address() as { port: number }).port;

function yaml(): string {
  const se = (name: 'a' | 'b'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${name}}
spec:
  hosts: [${name}.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: ${portOf(name)}}}]
`;
  return `${se('a')}---
${se('b')}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-to-b}
spec:
  hosts: [a.example.com]
  tls:
  - match: [{sniHosts: [a.example.com], destinationSubnets: [10.9.0.0/16]}]
    route: [{destination: {host: b.example.com, port: {number: 443}}}]
  - match: [{sniHosts: [a.example.com], port: 8443}]
    route: [{destination: {host: b.example.com, port: {number: 443}}}]
  - match: [{sniHosts: [a.example.com], sourceLabels: {app: other}}]
    route: [{destination: {host: b.example.com, port: {number: 443}}}]
`;
}

async function sidecarTls(labels: Record<string, string> = { app: 'me' }, extra = ''): Promise<TcpProxyServer> {
  const t = tempYaml({ 'mesh.yaml': yaml() + extra });
  const { mesh } = loadConfig([t.dir], { labels });
  const tcp = new TcpProxyServer({ tcpTransport: currentTcpTransport(), host: '127.0.0.1', port: 15001, gatewayPort: 15001, adopt: true, seed: 1, limits: { drainTimeoutMs: 100 } });
  tcp.apply(mesh, 1);
  await tcp.listen();
  open.push(tcp);
  return tcp;
}

/** A front that hands every accepted socket to handleTls with the current target (what the capture does). */
async function front(tcp: TcpProxyServer, at: () => { target: TcpTarget; opts?: HandleTlsOptions }): Promise<number> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => {
    const { target, opts } = at();
    tcp.handleTls(s, target, opts);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => { server.close(r); }) });
  return (server.address() as { port: number }).port;
}

const A = { host: 'a.example.com', cluster: 'outbound|443||a.example.com' };
const stat = (tcp: TcpProxyServer): Record<string, number> => Object.fromEntries(tcp.stats.records().map((r) => [r.name, r.value]));

describe.each(TCP_TRANSPORTS)('TcpProxyServer.handleTls (a sidecar\'s outbound TLS, routed by SNI) (%s transport)', (transport) => {
  useTcpTransport(transport);
  test('no mesh tls: rule holds: the service\'s own cluster; the backend does the handshake with its certificate', async () => {
    const tcp = await sidecarTls();
    const port = await front(tcp, () => ({ target: { address: '10.1.1.1', port: 443, service: A } }));
    const r = await reach(port, 'a.example.com', '/own');
    expect(r.body).toBe('backend-a /own');
    expect(r.fingerprint).toBe(backends.fingerprint('a'));
    expect(r.authorized).toBe(true);
    expect(backends.seen.a).toContain('a.example.com');
    const s = stat(tcp);
    expect(s['tcp.outbound|443||a.example.com.downstream_cx_total']).toBe(1);
    expect(s['tls_inspector.sni_found']).toBe(1);
  });

  test('a rule of the service\'s host takes it by SNI with destinationSubnets, port, or sourceLabels', async () => {
    const tcp = await sidecarTls();
    let target: TcpTarget = { address: '10.9.4.4', port: 443, service: A };
    const port = await front(tcp, () => ({ target }));
    expect((await reach(port, 'a.example.com', '/subnet')).body).toBe('backend-b /subnet');
    target = { address: '10.1.1.1', port: 8443, service: A };
    expect((await reach(port, 'a.example.com', '/port')).body).toBe('backend-b /port');
    // Neither holds, and this proxy's labels are not app=other: its own cluster.
    target = { address: '10.1.1.1', port: 443, service: A };
    expect((await reach(port, 'a.example.com', '/none')).body).toBe('backend-a /none');
    // Another SNI than the rules' sniHosts, even on the subnet: no rule holds.
    target = { address: '10.9.4.4', port: 443, service: A };
    expect((await reach(port, 'x.example.com', '/sni')).body).toBe('backend-a /sni');
    expect(stat(tcp)['tcp.outbound|443||b.example.com.downstream_cx_total']).toBe(2);

    const other = await sidecarTls({ app: 'other' });
    const otherPort = await front(other, () => ({ target: { address: '10.1.1.1', port: 443, service: A } }));
    expect((await reach(otherPort, 'a.example.com', '/labels')).body).toBe('backend-b /labels');
  });

  test('the most specific SNI of the service\'s rules wins, not the first written (Envoy filter chain match)', async () => {
    const wide = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wide}
spec:
  hosts: ['*.example.com']
  tls:
  - match: [{sniHosts: ['*.example.com']}]
    route: [{destination: {host: a.example.com, port: {number: 443}}}]
  - match: [{sniHosts: [b.example.com]}]
    route: [{destination: {host: b.example.com, port: {number: 443}}}]
`;
    const tcp = await sidecarTls({ app: 'me' }, wide);
    const port = await front(tcp, () => ({ target: { address: '10.1.1.1', port: 443, service: A } }));
    const b = await reach(port, 'b.example.com', '/exact');
    expect(b.body).toBe('backend-b /exact');
    expect(b.fingerprint).toBe(backends.fingerprint('b'));
    expect((await reach(port, 'c.example.com', '/wild')).body).toBe('backend-a /wild');
  });

  test('the SNI names a service sharing the port; unknown service: the original destination (PassthroughCluster)', async () => {
    const tcp = await sidecarTls();
    let at: { target: TcpTarget; opts?: HandleTlsOptions } = {
      target: { address: '10.1.1.1', port: 443, service: A },
      opts: { bySni: (sni) => (sni === 'b.example.com' ? { host: 'b.example.com', cluster: 'outbound|443||b.example.com' } : null) },
    };
    const port = await front(tcp, () => at);
    expect((await reach(port, 'b.example.com', '/by-sni')).body).toBe('backend-b /by-sni');
    expect((await reach(port, 'a.example.com', '/fallback')).body).toBe('backend-a /fallback');
    at = { target: { address: '127.0.0.1', port: portOf('b'), service: null } };
    const r = await reach(port, 'anything.example.org', '/through');
    expect(r.body).toBe('backend-b /through');
    expect(r.fingerprint).toBe(backends.fingerprint('b'));
    expect(stat(tcp)['tcp.PassthroughCluster.downstream_cx_total']).toBe(1);
  });

  test('not TLS: routed without SNI to the service\'s cluster, the bytes untouched (tls_not_found)', async () => {
    const seen: string[] = [];
    const plain = createServer((s) => s.on('data', (d: Buffer) => { seen.push(d.toString()); s.end('plain-reply'); }));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { plain.close(r); }) });
    const tcp = await sidecarTls();
    const port = await front(tcp, () => ({ target: { address: '127.0.0.1', port: (plain.address() as { port: number }).port, service: null } }));
    const reply = await new Promise<string>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('close', () => resolve(got));
      c.write('PING plain\r\n');
    });
    expect(reply).toBe('plain-reply');
    expect(seen.join('')).toBe('PING plain\r\n');
    expect(stat(tcp)['tls_inspector.tls_not_found']).toBe(1);
  });

  test('a client silent past the timeout continues without SNI (Istio\'s sidecar setting), not closed', async () => {
    const tcp = await sidecarTls();
    const port = await front(tcp, () => ({ target: { address: '10.1.1.1', port: 443, service: A }, opts: { timeoutMs: 150 } }));
    // A server-first exchange would need the upstream to speak first: here the client waits past
    // the timeout, then does its TLS handshake on the connection that was passed on.
    const s = connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => s.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    const r = await reach(port, 'a.example.com', '/late', s);
    expect(r.body).toBe('backend-a /late');
    expect(stat(tcp)['downstream_pre_cx_timeout']).toBe(1);
  });
});
