// host/sidecar/inbound-passthrough.ts: InboundPassthroughCluster (ORIGINAL_DST, no endpoints),
// the target (bound to 127.0.0.6 for IPv4, ::6 for IPv6),
// and a real loopback pass through TcpProxyServer: the upstream sees the connection come from
// 127.0.0.6, counted under the cluster's name.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import { inboundMesh } from '../../host/sidecar/inbound-mesh.js';
import { inboundPassthroughCluster, inboundPassthroughTarget, withInboundPassthrough } from '../../host/sidecar/inbound-passthrough.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe('inbound passthrough: cluster, rules, target', () => {
  test('the cluster is an original-destination one with no endpoints, added once', () => {
    expect(inboundPassthroughCluster()).toMatchObject({ name: 'InboundPassthroughCluster', lb: 'PASSTHROUGH', endpoints: [] });
    const mesh = withInboundPassthrough(inboundMesh([5005]));
    expect(mesh.clusters.map((c) => c.name)).toEqual(['inbound|5005||', 'InboundPassthroughCluster']);
    expect(withInboundPassthrough(mesh)).toBe(mesh);
    // The inbound config itself is left as it was.
    expect(inboundMesh([5005]).clusters.map((c) => c.name)).toEqual(['inbound|5005||']);
  });

  test('the target: the original destination, no service, InboundPassthroughCluster; bound to 127.0.0.6 for IPv4, ::6 for IPv6', () => {
    expect(inboundPassthroughTarget('10.0.0.5', 5009)).toEqual({ address: '10.0.0.5', port: 5009, service: null, passthroughCluster: 'InboundPassthroughCluster', bindAddress: '127.0.0.6' });
    expect(inboundPassthroughTarget('fd00::5', 5009)).toEqual({ address: 'fd00::5', port: 5009, service: null, passthroughCluster: 'InboundPassthroughCluster', bindAddress: '::6' });
    // A dual-stack [::] listener's IPv4 connection: the mapped address is IPv4 again, from 127.0.0.6.
    expect(inboundPassthroughTarget('::ffff:10.0.0.5', 5009)).toMatchObject({ address: '10.0.0.5', bindAddress: '127.0.0.6' });
    expect(inboundPassthroughTarget('FD00:0::5', 5009)).toMatchObject({ address: 'fd00::5', bindAddress: '::6' });
  });
});

/**
 * One pass through TcpProxyServer on a loopback of `family`: an app, the inbound byte proxy with
 * InboundPassthroughCluster, and a front listener handing each connection to it with the app as
 * the original destination; a client sends `bytes` and half-closes. What the client got back,
 * the sources the app saw, and the proxy's counters.
 */
async function passThrough(family: 4 | 6): Promise<{ reply: string; sources: string[]; stats: Record<string, number> }> {
  const loopback = family === 4 ? '127.0.0.1' : '::1';
  const sources: string[] = [];
  const app = createServer({ allowHalfOpen: true }, (s) => {
    sources.push(s.remoteAddress ?? '');
    s.on('data', (d) => s.write(`app:${d.toString()}`));
    s.on('end', () => s.end());
    s.on('error', () => {});
  }) as Server;
  await new Promise<void>((r) => app.listen(0, loopback, r));
  open.push({ close: () => new Promise((r) => { app.close(r); }) });
  const appPort = (app.address() as { port: number }).port;

  const tcp = new TcpProxyServer({ host: loopback, port: 15006, gatewayPort: 15006, adopt: true, seed: 1, limits: { drainTimeoutMs: 100 } });
  tcp.apply(withInboundPassthrough(inboundMesh([5005])), 1);
  await tcp.listen();
  open.push(tcp);
  const front = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => tcp.handle(s, inboundPassthroughTarget(loopback, appPort)));
  await new Promise<void>((r) => front.listen(0, loopback, r));
  open.push({ close: () => new Promise((r) => { front.close(r); }) });
  const frontPort = (front.address() as { port: number }).port;

  const reply = await new Promise<string>((resolve) => {
    const s = connect({ host: loopback, port: frontPort, allowHalfOpen: true });
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    s.on('end', () => s.end());
    s.end('bytes');
  });
  return { reply, sources, stats: Object.fromEntries(tcp.stats.records().map((r) => [r.name, r.value])) };
}

describe('inbound passthrough through TcpProxyServer (loopback)', () => {
  test('connects to the original destination from 127.0.0.6, counted as InboundPassthroughCluster', async () => {
    const { reply, sources, stats } = await passThrough(4);
    expect(reply).toBe('app:bytes');
    expect(sources).toEqual(['127.0.0.6']);
    expect(stats['tcp.InboundPassthroughCluster.downstream_cx_total']).toBe(1);
    expect(stats['cluster.InboundPassthroughCluster.upstream_cx_total']).toBe(1);
    expect(stats['tcp.PassthroughCluster.downstream_cx_total'] ?? 0).toBe(0);
  });
});

describe('inbound passthrough over IPv6 loopback without ::6 on lo', () => {
  test('the bind fails: the connection is closed and counted as a connect failure, nothing reaches the app', async () => {
    const { networkInterfaces } = await import('node:os');
    const has6 = Object.values(networkInterfaces()).flat().some((i) => i?.address === '::6');
    // This host's lo has no ::6 (iptables-init --ipv6 adds it inside a pod; test/sidecar/sidecar-ipv6-netns.test.ts).
    expect(has6).toBe(false);
    const { reply, sources, stats } = await passThrough(6);
    expect(reply).toBe('');
    expect(sources).toEqual([]);
    expect(stats['cluster.InboundPassthroughCluster.upstream_cx_connect_fail']).toBe(1);
  });
});
