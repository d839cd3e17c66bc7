// The drop-in sidecar on the runtime assembly: the outbound listener fed by the config (mesh
// mode, the traffic iptables redirects to 15001), the inbound listener handing captured requests
// (15006) to the local app, and the health port (15021), brought up so that applying the capture
// rules never black-holes the app's traffic.
import type { TcpTransportKind } from '../listener/tcp/tcp-handle-binding.js';
import type { AppProber } from '../admin/app-prober.js';
import type { AppMetrics } from '../admin/merged-stats-port.js';
import { workloadOfIdentity } from '../control/xds-config-source.js';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import { mergeIstio, EMPTY_ISTIO_SNAPSHOT } from '../telemetry/istio-metrics.js';
import { ProxyServer } from '../server/proxy-server.js';
import { TcpProxyServer } from '../server/tcp-proxy-server.js';
import { mergeClusters, mergeStats } from '../server/worker-snapshot.js';
import { OutboundCapture } from '../sidecar/outbound-capture.js';
import { InboundCapture } from '../sidecar/inbound-capture.js';
import { withInboundPassthrough } from '../sidecar/inbound-passthrough.js';
import { resolveLimits } from '../common/limits.js';
import type { Limits } from '../common/limits.js';
import type { AdminServer } from '../admin/admin-server.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import type { HostPort } from '../common/host-port.js';
import { sidecarAccessLogLine } from '../telemetry/access-log-line.js';
import { inboundWithRateLimits } from '../sidecar/inbound-rate-limits.js';
import { inboundMesh } from '../sidecar/inbound-mesh.js';
import { InboundMissLog } from '../sidecar/inbound-miss-log.js';
import { HealthServer } from '../sidecar/health-server.js';
import { sidecarStats } from '../sidecar/sidecar-stats.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { AccessLogSink } from './access-log-sink.js';
import { inboundTransportConfig } from '../server/inbound-transport.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import type { MeshConfig } from '../model/mesh.js';
import { inboundAccessLogsOf, inboundTracingOf } from '../model/mesh.js';
import type { AuthzPolicy } from '../model/authorization.js';
import type { DownstreamTransportConfig } from '../tls/tls-settings.js';
import type { EnvoyListenPlan } from './envoy-config-view.js';
import { DATA_PATH_LOGGER, RuntimeAssembly, runtimeLogLevels, type ConfigSourceOptions, type RuntimePort } from './runtime-assembly.js';
import { trustDomainOf } from '../tls/workload-trust-domain.js';
import { terminationDrain } from './termination-drain.js';

export interface SidecarRuntimeOptions extends Omit<ConfigSourceOptions, 'gateway'> {
  outbound: HostPort;
  inbound: HostPort;
  health: HostPort;
  admin: HostPort;
  /** The app's ports (validated by the caller: non-empty, distinct, none of the sidecar's). */
  appPorts: number[];
  /**
   * The inbound listener is the app's own (one app port): every request goes to it, whatever port
   * its authority names (host/sidecar/inbound-mesh.ts). For sidecars without capture rules, whose
   * inbound port the mesh names directly (the demo's WorkloadEntries).
   */
  dedicatedInbound?: boolean;
  /** Where the inbound listener reaches the app (127.0.0.1 unless told; ::1 on an IPv6-only pod: host/cli/app-address-flag.ts). */
  appAddress?: string;
  /**
   * The proxy's workload certificate (its SPIFFE identity), when it has one: /ready waits for the
   * first; the caller owns the source and stops it after close().
   */
  workloadCertificates?: WorkloadCertificateSource;
  /** Data-path limits beyond Envoy's defaults (`--limit`), for both listeners. */
  limits?: Partial<Limits>;
  /** What the TCP byte proxies' plaintext upstream connects run on (`--tcp-transport`; default: handle when Node's bindings pass the check). */
  tcpTransport?: TcpTransportKind;
  /**
   * One access-log line (no newline) per finished request, either direction; or, with
   * accessLogBatch, batches of them; neither: no access log (`--access-log off`).
   */
  accessLog?: (line: string) => void;
  accessLogBatch?: (text: string) => void;
  /** Who this sidecar's workload is (Istio metrics labels, peer metadata); absent: `unknown`. */
  workload?: WorkloadMetadata;
  /** Istio's standard metrics (outbound: reporter `source`, inbound: `destination`); default on. */
  istioMetrics?: boolean;
  /** Istio's Prometheus port (`--stats`); absent: none. */
  stats?: { at: HostPort; required: boolean };
  /** Istio's agent port merging this proxy's metrics with the app's (`--merged-stats`, `--app-metrics`); absent: none. */
  mergedStats?: { at: HostPort; required: boolean; app?: AppMetrics; probers?: AppProber };
  /**
   * Listening descriptors handed over by socket activation (host/listener/socket-activation.ts,
   * docker/wasmesh-listen.c): accepted on instead of binding `outbound` / `inbound`. An outbound
   * descriptor also turns on the original-destination capture (host/sidecar/outbound-capture.ts):
   * with TPROXY its connections carry where the app was connecting.
   */
  listenFds?: { outbound?: number; inbound?: number };
  /**
   * The termination drain's one deadline (ms), Istio's terminationDrainDuration: on close()
   * (SIGTERM, POST /quitquitquit) the inbound side drains while the outbound side keeps serving,
   * until no connection is left or this long, then what remains is cut
   * (host/runtime/termination-drain.ts). Absent: no termination drain — both listeners stop at
   * once and give their in-flight requests limits.drainTimeoutMs (the demo's sidecars, which
   * stop together with their apps; `wasmesh sidecar` always sets it).
   */
  terminationDrainMs?: number;
  /** With terminationDrainMs: not idle before this long (Istio's MINIMUM_DRAIN_DURATION); default 0. */
  minimumDrainMs?: number;
}

/**
 * The inbound listener's transport for a PeerAuthentication mode: with the workload certificate,
 * STRICT terminates mTLS only and PERMISSIVE takes mTLS or plaintext by the first bytes; without
 * one, plaintext (PERMISSIVE, DISABLE) or, for STRICT, a refusal (the loader refuses it first).
 */
export function inboundTransportFor(mode: EffectiveMtlsMode, hasIdentity: boolean): DownstreamTransportConfig {
  if (mode === 'DISABLE') return { kind: 'raw' };
  if (hasIdentity) return inboundTransportConfig(mode);
  if (mode === 'STRICT') throw new Error('wasmesh: PeerAuthentication STRICT needs the sidecar\'s workload identity (--token-file or --cert-dir): refusing to serve the inbound port open (TLS_SETTINGS)');
  return { kind: 'raw' };
}

/** The inbound listener's policy before the first config version: ALLOW with no rule, i.e. deny all. */
export const AWAITING_CONFIG: AuthzPolicy = Object.freeze({ name: 'wasmesh/awaiting-first-config', action: 'ALLOW', rules: [], dryRun: false, provider: null });

export interface SidecarPorts {
  outbound: number;
  inbound: number;
  health: number;
  admin: number;
}

export interface SidecarRuntime {
  readonly manager: ProxyConfigSource;
  readonly outbound: ProxyServer;
  readonly inbound: ProxyServer;
  readonly admin: AdminServer;
  /** Istio's Prometheus port once bound (`stats` option); undefined without one, or when the optional default could not bind. */
  readonly statsPort: number | undefined;
  /** Istio's agent port for merged metrics once bound; undefined without one. */
  readonly mergedStatsPort: number | undefined;
  readonly health: HealthServer;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly ports: SidecarPorts;
  /** null when /healthz/ready answers 200, else why not. */
  notReadyReason(): string | null;
  reload(reason: string): void;
  /** Resolves when POST /quitquitquit asked the sidecar to exit (it is closing then). */
  readonly quitRequested: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts everything. The config is loaded and checked before any port is bound, so an invalid
 * config fails fast with its clear error (a ConfigError) and leaves nothing running; a port that
 * cannot be bound closes what was opened and throws a ListenError naming the role.
 */
export async function startSidecarRuntime(opts: SidecarRuntimeOptions): Promise<SidecarRuntime> {
  const accessLog = new AccessLogSink({ accessLog: opts.accessLog, accessLogBatch: opts.accessLogBatch });
  // Undefined with the access log off: the listeners then format no line at all.
  const logLine = accessLog.entries(sidecarAccessLogLine);
  // The data path's operational lines pass the `connection` logger /logging sets.
  const logLevels = runtimeLogLevels();
  const dataLog = logLevels.gate(DATA_PATH_LOGGER, opts.log);
  const missLog = new InboundMissLog(opts.appPorts, dataLog);
  // AuthorizationPolicy applies to the workload's inbound traffic only, never to what it sends.
  // Passthrough may not loop into any of the sidecar's ports (bound later: read at each pick).
  let ownPorts: () => number[] = () => [opts.outbound.port, opts.inbound.port, opts.health.port, opts.admin.port];
  const outboundFd = opts.listenFds?.outbound;
  const capturing = outboundFd !== undefined;
  const outbound = new ProxyServer({ host: opts.outbound.host, port: opts.outbound.port, ...(capturing ? { adoptOnly: true } : {}), limits: opts.limits, log: logLine, workloadCertificates: opts.workloadCertificates, operationalLog: dataLog, role: 'sidecar-outbound', reservedPorts: () => ownPorts(), workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined), istioMetrics: opts.istioMetrics === false ? 'off' : 'source' });
  // The byte proxy and the capture in front of both, when the outbound socket is handed over.
  const tcp = capturing ? new TcpProxyServer({ host: opts.outbound.host, port: opts.outbound.port, gatewayPort: opts.outbound.port, adopt: true, limits: opts.limits, ...(opts.tcpTransport !== undefined ? { tcpTransport: opts.tcpTransport } : {}), operationalLog: dataLog, reservedPorts: () => ownPorts(), ...(opts.workloadCertificates !== undefined ? { workloadCertificates: opts.workloadCertificates } : {}), workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined), istioMetrics: opts.istioMetrics === false ? 'off' : 'source', accessLog: logLine }) : null;
  const capture = tcp === null ? null : new OutboundCapture({ host: opts.outbound.host, port: opts.outbound.port, fd: outboundFd, http: outbound, tcp, maxConnections: resolveLimits(opts.limits).maxDownstreamConnections });
  const inboundFd = opts.listenFds?.inbound;
  const inbound = new ProxyServer({
    role: 'sidecar-inbound',
    // A handed-over inbound socket: the capture in front accepts, HTTP gets the connections it hands in.
    ...(inboundFd !== undefined ? { adoptOnly: true } : {}),
    workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined),
    istioMetrics: opts.istioMetrics === false ? 'off' : 'destination',
    limits: opts.limits,
    host: opts.inbound.host,
    port: opts.inbound.port,
    workloadCertificates: opts.workloadCertificates,
    operationalLog: dataLog,
    inboundAppPorts: opts.dedicatedInbound === true ? opts.appPorts.slice(0, 1) : opts.appPorts,
    // Always: the miss log explains 404 NR even with the access log off (then only those
    // streams get an entry: no entry built per request for nothing).
    log: (entry) => {
      logLine?.(entry);
      missLog.record(entry);
    },
    ...(logLine === undefined ? { logOnly: InboundMissLog.wants } : {}),
  });
  // Generated from flags, not from the YAML: it never changes while the sidecar runs.
  const inboundConfig = inboundMesh(opts.appPorts, opts.dedicatedInbound === true, opts.appAddress);
  // TCP to the app by original destination port (inbound-capture.ts), when the inbound socket is handed over.
  const tcpWorkload = opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined);
  const tcpIn = inboundFd === undefined ? null : new TcpProxyServer({ host: opts.inbound.host, port: opts.inbound.port, gatewayPort: opts.inbound.port, adopt: true, authorization: true, limits: opts.limits, ...(opts.tcpTransport !== undefined ? { tcpTransport: opts.tcpTransport } : {}), operationalLog: dataLog, workload: opts.workload ?? (opts.xdsIdentity ? workloadOfIdentity(opts.xdsIdentity) : undefined), istioMetrics: opts.istioMetrics === false ? 'off' : 'destination', accessLog: logLine });
  tcpIn?.apply(withInboundPassthrough(inboundConfig), 0);
  const inboundCapture = tcpIn === null ? null : new InboundCapture({ host: opts.inbound.host, port: opts.inbound.port, fd: inboundFd, appPorts: opts.appPorts, ...(opts.appAddress !== undefined ? { appAddress: opts.appAddress } : {}), http: inbound, tcp: tcpIn, maxConnections: resolveLimits(opts.limits).maxDownstreamConnections, maxPeerMetadataBytes: resolveLimits(opts.limits).maxPeerMetadataBytes, log: dataLog, ...(tcpWorkload !== undefined ? { workload: tcpWorkload } : {}), ...(opts.workloadCertificates !== undefined ? { workloadCertificates: opts.workloadCertificates } : {}) });
  // Until the first config version arrives (xDS), the workload's policies are not known: the
  // inbound listener denies everything rather than serve open (a file config applies below,
  // before any port is bound).
  let inboundApplied: { mesh: MeshConfig; version: number } = { mesh: { ...inboundConfig, authorization: [AWAITING_CONFIG] }, version: 0 };
  inbound.apply(inboundApplied.mesh, 0);

  // Each version sets the outbound routes and clusters, the inbound listener's policies
  // (AuthorizationPolicy) and its transport from PeerAuthentication; a version either side
  // refuses changes neither.
  const target = {
    apply: (mesh: MeshConfig, version: number): void => {
      const hasIdentity = opts.workloadCertificates !== undefined;
      const transport = inboundTransportFor(mesh.inboundMtlsMode ?? (hasIdentity ? 'PERMISSIVE' : 'DISABLE'), hasIdentity);
      // CUSTOM's authorizers are reached by name (service:port): the inbound side has only app clusters.
      // meshConfig pathNormalization applies here too (Istio sets it on the inbound connection
      // manager): the path AuthorizationPolicy sees is the normalized one.
      const next = { mesh: { ...inboundWithRateLimits(inboundConfig, mesh.inboundRateLimit), authorization: mesh.authorization ?? [], ...(mesh.pathNormalization !== undefined ? { pathNormalization: mesh.pathNormalization } : {}), ...(mesh.jwtRules !== undefined ? { jwtRules: mesh.jwtRules } : {}), ...(mesh.extAuthzProviders !== undefined ? { extAuthzProviders: mesh.extAuthzProviders } : {}), ...(inboundTracingOf(mesh) !== undefined ? { tracing: inboundTracingOf(mesh)! } : {}), ...(inboundAccessLogsOf(mesh) !== undefined ? { accessLogs: inboundAccessLogsOf(mesh)! } : {}) }, version };
      inbound.apply(next.mesh, version);
      try {
        outbound.apply(mesh, version);
        tcp?.apply(mesh, version);
        // The inbound byte proxy takes the inbound side's access logs (Telemetry SERVER mode).
        tcpIn?.apply(withInboundPassthrough(next.mesh), version);
        capture?.apply(mesh);
        inboundCapture?.apply(mesh, transport);
      } catch (err) {
        inbound.apply(inboundApplied.mesh, inboundApplied.version);
        throw err;
      }
      inboundApplied = next;
      inbound.setDownstreamTransport(transport);
    },
  };
  // The termination drain sets one deadline; the listeners' close then gets what is left of it.
  const drainMs = opts.terminationDrainMs;
  let drainDeadline: number | null = null;
  const remaining = (): number | undefined => (drainDeadline === null ? undefined : Math.max(0, drainDeadline - Date.now()));
  const drain = drainMs === undefined ? undefined : async (): Promise<void> => {
    drainDeadline = Date.now() + drainMs;
    const inboundSides = [
      ...(inboundCapture === null ? [] : [{ drain: () => inboundCapture.close(), activeConnections: 0 }]),
      inbound,
      ...(tcpIn === null ? [] : [tcpIn]),
    ];
    opts.log('info', `termination drain: inbound listener draining, outbound serving, for up to ${drainMs} ms (terminationDrainDuration)`);
    const r = await terminationDrain({ inbound: inboundSides, outbound: [outbound, ...(tcp === null ? [] : [tcp])], deadlineMs: drainMs, minimumMs: opts.minimumDrainMs ?? 0 });
    opts.log('info', r.outcome === 'idle'
      ? `termination drain: no connection left after ${r.elapsedMs} ms`
      : `termination drain: deadline of ${drainMs} ms reached with ${r.remaining} connection(s) open; closing them`);
  };
  const assembly = new RuntimeAssembly({
    ...(drain !== undefined ? { drain } : {}),
    logLevels,
    config: { ...opts, workloadIdentity: opts.workloadCertificates !== undefined, trustDomain: trustDomainOf(opts.workloadCertificates) },
    admin: opts.admin,
    target,
    reloadStats: outbound.stats,
    accessLog,
    workloadCertificates: opts.workloadCertificates,
    ...(opts.stats ? { stats: opts.stats } : {}),
    ...(opts.mergedStats ? { mergedStats: opts.mergedStats } : {}),
    view: {
      // The bound port, so that a test's port 0 shows as the port it got.
      stats: () => {
        const both = sidecarStats(outbound.stats, inbound.stats, { host: opts.inbound.host, port: inbound.port || opts.inbound.port });
        return tcp === null && tcpIn === null ? both : mergeStats([both, ...(tcp === null ? [] : [tcp.stats.records()]), ...(tcpIn === null ? [] : [tcpIn.stats.records()])]);
      },
      clusters: () => tcp === null ? [...outbound.clusters(), ...inbound.clusters()] : [...mergeClusters([outbound.clusters(), tcp.clusters()]), ...inbound.clusters()],
      istio: () => mergeIstio([outbound.istio?.snapshot() ?? EMPTY_ISTIO_SNAPSHOT, inbound.istio?.snapshot() ?? EMPTY_ISTIO_SNAPSHOT, ...[tcp, tcpIn].filter((t): t is TcpProxyServer => t !== null).map((t) => ({ series: [], overflow: t.istio?.overflow ?? 0, tcp: t.istio?.snapshot() ?? [] }))]),
      envoyPlan: (): EnvoyListenPlan => ({
        listens: [{ host: opts.outbound.host, port: outbound.port || opts.outbound.port }],
        inbound: {
          listen: { host: opts.inbound.host, port: inbound.port || opts.inbound.port },
          appPorts: opts.appPorts,
          mode: assembly.manager.current?.mesh.inboundMtlsMode ?? (opts.workloadCertificates !== undefined ? 'PERMISSIVE' : 'DISABLE'),
        },
      }),
      configDumpExtra: () => ({ inbound: { listener: `${opts.inbound.host}:${opts.inbound.port}`, appPorts: opts.appPorts, mesh: inboundConfig } }),
    },
  });
  const health = new HealthServer({ host: opts.health.host, port: opts.health.port, notReadyReason: () => assembly.notReadyReason() });
  const listener = (role: string, at: HostPort, server: ProxyServer): RuntimePort =>
    ({ role, at, listen: () => server.listen(), close: () => server.close(remaining()), probeOnFailure: true });
  const outboundPort: RuntimePort = capture === null ? listener('outbound listener', opts.outbound, outbound) : {
    role: 'outbound listener',
    at: opts.outbound,
    listen: async () => {
      await outbound.listen();
      await capture.listen();
    },
    close: async () => {
      capture.close();
      await Promise.all([outbound.close(remaining()), tcp!.close(remaining())]);
    },
    probeOnFailure: false,
  };
  // The health port right after the admin API, so that probes meet a 503 rather than a refused
  // connection while the data path comes up; then the data path, outbound before inbound.
  await assembly.start({
    probes: [{ role: 'health', at: opts.health, listen: () => health.listen(), close: () => health.close() }],
    listeners: [outboundPort, inboundCapture === null ? listener('inbound listener', opts.inbound, inbound) : {
      role: 'inbound listener',
      at: opts.inbound,
      listen: async () => {
        await inbound.listen();
        await inboundCapture.listen();
      },
      close: async () => {
        inboundCapture.close();
        await Promise.all([inbound.close(remaining()), tcpIn!.close(remaining())]);
      },
      probeOnFailure: false,
    }],
  });

  ownPorts = () => [opts.outbound.port, opts.inbound.port, opts.health.port, opts.admin.port, inbound.port, health.port, assembly.admin.port];
  return {
    manager: assembly.manager,
    outbound,
    inbound,
    admin: assembly.admin,
    get mergedStatsPort() {
      const p = assembly.mergedStatsPort;
      return p !== null && p.listening ? p.port : undefined;
    },
    get statsPort() {
      const p = assembly.statsPort;
      return p !== null && p.listening ? p.port : undefined;
    },
    health,
    ports: { outbound: capture?.port ?? outbound.port, inbound: inbound.port, health: health.port, admin: assembly.admin.port },
    notReadyReason: () => assembly.notReadyReason(),
    reload: (reason) => assembly.reload(reason),
    quitRequested: assembly.quitRequested,
    close: () => assembly.close(),
  };
}
