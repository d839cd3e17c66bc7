// `wasmesh proxy-config` against a wasmesh proxy and a stock Envoy given the same mesh (seed
// 000's gateway: web split 80/20 between subsets v1 and v2): every istioctl view prints the same
// rows for both — from files (wasmesh proxy -f vs Envoy with `wasmesh envoy-config`'s static
// bootstrap) and from the control plane over ADS (both proxies connected to one ControlPlane).
// Only the listener port differs between the two (each binds its own): it is normalised.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyConfigCommand } from '../../host/cli/proxy-config-command.js';
import { loadConfig, readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { adsBootstrap } from '../../host/envoy/xds-resources.js';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { fakeIo } from '../helpers/fake-io.js';
import { freePort } from '../helpers/ports.js';
import { WEB_SUBSETS, webGateway, webServices, webSplit } from '../helpers/seed-000-yaml.js';

const envoy = envoyForTests('proxy-config interop');
const VIEWS: string[][] = [
  ['listeners'], ['listeners', '--verbose=false'], ['listeners', '--port', 'PORT'],
  ['routes'], ['routes', '--verbose=false'],
  ['clusters'], ['clusters', '--subset', 'v2'], ['clusters', '--fqdn', 'web', '--port', '5005'],
  ['endpoints'], ['endpoints', '--status', 'HEALTHY'], ['endpoints', '--cluster', 'outbound|5005|v1|web.default.svc.cluster.local'],
];

async function view(admin: number, args: string[], listenPort: number): Promise<string> {
  const io = fakeIo();
  const code = await proxyConfigCommand([args[0]!, `127.0.0.1:${admin}`, ...args.slice(1).map((a) => a.replace('PORT', String(listenPort)))], io);
  expect([args.join(' '), code, io.stderr]).toEqual([args.join(' '), 0, '']);
  return io.stdout;
}

/** Waits for an admin /ready 200. */
async function ready(admin: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`admin ${admin} not ready`);
}

function startEnvoy(file: string): ChildProcess {
  return spawn(envoy!, ['-c', file, '--disable-hot-restart', '--concurrency', '1', '-l', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Every view of both proxies, the Envoy's listener ports written as the wasmesh proxy's. */
async function compare(wasmesh: { admin: number; port: number; more?: number[] }, stock: { admin: number; port: number; more?: number[] }): Promise<void> {
  for (const args of VIEWS) {
    const ours = await view(wasmesh.admin, args, wasmesh.port);
    let theirs = (await view(stock.admin, args, stock.port)).replaceAll(String(stock.port), String(wasmesh.port));
    // A live `endpoints` reads /clusters: Envoy's lists its ADS cluster `xds-grpc`, which a
    // wasmesh proxy's data path does not hold (its xDS client connects on its own).
    if (args[0] === 'endpoints') theirs = theirs.split('\n').filter((l) => !/ xds-grpc$/.test(l)).join('\n');
    (stock.more ?? []).forEach((p, i) => (theirs = theirs.replaceAll(String(p), String(wasmesh.more![i]))));
    expect(ours.split('\n').length, args.join(' ')).toBeGreaterThan(2);
    // Istio's filter_metadata.istio.config, written by the one translation both planes share.
    if (args.length === 1 && args[0] === 'routes') expect(ours, 'VIRTUAL SERVICE').toMatch(/ web\.default\n/);
    if (args.length === 1 && args[0] === 'clusters') expect(ours, 'DESTINATION RULE').toMatch(/^web\.default\.svc\.cluster\.local .* web\.default$/m);
    // istioctl orders route configurations by numeric name only and leaves the others in the
    // dump's order, which is Envoy's internal one: for routes the rows are compared as a set.
    if (args[0] === 'routes') {
      const rows = (t: string) => [t.split('\n')[0], ...t.split('\n').slice(1).sort()];
      expect([args.join(' '), rows(ours)], `${args.join(' ')}: wasmesh\n${ours}\nEnvoy\n${theirs}`).toEqual([args.join(' '), rows(theirs)]);
      continue;
    }
    expect([args.join(' '), ours], `${args.join(' ')}: wasmesh\n${ours}\nEnvoy\n${theirs}`).toEqual([args.join(' '), theirs]);
  }
}

/**
 * `-o json` of both proxies: protojson's form (camelCase names) from either dump; the clusters,
 * re-marshalled as istioctl does, are the same resources.
 */
async function compareJson(wasmesh: { admin: number; port: number }, stock: { admin: number; port: number }): Promise<void> {
  for (const kind of ['listeners', 'routes', 'clusters', 'endpoints']) {
    const ours = JSON.parse(await view(wasmesh.admin, [kind, '-o', 'json'], wasmesh.port)) as unknown[];
    const theirs = (JSON.parse(await view(stock.admin, [kind, '-o', 'json'], stock.port)) as Array<{ name?: string }>).filter((c) => kind !== 'endpoints' || c.name !== 'xds-grpc');
    expect(ours.length, kind).toBeGreaterThan(0);
    expect(theirs.length, kind).toBe(ours.length);
    for (const text of [JSON.stringify(ours), JSON.stringify(theirs)]) expect(text, kind).not.toMatch(/"(filter_chains|virtual_hosts|load_assignment|lb_endpoints|typed_config|cluster_name)"/);
    if (kind === 'clusters') expect(ours, kind).toEqual(theirs);
  }
}

function writeMesh(dir: string, gatewayPort: number): void {
  writeFileSync(join(dir, 'mesh.yaml'), `${webServices({ v1: 15101, v2: 15102 })}---\n${WEB_SUBSETS}---\n${webGateway({ port: gatewayPort, bind: '127.0.0.1' })}---\n${webSplit([80, 20])}`);
}

describe.skipIf(envoy === null)('proxy-config: a wasmesh proxy and stock Envoy print the same rows for the same mesh', () => {
  let dir = '';
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-pc-interop-'));
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('from files: `wasmesh proxy -f` and Envoy with `wasmesh envoy-config`\'s bootstrap', async () => {
    const [wPort, ePort, eAdmin] = [await freePort(), await freePort(), await freePort()];
    const files = join(dir, 'files');
    rmSync(files, { recursive: true, force: true });
    writeFileSync(join(dir, '.keep'), '');
    (await import('node:fs')).mkdirSync(files);
    writeMesh(files, 80);
    const rt: ProxyRuntime = await startProxyRuntime({ sources: [files], gateway: 'web-gateway', listen: { host: '127.0.0.1', port: wPort }, admin: { host: '127.0.0.1', port: 0 }, log: () => {} });
    cleanup.push(() => rt.close());
    const { yaml } = envoyBootstrap(loadConfig([files], { gateway: 'web-gateway' }), { listen: { host: '127.0.0.1', port: ePort }, admin: { host: '127.0.0.1', port: eAdmin }, gateway: 'web-gateway' });
    writeFileSync(join(dir, 'envoy-static.yaml'), yaml);
    const child = startEnvoy(join(dir, 'envoy-static.yaml'));
    cleanup.push(() => stop(child));
    await ready(eAdmin);
    await compare({ admin: rt.adminPort, port: wPort }, { admin: eAdmin, port: ePort });
    await compareJson({ admin: rt.adminPort, port: wPort }, { admin: eAdmin, port: ePort });
  }, 60_000);

  it('from the control plane over ADS: both proxies connected to one ControlPlane', async () => {
    const xds = join(dir, 'xds');
    (await import('node:fs')).mkdirSync(xds, { recursive: true });
    const [wPort, ePort, eAdmin] = [await freePort(), await freePort(), await freePort()];
    writeMesh(xds, 80);
    const cp = new ControlPlane({ sources: [xds], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 } });
    cp.start();
    const xdsPort = await cp.listen('127.0.0.1', 0);
    cleanup.push(() => cp.close());
    const rt = await startProxyRuntime({
      sources: [], listen: { host: '127.0.0.1', port: wPort }, admin: { host: '127.0.0.1', port: 0 }, log: () => {},
      xds: { host: '127.0.0.1', port: xdsPort },
      xdsIdentity: { type: 'router', pod: 'gw-wasmesh', ip: '127.0.0.1', namespace: 'default', labels: { istio: 'ingressgateway' }, gateway: 'web-gateway' },
    });
    cleanup.push(() => rt.close());
    const bootstrap = adsBootstrap({
      xds: { host: '127.0.0.1', port: xdsPort }, admin: { host: '127.0.0.1', port: eAdmin }, nodeId: 'router~127.0.0.1~gw-envoy.default~default.svc.cluster.local',
      metadata: { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' }, WASMESH_GATEWAY: 'web-gateway', WASMESH_LISTEN: `127.0.0.1:${ePort}` },
    });
    writeFileSync(join(dir, 'envoy-ads.json'), JSON.stringify(bootstrap));
    const child = startEnvoy(join(dir, 'envoy-ads.json'));
    cleanup.push(() => stop(child));
    await ready(eAdmin);
    await ready(rt.adminPort);
    // The wasmesh dump is the dynamic form (as Envoy's over ADS), versioned by the config applied.
    const dump = (await (await fetch(`http://127.0.0.1:${rt.adminPort}/config_dump`)).json()) as { configs: Array<Record<string, unknown>> };
    expect(dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))).toHaveProperty('dynamic_listeners');
    await compare({ admin: rt.adminPort, port: wPort }, { admin: eAdmin, port: ePort });
    await compareJson({ admin: rt.adminPort, port: wPort }, { admin: eAdmin, port: ePort });
  }, 60_000);

  it('sidecars over ADS: the outbound listener and Istio\'s virtualInbound with its app port', async () => {
    const mesh = join(dir, 'sidecar');
    (await import('node:fs')).mkdirSync(mesh, { recursive: true });
    writeFileSync(join(mesh, 'mesh.yaml'), `${webServices({ v1: 15101, v2: 15102 })}---\n${WEB_SUBSETS}---\n${webSplit([80, 20]).replace('hosts: ["*"]\n  gateways: [web-gateway]', 'hosts: [web]')}`);
    // Listeners are listed by port: each proxy's outbound port below its inbound one, so that the
    // order is the same once the ports are normalised.
    const [wOut, wIn] = [await freePort(), await freePort()].sort((a, b) => a - b) as [number, number];
    const [eOut, eIn] = [await freePort(), await freePort()].sort((a, b) => a - b) as [number, number];
    const [eAdmin, app] = [await freePort(), await freePort()];
    const cp = new ControlPlane({ sources: [mesh], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 } });
    cp.start();
    const xdsPort = await cp.listen('127.0.0.1', 0);
    cleanup.push(() => cp.close());
    const loop = (port: number) => ({ host: '127.0.0.1', port });
    const sc = await startSidecarRuntime({
      sources: [], outbound: loop(wOut), inbound: loop(wIn), health: loop(0), admin: loop(0), appPorts: [app], log: () => {},
      xds: loop(xdsPort), xdsIdentity: { type: 'sidecar', pod: 'app-wasmesh', ip: '127.0.0.1', namespace: 'default', labels: { app: 'app' } },
    });
    cleanup.push(() => sc.close());
    const bootstrap = adsBootstrap({
      xds: loop(xdsPort), admin: loop(eAdmin), nodeId: 'sidecar~127.0.0.1~app-envoy.default~default.svc.cluster.local',
      metadata: { NAMESPACE: 'default', LABELS: { app: 'app' }, WASMESH_LISTEN: `127.0.0.1:${eOut}`, WASMESH_INBOUND: `127.0.0.1:${eIn}`, WASMESH_APP_PORTS: String(app) },
    });
    writeFileSync(join(dir, 'envoy-sidecar.json'), JSON.stringify(bootstrap));
    const child = startEnvoy(join(dir, 'envoy-sidecar.json'));
    cleanup.push(() => stop(child));
    await ready(eAdmin);
    await ready(sc.ports.admin);
    const listeners = await view(sc.ports.admin, ['listeners'], wOut);
    expect(listeners).toContain(`127.0.0.1 ${wIn}`);
    await compare({ admin: sc.ports.admin, port: wOut, more: [wIn] }, { admin: eAdmin, port: eOut, more: [eIn] });
  }, 60_000);
});
