// TCP through a real wasmesh gateway (the `wasmesh proxy --gateway --port-map` runtime): one
// Gateway with an HTTP server and TCP servers, a VirtualService with `tcp:` rules per port, and
// real servers behind them: two Node echo servers split 50/50, a real Redis (redis-cli PING, SET,
// GET through the gateway) and a real PostgreSQL (psql 'select 1' through the gateway). Then the
// gateway's istio_tcp_* metrics and Envoy tcp_proxy stats as the admin API serves them. Every
// server started here is stopped in afterAll.
import type { Server } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { backendHost, tcpGatewayYaml, tcpServer, tcpServiceEntries, tcpSplit } from '../helpers/tcp-yaml.js';
import { HTTP_80, tcpRoute } from '../../host/config/istio-yaml-builders.js';
import { run, startPostgres, startRedis, tcpServersForTests, type TestServer } from '../helpers/tcp-servers-for-tests.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';

const bins = tcpServersForTests('tcp-gateway');
let rt: ProxyRuntime;
let echoes: Server[] = [];
let redis: TestServer | null = null;
let pg: TestServer | null = null;
const port: Record<number, number> = {};

const echo = tcpEchoServer;
const portOf = (s: Server): number => (s.address() as { port: number }).port;

const GATEWAY = tcpGatewayYaml([HTTP_80, tcpServer(31400, 'tcp-echo'), tcpServer(6379, 'redis', 'REDIS'), tcpServer(5432, 'tcp-postgres')], [
  tcpSplit(31400, [{ name: 'echo-a', weight: 50 }, { name: 'echo-b', weight: 50 }]),
  tcpRoute({ port: 6379 }, [{ host: backendHost('redis') }]),
  tcpRoute({ port: 5432 }, [{ host: backendHost('postgres') }]),
]);

beforeAll(async () => {
  echoes = [await echo('a'), await echo('b')];
  if (bins !== null) {
    redis = await startRedis(bins);
    pg = await startPostgres(bins);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-gw-'));
  writeFileSync(join(dir, 'services.yaml'), tcpServiceEntries([
    { name: 'echo-a', port: portOf(echoes[0]!) },
    { name: 'echo-b', port: portOf(echoes[1]!) },
    // Nothing listens on 1 when the servers are absent: those tests are skipped then.
    { name: 'redis', port: redis?.port ?? 1, protocol: 'REDIS' },
    { name: 'postgres', port: pg?.port ?? 1 },
  ]));
  writeFileSync(join(dir, 'gateway.yaml'), GATEWAY);
  rt = await startProxyRuntime({
    sources: [dir],
    gateway: 'tcp-gw',
    listen: { host: '127.0.0.1', port: 0 },
    gatewayPorts: [80, 31400, 6379, 5432].map((p) => ({ port: p, at: { host: '127.0.0.1', port: 0 } })),
    admin: { host: '127.0.0.1', port: 0 },
    log: () => {},
  });
  for (const g of rt.gatewayPorts) {
    expect(g.tcp, `Gateway port ${g.port} is served by the TCP proxy`).not.toBeNull();
    port[g.port] = g.tcp!.port;
  }
}, 60_000);

afterAll(async () => {
  await rt?.close();
  for (const s of echoes) await new Promise((r) => s.close(r));
  await redis?.stop();
  await pg?.stop();
}, 30_000);

describe('TCP through the gateway', () => {
  test('echo: a 50/50 split over two Node echo servers, bytes passed through both ways', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) replies.push((await exchange(port[31400]!, `hello-${i}`)).reply);
    expect(replies.filter((r) => r.startsWith('a:hello-')).length).toBe(10);
    expect(replies.filter((r) => r.startsWith('b:hello-')).length).toBe(10);
    const big = 'x'.repeat(3 * 1024 * 1024);
    const r = await exchange(port[31400]!, big);
    // The echo prefixes each chunk it reads with its name: strip those, every byte came back.
    expect(r.reply.replace(/[ab]:/g, '')).toBe(big);
  });

  test.skipIf(bins === null)('redis-cli PING, SET, GET through the gateway to a real Redis', async () => {
    const cli = (...args: string[]): Promise<string> => run(bins!.redisCli, ['-h', '127.0.0.1', '-p', String(port[6379]), ...args]);
    expect((await cli('PING')).trim()).toBe('PONG');
    expect((await cli('SET', 'wasmesh:tcp', 'through-the-gateway')).trim()).toBe('OK');
    expect((await cli('GET', 'wasmesh:tcp')).trim()).toBe('through-the-gateway');
  });

  test.skipIf(bins === null)("psql -c 'select 1' through the gateway to a real PostgreSQL", async () => {
    const out = await run(`${bins!.pgBin}/psql`, ['-h', '127.0.0.1', '-p', String(port[5432]), '-U', 'postgres', '-d', 'postgres', '-tAc', 'select 1 + 1'], { ...process.env, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'prefer' });
    expect(out.trim()).toBe('2');
  });

  test('the admin API: istio_tcp_* series per destination service and tcp.<stat_prefix>.* stats', async () => {
    const text = await (await fetch(`http://127.0.0.1:${rt.adminPort}/stats/prometheus`)).text();
    expect(text).toMatch(/istio_tcp_connections_opened_total\{reporter="source",[^}]*destination_service="echo-a\.example\.internal"[^}]*request_protocol="tcp",response_flags="-"[^}]*\} 1[01]/);
    expect(text).toMatch(/istio_tcp_received_bytes_total\{[^}]*destination_service="echo-b\.example\.internal"[^}]*\} \d+/);
    if (bins !== null) expect(text).toMatch(/istio_tcp_connections_closed_total\{[^}]*destination_service="redis\.example\.internal"[^}]*\} 3/);
    const stats = await (await fetch(`http://127.0.0.1:${rt.adminPort}/stats`)).text();
    expect(stats).toMatch(/^tcp\.default\/tcp-vs\/tcp-0\.downstream_cx_total: 21$/m);
    expect(stats).toMatch(/^cluster\.outbound\|7000\|\|echo-a\.example\.internal\.upstream_cx_total: \d+$/m);
  });
});
