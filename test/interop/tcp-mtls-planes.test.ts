// TCP inside mesh mTLS into an Envoy sidecar from both data planes, on loopback, everything a
// process as an operator runs it: `wasmesh control-plane --ca-dir` under a mesh-wide STRICT; beta,
// a Debian redis-server behind stock Envoy from `envoy-bootstrap --proxy-type sidecar --filters
// --app-ports --inbound --sds` (its certificate from `wasmesh agent`); a Gateway TCP server routed
// (VirtualService `tcp:`) to beta's TCP port, served by a wasmesh gateway (`wasmesh proxy --xds
// --port-map`, its certificate from the CA) and by an Envoy gateway (`envoy-bootstrap --filters`,
// its own agent). Both originate Istio's TCP mTLS to beta (auto mTLS: the WorkloadEntry has the
// tlsMode label) offering `istio-peer-exchange, istio` (Envoy's cluster too: its TCP stats filter
// runs the exchange, host/envoy/tcp-peer-exchange.ts), and Envoy's inbound takes both on its
// peer-exchange chain, agreeing on `istio-peer-exchange`. Redis is client-first: each side's
// header rides in front of its first bytes (the Envoy filter's), or goes at once (wasmesh's).
// redis-cli SET/GET through each gateway; each value lands in beta's Redis; every istio_tcp_*
// series names the peer's workload, app and version from the exchange — the wasmesh gateway's
// (which never maps a certificate to a workload) names beta, beta's names each gateway — with
// mutual_tls and the principals from the certificates.
// The other direction (Envoy → a wasmesh sidecar's inbound) needs the capture's original
// destination: test/sidecar/tcp-mtls-planes-netns.test.ts runs both directions between pods.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { startRedis, tcpServersForTests, type TestServer } from '../helpers/tcp-servers-for-tests.js';
import { parseSamples, type Sample } from '../helpers/prometheus-samples.js';
import { gatewayVirtualServiceYaml, gatewayYaml, meshServiceEntryYaml, peerAuthenticationYaml, staticServiceEntryYaml, tcpRoute, workloadEntryYaml, yamlDocs, type IstioPort } from '../../host/config/istio-yaml-builders.js';

const envoy = envoyForTests('TCP over mesh mTLS into an Envoy sidecar');
const servers = tcpServersForTests('TCP over mesh mTLS into an Envoy sidecar');
const BETA_ID = 'spiffe://cluster.local/ns/shop/sa/default';
const WASMESH_GW_ID = 'spiffe://cluster.local/ns/istio-system/sa/wasmesh-gw';
const ENVOY_GW_ID = 'spiffe://cluster.local/ns/istio-system/sa/default';

function meshYaml(p: { gateway: number; envoyInbound: number; redis: number }): string {
  const redis: IstioPort = { number: p.redis, name: 'tcp-redis', protocol: 'TCP' };
  return yamlDocs(
    peerAuthenticationYaml('STRICT'),
    meshServiceEntryYaml({ name: 'beta', namespace: 'shop', host: 'beta.shop.svc.cluster.local', port: redis, selector: { app: 'beta' } }),
    workloadEntryYaml({ name: 'beta-1', namespace: 'shop', address: '127.0.0.1', serviceAccount: 'default', labels: { app: 'beta', 'security.istio.io/tlsMode': 'istio' }, ports: { 'tcp-redis': p.envoyInbound } }),
    gatewayYaml('tcp-gw', [{ port: { number: p.gateway, name: 'tcp-redis', protocol: 'TCP' }, bind: '127.0.0.1' }], 'istio-system'),
    gatewayVirtualServiceYaml({ name: 'to-beta', namespace: 'istio-system', gateway: 'tcp-gw', tcp: [tcpRoute({ port: p.gateway }, [{ host: 'beta.shop.svc.cluster.local', port: p.redis }])] }),
  );
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(envoy === null || servers === null)('TCP over mesh mTLS from a wasmesh gateway and an Envoy gateway into a stock Envoy sidecar (STRICT, one control plane)', () => {
  let dir = '';
  const procs: WasmeshProcess[] = [];
  const envoys: Array<{ child: ChildProcess; log: string }> = [];
  let redis: TestServer | null = null;
  const ports = { gateway: 0, wasmeshTcp: 0, wasmeshHttp: 0, wasmeshAdmin: 0, envoyInbound: 0, envoyOutbound: 0, betaAdmin: 0, gwAdmin: 0 };

  const logs = (): string => [
    ...procs.map((p) => `--- wasmesh ${p.child.spawnargs.slice(2, 3).join(' ')}:\n${p.stderr.slice(-2000)}`),
    ...envoys.map((e, i) => `--- envoy ${i}:\n${e.log.slice(-2000)}`),
  ].join('\n');
  const start = (args: string[]): WasmeshProcess => {
    const p = new WasmeshProcess(args);
    procs.push(p);
    return p;
  };
  const cli = (port: number, ...args: string[]): string =>
    spawnSync(servers!.redisCli, ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 20_000 }).stdout.trim();
  async function until(what: string, f: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (await f()) return;
      if (Date.now() > end) throw new Error(`timed out: ${what}\n${logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const samples = async (adminPort: number): Promise<Sample[]> => parseSamples(await httpGet(adminPort, '/stats/prometheus'));
  /** Series of `metric` with these labels, of proxied connections (response_flags `-`: early tries may have failed, UF). */
  const series = async (adminPort: number, metric: string, labels: Record<string, string>): Promise<Sample[]> =>
    (await samples(adminPort)).filter((s) => s.name === metric && Object.entries({ ...labels, response_flags: '-' }).every(([k, v]) => s.labels[k] === v));

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-tcp-mtls-planes-'));
    const caDir = join(dir, 'ca');
    redis = await startRedis(servers!);
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    mkdirSync(join(dir, 'mesh'));
    writeFileSync(join(dir, 'mesh', 'mesh.yaml'), meshYaml({ gateway: ports.gateway, envoyInbound: ports.envoyInbound, redis: redis.port }));
    const cp = start(['control-plane', '-f', join(dir, 'mesh'), '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0', '--ca-dir', caDir, '--secure-listen', '127.0.0.1:0']);
    const caPort = Number((await cp.waitFor(/CA for trust domain .* on 127\.0\.0\.1:(\d+) \(TLS/))[1]);
    const xdsPort = Number((await cp.waitFor(/; xDS on 127\.0\.0\.1:(\d+), monitoring/))[1]);
    const token = async (ns: string, sa: string): Promise<string> => {
      const file = join(dir, `${ns}-${sa}.token`);
      const t = start(['token', '--namespace', ns, '--service-account', sa, '--ca-dir', caDir, '-o', file]);
      expect((await t.exited).code).toBe(0);
      return file;
    };
    const caFlags = ['--ca-root', join(caDir, 'root-cert.pem'), '--ca-address', `127.0.0.1:${caPort}`];
    const runEnvoy = async (name: string, ns: string, sa: string, bootstrapArgs: string[]): Promise<void> => {
      const socketDir = join(dir, `${name}-agent`);
      const agent = start(['agent', '--token-file', await token(ns, sa), ...caFlags, '--namespace', ns, '--service-account', sa, '--socket-dir', socketDir]);
      await agent.waitFor(/SDS on /);
      const bootstrap = start(['envoy-bootstrap', '--xds', `127.0.0.1:${xdsPort}`, '--namespace', ns, '--filters', ...bootstrapArgs,
        '--sds', join(socketDir, 'var/run/secrets/workload-spiffe-uds/socket')]);
      expect((await bootstrap.exited).code, bootstrap.stderr).toBe(0);
      writeFileSync(join(dir, `${name}.yaml`), bootstrap.stdout);
      const child = spawn(envoy!, ['-c', join(dir, `${name}.yaml`), '--disable-hot-restart', '--concurrency', '1', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
      const e = { child, log: '' };
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (e.log += d));
      envoys.push(e);
    };

    // beta: stock Envoy in front of Redis (its inbound's TCP chain to the first app port).
    await runEnvoy('beta', 'shop', 'default', ['--proxy-type', 'sidecar', '--admin', `127.0.0.1:${ports.betaAdmin}`, '--labels', 'app=beta',
      '--node-id', 'sidecar~127.0.0.1~beta-1.shop~shop.svc.cluster.local', '--listen', `127.0.0.1:${ports.envoyOutbound}`,
      '--app-ports', String(redis.port), '--inbound', `127.0.0.1:${ports.envoyInbound}`]);
    // The Envoy gateway: the Gateway's TCP server on its bind and port.
    await runEnvoy('gw', 'istio-system', 'default', ['--proxy-type', 'router', '--admin', `127.0.0.1:${ports.gwAdmin}`, '--labels', 'istio=ingressgateway,app=envoy-gw',
      '--node-id', 'router~127.0.0.1~envoy-gw-1.istio-system~istio-system.svc.cluster.local']);
    // The wasmesh gateway: the same Gateway port mapped, its certificate from the CA.
    start(['proxy', '--xds', `127.0.0.1:${xdsPort}`, '--gateway', 'istio-system/tcp-gw', '--namespace', 'istio-system', '--labels', 'istio=ingressgateway,app=wasmesh-gw',
      '--port-map', `80=127.0.0.1:${ports.wasmeshHttp},${ports.gateway}=127.0.0.1:${ports.wasmeshTcp}`, '--admin', `127.0.0.1:${ports.wasmeshAdmin}`,
      '--token-file', await token('istio-system', 'wasmesh-gw'), ...caFlags, '--service-account', 'wasmesh-gw']);

    await until('wasmesh gateway → Envoy sidecar', () => cli(ports.wasmeshTcp, 'PING') === 'PONG');
    await until('Envoy gateway → Envoy sidecar', () => cli(ports.gateway, 'PING') === 'PONG');
    // A proxy that connected after another's last config version is known to it from the next
    // one (docs/telemetry.md): an edit makes one, in which every proxy knows the others.
    writeFileSync(join(dir, 'mesh', 'mesh.yaml'), yamlDocs(meshYaml({ gateway: ports.gateway, envoyInbound: ports.envoyInbound, redis: redis.port }),
      staticServiceEntryYaml({ name: 'new-version', host: 'new-version.example.internal', port: { number: 80, name: 'http', protocol: 'HTTP' }, endpointPort: 1 })));
    for (const [id, app, port] of [[WASMESH_GW_ID, 'wasmesh-gw', ports.wasmeshTcp], [ENVOY_GW_ID, 'envoy-gw', ports.gateway]] as const) {
      await until(`beta knows ${app}`, async () => cli(port, 'PING') === 'PONG'
        && (await series(ports.betaAdmin, 'istio_tcp_connections_closed_total', { reporter: 'destination', source_principal: id, source_app: app })).length > 0);
    }
  }, 180_000);

  afterAll(async () => {
    for (const e of envoys) e.child.kill('SIGTERM');
    for (const p of procs.reverse()) if (p.child.exitCode === null) await p.stop();
    await redis?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const value = (tag: string): string => `${tag}:${'v'.repeat(4096)}`;

  for (const [plane, port] of [['wasmesh', () => ports.wasmeshTcp], ['Envoy', () => ports.gateway]] as const) {
    it(`${plane} gateway → Envoy sidecar: SET and GET through mesh mTLS land in beta's Redis`, () => {
      expect(cli(port(), 'SET', `via-${plane}`, value(plane)), logs()).toBe('OK');
      expect(cli(port(), 'GET', `via-${plane}`)).toBe(value(plane));
      expect(cli(redis!.port, 'GET', `via-${plane}`)).toBe(value(plane));
    });
  }

  it('istio_tcp_* on the Envoy sidecar (destination): mutual_tls, each gateway\'s SPIFFE ID and the workload the control plane gave it', async () => {
    for (const [id, app] of [[WASMESH_GW_ID, 'wasmesh-gw'], [ENVOY_GW_ID, 'envoy-gw']] as const) {
      // The connections before beta knew the gateway count as `unknown` (a series of their own).
      const got = await series(ports.betaAdmin, 'istio_tcp_received_bytes_total', { reporter: 'destination', source_principal: id, source_app: app });
      expect(got, JSON.stringify(got)).toHaveLength(1);
      expect(got[0]!.labels).toMatchObject({ connection_security_policy: 'mutual_tls', source_workload_namespace: 'istio-system', destination_app: 'beta', destination_principal: BETA_ID, request_protocol: 'tcp' });
      expect(got[0]!.value).toBeGreaterThan(4096);
    }
  });

  it('istio_tcp_* on the gateways (source): beta\'s workload, app and version from its exchange, its SPIFFE ID from its certificate', async () => {
    await until('the wasmesh gateway\'s series', async () => (await series(ports.wasmeshAdmin, 'istio_tcp_connections_closed_total', { reporter: 'source', destination_principal: BETA_ID })).length > 0, 20_000);
    const wasmesh = await series(ports.wasmeshAdmin, 'istio_tcp_sent_bytes_total', { reporter: 'source', destination_principal: BETA_ID });
    expect(wasmesh, JSON.stringify(wasmesh)).toHaveLength(1);
    // wasmesh names a peer's workload only from its exchange: beta's Envoy filter sent it.
    expect(wasmesh[0]!.labels).toMatchObject({ source_app: 'wasmesh-gw', destination_service: 'beta.shop.svc.cluster.local', destination_app: 'beta', destination_workload_namespace: 'shop' });
    expect(wasmesh[0]!.value).toBeGreaterThan(4096);
    await until('the Envoy gateway\'s series', async () => (await series(ports.gwAdmin, 'istio_tcp_connections_closed_total', { reporter: 'source', destination_principal: BETA_ID })).length > 0, 20_000);
    const fromEnvoy = await series(ports.gwAdmin, 'istio_tcp_sent_bytes_total', { reporter: 'source', destination_principal: BETA_ID, destination_app: 'beta' });
    expect(fromEnvoy, JSON.stringify(fromEnvoy)).toHaveLength(1);
    expect(fromEnvoy[0]!.labels).toMatchObject({ source_app: 'envoy-gw', destination_service: 'beta.shop.svc.cluster.local' });
    expect(fromEnvoy[0]!.value).toBeGreaterThan(4096);
  });

  it('the exchange ran on every connection between the planes: counted by wasmesh (cluster) and by both Envoys\' filter', async () => {
    const stat = async (admin: number, name: string): Promise<number> => (await samples(admin)).filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
    const gwStats = JSON.parse(await httpGet(ports.wasmeshAdmin, '/stats?format=json')) as Record<string, number>;
    const exchange = Object.entries(gwStats).filter(([k]) => k.includes('.metadata_exchange.'));
    const count = (why: string): number => exchange.filter(([k]) => k.endsWith(`.metadata_exchange.${why}`)).reduce((a, [, v]) => a + v, 0);
    expect(count('alpn_protocol_found'), JSON.stringify(exchange)).toBeGreaterThan(0);
    for (const why of ['alpn_protocol_not_found', 'too_large', 'header_not_found', 'initial_header_not_found', 'closed']) expect(count(why), why).toBe(0);
    expect(await stat(ports.betaAdmin, 'wasmesh_tcp_metadata_exchange_found')).toBeGreaterThan(0);
    expect(await stat(ports.gwAdmin, 'wasmesh_tcp_metadata_exchange_found')).toBeGreaterThan(0);
    for (const admin of [ports.betaAdmin, ports.gwAdmin]) expect(await stat(admin, 'wasmesh_tcp_metadata_exchange_initial_header_not_found')).toBe(0);
  });
});
