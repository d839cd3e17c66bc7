// `wasmesh proxy` (and each proxy of `wasmesh demo`) on the runtime assembly: one listener fed by
// the config, and with --workers N its N − 1 worker threads accepting on the same socket.
import { workloadOfIdentity } from '../control/xds-config-source.js';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import { mergeIstio, EMPTY_ISTIO_SNAPSHOT } from '../telemetry/istio-metrics.js';
import { ProxyServer } from '../server/proxy-server.js';
import type { Limits } from '../common/limits.js';
import type { AdminServer } from '../admin/admin-server.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import type { HostPort } from '../common/host-port.js';
import { envoyAccessLogLine } from '../telemetry/access-log-line.js';
import { WorkerPool } from '../server/worker-pool.js';
import { mergeClusters, mergeStats } from '../server/worker-snapshot.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { AccessLogSink, type AccessLogOutput } from './access-log-sink.js';
import { DATA_PATH_LOGGER, RuntimeAssembly, runtimeLogLevels, type ConfigSourceOptions, type RuntimePort } from './runtime-assembly.js';
import type { GatewayPort } from './gateway-ports.js';
import { trustDomainOf } from '../tls/workload-trust-domain.js';
import { TcpProxyServer } from '../server/tcp-proxy-server.js';
import type { TlsInspectorOptions } from '../listener/tcp/tls-inspector.js';
import type { TcpTransportKind } from '../listener/tcp/tcp-handle-binding.js';
import type { MeshConfig } from '../model/mesh.js';

export interface ProxyRuntimeOptions extends ConfigSourceOptions, AccessLogOutput {
  /** Who this proxy's workload is (Istio metrics labels, peer metadata); absent: `unknown`. */
  workload?: WorkloadMetadata;
  /** Istio's standard metrics (reporter `source`: a gateway or standalone proxy); default on. */
  istioMetrics?: boolean;
  /** The tls_inspector of Gateway TLS passthrough ports (default: Envoy's 15 s timeout, close on timeout, 64 KiB). */
  tlsInspector?: TlsInspectorOptions;
  /** What the TCP ports' byte proxies run on (`--tcp-transport`; default: handle when Node's bindings pass the check). */
  tcpTransport?: TcpTransportKind;
  /** Istio's Prometheus port (`--stats`); absent: none. */
  stats?: { at: HostPort; required: boolean };
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
  /**
   * The proxy's workload certificate (the mesh CA's SVID), when it has one: /ready waits for the
   * first; config loads with workloadIdentity (DestinationRule ISTIO_MUTUAL and auto mTLS enforced
   * with it; absent: refused); the TLS transports present it. The caller owns the source and
   * stops it after close().
   */
  workloadCertificates?: WorkloadCertificateSource;
  /**
   * A gateway's `--port-map`: one listener per Gateway port (the first at `listen`, which must
   * be its address). Absent: `listen` serves the Gateway's lowest port. The other ports are
   * served on the main thread only (worker threads share the first port's socket).
   */
  gatewayPorts?: readonly GatewayPort[];
}

export interface ProxyRuntime {
  readonly manager: ProxyConfigSource;
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  /** Istio's Prometheus port once bound (`stats` option); undefined without one, or when the optional default could not bind. */
  readonly statsPort: number | undefined;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly listenPort: number;
  readonly adminPort: number;
  /** The extra worker threads (null with workers = 1). */
  readonly workers: WorkerPool | null;
  /** `--port-map`'s further ports (Gateway port → its server), in the order given; empty without. */
  readonly gatewayPorts: ReadonlyArray<{ readonly port: number; readonly server: ProxyServer; readonly tcp: TcpProxyServer | null }>;
  reload(reason: string): void;
  /** Resolves when POST /quitquitquit asked the proxy to exit (it is closing then). */
  readonly quitRequested: Promise<void>;
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
  const isGateway = opts.gateway !== undefined || opts.xdsIdentity?.type === 'router';
  const mapped = opts.gatewayPorts ?? [];
  if (mapped.length > 0 && !isGateway) throw new Error('wasmesh: a port map needs a gateway (--gateway) (GATEWAY_PORTS_INVALID)');
  if (mapped.length > 0 && (mapped[0]!.at.host !== opts.listen.host || mapped[0]!.at.port !== opts.listen.port)) throw new Error('wasmesh: the first mapped port must be the listen address (GATEWAY_PORTS_INVALID)');
  const gatewayPort = !isGateway ? undefined : mapped.length > 0 ? mapped[0]!.port : ('auto' as const);
  // The data path's operational lines pass the `connection` logger /logging sets.
  const logLevels = runtimeLogLevels();
  const dataLog = logLevels.gate(DATA_PATH_LOGGER, opts.log);
  const serverFor = (host: string, port: number, gp: number | 'auto' | undefined): ProxyServer =>
    new ProxyServer({ host, port, limits: opts.limits, log: accessLog.entries(envoyAccessLogLine), gatewayPort: gp, workloadCertificates: opts.workloadCertificates, operationalLog: dataLog, reservedPorts: () => ownPorts(), workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined), istioMetrics: opts.istioMetrics === false ? 'off' : 'source' });
  // Passthrough may not loop into any port of this process (read at each pick: port 0 binds late).
  const ownPorts = (): number[] => [assembly.admin.port, ...all.map((p) => p.port)];
  const proxy = serverFor(opts.listen.host, opts.listen.port, gatewayPort);
  // One server (core, clusters, stats) per further Gateway port, fed the same versions.
  const extra = mapped.slice(1).map((m) => ({ port: m.port, at: m.at, server: serverFor(m.at.host, m.at.port, m.port), tcp: null as TcpProxyServer | null, stopWaiting: () => {} }));
  // With xDS the config arrives after the runtime starts, and a further Gateway port's protocol
  // (HTTP, or TCP / TLS passthrough) is known only from it: such a port is bound once the first
  // version is applied (as Envoy opens a listener when LDS gives it), or not at all if the runtime
  // closes first. Files give the config before any port is bound.
  let firstConfigApplied: () => void = () => {};
  const firstConfig = new Promise<void>((resolve) => (firstConfigApplied = resolve));
  // A Gateway TCP port (its protocol as the config at start has it) is served by a byte proxy
  // (host/server/tcp-proxy-server.ts) instead of the HTTP server made for it.
  // A TLS passthrough port is a byte proxy too, with the tls_inspector in front (by its config).
  const isTcpPort = (mesh: MeshConfig | undefined, port: number): boolean => (mesh?.gatewayTcpListeners ?? []).some((l) => l.port === port) || (mesh?.gatewayPassthroughListeners ?? []).some((l) => l.port === port);
  const tcpServerFor = (e: (typeof extra)[number]): TcpProxyServer =>
    new TcpProxyServer({ host: e.at.host, port: e.at.port, gatewayPort: e.port, limits: opts.limits, operationalLog: dataLog, ...(opts.workloadCertificates !== undefined ? { workloadCertificates: opts.workloadCertificates } : {}), workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined), istioMetrics: opts.istioMetrics === false ? 'off' : 'source', accessLog: accessLog.entries(envoyAccessLogLine), ...(opts.tlsInspector !== undefined ? { tlsInspector: opts.tlsInspector } : {}), ...(opts.tcpTransport !== undefined ? { tcpTransport: opts.tcpTransport } : {}) });
  const tcpServers = (): TcpProxyServer[] => extra.map((e) => e.tcp).filter((t): t is TcpProxyServer => t !== null);
  const all = [proxy, ...extra.map((e) => e.server)];
  // Created once the main thread listens: the workers accept on its socket.
  let pool: WorkerPool | null = null;
  const assembly = new RuntimeAssembly({
    logLevels,
    config: { ...opts, workloadIdentity: opts.workloadCertificates !== undefined, trustDomain: trustDomainOf(opts.workloadCertificates) },
    admin: opts.admin,
    // The main thread applies first: a mesh it refuses reaches no worker.
    target: { apply: (mesh, version) => { for (const p of all) p.apply(mesh, version); for (const t of tcpServers()) t.apply(mesh, version); pool?.apply(mesh, version); firstConfigApplied(); } },
    reloadStats: proxy.stats,
    accessLog,
    workloadCertificates: opts.workloadCertificates,
    ...(opts.stats ? { stats: opts.stats } : {}),
    view: {
      stats: () => (pool || extra.length > 0 ? mergeStats([...all.map((p) => p.stats.records()), ...tcpServers().map((t) => t.stats.records()), ...(pool?.snapshots() ?? []).map((s) => s.stats)]) : proxy.stats.records()),
      istio: () => mergeIstio([...all.map((p) => p.istio?.snapshot() ?? EMPTY_ISTIO_SNAPSHOT), ...tcpServers().map((t) => ({ series: [], overflow: t.istio?.overflow ?? 0, tcp: t.istio?.snapshot() ?? [] })), ...(pool?.snapshots() ?? []).map((s) => s.istio ?? EMPTY_ISTIO_SNAPSHOT)]),
      clusters: () => (pool || extra.length > 0 ? mergeClusters([...all.map((p) => p.clusters()), ...tcpServers().map((t) => t.clusters()), ...(pool?.snapshots() ?? []).map((s) => s.clusters)]) : proxy.clusters()),
      // The main thread counts as one worker.
      workers: () => ({ live: 1 + (pool ? pool.live : 0), crashes: pool ? pool.crashes : 0 }),
      envoyPlan: () => ({
        listens: [{ host: opts.listen.host, port: proxy.port || opts.listen.port }, ...extra.map((e) => ({ host: e.at.host, port: e.server.port || e.at.port }))],
        ...(opts.gateway !== undefined ? { gateway: opts.gateway } : isGateway ? { gateway: opts.xdsIdentity?.gateway ?? opts.xdsIdentity?.pod ?? 'gateway' } : {}),
      }),
    },
  });
  const role = opts.listenRole ?? 'listener';
  const listeners: RuntimePort[] = [{ role, at: opts.listen, listen: () => proxy.listen(), close: () => proxy.close(), probeOnFailure: true }];
  for (const e of extra) {
    listeners.push({
      role: `${role} (Gateway port ${e.port})`,
      at: e.at,
      listen: async () => {
        if (assembly.manager.current === null && opts.xds !== undefined) {
          const closed = new Promise<void>((resolve) => (e.stopWaiting = resolve));
          if (!(await Promise.race([firstConfig.then(() => true), closed.then(() => false)]))) return;
        }
        const current = assembly.manager.current;
        if (current === null || !isTcpPort(current.mesh, e.port)) return e.server.listen();
        e.tcp = tcpServerFor(e);
        e.tcp.apply(current.mesh, assembly.manager.version);
        return e.tcp.listen();
      },
      close: () => {
        e.stopWaiting();
        return e.tcp !== null ? e.tcp.close() : e.server.close();
      },
      probeOnFailure: true,
    });
  }
  if (workers > 1) {
    listeners.push({
      role: `${role} worker threads`,
      at: opts.listen,
      listen: async () => {
        const listenFds = await proxy.listenFds(workers - 1);
        pool = new WorkerPool({ count: workers - 1, host: opts.listen.host, port: proxy.port, listenFds, limits: proxy.limits, transport: proxy.transportSettings, workloadCertificates: proxy.workloadCertificates, accessLog: accessLog.batch, log: dataLog, reservedPorts: ownPorts(), istio: proxy.istioSettings });
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
    get statsPort() {
      const p = assembly.statsPort;
      return p !== null && p.listening ? p.port : undefined;
    },
    workers: pool,
    gatewayPorts: extra.map((e) => ({ port: e.port, server: e.server, get tcp() { return e.tcp; } })),
    listenPort: proxy.port,
    adminPort: assembly.admin.port,
    reload: (reason) => assembly.reload(reason),
    quitRequested: assembly.quitRequested,
    close: () => assembly.close(),
  };
}
