// `wasmesh proxy` (and each proxy of `wasmesh demo`) on the runtime assembly: one listener fed by
// the config, and with --workers N its N − 1 worker threads accepting on the same socket.
import { ProxyServer } from '../server/proxy-server.js';
import type { Limits } from '../common/limits.js';
import type { AdminServer } from '../admin/admin-server.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import type { HostPort } from '../common/host-port.js';
import { envoyAccessLogLine } from '../telemetry/access-log-line.js';
import { WorkerPool } from '../server/worker-pool.js';
import { mergeClusters, mergeStats } from '../server/worker-snapshot.js';
import { AccessLogSink, type AccessLogOutput } from './access-log-sink.js';
import { RuntimeAssembly, type ConfigSourceOptions, type RuntimePort } from './runtime-assembly.js';

export interface ProxyRuntimeOptions extends ConfigSourceOptions, AccessLogOutput {
  listen: HostPort;
  admin: HostPort;
  /**
   * Data-path threads (default 1): the main thread serves, and workers - 1 worker threads each
   * run their own core, listener on the same port (SO_REUSEPORT) and pools.
   */
  workers?: number;
  /** Data-path limits beyond Envoy's defaults (`--limit`). */
  limits?: Partial<Limits>;
  /** How errors name the downstream listener (`gateway` in the demo). */
  listenRole?: string;
}

export interface ProxyRuntime {
  readonly manager: ProxyConfigSource;
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly listenPort: number;
  readonly adminPort: number;
  /** The extra worker threads (null with workers = 1). */
  readonly workers: WorkerPool | null;
  reload(reason: string): void;
  close(): Promise<void>;
}

/**
 * Starts everything. Config is loaded and checked before any port is bound, so an invalid
 * config fails fast with its clear error (a ConfigError) and leaves nothing running.
 */
export async function startProxyRuntime(opts: ProxyRuntimeOptions): Promise<ProxyRuntime> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`wasmesh: workers must be a positive integer, got ${workers} (WORKERS_INVALID)`);
  const accessLog = new AccessLogSink(opts);
  // A gateway's listener takes its transport (plaintext or TLS by SNI) from the Gateway.
  const gatewayPort = opts.gateway !== undefined || opts.xdsIdentity?.type === 'router' ? ('auto' as const) : undefined;
  const proxy = new ProxyServer({ host: opts.listen.host, port: opts.listen.port, limits: opts.limits, log: accessLog.entries(envoyAccessLogLine), gatewayPort, operationalLog: opts.log });
  // Created once the main thread listens: the workers accept on its socket.
  let pool: WorkerPool | null = null;
  const assembly = new RuntimeAssembly({
    config: opts,
    admin: opts.admin,
    // The main thread applies first: a mesh it refuses reaches no worker.
    target: { apply: (mesh, version) => { proxy.apply(mesh, version); pool?.apply(mesh, version); } },
    reloadStats: proxy.stats,
    accessLog,
    view: {
      stats: () => (pool ? mergeStats([proxy.stats.records(), ...pool.snapshots().map((s) => s.stats)]) : proxy.stats.records()),
      clusters: () => (pool ? mergeClusters([proxy.clusters(), ...pool.snapshots().map((s) => s.clusters)]) : proxy.clusters()),
      // The main thread counts as one worker.
      workers: () => ({ live: 1 + (pool ? pool.live : 0), crashes: pool ? pool.crashes : 0 }),
    },
  });
  const role = opts.listenRole ?? 'listener';
  const listeners: RuntimePort[] = [{ role, at: opts.listen, listen: () => proxy.listen(), close: () => proxy.close(), probeOnFailure: true }];
  if (workers > 1) {
    listeners.push({
      role: `${role} worker threads`,
      at: opts.listen,
      listen: async () => {
        const listenFds = await proxy.listenFds(workers - 1);
        pool = new WorkerPool({ count: workers - 1, host: opts.listen.host, port: proxy.port, listenFds, limits: proxy.limits, transport: proxy.transportSettings, accessLog: accessLog.batch, log: opts.log });
        // Versions applied before the workers existed reach them through start().
        const m = assembly.manager;
        if (m.current) pool.apply(m.current.mesh, m.version);
        await pool.start();
      },
      close: async () => pool?.close(),
    });
  }
  await assembly.start({ listeners });

  return {
    manager: assembly.manager,
    proxy,
    admin: assembly.admin,
    workers: pool,
    listenPort: proxy.port,
    adminPort: assembly.admin.port,
    reload: (reason) => assembly.reload(reason),
    close: () => assembly.close(),
  };
}
