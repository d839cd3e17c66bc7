// TCP through each data plane from the same Istio YAML: a Gateway with an HTTP server and two
// TCP servers (TCP and REDIS), a VirtualService whose `tcp:` rules send one port 50/50 to two
// Node echo servers and the other to a real Redis. wasmesh serves the TCP ports with its byte
// proxy (`--port-map`), Envoy with the tcp_proxy listeners `wasmesh envoy-config` writes
// (`tcpPorts`). Bytes cross both ways with half-close, the weights split connections, a 2 MiB
// transfer arrives whole, and redis-cli PING/SET/GET works through each plane.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';
import { tcpServiceEntries } from '../helpers/tcp-yaml.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { run, startRedis, tcpServersForTests, type TestServer } from '../helpers/tcp-servers-for-tests.js';

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 31400, name: tcp-echo, protocol: TCP}
    hosts: ['*']
  - port: {number: 6379, name: redis, protocol: REDIS}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-vs}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - match: [{port: 31400}]
    route:
    - destination: {host: echo-a.example.internal, port: {number: 7000}}
      weight: 50
    - destination: {host: echo-b.example.internal, port: {number: 7000}}
      weight: 50
  - match: [{port: 6379}]
    route:
    - destination: {host: redis.example.internal}
`;

const bins = tcpServersForTests('tcp-planes');
let echoes: Server[] = [];
let redis: TestServer | null = null;
const portOf = (s: Server): number => (s.address() as { port: number }).port;

async function echo(name: string): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(`${name}:${d.toString()}`));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

beforeAll(async () => {
  echoes = [await echo('a'), await echo('b')];
  if (bins !== null) redis = await startRedis(bins);
}, 30_000);
afterAll(async () => {
  for (const s of echoes) await new Promise((r) => s.close(r));
  await redis?.stop();
}, 30_000);

for (const plane of dataPlanes()) {
  if (plane.name === 'envoy+filters') continue; // the same tcp_proxy listeners as `envoy` (the filters are HTTP filters)
  describe.skipIf(plane.unavailable !== null)(`TCP on ${plane.name}`, () => {
    let proxy: RunningProxy | undefined;
    beforeAll(async () => {
      const scenario: Scenario = {
        name: 'tcp',
        gateway: 'tcp-gw',
        files: () => ({
          '00-services.yaml': tcpServiceEntries([
            { name: 'echo-a', port: portOf(echoes[0]!) },
            { name: 'echo-b', port: portOf(echoes[1]!) },
            // Nothing listens on 1 without Redis: the Redis test is skipped then.
            { name: 'redis', port: redis?.port ?? 1, protocol: 'REDIS' },
          ]),
          '01-gateway.yaml': GATEWAY,
        }),
        exchanges: [],
      };
      proxy = await plane.start(scenario, { v1: 1, v2: 1 }, { tcpPorts: [31400, 6379], httpPort: 80 });
    }, 30_000);
    afterAll(async () => { await proxy?.stop(); });

    it('echo: bytes both ways with half-close, connections split 50/50 by weight', async () => {
      const replies: string[] = [];
      for (let i = 0; i < 40; i++) replies.push((await exchange(proxy!.tcp.get(31400)!, `hello-${i}`)).reply);
      replies.forEach((r, i) => expect(r).toMatch(new RegExp(`^[ab]:hello-${i}$`)));
      const a = replies.filter((r) => r.startsWith('a:')).length;
      // Envoy's weighted_clusters pick at random (wasmesh's smooth WRR alternates): both get a share.
      expect(a).toBeGreaterThanOrEqual(8);
      expect(a).toBeLessThanOrEqual(32);
    });

    it('a 2 MiB transfer arrives whole', async () => {
      const big = 'x'.repeat(2 * 1024 * 1024);
      const r = await exchange(proxy!.tcp.get(31400)!, big);
      expect(r.error).toBeNull();
      expect(r.reply.replace(/[ab]:/g, '')).toBe(big);
    });

    it.skipIf(bins === null)('redis-cli PING, SET, GET through the plane to a real Redis', async () => {
      const cli = (...args: string[]): Promise<string> => run(bins!.redisCli, ['-h', '127.0.0.1', '-p', String(proxy!.tcp.get(6379)), ...args]);
      expect((await cli('PING')).trim()).toBe('PONG');
      expect((await cli('SET', `wasmesh:${plane.name}`, 'through-the-plane')).trim()).toBe('OK');
      expect((await cli('GET', `wasmesh:${plane.name}`)).trim()).toBe('through-the-plane');
    });
  });
}
