// The same TLS passthrough scenario through stock Envoy, programmed by `wasmesh envoy-config`'s
// translation (host/envoy/tls-passthrough-listener.ts: tls_inspector, filter chains by
// server_names, tcp_proxy): each SNI reaches its own backend with its own certificate, the 50/50
// split, unknown SNI and no SNI closed, AUTO_PASSTHROUGH by outbound_ SNI — the answers wasmesh
// gives in test/integration/tls-passthrough.test.ts. Then the same through Envoy programmed over
// xDS by the control plane (its listeners on the Gateway's server ports, `bind: 127.0.0.1`).
// Envoy is required under WASMESH_REQUIRE_ENVOY=1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { freePort } from '../helpers/ports.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { passthroughYaml, reach, refused, startPassthroughBackends, type PassthroughBackends } from '../helpers/tls-passthrough-fixture.js';
import { startAndWait, stopChild } from './data-planes.js';
import { envoySettled, FolderControlPlane } from './xds-data-planes.js';
import { envoyBootstrapCommand } from '../../host/cli/envoy-bootstrap-command.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { fakeIo } from '../helpers/fake-io.js';

const envoy = envoyForTests('tls-passthrough-envoy');
let backends: PassthroughBackends;
let child: ChildProcess | null = null;
let dir = '';
let pass = 0;
let auto = 0;
let adminPort = 0;
let bootstrap: Record<string, unknown> = {};

beforeAll(async () => {
  if (envoy === null) return;
  backends = await startPassthroughBackends();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-tls-pass-envoy-'));
  writeFileSync(join(dir, 'config.yaml'), passthroughYaml(backends));
  const loaded = loadConfig([dir], { gateway: 'tls-gw' });
  const [listen, p443, p15443, admin] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { yaml, config, warnings } = envoyBootstrap(loaded, {
    listen: { host: '127.0.0.1', port: listen },
    admin: { host: '127.0.0.1', port: admin },
    gateway: 'tls-gw',
    gatewayPorts: [{ port: 443, at: { host: '127.0.0.1', port: p443 } }, { port: 15443, at: { host: '127.0.0.1', port: p15443 } }],
  });
  expect(warnings.filter((w) => /Gateway port/.test(w))).toEqual([]);
  bootstrap = config;
  writeFileSync(join(dir, 'envoy.yaml'), yaml);
  child = await startAndWait(envoy, ['-c', join(dir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], admin, 'envoy');
  pass = p443;
  auto = p15443;
  adminPort = admin;
}, 60_000);

afterAll(async () => {
  if (child !== null) await stopChild(child);
  await backends?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe.skipIf(envoy === null)('TLS passthrough on stock Envoy', () => {
  test('the translation: a tls_inspector listener per passthrough port, chains by server_names to tcp_proxy', () => {
    const listeners = (bootstrap.static_resources as { listeners: Array<Record<string, unknown>> }).listeners;
    const l443 = listeners.find((l) => l.name === 'gateway_tls-gw_443')!;
    expect(l443.listener_filters).toEqual([{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
    const chains = l443.filter_chains as Array<{ filter_chain_match: { server_names: string[] }; filters: Array<{ typed_config: Record<string, unknown> }> }>;
    expect(chains.map((c) => c.filter_chain_match.server_names)).toEqual([['a.example.com'], ['b.example.com'], ['split.example.com']]);
    expect(chains[2]!.filters[0]!.typed_config).toMatchObject({ stat_prefix: 'default/tls-vs/tls-2', weighted_clusters: { clusters: [{ name: 'outbound|443||a.example.com', weight: 50 }, { name: 'outbound|443||b.example.com', weight: 50 }] } });
  });

  test('each SNI reaches its own backend, whose certificate the client verifies', async () => {
    expect(await reach(pass, 'a.example.com', '/one')).toEqual({ body: 'backend-a /one', fingerprint: backends.fingerprint('a'), authorized: true });
    expect(await reach(pass, 'b.example.com', '/two')).toEqual({ body: 'backend-b /two', fingerprint: backends.fingerprint('b'), authorized: true });
  });

  test('an SNI no rule takes, and no SNI: closed', async () => {
    expect(await refused(pass, 'c.example.com')).toBe('closed');
    expect(await refused(pass, '')).toBe('closed');
  });

  test('split.example.com over both backends (Envoy picks weighted clusters at random: both seen)', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 30; i++) bodies.push((await reach(pass, 'split.example.com')).body);
    expect(bodies.some((b) => b.startsWith('backend-a'))).toBe(true);
    expect(bodies.some((b) => b.startsWith('backend-b'))).toBe(true);
  });

  test('AUTO_PASSTHROUGH: outbound_.443_._.<host> reaches that service; a plain name is closed', async () => {
    expect(await reach(auto, 'outbound_.443_._.b.example.com', '/auto')).toMatchObject({ body: 'backend-b /auto', fingerprint: backends.fingerprint('b') });
    expect(await refused(auto, 'b.example.com')).toBe('closed');
  });

  test("Envoy's tls_inspector counted what wasmesh counts", async () => {
    const stats = await (await fetch(`http://127.0.0.1:${adminPort}/stats?filter=tls_inspector`)).text();
    expect(stats).toMatch(/tls_inspector\.sni_found: [1-9]/);
    expect(stats).toMatch(/tls_inspector\.sni_not_found: [1-9]/);
  });
});

describe.skipIf(envoy === null)('TLS passthrough on stock Envoy over xDS', () => {
  let control: FolderControlPlane | null = null;
  let xdsEnvoy: ChildProcess | null = null;
  let ports = { http: 0, pass: 0, auto: 0 };
  let envoyDir = '';

  beforeAll(async () => {
    ports = { http: await freePort(), pass: await freePort(), auto: await freePort() };
    control = await FolderControlPlane.start({ 'config.yaml': passthroughYaml(backends, { ...ports, bind: '127.0.0.1' }) });
    const admin = await freePort();
    const id = nodeId('router', '127.0.0.1', `tls-pass-${process.pid}`, 'default');
    // No --listen: the gateway listens on its Gateway's server ports, as Istio's does.
    const argv = ['--xds', `127.0.0.1:${control.xdsPort}`, '--admin', `127.0.0.1:${admin}`, '--node-id', id, '--proxy-type', 'router', '--gateway', 'tls-gw'];
    const io = fakeIo();
    expect(await envoyBootstrapCommand(argv, io), io.stderr).toBe(0);
    envoyDir = mkdtempSync(join(tmpdir(), 'wasmesh-tls-pass-xds-'));
    writeFileSync(join(envoyDir, 'envoy.yaml'), io.stdout);
    xdsEnvoy = await startAndWait(envoy!, ['-c', join(envoyDir, 'envoy.yaml'), '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], admin, 'envoy over xDS');
    await control.waitSynced({ port: ports.http, adminPort: admin, nodeId: id, settled: () => envoySettled(admin), stop: async () => {} });
  }, 60_000);

  afterAll(async () => {
    if (xdsEnvoy !== null) await stopChild(xdsEnvoy);
    await control?.close();
    if (envoyDir !== '') rmSync(envoyDir, { recursive: true, force: true });
  }, 30_000);

  test('SNI routing to each backend with its own certificate, unknown SNI closed, AUTO_PASSTHROUGH by outbound_ SNI', async () => {
    expect(await reach(ports.pass, 'a.example.com', '/xds')).toEqual({ body: 'backend-a /xds', fingerprint: backends.fingerprint('a'), authorized: true });
    expect(await reach(ports.pass, 'b.example.com')).toMatchObject({ body: 'backend-b /', fingerprint: backends.fingerprint('b') });
    expect(await refused(ports.pass, 'c.example.com')).toBe('closed');
    expect(await reach(ports.auto, `outbound_.443_._.a.example.com`)).toMatchObject({ body: 'backend-a /', fingerprint: backends.fingerprint('a') });
  });
});
