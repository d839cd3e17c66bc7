// `wasmesh control-plane` and `wasmesh proxy --xds` as processes, as an operator runs them: the
// gateway serves seed 000's split from the control plane; `wasmesh proxy-status` lists it SYNCED;
// a YAML change reaches the proxy; the control plane killed and started again under load costs no
// request (the proxy serves its last config and resyncs to what changed meanwhile).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { WEB_SUBSETS, webGateway, webServices, webSplit } from '../helpers/seed-000-yaml.js';
import { freePort } from '../helpers/ports.js';

const BIN = fileURLToPath(new URL('../../bin/wasmesh.js', import.meta.url));

function writeMesh(dir: string, ports: { v1: number; v2: number }, weights: [number, number]): void {
  writeFileSync(join(dir, 'mesh.yaml'), `${webServices(ports)}---\n${WEB_SUBSETS}---\n${webGateway()}---\n${webSplit(weights)}`);
}

interface Proc { child: ChildProcess; out: () => string }

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out };
}

async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const done = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await done;
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One request; null when it fails or takes over 10 s (a loaded 2-core machine can take seconds). */
async function get(port: number): Promise<string | null> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) })).text();
  } catch {
    return null;
  }
}

describe('wasmesh control-plane with wasmesh proxies over xDS (processes)', () => {
  let dir = '';
  let up: Upstreams;
  let cp: Proc | undefined;
  let gw: Proc | undefined;
  let xds = 0;
  let mon = 0;
  let port = 0;

  const startControlPlane = (): Proc => start(['control-plane', '-f', dir, '--xds-listen', `127.0.0.1:${xds}`, '--monitoring', `127.0.0.1:${mon}`, '--debounce-after', '50ms']);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-'));
    up = await startUpstreams();
    writeMesh(dir, up.ports, [80, 20]);
    [xds, mon, port] = [await freePort(), await freePort(), await freePort()];
    cp = startControlPlane();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${mon}/ready`).catch(() => null))?.status === 200);
    gw = start(['proxy', '--xds', `127.0.0.1:${xds}`, '--labels', 'istio=ingressgateway', '--proxy-type', 'router', '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${await freePort()}`, '--access-log', 'off']);
    await waitFor(async () => (await get(port))?.startsWith('Version') ?? false);
  });

  afterAll(async () => {
    await stop(gw);
    await stop(cp);
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the gateway chosen by its labels serves the split; proxy-status lists it SYNCED', async () => {
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 100; i++) counts[(await get(port)) === 'Version: v0.1' ? 'v1' : 'v2']++;
    expect(counts).toEqual({ v1: 80, v2: 20 });
    const status = spawnSync(process.execPath, [BIN, 'proxy-status', '--control-plane', `127.0.0.1:${mon}`], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    // istioctl's columns (its tabwriter: padding 5), then wasmesh's type and the config version.
    expect(status.stdout).toMatch(/^NAME {5,}CLUSTER {5,}CDS {5,}LDS {5,}EDS {5,}RDS {5,}ECDS {5,}ISTIOD {5,}VERSION {5,}WASMESH {5,}CONFIG VERSION\n/);
    expect(status.stdout).toMatch(/router~127\.0\.0\.1~\S+ {5,}Kubernetes {5,}NOT SENT {5,}NOT SENT {5,}NOT SENT {5,}NOT SENT {5,}NOT SENT {5,}\S+ {5,}\d+\.\d+\.\d+\S* {5,}SYNCED {5,}1\n/);
  });

  it('a YAML change reaches the proxy', async () => {
    writeMesh(dir, up.ports, [0, 100]);
    await waitFor(async () => (await get(port)) === 'Version: v0.2' && (await get(port)) === 'Version: v0.2');
    for (let i = 0; i < 20; i++) expect(await get(port)).toBe('Version: v0.2');
    // Over delta ADS: the weight change travelled as the one virtual host that changed, ACKed.
    const syncz = async (): Promise<Array<{ kind: string; protocol: string; types: Record<string, { state: string; resources: number }> }>> =>
      (await (await fetch(`http://127.0.0.1:${mon}/debug/syncz`)).json()) as never;
    await waitFor(async () => (await syncz())[0]?.types.wasmesh?.state === 'SYNCED');
    const [gwSync] = await syncz();
    expect(gwSync).toMatchObject({ kind: 'wasmesh', protocol: 'delta', types: { wasmesh: { state: 'SYNCED', resources: 1 } } });
  });

  it('the control plane killed and started again under load: no failed request, the proxy resyncs', async () => {
    let failed = 0;
    let done = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await get(port);
        if (r === null || !r.startsWith('Version')) failed++;
        done++;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    cp!.child.kill('SIGKILL');
    await new Promise((r) => cp!.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1000));
    writeMesh(dir, up.ports, [100, 0]);
    cp = startControlPlane();
    // Back, with the config changed while it was away: the proxy resyncs to it. Its reconnect
    // backoff is fully jittered and doubles from 500 ms to a 30 s cap (Envoy's xDS retry): a
    // control plane slow to start on a loaded machine (20 s seen) lets the backoff reach the cap,
    // so a fixed deadline from the kill cut the wait short. The wait is in two steps: the control
    // plane ready (an event, however long it takes to start), then the proxy's next attempt,
    // which comes within the 30 s cap.
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${mon}/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => null))?.status === 200, 60_000);
      await waitFor(async () => (await get(port)) === 'Version: v0.1', 30_000 + 10_000);
    } catch (err) {
      // Say why (the control plane not back on its port, the proxy not reconnecting …).
      throw new Error(`${(err as Error).message}\ncontrol plane:\n${cp.out().slice(-1500)}\nproxy:\n${gw!.out().slice(-1500)}`);
    }
    running = false;
    await load;
    expect(failed).toBe(0);
    expect(done).toBeGreaterThan(20);
    expect(gw!.out()).toMatch(/reconnecting in \d+ ms \(serving the last config meanwhile\)/);
  }, 150_000);
});
