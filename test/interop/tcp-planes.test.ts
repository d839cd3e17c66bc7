// TCP through each data plane from the same Istio YAML: a Gateway with an HTTP server and two
// TCP servers (TCP and REDIS), a VirtualService whose `tcp:` rules send one port 50/50 to two
// Node echo servers and the other to a real Redis. wasmesh serves the TCP ports with its byte
// proxy (`--port-map`), Envoy with the tcp_proxy listeners `wasmesh envoy-config` writes
// (`tcpPorts`). Bytes cross both ways with half-close, the weights split connections, a 2 MiB
// transfer arrives whole, and redis-cli PING/SET/GET works through each plane. Then the same
// Gateway through stock Envoy programmed over xDS by the control plane.
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import type { Scenario } from './scenarios.js';
import { backendHost, tcpGatewayYaml, tcpServer, tcpServiceEntries, tcpSplit } from '../helpers/tcp-yaml.js';
import { HTTP_80, tcpRoute } from '../../host/config/istio-yaml-builders.js';
import { exchange } from '../helpers/tcp-exchange.js';
import { run, startRedis, tcpServersForTests, type TestServer } from '../helpers/tcp-servers-for-tests.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../helpers/ports.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { fakeIo } from '../helpers/fake-io.js';
import { startAndWait, stopChild } from './data-planes.js';
import { envoySettled, FolderControlPlane } from './xds-data-planes.js';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';

/** The TCP gateway on `ports` (its servers bound to `bind` when given): echo split 50/50, Redis on its own port. */
const gatewayOn = (ports = { http: 80, tcp: 31400, redis: 6379 }, bind?: string): string => tcpGatewayYaml(
  [{ ...HTTP_80, port: { ...HTTP_80.port, number: ports.http } }, tcpServer(ports.tcp, 'tcp-echo'), tcpServer(ports.redis, 'redis', 'REDIS')].map((s) => (bind === undefined ? s : { ...s, bind })),
  [tcpSplit(ports.tcp, [{ name: 'echo-a', weight: 50 }, { name: 'echo-b', weight: 50 }]), tcpRoute({ port: ports.redis }, [{ host: backendHost('redis') }])],
);
const GATEWAY = gatewayOn();

const bins = tcpServersForTests('tcp-planes');
let echoes: Server[] = [];
let redis: TestServer | null = null;
const portOf = (s: Server): number => (s.address() as { port: number }).port;

const echo = tcpEchoServer;

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

// Over xDS: stock Envoy programmed by the control plane, listening on the Gateway's own server
// ports (`bind: 127.0.0.1`, free ports chosen here) as Istio's gateway does. A TCP server gets a
// tcp_proxy listener there (it used to get an HTTP listener over xDS).
const envoyBin = envoyForTests('tcp-planes-xds');
describe.skipIf(envoyBin === null)('TCP on stock Envoy over xDS', () => {
  let control: FolderControlPlane | null = null;
  let xdsEnvoy: ChildProcess | null = null;
  let ports = { http: 0, tcp: 0, redis: 0 };
  let envoyDir = '';

  beforeAll(async () => {
    ports = { http: await freePort(), tcp: await freePort(), redis: await freePort() };
    const gateway = gatewayOn(ports, '127.0.0.1');
    expect(gateway.match(/bind: 127\.0\.0\.1/g)).toHaveLength(3);
    envoyDir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-xds-'));
    control = await FolderControlPlane.start({
      // meshConfig's access log: Envoy's tcp_proxy writes it as wasmesh's TCP proxy does.
      'mesh.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    accessLogFile: ${join(envoyDir, 'access.log')}\n`,
      'services.yaml': tcpServiceEntries([
        { name: 'echo-a', port: portOf(echoes[0]!) },
        { name: 'echo-b', port: portOf(echoes[1]!) },
        { name: 'redis', port: redis?.port ?? 1, protocol: 'REDIS' },
      ]),
      'gateway.yaml': gateway,
    });
    const admin = await freePort();
    const id = nodeId('router', '127.0.0.1', `tcp-xds-${process.pid}`, 'default');
    // No --listen: the gateway listens on its Gateway's server ports.
    const io = fakeIo();
    expect(await envoyBootstrapCommand(['--xds', `127.0.0.1:${control.xdsPort}`, '--admin', `127.0.0.1:${admin}`, '--node-id', id, '--proxy-type', 'router', '--gateway', 'tcp-gw'], io), io.stderr).toBe(0);
    writeFileSync(join(envoyDir, 'envoy.yaml'), io.stdout);
    xdsEnvoy = await startAndWait(envoyBin!, ['-c', join(envoyDir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning', '--file-flush-interval-msec', '100'], admin, 'envoy over xDS');
    await control.waitSynced({ port: ports.http, adminPort: admin, nodeId: id, settled: () => envoySettled(admin), stop: async () => {} });
  }, 60_000);

  afterAll(async () => {
    if (xdsEnvoy !== null) await stopChild(xdsEnvoy);
    await control?.close();
    if (envoyDir !== '') rmSync(envoyDir, { recursive: true, force: true });
  }, 30_000);

  it('echo on the TCP server port: bytes both ways with half-close, both weights served', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) replies.push((await exchange(ports.tcp, `xds-${i}`)).reply);
    replies.forEach((r, i) => expect(r).toMatch(new RegExp(`^[ab]:xds-${i}$`)));
    expect(replies.some((r) => r.startsWith('a:'))).toBe(true);
    expect(replies.some((r) => r.startsWith('b:'))).toBe(true);
    // One line per connection in Istio's default format, the shape test/runtime/tcp-gateway-access-log.test.ts
    // expects of wasmesh.
    let lines: string[] = [];
    for (let i = 0; i < 50 && lines.length < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        lines = readFileSync(join(envoyDir, 'access.log'), 'utf8').split('\n').filter((l) => l.includes('"- - -"'));
      } catch {
        // not written yet
      }
    }
    expect(lines).toHaveLength(20);
    for (const l of lines) expect(l).toMatch(/^\[[\d\-T:.]+Z\] "- - -" 0 - - - "-" [56] [78] \d+ - "-" "-" "-" "-" "127\.0\.0\.1:\d+" outbound\|7000\|\|echo-[ab]\.example\.internal 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - -$/);
  });

  it.skipIf(bins === null)('redis-cli PING and GET on the REDIS server port', async () => {
    const cli = (...args: string[]): Promise<string> => run(bins!.redisCli, ['-h', '127.0.0.1', '-p', String(ports.redis), ...args]);
    expect((await cli('PING')).trim()).toBe('PONG');
    expect((await cli('SET', 'wasmesh:xds', 'over-xds')).trim()).toBe('OK');
    expect((await cli('GET', 'wasmesh:xds')).trim()).toBe('over-xds');
  });
});
