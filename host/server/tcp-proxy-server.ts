// The data-path server of one Gateway TCP port (Envoy's listener with a tcp_proxy filter): a TCP
// listener, the cluster manager, and the configuration versions it serves. Per connection:
// the first `tcp:` route whose match holds for the port (and the destination address), the
// route's weighted cluster chosen by the core (the same smooth weighted round robin as HTTP
// routes: the routes are compiled into a route table, one virtual host per route), one unit
// of the cluster's max_connections, an endpoint from the cluster's balancer (ejected endpoints
// skipped), a connect within the cluster's connect timeout (outlier detection hears
// connect_success or connect_failed), then a byte-proxy session (host/listener/tcp/).
// A failure closes the downstream: UO (overflow), UH (no healthy endpoint), UF (connect failed or
// timed out), counted in the cluster's upstream_cx_* and Istio's istio_tcp_* with the flag.
// A Gateway TLS passthrough port (host/model/tls-route.ts) is the same server with Envoy's
// tls_inspector in front (host/listener/tcp/tls-inspector.ts): the route is the first `tls:` one
// whose sniHosts match the ClientHello's SNI (AUTO_PASSTHROUGH: the cluster its SNI names), the
// ClientHello itself is forwarded untouched, and no route closes the connection (NR).
//
// A sidecar's outbound capture uses the same server without a listener of its own (`adopt`):
// host/sidecar/outbound-capture.ts hands it each connection whose original destination is a
// TCP service port (the `tcp:` routes of that service's host, else its default cluster) or
// unknown (PassthroughCluster to the original destination, Envoy's ORIGINAL_DST).
//
// Telemetry as Istio's sidecars and gateways report TCP: istio_tcp_connections_opened_total when
// the upstream is connected, the byte counters added every tcpReportingMs (Istio's
// tcp_reporting_duration, 5 s) while the connection is open and the rest at its end, then
// istio_tcp_connections_closed_total; one access-log record per connection at its end
// (host/telemetry/tcp-access-log.ts), refused ones included.
//
// A sidecar's inbound byte proxy (`authorization`) enforces the workload's AuthorizationPolicy
// on each handed-in connection before anything else, as Istio's inbound TCP chains run Envoy's
// RBAC network filter before tcp_proxy (host/listener/tcp/rbac-network-filter.ts, over the
// config version's authorization table in this server's core): a denied connection is closed
// before an upstream is chosen, logged with its termination details.
import { BlockList, isIP, type Socket } from 'node:net';
import { Core } from '../core/wasm.js';
import { RouteTable } from '../core/route/route-table.js';
import { compileRouteTable } from '../compile/route-table.js';
import { noHeaderOps, type MeshConfig, type VirtualHost } from '../model/mesh.js';
import { l4MatchHolds, selectTcpRoute, vsHostMatches as hostMatches, type TcpRoute } from '../model/tcp-route.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import { PassthroughGuard } from '../upstream/passthrough-guard.js';
import { ClusterManager, type PickRequest } from '../upstream/cluster-manager.js';
import { CoreHttp1Codec } from '../upstream/conn-pool/http1/core-http1-codec.js';
import { resolveLimits, type Limits } from '../common/limits.js';
import type { Log } from '../common/log.js';
import { TcpListener } from '../listener/tcp/tcp-listener.js';
import { TcpHandleListener } from '../listener/tcp/tcp-handle-listener.js';
import { HandleSocket } from '../listener/tcp/handle-socket.js';
import type { ByteStream } from '../listener/tcp/byte-stream.js';
import { chooseTcpTransport, type TcpTransportChoice, type TcpTransportKind } from '../listener/tcp/tcp-handle-binding.js';
import type { TcpProxySession } from '../listener/tcp/tcp-proxy-session.js';
import type { PeerExchange } from '../listener/tcp/metadata-exchange.js';
import { TcpProxyConnection, type TcpConnectionOwner } from './tcp-proxy-connection.js';
import { Stats, type TcpProxyStats } from '../telemetry/stats.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import { IstioTcpMetrics, type IstioTcpSeries } from '../telemetry/istio-tcp-metrics.js';
import { serviceOfCluster, UNKNOWN_SERVICE, UNKNOWN_WORKLOAD, workloadLabelsOf, type WorkloadLabels } from '../telemetry/istio-labels.js';
import { workloadMetadata, UNKNOWN, type WorkloadMetadata } from '../model/workload-metadata.js';
import { autoPassthroughSni, selectTlsRoute, type GatewayPassthroughMode } from '../model/tls-route.js';
import { isCatchAllCluster } from '../model/catch-all.js';
import { inspectClientHello, type TlsInspectorOptions } from '../listener/tcp/tls-inspector.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { addressWithPort, tcpAccessLogEntry, TcpAccessLogs, type TcpConnectionLog } from '../telemetry/tcp-access-log.js';
import { sharedAccessLogFiles } from '../telemetry/shared-access-log-files.js';
import { AuthzTable } from '../core/authz/authz-table.js';
import { compileAuthorization } from '../compile/authorization.js';
import { RbacNetworkFilter } from '../listener/tcp/rbac-network-filter.js';
import type { ConnectionSecurity } from '../tls/connection-security.js';
import type { AccessLogFiles } from '../telemetry/access-log-files.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { encodeExchange } from '../telemetry/tcp-metadata-exchange.js';
import { formatHostPort } from '../common/host-port.js';

/** Envoy's tcp_proxy idle_timeout default, which Istio keeps: 1 hour. */
export const TCP_IDLE_TIMEOUT_MS = 3_600_000;

/** Istio's stats filter `tcp_reporting_duration` default: open connections' bytes reported every 5 s. */
export const TCP_REPORTING_MS = 5_000;

export interface TcpProxyServerOptions {
  host: string;
  port: number;
  /** The Gateway port this listener serves (what `tcp:` match ports compare with). */
  gatewayPort: number;
  limits?: Partial<Limits>;
  /** The tcp_proxy idle timeout; default 1 h (0: none). */
  idleTimeoutMs?: number;
  seed?: number;
  coreModule?: WebAssembly.Module;
  operationalLog?: Log;
  /** Who this proxy's workload is (Istio metrics labels, the TCP metadata exchange); absent: `unknown`. */
  workload?: WorkloadMetadata;
  /** The workload certificate: mesh mTLS to endpoints of ISTIO_MUTUAL clusters (absent: such a config is refused). */
  workloadCertificates?: WorkloadCertificateSource;
  /** Istio's TCP metrics: reporter `source` (a gateway, a sidecar's outbound), `destination` (a sidecar's inbound), or off. Default source. */
  istioMetrics?: 'source' | 'destination' | 'off';
  /** How often open connections' bytes are added to istio_tcp_*_bytes_total (Istio's tcp_reporting_duration); default 5 s, 0: at close only. */
  tcpReportingMs?: number;
  /** The CLI access log (`--access-log`): one entry per connection; absent: none. */
  accessLog?: (entry: AccessLogEntry) => void;
  /** Where MeshConfig.accessLogs (Telemetry / meshConfig) write; default the process's shared files. */
  accessLogFiles?: AccessLogFiles;
  /** The tls_inspector of a TLS passthrough port (timeout 15 s, close on timeout, 64 KiB ClientHello). */
  tlsInspector?: TlsInspectorOptions;
  /**
   * No listener of its own: connections are handed in by handle() (a sidecar's outbound capture),
   * and every `tcp:` route is kept, chosen per connection by its service host and port.
   */
  adopt?: boolean;
  /** The proxy's own ports, which a passthrough may not reach on a local address (passthrough-guard.ts). */
  reservedPorts?: () => Iterable<number>;
  /**
   * Enforce MeshConfig.authorization on handed-in connections (a sidecar's inbound: Envoy's RBAC
   * network filter before tcp_proxy); default false (a gateway's and an outbound's TCP enforce none).
   */
  authorization?: boolean;
  /**
   * What the plaintext byte proxy runs on (`--tcp-transport`): `handle`, Node's raw TCP handles
   * (the listener's accepts and plaintext upstream connects; docs/tcp.md), or `socket`,
   * net.Socket. Default: `handle` when Node's bindings pass the start-up check, else `socket`.
   * `handle` asked for and refused is an error. TLS, metadata exchange and handed-in connections stay on net.Socket.
   */
  tcpTransport?: TcpTransportKind;
}

/** Where a handed-in connection goes (handle()). */
export interface TcpTarget {
  /** The original destination. */
  readonly address: string;
  readonly port: number;
  /** The service at that address and port; null: none (PassthroughCluster to the original destination). */
  readonly service: { readonly host: string; readonly cluster: string } | null;
  /** With no service: the original-destination cluster to go through (absent: PassthroughCluster; a sidecar's inbound: InboundPassthroughCluster). */
  readonly passthroughCluster?: string;
  /** The upstream socket's local address (Envoy's upstream_bind_config source address); absent: the kernel's choice. */
  readonly bindAddress?: string;
  /** What the connection's mesh TLS established (the peer principal for AuthorizationPolicy); absent or null: plaintext. */
  readonly security?: ConnectionSecurity | null;
  /** AuthorizationPolicy's destination.ip when `address` is not the original destination (a sidecar's app port: 127.0.0.1); absent: `address`. */
  readonly destinationIp?: string | null;
  /** The peer's workload as Istio's TCP metadata exchange named it (host/telemetry/tcp-metadata-exchange.ts); absent or null: unknown. */
  readonly peer?: WorkloadLabels | null;
  /** Istio's TCP metadata exchange with the socket's peer (listener/tcp/metadata-exchange.ts), run by the byte proxy's reading of it: the series waits for it to settle. */
  readonly exchange?: PeerExchange | null;
}

/** handleTls's options (a sidecar's capture). */
export interface HandleTlsOptions {
  /** The ClientHello's time limit (Istio: meshConfig protocolDetectionTimeout; 0: none); default the server's inspector's. */
  readonly timeoutMs?: number;
  /** The service an SNI names at this port (services without addresses sharing it), or null. */
  readonly bySni?: (sni: string) => TcpTarget['service'];
}

/** One config version: the routes of this port, the core's table for their weights, and their stats. */
interface TcpVersion {
  readonly version: number;
  readonly table: RouteTable;
  readonly routes: readonly TcpRoute[];
  readonly stats: readonly TcpProxyStats[];
  /** Cluster names by the table's cluster index. */
  readonly clusterNames: readonly string[];
  /** A TLS passthrough port's mode (routes by SNI), or null for a TCP port. */
  readonly passthrough: GatewayPassthroughMode | null;
  /** Adopt (a sidecar): routes from this index on are mesh `tls:` routes (handleTls); the rest `tcp:`. */
  readonly tlsFrom: number;
  /** AUTO_PASSTHROUGH: route index by SNI (every route's one SNI is exact). */
  readonly bySni: ReadonlyMap<string, number> | null;
  /** This version's Telemetry / meshConfig access logs (null: none). */
  readonly logs: TcpAccessLogs | null;
  /** Some route matches on destinationSubnets: the accepted socket's local address is needed to choose (a getsockname). */
  readonly matchesAddress: boolean;
  /** The RBAC network filter over this version's policies (`authorization`), or null: none select the workload. */
  readonly rbac: { readonly filter: RbacNetworkFilter; readonly table: AuthzTable } | null;
}

/** What the server keeps per proxied connection: its version and log fields, its Istio series and what of its bytes the series has. */
interface TcpConnData {
  readonly v: TcpVersion;
  readonly conn: ConnInfo;
  readonly clusterName: string;
  /** The series of a proxied connection to the cluster (flags `-`; the peer's once its mTLS named it); null: Istio metrics off. */
  series: IstioTcpSeries | null;
  /** Whether its opening was counted (a series resolved late is opened once, when it is). */
  opened: boolean;
  sent: number;
  received: number;
  /** The upstream socket's local address, read at connect when something logs it. */
  upstreamLocal: string;
}

/** An endpoint's address as access logs print it (`upstream_host`). */
interface EndpointAddress {
  readonly address: string;
  readonly port: number;
}

export class TcpProxyServer {
  readonly stats = new Stats();
  readonly limits: Limits;
  readonly istio: IstioTcpMetrics | null;
  readonly #core: Core;
  readonly #clusters: ClusterManager;
  readonly #listener: TcpListener | TcpHandleListener | null;
  /** The byte proxy's transport (and, when the handle transport was detected but refused, why). */
  readonly transport: TcpTransportChoice;
  readonly #adopt: boolean;
  readonly #gatewayPort: number;
  /** What the connections call back, with the idle timeout and buffer limits their sessions take. */
  readonly #owner: TcpConnectionOwner<TcpConnData>;
  readonly #opLog: Log | undefined;
  /** Connections without a route to any cluster (`tcp.<listener>.downstream_cx_no_route`). */
  readonly #listenerStats: TcpProxyStats;
  /** The Istio series of proxied connections (flags `-`) by cluster: the labels rendered once, not per connection. */
  readonly #seriesByCluster = new Map<string, IstioTcpSeries>();
  /** Open sessions, with their Istio series and the bytes already reported to it. */
  readonly #sessions = new Map<TcpProxySession, TcpConnData>();
  readonly #reportTimer: NodeJS.Timeout | null;
  readonly #accessLog: ((entry: AccessLogEntry) => void) | undefined;
  readonly #accessLogFiles: AccessLogFiles;
  /** Downstreams waiting for their upstream connect. */
  readonly #connecting = new Set<ByteStream>();
  /** Downstreams whose ClientHello is being read. */
  readonly #inspecting = new Set<Socket>();
  readonly #inspector: TlsInspectorOptions;
  readonly #subnets = new Map<string, BlockList>();
  readonly #authorization: boolean;
  /** The balancer's view of the connection being picked for (reused: the pick keeps nothing of it). */
  readonly #pick = new SocketPickRequest();
  #current: TcpVersion | null = null;
  #closing: Promise<void> | null = null;

  constructor(opts: TcpProxyServerOptions) {
    this.limits = resolveLimits(opts.limits);
    this.#core = new Core(opts.coreModule);
    const reserved = opts.reservedPorts;
    const passthroughGuard = reserved === undefined ? undefined : new PassthroughGuard(reserved);
    // Mesh mTLS to an endpoint (auto mTLS, DestinationRule ISTIO_MUTUAL) with the workload
    // certificate, offering Istio's TCP ALPN (istio-peer-exchange, istio).
    this.#clusters = new ClusterManager(this.#core, this.stats, this.limits, new CoreHttp1Codec(this.#core), { seed: opts.seed, log: opts.operationalLog, byteProxy: true, ...(opts.workloadCertificates !== undefined ? { workloadCertificates: opts.workloadCertificates } : {}), ...(passthroughGuard !== undefined ? { passthroughGuard } : {}) });
    this.#adopt = opts.adopt === true;
    this.#authorization = opts.authorization === true;
    this.#gatewayPort = opts.gatewayPort;
    // limits.perConnectionBufferLimitBytes toward the downstream, upstreamPerConnectionBufferLimitBytes toward the upstream.
    // The TCP metadata exchange names this workload to mesh mTLS upstreams (Istio's outbound
    // tcp_proxy chains run istio.metadata_exchange upstream); off with the Istio metrics.
    const exchange = opts.istioMetrics === 'off' ? null : encodeExchange(opts.workload ?? workloadMetadata({}));
    this.transport = chooseTcpTransport(opts.tcpTransport);
    this.#owner = this.#connectionOwner(opts.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS, { toDownstream: this.limits.perConnectionBufferLimitBytes, toUpstream: this.limits.upstreamPerConnectionBufferLimitBytes }, exchange);
    this.#opLog = opts.operationalLog;
    this.#inspector = opts.tlsInspector ?? {};
    this.#listenerStats = this.stats.tcp(`0.0.0.0_${opts.gatewayPort}`);
    const workload = opts.workload ?? workloadMetadata({});
    this.istio = opts.istioMetrics === 'off' ? null : new IstioTcpMetrics(opts.istioMetrics ?? 'source', workloadLabelsOf(workload), () => workload.principal ?? UNKNOWN);
    this.#accessLog = opts.accessLog;
    this.#accessLogFiles = opts.accessLogFiles ?? sharedAccessLogFiles(opts.operationalLog);
    const reportMs = opts.tcpReportingMs ?? TCP_REPORTING_MS;
    this.#reportTimer = this.istio === null || reportMs <= 0 ? null : setInterval(() => this.#report(), reportMs);
    this.#reportTimer?.unref();
    const listenerOpts = { maxConnections: this.limits.maxDownstreamConnections };
    const handles = this.transport.binding;
    this.#listener = this.#adopt
      ? null
      : handles !== null && isIP(opts.host) !== 0
        ? new TcpHandleListener(handles, opts.host, opts.port, (s) => this.#onConnection(s), listenerOpts)
        : new TcpListener(opts.host, opts.port, (s) => this.#onConnection(s), listenerOpts);
  }

  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** Open proxied sessions (connected both ways). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Takes `mesh`'s `tcp:` routes for this port (those with a match on it, or none) and its
   * clusters. Throws (a compile error, a table the core refuses) leaving the previous version.
   */
  apply(mesh: MeshConfig, version: number): void {
    const pass = (mesh.gatewayPassthroughListeners ?? []).find((l) => l.port === this.#gatewayPort)?.mode ?? null;
    const onPort = (r: TcpRoute): boolean => this.#adopt || r.matches.length === 0 || r.matches.some((m) => m.port === null || m.port === this.#gatewayPort);
    // A sidecar's capture (adopt) keeps every `tcp:` route, then every mesh `tls:` route (from
    // index tlsFrom): one table, the TCP side's routes first.
    const tcpRoutes = pass === null ? (mesh.tcpRoutes ?? []).filter(onPort) : pass === 'PASSTHROUGH' ? (mesh.tlsRoutes ?? []).filter(onPort) : autoPassthroughRoutes(mesh);
    const routes = this.#adopt && pass === null ? [...tcpRoutes, ...(mesh.tlsRoutes ?? [])] : tcpRoutes;
    // One virtual host per route, one route each: route index i is tcp route i, and the core
    // picks its weighted destination exactly as for an HTTP route.
    const virtualHosts: VirtualHost[] = routes.map((r, i) => ({
      name: r.name,
      domains: [`tcp-route-${i}.wasmesh.invalid`],
      routes: [{
        name: r.name,
        matches: [],
        destinations: r.destinations.map((d) => ({ cluster: d.cluster, weight: d.weight, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() })),
        requestHeaders: noHeaderOps(),
        responseHeaders: noHeaderOps(),
        timeoutMs: null,
      }],
    }));
    // A TLS passthrough port forwards the client's TLS untouched (Istio's SNI-DNAT clusters have
    // no transport socket): its clusters originate no mesh mTLS; a TCP port's do.
    const clusters = pass === null ? mesh.clusters : mesh.clusters.map((c) => (c.tls === undefined ? c : { ...c, tls: undefined }));
    const coreMesh: MeshConfig = { virtualHosts, clusters };
    // The policies first: a set that does not compile refuses the version before anything changed.
    const rbac = this.#loadRbac(mesh, version);
    let table: RouteTable;
    try {
      table = RouteTable.load(this.#core, compileRouteTable(coreMesh, { listenerPort: this.#gatewayPort }), version);
    } catch (err) {
      rbac?.table.release();
      throw err;
    }
    try {
      this.#clusters.apply(coreMesh, table);
    } catch (err) {
      table.release();
      rbac?.table.release();
      throw err;
    }
    for (const r of routes) for (const m of r.matches) for (const c of m.destinationSubnets) this.#subnet(c);
    const previous = this.#current;
    this.#current = {
      version,
      table,
      routes,
      // Envoy's stat_prefix as Istio sets it: the cluster for one destination, else the route.
      stats: routes.map((r) => this.stats.tcp(r.destinations.length === 1 ? r.destinations[0]!.cluster : r.name)),
      clusterNames: mesh.clusters.map((c) => c.name),
      passthrough: pass,
      tlsFrom: tcpRoutes.length,
      bySni: pass === 'AUTO_PASSTHROUGH' ? new Map(routes.map((r, i) => [r.matches[0]!.sniHosts[0]!, i])) : null,
      logs: mesh.accessLogs !== undefined && mesh.accessLogs.length > 0 ? new TcpAccessLogs(mesh.accessLogs, (path) => this.#accessLogFiles.writer(path)) : null,
      matchesAddress: routes.some((r) => r.matches.some((m) => m.destinationSubnets.length > 0)),
      rbac,
    };
    this.#seriesByCluster.clear();
    // Connections on the previous version hold their own reference.
    previous?.table.release();
    // Evaluated only at a connection's start, synchronously: nothing else holds it.
    previous?.rbac?.table.release();
  }

  /** The version's RBAC network filter: compiled and loaded into this server's core; null when off or no policy. */
  #loadRbac(mesh: MeshConfig, version: number): TcpVersion['rbac'] {
    const policies = mesh.authorization ?? [];
    if (!this.#authorization || policies.length === 0) return null;
    const compiled = compileAuthorization(policies);
    const table = AuthzTable.load(this.#core, compiled, version);
    return { table, filter: new RbacNetworkFilter(table, compiled, { stats: this.stats.rbacNetwork, log: this.#opLog }) };
  }

  listen(): Promise<void> {
    return this.#listener?.listen() ?? Promise.resolve();
  }

  /** Every cluster with its endpoints' health (GET /clusters). */
  clusters(): ClusterStatus[] {
    return this.#clusters.clusters();
  }

  get clusterManager(): ClusterManager {
    return this.#clusters;
  }

  /** Stops accepting; open sessions run on (close() ends them). */
  drain(): void {
    this.#listener?.drain();
  }

  /** Open sessions, and connections still connecting or being inspected. */
  get activeConnections(): number {
    return this.#sessions.size + this.#connecting.size + this.#inspecting.size;
  }

  /** Stops accepting; open sessions get `drainTimeoutMs` (default limits.drainTimeoutMs) to finish, then are reset. */
  close(drainTimeoutMs = this.limits.drainTimeoutMs): Promise<void> {
    return (this.#closing ??= this.#close(drainTimeoutMs));
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#listener?.stopAccepting();
    if (this.#reportTimer !== null) clearInterval(this.#reportTimer);
    const deadline = Date.now() + drainTimeoutMs;
    while ((this.#sessions.size > 0 || this.#connecting.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.#sessions.keys()]) s.close();
    for (const s of [...this.#connecting]) s.destroy();
    for (const s of [...this.#inspecting]) s.destroy();
    this.#listener?.closeAll();
    this.#clusters.close();
    // The last connections' lines out (the files are shared: another server may close later).
    this.#accessLogFiles.flush();
    this.#current?.table.release();
    this.#current = null;
  }

  #subnet(cidr: string): BlockList {
    let b = this.#subnets.get(cidr);
    if (b === undefined) {
      b = new BlockList();
      const slash = cidr.indexOf('/');
      const address = slash < 0 ? cidr : cidr.slice(0, slash);
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      b.addSubnet(address, slash < 0 ? (family === 'ipv6' ? 128 : 32) : Number(cidr.slice(slash + 1)), family);
      this.#subnets.set(cidr, b);
    }
    return b;
  }

  readonly #inSubnet = (address: string, cidr: string): boolean => {
    const v4mapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4;
    const a = v4mapped ? address.slice(7) : address;
    return this.#subnet(cidr).check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  };

  #onConnection(socket: ByteStream): void {
    const v = this.#current;
    if (v === null || this.#closing !== null) {
      socket.destroy();
      return;
    }
    socket.on('error', ignore); // a reset before the session exists: nothing to pass on
    // The addresses (a getpeername and a getsockname each) only where something reads them.
    const conn = this.#logs(v) ? connInfo(socket, socket.localAddress, socket.localPort) : noAddresses();
    if (v.passthrough === null) return this.#proxyRoute(socket, v, selectTcpRoute(v.routes, this.#gatewayPort, v.matchesAddress ? socket.localAddress ?? null : null, this.#inSubnet), conn);
    // The tls_inspector reads through Node's streams: a handle-transport connection becomes a net.Socket.
    if (socket instanceof HandleSocket) return this.#inspectPassthrough(socket.toNetSocket().on('error', ignore), v, conn);
    this.#inspectPassthrough(socket as Socket, v, conn);
  }

  /** A passthrough port's connection: its ClientHello read (SNI) before a route is chosen. */
  #inspectPassthrough(socket: Socket, v: TcpVersion, conn: ConnInfo): void {
    // The version at accept serves this connection: held while its ClientHello comes.
    v.table.retain();
    this.#inspecting.add(socket);
    inspectClientHello(socket, this.#core, this.stats.tlsInspector, this.#inspector, (outcome) => {
      this.#inspecting.delete(socket);
      if (outcome.action === 'close') {
        if (outcome.reason === 'timeout') this.stats.downstream.inc('downstream_pre_cx_timeout');
        socket.destroy();
      } else {
        const ri = v.bySni !== null
          ? (outcome.sni === null ? -1 : v.bySni.get(outcome.sni.toLowerCase()) ?? -1)
          : selectTlsRoute(v.routes, this.#gatewayPort, outcome.sni, socket.localAddress ?? null, this.#inSubnet);
        conn.sni = outcome.sni ?? '';
        this.#proxyRoute(socket, v, ri, conn);
      }
      v.table.release();
    });
  }

  /** Proxies `socket` by route `ri` of `v` (-1: none, closed and counted as Envoy's NR). */
  #proxyRoute(socket: ByteStream, v: TcpVersion, ri: number, conn: ConnInfo): void {
    if (ri < 0) {
      this.#listenerStats.inc('downstream_cx_total');
      this.#listenerStats.inc('downstream_cx_no_route');
      // Envoy: no filter chain matched (a passthrough port) or no route: the NR flag.
      if (v.passthrough !== null) this.stats.downstreamDone(0, ['NR']);
      this.#log(v, conn, 'NR', '', null, 0, 0);
      socket.destroy();
      return;
    }
    conn.route = v.routes[ri]!.name;
    this.#proxy(socket, v, v.stats[ri]!, v.table.pickCluster(ri), '', conn);
  }

  /**
   * A connection accepted elsewhere (`adopt`: a sidecar's outbound capture), paused or with its
   * first bytes unshifted back: proxied to `target`'s service by its `tcp:` routes (those whose
   * hosts name the service, the first whose match holds for the original port and address), else
   * to the service's default cluster; with no service, to the original destination through
   * PassthroughCluster. Closed at once when there is no config yet or the cluster is unknown.
   */
  handle(socket: Socket, target: TcpTarget): void {
    const v = this.#current;
    if (v === null || this.#closing !== null) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    const conn = connInfo(socket, target.address, target.port);
    conn.security = target.security ?? null;
    conn.peer = target.peer ?? null;
    conn.exchange = target.exchange ?? null;
    conn.peerPrincipal = conn.security?.mutualTls === true ? conn.security.peerSpiffeId : null;
    if (v.rbac !== null && !this.#authorize(socket, v, v.rbac.filter, target, conn)) return;
    const service = target.service;
    if (service === null) {
      const authority = formatHostPort(target.address, target.port);
      const cluster = target.passthroughCluster ?? PASSTHROUGH_CLUSTER;
      this.#proxy(socket, v, this.stats.tcp(cluster), v.clusterNames.indexOf(cluster), authority, conn, target.bindAddress);
      return;
    }
    for (let i = 0; i < v.tlsFrom; i++) {
      const r = v.routes[i]!;
      if (!r.hosts.some((h) => hostMatches(h, service.host))) continue;
      if (r.matches.length === 0 || r.matches.some((m) => l4MatchHolds(m, target.port, target.address, this.#inSubnet))) {
        conn.route = r.name;
        this.#proxy(socket, v, v.stats[i]!, v.table.pickCluster(i), '', conn);
        return;
      }
    }
    this.#proxy(socket, v, this.stats.tcp(service.cluster), v.clusterNames.indexOf(service.cluster), '', conn);
  }

  /**
   * The RBAC network filter's decision on a handed-in connection: true to go on; false when it
   * was denied (closed, logged with Envoy's termination details, no upstream chosen).
   */
  #authorize(socket: Socket, v: TcpVersion, filter: RbacNetworkFilter, target: TcpTarget, conn: ConnInfo): boolean {
    const security = target.security ?? null;
    const denied = filter.onNewConnection({ remoteAddress: socket.remoteAddress ?? null, localAddress: target.destinationIp ?? target.address, localPort: target.port, security });
    if (denied === null) return true;
    conn.sni = security?.sni ?? '';
    this.#log(v, conn, '-', '', null, 0, 0, '', denied);
    socket.destroy();
    return false;
  }

  /**
   * The ALPN a handed-in TLS connection's ClientHello offers (Envoy's tls_inspector in front of a
   * sidecar's inbound filter chains, which match on it), read without consuming it: every byte is
   * put back for whoever terminates the TLS. `done` gets the offered list (empty: none, not TLS,
   * or the ClientHello did not come within `timeoutMs`), or null when the connection was closed
   * (a ClientHello over the size limit, the client leaving, this server closing).
   */
  inspectAlpn(socket: Socket, timeoutMs: number, done: (alpn: readonly string[] | null) => void): void {
    if (this.#closing !== null) {
      socket.destroy();
      return done(null);
    }
    this.#inspecting.add(socket);
    inspectClientHello(socket, this.#core, this.stats.tlsInspector, { ...this.#inspector, continueOnTimeout: true, timeoutMs }, (outcome) => {
      this.#inspecting.delete(socket);
      if (outcome.action === 'close' || this.#closing !== null) {
        socket.destroy();
        return done(null);
      }
      if (outcome.timedOut) this.stats.downstream.inc('downstream_pre_cx_timeout');
      done(outcome.alpn);
    });
  }

  /**
   * A handed-in TLS connection (a sidecar's capture: a TLS/HTTPS port, or TLS sniffed on an
   * unnamed one), routed as Istio's sidecar outbound TLS filter chains do: the ClientHello is read
   * (tls_inspector; on timeout — Istio: protocolDetectionTimeout — continued without SNI, as
   * Istio sets it on sidecars) and put back;
   * the first mesh `tls:` route of the service's host whose match holds (port, destination subnet,
   * SNI) takes it; else the service named by the SNI among `bySni`'s candidates (services without
   * addresses sharing the port), else `target`'s service's own cluster; no service: the original
   * destination through PassthroughCluster. Bytes pass untouched (no termination).
   */
  handleTls(socket: Socket, target: TcpTarget, opts: HandleTlsOptions = {}): void {
    const bySni = opts.bySni;
    const v = this.#current;
    if (v === null || this.#closing !== null) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    v.table.retain();
    this.#inspecting.add(socket);
    inspectClientHello(socket, this.#core, this.stats.tlsInspector, { ...this.#inspector, continueOnTimeout: true, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) }, (outcome) => {
      this.#inspecting.delete(socket);
      try {
        if (outcome.action === 'close') {
          if (outcome.reason === 'timeout') this.stats.downstream.inc('downstream_pre_cx_timeout');
          socket.destroy();
          return;
        }
        // Envoy counts the timeout whether the connection then continues or not.
        if (outcome.timedOut) this.stats.downstream.inc('downstream_pre_cx_timeout');
        if (this.#closing !== null) {
          socket.destroy();
          return;
        }
        const sni = outcome.sni;
        const service = (sni !== null && bySni !== undefined ? bySni(sni.toLowerCase()) : null) ?? target.service;
        const conn = connInfo(socket, target.address, target.port);
        conn.sni = sni ?? '';
        if (service === null) {
          const authority = formatHostPort(target.address, target.port);
          this.#proxy(socket, v, this.stats.tcp(PASSTHROUGH_CLUSTER), v.clusterNames.indexOf(PASSTHROUGH_CLUSTER), authority, conn);
          return;
        }
        // The service's `tls:` rules, the most specific match first (Envoy's filter chain match).
        const i = selectTlsRoute(v.routes, target.port, sni, target.address, this.#inSubnet, (ri) => ri >= v.tlsFrom && v.routes[ri]!.hosts.some((h) => hostMatches(h, service.host)));
        if (i >= 0) {
          conn.route = v.routes[i]!.name;
          this.#proxy(socket, v, v.stats[i]!, v.table.pickCluster(i), '', conn);
          return;
        }
        this.#proxy(socket, v, this.stats.tcp(service.cluster), v.clusterNames.indexOf(service.cluster), '', conn);
      } finally {
        v.table.release();
      }
    });
  }

  /**
   * A handed-in connection the outbound policy refuses (REGISTRY_ONLY, a destination the mesh does
   * not know): sent to BlackHoleCluster, which has no endpoint, so it is closed with UH, counted as Envoy does.
   */
  blackHole(socket: Socket): void {
    const v = this.#current;
    if (v === null || this.#closing !== null) {
      socket.destroy();
      return;
    }
    socket.on('error', () => {});
    this.#proxy(socket, v, this.stats.tcp(BLACKHOLE_CLUSTER), v.clusterNames.indexOf(BLACKHOLE_CLUSTER), '', connInfo(socket, socket.localAddress, socket.localPort));
  }

  #proxy(socket: ByteStream, v: TcpVersion, stats: TcpProxyStats, ci: number, authority: string, conn: ConnInfo, bindAddress?: string): void {
    stats.inc('downstream_cx_total');
    const clusterName = ci < 0 ? '' : v.clusterNames[ci]!;
    if (ci < 0) return this.#refuse(socket, v, conn, clusterName, null, 'UH');
    const admitted = this.#clusters.admitConnection(v, ci);
    if (admitted === null) return this.#refuse(socket, v, conn, clusterName, null, 'UH');
    if (admitted === 'overflow') return this.#refuse(socket, v, conn, clusterName, null, 'UO');
    const pick = this.#pick;
    pick.socket = socket;
    pick.authority = authority;
    const lease = this.#clusters.pickEndpoint(v, ci, pick);
    pick.socket = null;
    if (lease === null) {
      admitted.release();
      admitted.stats.inc('upstream_cx_none_healthy');
      return this.#refuse(socket, v, conn, clusterName, null, 'UH');
    }
    v.table.retain();
    const data: TcpConnData = { v, conn, clusterName, series: admitted.transport.readyEvent === 'connect' && conn.exchange === null ? this.#openSeries(clusterName, conn) : null, opened: false, sent: 0, received: 0, upstreamLocal: '' };
    new TcpProxyConnection(this.#owner, socket, stats, admitted, lease, data, bindAddress, conn.exchange);
  }

  /** A connection closed before it had an upstream (flag UH, UO, UF), counted in its Istio series and logged. */
  #refuse(socket: ByteStream, v: TcpVersion, conn: ConnInfo, clusterName: string, upstream: EndpointAddress | null, flag: string): void {
    const s = this.#series(clusterName, flag, conn);
    if (s !== null) {
      s.opened++;
      s.closed++;
    }
    this.stats.downstreamDone(0, [flag]);
    this.#log(v, conn, flag, clusterName, upstream, 0, 0);
    socket.destroy();
  }

  /** What this server's connections call back (one object for all of them). */
  #connectionOwner(idleTimeoutMs: number, bufferLimits: { toDownstream: number; toUpstream: number }, exchange: Buffer | null): TcpConnectionOwner<TcpConnData> {
    return {
      connecting: this.#connecting,
      handles: this.transport.binding,
      idleTimeoutMs,
      bufferLimits,
      exchange,
      maxPeerMetadataBytes: this.limits.maxPeerMetadataBytes,
      exchangeFailed: (c, detail) => this.#opLog?.('warn', `tcp upstream ${addressWithPort(c.lease.endpoint.address, c.lease.endpoint.port)} (cluster ${c.data.clusterName}): metadata exchange failed: ${detail}`),
      connectFailed: (c) => this.#refuse(c.downstream, c.data.v, c.data.conn, c.data.clusterName, c.lease.endpoint, 'UF'),
      opened: (c, session) => {
        const d = c.data;
        if (this.#logs(d.v)) d.upstreamLocal = addressWithPort(c.upstream.localAddress, c.upstream.localPort);
        this.#sessions.set(session, d);
        if (d.series !== null) {
          d.opened = true;
          d.series.opened++;
          return;
        }
        // A TLS upstream's series is known once its mesh mTLS named the destination (its
        // certificate now, its metadata exchange when it settles); an inbound connection's once
        // its exchange settles. Until then its bytes wait (null again when the metrics are off).
        if (d.conn.exchange === null) {
          d.conn.peerPrincipal = c.upstreamPrincipal;
          d.conn.exchange = c.exchange;
        }
        const exchange = d.conn.exchange;
        if (exchange === null || exchange.outcome !== null) this.#openLate(d);
        else exchange.whenSettled(() => { if (this.#sessions.has(session)) this.#openLate(d); });
      },
      closed: (c, s) => {
        const d = c.data;
        const stats = c.stats;
        this.#sessions.delete(s);
        stats.inc('downstream_cx_rx_bytes_total', s.rxBytes);
        stats.inc('downstream_cx_tx_bytes_total', s.txBytes);
        if (s.upstreamFlushed) stats.inc('upstream_flush_total');
        if (s.end === 'idle_timeout') stats.inc('idle_timeout');
        if (s.end === 'upstream_reset') this.stats.downstreamDone(0, ['UC']);
        // A connection closed before its peer's exchange settled: its certificate names the peer.
        this.#openLate(d);
        if (d.series !== null) {
          reportBytes(s, d.series, d);
          d.series.closed++;
        }
        this.#log(d.v, d.conn, s.end === 'upstream_reset' ? 'UC' : '-', d.clusterName, c.lease.endpoint, s.rxBytes, s.txBytes, d.upstreamLocal);
      },
      released: (c) => c.data.v.table.release(),
    };
  }

  /** Opens the series of a connection whose peer was not known at its connect (once). */
  #openLate(d: TcpConnData): void {
    if (d.opened) return;
    d.opened = true;
    d.conn.peer = d.conn.exchange?.peer?.labels ?? d.conn.peer;
    d.series = this.#openSeries(d.clusterName, d.conn);
    if (d.series !== null) d.series.opened++;
  }

  /** Whether connections of `v` are logged (their addresses are read at accept only then). */
  #logs(v: TcpVersion): boolean {
    return this.#accessLog !== undefined || v.logs !== null;
  }

  /**
   * The Istio TCP series of a proxied connection (flags `-`) to `cluster`, from a cache: by
   * cluster for a connection without mTLS or peer metadata, else by cluster, peer principal and
   * peer node id (the label text is rendered once per distinct peer, not per connection).
   */
  #openSeries(cluster: string, conn: ConnInfo): IstioTcpSeries | null {
    const principal = conn.peerPrincipal;
    const mutual = conn.security?.mutualTls === true;
    const key = principal === null && conn.peer === null && !mutual ? cluster : `${cluster}\n${mutual ? 'm' : ''}\n${principal ?? ''}\n${conn.peer === null ? '' : peerKey(conn.peer)}`;
    const cached = this.#seriesByCluster.get(key);
    if (cached !== undefined) return cached;
    const s = this.#series(cluster, '-', conn);
    if (s === null) return null;
    // Bounded as the peer caches are: distinct peers are few; hostile ones cannot grow it.
    if (this.#seriesByCluster.size >= MAX_CACHED_SERIES) this.#seriesByCluster.clear();
    this.#seriesByCluster.set(key, s);
    return s;
  }

  /** The Istio TCP series of a connection to `cluster` with `flags`. */
  #series(cluster: string, flags = '-', conn?: ConnInfo): IstioTcpSeries | null {
    if (this.istio === null) return null;
    const service = cluster === '' ? UNKNOWN_SERVICE : serviceOfCluster(cluster) ?? UNKNOWN_SERVICE;
    const security = conn?.security ?? null;
    const mutual = security !== null && security.mutualTls;
    // Istio: the source reporter writes `unknown`; the destination reporter the downstream's
    // security (`mutual_tls` with the peer certificate's SPIFFE ID as source_principal, when
    // the sidecar terminated the mesh mTLS; else `none`).
    const policy = this.istio.reporter === 'source' ? 'unknown' : mutual ? 'mutual_tls' : 'none';
    return this.istio.series(conn?.peer ?? UNKNOWN_WORKLOAD, conn?.peerPrincipal ?? UNKNOWN, service, flags, policy);
  }

  /** Every open connection's bytes since its last report, added to its series (Istio's periodic TCP report). */
  #report(): void {
    for (const [session, d] of this.#sessions) if (d.series !== null) reportBytes(session, d.series, d);
  }

  /** The connection's access-log record, to the CLI log and this version's Telemetry logs. */
  #log(v: TcpVersion, conn: ConnInfo, flags: string, cluster: string, upstream: EndpointAddress | null, received: number, sent: number, upstreamLocal = '', terminationDetails = ''): void {
    if (this.#accessLog === undefined && v.logs === null) return;
    const upstreamHost = upstream === null ? '' : addressWithPort(upstream.address, upstream.port);
    const c: TcpConnectionLog = {
      startTime: conn.startTime,
      durationMs: Date.now() - conn.startTime,
      bytesReceived: received,
      bytesSent: sent,
      flags,
      upstreamHost,
      upstreamLocalAddress: upstreamLocal,
      upstreamCluster: cluster,
      route: conn.route,
      downstreamRemoteAddress: conn.remote,
      downstreamLocalAddress: conn.local,
      requestedServerName: conn.sni,
      terminationDetails,
    };
    this.#accessLog?.(tcpAccessLogEntry(c, v.version));
    v.logs?.write(c);
  }
}

/** An error handler for sockets whose errors show in their 'close' (one function, not one per connection). */
function ignore(): void {}

const NO_HEADERS: readonly string[] = [];

/**
 * A TCP connection as a balancer sees it (no headers, no path): the client's address is read
 * only when a balancer hashes it (a getpeername otherwise saved).
 */
class SocketPickRequest implements PickRequest {
  socket: ByteStream | null = null;
  authority = '';
  readonly headers = NO_HEADERS;
  readonly path = '';

  get clientIp(): string {
    return this.socket?.remoteAddress ?? '';
  }

  get clientPort(): number {
    return this.socket?.remotePort ?? 0;
  }
}

/** What a connection's access-log record needs from before its session. */
interface ConnInfo {
  readonly startTime: number;
  readonly remote: string;
  readonly local: string;
  sni: string;
  route: string;
  /** A handed-in connection's mesh TLS (its Istio series' policy and principal), null: plaintext. */
  security: ConnectionSecurity | null;
  /** The peer's workload from the TCP metadata exchange, null: unknown. */
  peer: WorkloadLabels | null;
  /** The peer's SPIFFE ID from its mesh certificate (the downstream's, or the upstream's on the source reporter), null: unknown. */
  peerPrincipal: string | null;
  /** Istio's TCP metadata exchange on the peer's socket (the downstream's, or the upstream's on the source reporter), null: none. */
  exchange: PeerExchange | null;
}

/** Open-connection series cached by cluster and peer, at most (then the cache starts over). */
const MAX_CACHED_SERIES = 1024;

/** A peer's cache key: its labels' values (a peer is the same series when they are). */
function peerKey(p: WorkloadLabels): string {
  return Object.values(p).join('\u0000');
}

/** A connection nobody logs: its addresses are not read. */
function noAddresses(): ConnInfo {
  return { startTime: Date.now(), remote: '', local: '', sni: '', route: '', security: null, peer: null, peerPrincipal: null, exchange: null };
}

function connInfo(socket: ByteStream, localAddress: string | undefined, localPort: number | undefined): ConnInfo {
  return { startTime: Date.now(), remote: addressWithPort(socket.remoteAddress, socket.remotePort), local: addressWithPort(localAddress, localPort), sni: '', route: '', security: null, peer: null, peerPrincipal: null, exchange: null };
}

/** Adds what `session` moved since the last report to its series (sent: to the downstream, received: from it). */
function reportBytes(session: TcpProxySession, series: IstioTcpSeries, report: { sent: number; received: number }): void {
  series.sent += session.txBytes - report.sent;
  series.received += session.rxBytes - report.received;
  report.sent = session.txBytes;
  report.received = session.rxBytes;
}

/**
 * AUTO_PASSTHROUGH's routes: one per cluster of a service port, taking the SNI Istio's clients
 * send for it (`outbound_.<port>_.<subset>_.<host>`) to that cluster alone.
 */
function autoPassthroughRoutes(mesh: MeshConfig): TcpRoute[] {
  return mesh.clusters
    .filter((c) => !isCatchAllCluster(c.name) && c.port > 0)
    .map((c) => ({
      name: c.name,
      hosts: [c.host],
      matches: [{ port: null, destinationSubnets: [], sniHosts: [autoPassthroughSni(c.port, c.subset, c.host)] }],
      destinations: [{ cluster: c.name, weight: 100 }],
    }));
}

