// The data planes the interop scenarios run against, one runner each: stock Envoy driven by
// the bootstrap `wasmesh envoy-config` produces, `wasmesh proxy` itself, and stock Envoy with
// the wasmesh proxy-wasm filters (`wasmesh envoy-config --filters`). A runner writes
// the scenario's YAML to a folder, starts its proxy on free loopback ports, waits for the
// admin /ready, and stops it again.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { defaultFiltersWasmPath, envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { loadConfig } from '../../host/config/index.js';
import type { Scenario } from './scenarios.js';
import type { UpstreamPorts } from '../helpers/seed-000-upstreams.js';
import { freePort } from '../helpers/ports.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningProxy {
  /** The listener port on 127.0.0.1. */
  port: number;
  /** Its admin port on 127.0.0.1 (/stats). */
  adminPort: number;
  /** Gateway TCP port → where this plane serves it on 127.0.0.1 (those asked for in StartOptions.tcpPorts). */
  tcp: ReadonlyMap<number, number>;
  stop(): Promise<void>;
}

/** What a scenario needs beyond one HTTP listener. */
export interface StartOptions {
  /**
   * Gateway TCP servers to serve, each on a free loopback port: wasmesh maps them with
   * `--port-map` (after `httpPort`, the Gateway's HTTP port), Envoy with the same map (`gatewayPorts`).
   */
  tcpPorts?: readonly number[];
  /** The Gateway's HTTP server port (first in wasmesh's --port-map); 80 unless said. */
  httpPort?: number;
}

export interface DataPlane {
  name: string;
  /** Why this data plane cannot run here, or null when it can. */
  unavailable: string | null;
  start(scenario: Scenario, ports: UpstreamPorts, opts?: StartOptions): Promise<RunningProxy>;
}

/** A free loopback port for each Gateway TCP port asked for. */
async function tcpPortMap(opts: StartOptions | undefined): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const p of opts?.tcpPorts ?? []) out.set(p, await freePort());
  return out;
}

/**
 * Runs `start` on two free ports, again on new ones (up to 3 tries) when the process could not
 * bind: a port found free can be taken before the process binds it (other test files, and any
 * outgoing connection's ephemeral port, draw from the same range).
 */
export async function onFreePorts<T>(start: (port: number, adminPort: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const [port, adminPort] = [await freePort(), await freePort()];
    try {
      return await start(port, adminPort);
    } catch (err) {
      const bindFailed = /Address already in use|EADDRINUSE|cannot listen|LISTEN_FAILED|in use/i.test((err as Error).message);
      if (!bindFailed || attempt === 3) throw err;
    }
  }
}

function writeScenario(scenario: Scenario, ports: UpstreamPorts): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-interop-'));
  for (const [name, text] of Object.entries(scenario.files(ports))) writeFileSync(join(dir, name), text);
  return dir;
}

/** Starts `cmd`, then polls http://127.0.0.1:<adminPort>/ready until 200; fails with its output if it exits first. */
export async function startAndWait(cmd: string, args: string[], adminPort: number, what: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { output += b.toString(); });
  let exited: string | null = null;
  child.once('exit', (code, signal) => { exited = `exited (code ${code}, signal ${signal})`; });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${what} ${exited} before it was ready:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(child);
  throw new Error(`${what} not ready on admin port ${adminPort} within 15 s:\n${output}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Stock Envoy, natively configured (`wasmesh envoy-config`) or with the wasmesh filters (`--filters`). */
/** Why Envoy (with the wasmesh filters, when asked) cannot run here, or null; throws under WASMESH_REQUIRE_ENVOY=1. */
export function envoyUnavailable(withFilters: boolean): string | null {
  if (envoyForTests('interop') === null) return 'Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN)';
  const wasm = defaultFiltersWasmPath();
  return withFilters && !existsSync(wasm) ? `${wasm} missing (run npm run build:filters)` : null;
}

function envoyPlane(withFilters: boolean): DataPlane {
  const bin = envoyForTests('interop');
  const wasm = defaultFiltersWasmPath();
  const unavailable = envoyUnavailable(withFilters);
  return {
    name: withFilters ? 'envoy+filters' : 'envoy',
    unavailable,
    async start(scenario, ports, startOpts) {
      const dir = writeScenario(scenario, ports);
      const loaded = loadConfig([dir], { gateway: scenario.gateway });
      return onFreePorts(async (port, adminPort) => {
        const tcp = await tcpPortMap(startOpts);
        const opts = {
          listen: { host: '127.0.0.1', port },
          admin: { host: '127.0.0.1', port: adminPort },
          gateway: scenario.gateway,
          // The one port map for every Gateway port kind (envoy-config --port-map), as wasmesh's --port-map.
          gatewayPorts: [...tcp].map(([gw, at]) => ({ port: gw, at: { host: '127.0.0.1', port: at } })),
        };
        const { yaml } = withFilters ? envoyFiltersBootstrap(loaded, { ...opts, wasmPath: wasm }) : envoyBootstrap(loaded, opts);
        const file = join(dir, 'envoy.yaml');
        writeFileSync(file, yaml);
        // --disable-hot-restart: no shared-memory region, so Envoys started by parallel test
        // files (or other engineers' runs) can never collide on a base id.
        const child = await startAndWait(bin!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], adminPort, 'envoy');
        return { port, adminPort, tcp, stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }); } };
      }).catch((e: unknown) => { rmSync(dir, { recursive: true, force: true }); throw e; });
    },
  };
}

/** Whether `wasmesh proxy` exists in this build (the walking skeleton lands it). */
export function wasmeshUnavailable(): string | null {
  if (!existsSync(join(ROOT, 'dist', 'host', 'cli', 'main.js'))) return 'dist/host/cli/main.js missing (run npm run build)';
  const help = spawnSync(process.execPath, [join(ROOT, 'bin', 'wasmesh.js'), 'proxy', '--help'], { encoding: 'utf8', timeout: 10_000 });
  return help.status === 0 ? null : `\`wasmesh proxy --help\` failed: ${(help.stderr || help.stdout || '').trim().split('\n')[0]}`;
}

function wasmeshPlane(): DataPlane {
  return {
    name: 'wasmesh',
    unavailable: wasmeshUnavailable(),
    async start(scenario, ports, startOpts) {
      const dir = writeScenario(scenario, ports);
      return onFreePorts(async (port, adminPort) => {
        const tcp = await tcpPortMap(startOpts);
        // With TCP servers, every Gateway port is mapped (the HTTP one first), as an operator runs it.
        const listen = tcp.size === 0
          ? ['--listen', `127.0.0.1:${port}`]
          : ['--port-map', [`${startOpts?.httpPort ?? 80}=127.0.0.1:${port}`, ...[...tcp].map(([gw, at]) => `${gw}=127.0.0.1:${at}`)].join(',')];
        const args = [join(ROOT, 'bin', 'wasmesh.js'), 'proxy', '-f', dir, ...listen, '--admin', `127.0.0.1:${adminPort}`];
        if (scenario.gateway !== undefined) args.push('--gateway', scenario.gateway);
        const child = await startAndWait(process.execPath, args, adminPort, 'wasmesh proxy');
        return { port, adminPort, tcp, stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }); } };
      }).catch((e: unknown) => { rmSync(dir, { recursive: true, force: true }); throw e; });
    },
  };
}

/** Every data plane, or those named in WASMESH_INTEROP_PLANES (comma-separated, e.g. `envoy+filters`). */
export function dataPlanes(): DataPlane[] {
  const only = process.env.WASMESH_INTEROP_PLANES?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const all: Array<[string, () => DataPlane]> = [['envoy', () => envoyPlane(false)], ['wasmesh', wasmeshPlane], ['envoy+filters', () => envoyPlane(true)]];
  return all.filter(([name]) => !only || only.includes(name)).map(([, make]) => make());
}
