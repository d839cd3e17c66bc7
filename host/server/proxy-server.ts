// The data-path server of one thread: a listener, the HTTP connection manager and its streams,
// the cluster manager, and the configuration versions it serves. apply() builds a version —
// route table and retry policies compiled and loaded into the core, each route's filter chain
// and header edits, the clusters — and swaps it in atomically; what the CLI, the admin API and
// hot reload drive.
import { Core } from '../core/wasm.js';
import { RouteTable } from '../core/route/route-table.js';
import { requestViewOf } from '../core/request-view.js';
import { FaultDice } from '../core/fault/fault.js';
import { RetryPolicies } from '../core/upstream/retry.js';
import { RequestHeadWriter, WRITE_FRAMING_NONE, WRITE_FRAMING_LENGTH, WRITE_FRAMING_CHUNKED } from '../core/codec/head-writer.js';
import { EditList } from '../core/codec/edit-list.js';
import { compileRouteTable } from '../compile/route-table.js';
import { compileRetryPolicies } from '../compile/retry-policies.js';
import type { HeaderOps, MeshConfig } from '../model/mesh.js';
import { mergeOps } from '../model/header-ops.js';
import { Http1Listener } from '../listener/http1/http1-listener.js';
import { Http2Listener } from '../listener/http2/http2-listener.js';
import { http2ConnectionSettings } from '../core/h2/h2-connection-settings.js';
import { CoreHttp2Listener } from '../listener/http2-core/core-http2-listener.js';
import { http2CodecFromEnv, type Http2Codec } from '../listener/http2-listener-kind.js';
import { http2UpstreamCodecFromEnv, type Http2UpstreamCodec } from '../upstream/http2-upstream-codec.js';
import type { Http1ListenerOptions } from '../listener/http1/listener-options.js';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { createDownstreamTransport } from '../listener/transport/create-transport.js';
import { InboundTransport } from './inbound-transport.js';
import { GatewayDownstreamTransport } from '../listener/transport/gateway-tls.js';
import { gatewayListenerFor } from '../model/gateway-listener.js';
import type { DownstreamTransportConfig, ProxyTlsSettings, UpstreamTlsSettings } from '../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import type { Log } from '../common/log.js';
import { CoreHttp1Codec } from '../upstream/conn-pool/http1/core-http1-codec.js';
import type { EditHandle, RequestFraming } from '../upstream/upstream-head.js';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { PassthroughGuard } from '../upstream/passthrough-guard.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import { Stats } from '../telemetry/stats.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { resolveLimits, type Limits } from '../common/limits.js';
import { Random } from '../common/random.js';
import { InflightList } from '../http/inflight.js';
import { HttpConnectionManager } from '../http/connection-manager.js';
import type { HttpStream } from '../http/http-stream.js';
import { RouteConfig, filterChain, type RouteEntry } from '../http/route-config.js';
import { DeadlineQueue } from '../common/deadline-queue.js';
import type { RouterContext, RouterRoute } from '../router/router-filter.js';
import { RouterPool } from '../router/router-pool.js';
import { RouteRewrite } from '../router/rewrite.js';
import { SpanExporters } from '../telemetry/tracing/span-exporter.js';
import { SpanIds } from '../telemetry/tracing/span-ids.js';
import { sharedAccessLogFiles } from '../telemetry/shared-access-log-files.js';
import { jwtFilterFor, listenerFilters, ROUTE_FILTERS, terminalFilter, type FilterDeps } from './http-filters.js';
import { JwksRegistry } from '../http/filters/jwks-source.js';
import { LocalRateLimiter } from '../core/ratelimit/local-rate-limiter.js';
import { RateLimitClients } from '../xds/rate-limit-client.js';
import { duplicateListenFds } from './listen-fds.js';
import { loadAuthorization, type AuthorizationVersion } from './authorization-version.js';
import { authenticatesRequests, enforcesAuthorization, type ProxyRole } from './proxy-role.js';
import { Resolver } from 'node:dns/promises';
import { DnsRefresher, type DnsResolver, type DnsTiming } from '../upstream/dns-refresher.js';
import { dnsNames, withResolvedEndpoints } from '../upstream/dns-endpoints.js';
import type { ExtAuthzCheck } from '../http/ext-authz-check.js';
import { workloadMetadata, UNKNOWN, type WorkloadMetadata } from '../model/workload-metadata.js';
import { IstioMetrics } from '../telemetry/istio-metrics.js';
import { workloadLabelsOf, type Reporter } from '../telemetry/istio-labels.js';
import { PeerCache, encodePeerMetadata, isMeshCluster, peerMetadataRequestOps } from '../telemetry/peer-metadata.js';

const WRITE_FRAMING: Record<RequestFraming, number> = { none: WRITE_FRAMING_NONE, length: WRITE_FRAMING_LENGTH, chunked: WRITE_FRAMING_CHUNKED };

/**
 * Request headers the proxy itself sets per attempt, dropped from what the client sent:
 * x-envoy-attempt-count always (Istio sets include_request_attempt_count on its virtual
 * hosts), x-envoy-original-path also when the route rewrites the path.
 */
const STRIP_ATTEMPT: HeaderOps = { remove: ['x-envoy-attempt-count'], set: [], add: [] };
const STRIP_ATTEMPT_AND_ORIGINAL_PATH: HeaderOps = { remove: ['x-envoy-attempt-count', 'x-envoy-original-path'], set: [], add: [] };
/**
 * The first attempt's count, applied after the route's edits: the head written once per
 * request is then the one sent, with no copy, unless the request is retried.
 */
const ATTEMPT_ONE: HeaderOps = { remove: [], set: [['x-envoy-attempt-count', '1']], add: [] };

/**
 * Response edits applied before the route's own (which may override them): the listener writes
 * its own Date, so the upstream's is dropped; `server` is overwritten with `server` (Envoy's
 * default server_header_transformation OVERWRITE; Istio's sidecars answer `server: istio-envoy`),
 * or, with null, the upstream's passes through (PASS_THROUGH).
 */
function responseDefaults(server: string | null): HeaderOps {
  return { remove: ['date'], set: server === null ? [] : [['server', server]], add: [] };
}

export interface ProxyServerOptions {
  host: string;
  port: number;
  log?: (line: AccessLogEntry) => void;
  /**
   * Which finished streams `log` gets an entry for (status, flags); absent: all. A log that
   * wants few (the sidecar's miss log with the access log off: 404 NR only) then costs the
   * others no entry.
   */
  logOnly?: (code: number, flags: readonly string[]) => boolean;
  limits?: Partial<Limits>;
  /**
   * Seeds the percentage draws (fault injection, mirroring) and the clusters' retry backoff
   * jitter, so tests get repeatable sequences; absent, random.
   */
  seed?: number;
  /** The compiled core to instantiate (a worker thread gets the main thread's); default: build/core.wasm. */
  coreModule?: WebAssembly.Module;
  /**
   * Which listener parses requests: `http1` (default), the core's strict HTTP/1.1 parser on raw
   * sockets; `uws`, uWebSockets.js (kept for comparison in benchmarks; it cannot refuse what
   * its own parser accepts, see docs/data-path.md, Limits).
   */
  listener?: 'http1' | 'uws';
  /**
   * Which HTTP/2 implementation serves downstream HTTP/2 (h2c and h2 by ALPN): `nghttp2`
   * (node:http2, listener/http2/) or `core` (the core's frame scanner and HPACK,
   * listener/http2-core/). Default: WASMESH_HTTP2_CODEC, else core.
   */
  http2Codec?: Http2Codec;
  /**
   * Which HTTP/2 implementation upstream HTTP/2 and gRPC clusters speak: `nghttp2` (node:http2
   * client sessions) or `core` (upstream/conn-pool/http2/core-h2-upstream-connection.ts).
   * Default: WASMESH_HTTP2_UPSTREAM_CODEC, else core.
   */
  http2UpstreamCodec?: Http2UpstreamCodec;
  /**
   * Accept on this already listening descriptor instead of binding host:port (a worker thread
   * sharing the main thread's socket; host/server/listen-fds.ts).
   */
  listenFd?: number;
  /**
   * Bind nothing: listen() only starts the timeouts, and connections come through
   * adoptConnection (host/sidecar/outbound-capture.ts accepts them and looks at their original
   * destination first); `port` is the port that capture serves.
   */
  adoptOnly?: boolean;
  /** HTTP/1.1 listener settings beyond the limits (headersWithUnderscoresAction, read-ahead). */
  http1?: Partial<Pick<Http1ListenerOptions, 'headersWithUnderscoresAction' | 'pipelineBufferBytes'>>;
  /**
   * The `server` field: upstream responses have theirs overwritten with it and the proxy's own
   * answers carry it (default `wasmesh`); null passes the upstream's through and the proxy's own
   * answers carry none (Envoy's OVERWRITE and PASS_THROUGH).
   */
  serverHeader?: string | null;
  /**
   * How the listener's connections are read: plain TCP (default), TLS, or PERMISSIVE (TLS or
   * plaintext by the first bytes), with the certificate files (programmatic only: the config
   * loader still refuses PeerAuthentication STRICT until the whole path is enforced).
   */
  downstreamTransport?: DownstreamTransportConfig;
  /**
   * TLS origination per cluster name, from certificate files (programmatic, as
   * downstreamTransport; DestinationRule tls is still refused by the loader).
   */
  upstreamTls?: Readonly<Record<string, UpstreamTlsSettings>>;
  /**
   * The proxy's workload certificate (mesh mTLS): the credential of a listener transport with
   * `credential: 'workload'` and of ISTIO_MUTUAL clusters, rotated in place. Absent: those are
   * refused (TLS_SETTINGS). Worker threads get its PEMs and every renewal (worker-pool.ts).
   */
  workloadCertificates?: WorkloadCertificateSource;
  /** The operational log (TLS handshake failures with their reason); default none. */
  operationalLog?: Log;
  /**
   * An ingress gateway's listener: which port of the Gateway it serves (`auto`: the Gateway's
   * lowest port). Its transport then follows the mesh's gatewayListeners (plaintext, or TLS by
   * SNI: host/listener/transport/gateway-tls.ts); not together with downstreamTransport.
   */
  gatewayPort?: number | 'auto';
  /** The gateway's session ticket keys (48 bytes, base64), shared with worker threads; default random. */
  gatewayTicketKeys?: string;
  /**
   * What traffic the listener carries (host/server/proxy-role.ts): where AuthorizationPolicy and
   * RequestAuthentication apply. Default 'proxy'.
   */
  role?: ProxyRole;
  /** A sidecar's inbound listener: its app ports (authorization's destination.port is the one a request goes to). */
  inboundAppPorts?: readonly number[];
  /** AuthorizationPolicy CUSTOM: the ext_authz checker of an extension provider by name; absent: none (CUSTOM denies). */
  extAuthz?: (provider: string) => ExtAuthzCheck | null;
  /**
   * The process's other ports (admin, health, sibling listeners) that passthrough requests may
   * not reach on a local address; this listener's own port is always refused.
   */
  reservedPorts?: () => Iterable<number>;
  /**
   * Resolves the names of DNS clusters (ServiceEntry resolution DNS / DNS_ROUND_ROBIN) and keeps
   * them fresh (host/upstream/dns-refresher.ts); default: node:dns's Resolver (the system's DNS
   * servers). `dnsTiming`: its refresh and backoff times (tests shorten them).
   */
  dnsResolver?: DnsResolver;
  dnsTiming?: DnsTiming;
  /** Who this proxy's workload is (Istio metrics labels, peer metadata); absent: `unknown`. */
  workload?: WorkloadMetadata;
  /**
   * Istio's standard metrics: which reporter this server is (default `destination` for a
   * listener that serves inbound, `source` otherwise: a sidecar's outbound, a gateway, a proxy),
   * or `off`.
   */
  istioMetrics?: Reporter | 'off';
}

export type { ClusterStatus, EndpointStatus } from '../telemetry/cluster-status.js';

export class ProxyServer {
  readonly stats = new Stats();
  /** Istio's standard metrics of this server; null when off. */
  readonly istio: IstioMetrics | null;
  /** The workload and reporter this server was built with (worker threads are built with the same). */
  readonly istioSettings: { readonly workload: WorkloadMetadata; readonly reporter: Reporter | 'off' };
  readonly limits: Limits;
  readonly #core: Core;
  readonly #listener: Http1Listener;
  readonly #manager: HttpConnectionManager;
  readonly #inflight = new InflightList<HttpStream>();
  readonly #clusters: ClusterManager;
  readonly #deps: FilterDeps;
  readonly #jwks: JwksRegistry;
  /** DNS clusters' names, resolved and refreshed; created with the first mesh that has one. */
  #dns: DnsRefresher | null = null;
  readonly #dnsResolver: DnsResolver | undefined;
  readonly #dnsTiming: DnsTiming | undefined;
  /** The last mesh applied, as given (names unresolved), for #dnsChanged. */
  #dnsApplied: { mesh: MeshConfig; version: number } | null = null;
  readonly #opLog: Log | undefined;
  /** Whether the mesh's workload policies (RequestAuthentication) apply on this listener. */
  /** RequestAuthentication runs here (proxy-role.ts). */
  readonly #authenticates: boolean;
  readonly #requestedPort: number;
  readonly #listenFd: number | undefined;
  /** No listening socket: connections come only through adoptConnection (a sidecar's outbound capture). */
  readonly #adoptOnly: boolean;
  readonly #responseDefaults: HeaderOps;
  /** AuthorizationPolicy is evaluated here (proxy-role.ts). */
  readonly #enforcesAuthorization: boolean;
  readonly #inboundAppPorts: readonly number[] | undefined;
  /**
   * The TLS settings this server was built with: worker threads accepting on its socket must
   * be built with the same (host/server/worker-pool.ts), or they would serve a TLS port in
   * plaintext.
   */
  readonly transportSettings: ProxyTlsSettings;
  /** The workload certificate source this server was built with (for the worker threads). */
  readonly workloadCertificates: WorkloadCertificateSource | undefined;
  /** The listener's transport, replaceable by setDownstreamTransport. */
  #downstream!: InboundTransport;
  #ticketKeys: string | undefined;
  /** The gateway port's transport (null: not a gateway listener). */
  readonly #gateway: GatewayDownstreamTransport | null;
  readonly #gatewayPort: number | 'auto' | undefined;
  #closing: Promise<void> | null = null;
  /** The routers' route timeouts. */
  readonly #deadlines = new DeadlineQueue();

  constructor(opts: ProxyServerOptions) {
    this.limits = resolveLimits(opts.limits);
    this.#core = new Core(opts.coreModule);
    const view = requestViewOf(this.#core);
    const reserved = opts.reservedPorts;
    const passthroughGuard = new PassthroughGuard(() => [this.#listener.port, ...(reserved?.() ?? [])]);
    this.#clusters = new ClusterManager(this.#core, this.stats, this.limits, new CoreHttp1Codec(this.#core), { seed: opts.seed, upstreamTls: opts.upstreamTls, workloadCertificates: opts.workloadCertificates, log: opts.operationalLog, passthroughGuard, http2UpstreamCodec: opts.http2UpstreamCodec ?? http2UpstreamCodecFromEnv() });
    const writer = new RequestHeadWriter(this.#core);
    const strip = new EditList(this.#core, STRIP_ATTEMPT);
    const stripRewrite = new EditList(this.#core, STRIP_ATTEMPT_AND_ORIGINAL_PATH);
    // Reused argument arrays: the writer reads them synchronously and keeps nothing.
    const lists2 = [strip, strip] as EditList[];
    const lists3 = [strip, strip, new EditList(this.#core, ATTEMPT_ONE)] as EditList[];
    const router: RouterContext = {
      clusters: this.#clusters,
      limits: this.limits,
      rng: new Random(opts.seed),
      deadlines: this.#deadlines,
      routers: new RouterPool(),
      // HTTP/1.1 bytes, what every pool speaks today (UpstreamStream.start says where HTTP/2's
      // HEADERS will be encoded instead).
      writeHead: (edits, rewritesPath, framing, contentLength, overrides, attemptOne, lines = '', tail = null) => {
        const lists = attemptOne ? lists3 : lists2;
        lists[0] = rewritesPath ? stripRewrite : strip;
        lists[1] = edits as EditList;
        return writer.writeWith(view, lists, WRITE_FRAMING[framing], contentLength, overrides, lines, tail);
      },
    };
    const role = opts.role ?? 'proxy';
    this.#authenticates = authenticatesRequests(role, opts.gatewayPort !== undefined);
    this.#enforcesAuthorization = enforcesAuthorization(role);
    this.#dnsResolver = opts.dnsResolver;
    this.#dnsTiming = opts.dnsTiming;
    this.#opLog = opts.operationalLog;
    this.#jwks = new JwksRegistry(opts.operationalLog === undefined ? undefined : (m) => opts.operationalLog!('warn', m));
    const workload = opts.workload ?? workloadMetadata({});
    const reporter = opts.istioMetrics ?? (role === 'sidecar-inbound' ? 'destination' : 'source');
    this.istioSettings = { workload, reporter };
    this.istio = reporter === 'off' ? null : new IstioMetrics(reporter, workloadLabelsOf(workload),
      // The workload certificate's SPIFFE ID when the flags named none (mounted files, a certificate cell).
      () => workload.principal ?? opts.workloadCertificates?.current()?.identity ?? UNKNOWN);
    const own = this.istio === null ? undefined : { id: workload.nodeId, metadata: encodePeerMetadata(workload) };
    this.#deps = {
      workload,
      ...(this.istio === null ? {} : {
        istio: { metrics: this.istio, peers: new PeerCache(), ownId: own!.id, ownMetadata: own!.metadata, namespace: workload.namespace },
        ...(reporter === 'source' ? { peerMetadata: own } : {}),
      }),
      jwks: this.#jwks,
      stats: this.stats.downstream,
      faults: new FaultDice(this.#core, opts.seed),
      router,
      listenerPort: () => this.#listener.port,
      accessLog: opts.log,
      ...(opts.logOnly !== undefined ? { accessLogOnly: opts.logOnly } : {}),
      accessLogFiles: sharedAccessLogFiles(opts.operationalLog),
      extAuthz: opts.extAuthz,
      operationalLog: opts.operationalLog,
      localRateLimiter: new LocalRateLimiter(this.#core),
      rateLimitClients: new RateLimitClients(),
      // Ids unseeded: proxies of one test share a seed, and must not share trace ids. The stream
      // span is SERVER on every listener: with a client span per upstream attempt the proxy is a
      // hop of its own, as Envoy makes it with spawn_upstream_span.
      tracing: { exporters: new SpanExporters(this.stats.downstream), ids: new SpanIds(), kind: 'SERVER' },
    };
    this.#inboundAppPorts = opts.inboundAppPorts;
    this.#manager = new HttpConnectionManager({ stats: this.stats, limits: this.limits, requestView: view, inflight: this.#inflight });
    this.#requestedPort = opts.port;
    if (opts.gatewayPort !== undefined && opts.downstreamTransport !== undefined) throw new Error('wasmesh: a gateway listener takes its transport from the Gateway, not downstreamTransport (TLS_SETTINGS)');
    this.transportSettings = { downstreamTransport: withTicketKeys(opts.downstreamTransport), upstreamTls: opts.upstreamTls, ...(opts.gatewayPort === undefined ? {} : { gatewayPort: opts.gatewayPort, gatewayTicketKeys: opts.gatewayTicketKeys ?? randomBytes(48).toString('base64') }) };
    this.workloadCertificates = opts.workloadCertificates;
    this.#gatewayPort = opts.gatewayPort;
    this.#gateway = opts.gatewayPort === undefined ? null : new GatewayDownstreamTransport(this.stats.downstream, opts.operationalLog, this.transportSettings.gatewayTicketKeys);
    this.#listenFd = opts.listenFd;
    this.#adoptOnly = opts.adoptOnly === true;
    const server = opts.serverHeader === undefined ? 'wasmesh' : opts.serverHeader;
    if (server !== null && !/^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/.test(server)) throw new Error(`wasmesh: server header ${JSON.stringify(server)} is not a valid field value (visible ASCII) (SERVER_HEADER_INVALID)`);
    this.#responseDefaults = responseDefaults(server);
    const onRequest = (ds: Parameters<HttpConnectionManager['onRequest']>[0]): void => this.#manager.onRequest(ds);
    const l = this.limits;
    const h2Options = {
      maxHeaderListSize: l.maxRequestHeadBytes,
      maxRequestHeaders: l.maxRequestHeaders,
      idleTimeoutMs: l.downstreamIdleTimeoutMs,
      streamIdleTimeoutMs: l.streamIdleTimeoutMs,
      maxRequestsPerConnection: l.maxRequestsPerConnection,
      initialStreamWindowSize: l.downstreamHttp2InitialStreamWindowSize,
      initialConnectionWindowSize: l.downstreamHttp2InitialConnectionWindowSize,
    };
    // The core codec's listener also takes the connection protections (flood limits, SETTINGS timeout).
    const coreH2Options = { ...h2Options, ...http2ConnectionSettings(l, 'downstream') };
    this.#listener = new Http1Listener(opts.host, opts.port, this.#core, this.stats.downstream, onRequest, {
        maxRequestHeadBytes: l.maxRequestHeadBytes,
        maxRequestHeaders: l.maxRequestHeaders,
        idleTimeoutMs: l.downstreamIdleTimeoutMs,
        streamIdleTimeoutMs: l.streamIdleTimeoutMs,
        requestHeadersTimeoutMs: l.requestHeadersTimeoutMs,
        maxRequestsPerConnection: l.maxRequestsPerConnection,
        maxConnections: l.maxDownstreamConnections,
        serverName: server,
        ...opts.http1,
      }, this.#gateway ?? (this.#downstream = new InboundTransport(
        (config) => createDownstreamTransport(config, this.stats.downstream, opts.operationalLog, opts.workloadCertificates),
        this.transportSettings.downstreamTransport ?? { kind: 'raw' })),
      // HTTP/2 downstream on the same port: h2c by prior knowledge, h2 by ALPN (listener/http2/).
      (this.http2Codec = opts.http2Codec ?? http2CodecFromEnv()) === 'core'
        ? new CoreHttp2Listener(this.#core, this.stats.downstream, onRequest, coreH2Options, server)
        : new Http2Listener(this.stats.downstream, onRequest, h2Options, server));
    // A version that traces reads the trace context fields from the head's bytes (no strings).
    this.#listener.takesPropagation = () => this.#manager.current?.takesPropagation === true;
  }

  /**
   * Replaces the listener's transport for connections accepted from now on (PeerAuthentication
   * changed, host/server/inbound-transport.ts); throws, keeping the current one, when it cannot
   * be built. Worker threads keep the transport they started with.
   */
  setDownstreamTransport(config: DownstreamTransportConfig): void {
    if (this.#gateway !== null) throw new Error('wasmesh: a gateway listener takes its transport from the Gateway, not PeerAuthentication (TLS_SETTINGS)');
    // One set of ticket keys for every transport this listener gets (an equal config is no change).
    const initial = this.transportSettings.downstreamTransport;
    this.#ticketKeys ??= initial !== undefined && initial.kind !== 'raw' ? initial.tls.sessionTicketKeys : undefined;
    this.#ticketKeys ??= randomBytes(48).toString('base64');
    this.#downstream.set(config.kind === 'raw' || config.tls.sessionTicketKeys !== undefined ? config : { kind: config.kind, tls: { ...config.tls, sessionTicketKeys: this.#ticketKeys } });
  }

  /** The downstream HTTP/2 implementation this server runs (ProxyServerOptions.http2Codec). */
  readonly http2Codec: Http2Codec;

  /** The actual listening port (after listen()). */
  get port(): number {
    return this.#listener.port;
  }

  /** The version being served (null before the first apply). */
  get current(): RouteConfig | null {
    return this.#manager.current;
  }

  /** Requests in flight across all versions. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Compiles and loads `mesh` as `version`, then swaps it in. Throws (RouteCompileError,
   * RouteTableError, UpstreamPolicyError for a retry policy the core refuses, a filter's
   * config error) on a bad mesh, leaving the previous version serving untouched.
   */
  apply(mesh: MeshConfig, version: number): void {
    // DNS clusters: their names as resolved so far (a name without an answer yet stays a name,
    // resolved at connect time); a change of the answers rebuilds the version's data path from
    // the same mesh (#dnsChanged), with no config reload.
    const names = dnsNames(mesh);
    if (names.size === 0 && this.#dns === null) return this.#applyMesh(mesh, version);
    this.#dns ??= new DnsRefresher(this.#dnsResolver ?? new Resolver(), () => this.#dnsChanged(), this.#dnsTiming);
    const dns = this.#dns;
    this.#applyMesh(withResolvedEndpoints(mesh, (n) => dns.addresses(n)), version);
    this.#dnsApplied = { mesh, version };
    dns.watch(names);
  }

  /** New DNS answers: the current mesh again, with the names resolved anew. */
  #dnsChanged(): void {
    const applied = this.#dnsApplied;
    const dns = this.#dns;
    if (applied === null || dns === null || this.#closing !== null) return;
    try {
      this.#applyMesh(withResolvedEndpoints(applied.mesh, (n) => dns.addresses(n)), applied.version);
    } catch (err) {
      // The same mesh applied before; only addresses changed. Reported, the last endpoints kept.
      this.#opLog?.('warn', `DNS update of the endpoints not applied: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #applyMesh(mesh: MeshConfig, version: number): void {
    // `port` matches fall back to the listener's port when the authority names none; before
    // listen() that is the configured port (0 in tests that let the OS choose).
    // First: the gateway port's certificates are read now, and a bad one refuses the version.
    const gateway = this.#gatewayPort === undefined || mesh.gatewayListeners === undefined ? undefined : gatewayListenerFor(mesh, this.#gatewayPort);
    const commitTransport = this.#gateway?.prepare(gateway ?? null) ?? null;
    const bytes = compileRouteTable(mesh, { listenerPort: this.#listener.port || this.#requestedPort });
    const retryPolicies = compileRetryPolicies(mesh);
    const table = RouteTable.load(this.#core, bytes, version);
    const disposers: Array<() => void> = [];
    const deps = this.#deps;
    const encode = (ops: HeaderOps): EditHandle => {
      const e = new EditList(this.#core, ops);
      disposers.push(() => e.dispose());
      return e;
    };
    let routes: RouteEntry[];
    let clusters;
    let authz: AuthorizationVersion | null = null;
    let jwt;
    let listenerChain;
    deps.localRateLimiter.begin();
    try {
      // The policies first: a policy set the compiler or the core refuses refuses the version.
      if (this.#enforcesAuthorization) authz = loadAuthorization(this.#core, mesh.authorization, version, deps, this.#inboundAppPorts, { list: mesh.extAuthzProviders ?? [], clusters: mesh.clusters });
      if (authz !== null) disposers.push(() => authz!.release());
      jwt = this.#authenticates ? jwtFilterFor(mesh.jwtRules, deps, disposers) : null;
      const retries = RetryPolicies.load(this.#core, retryPolicies.records);
      disposers.push(() => retries.free());
      const clusterIndex = new Map(mesh.clusters.map((c, i) => [c.name, i]));
      const own = deps.peerMetadata;
      const peerOps = own === undefined ? null : peerMetadataRequestOps(own.id, own.metadata);
      routes = [];
      for (const vh of mesh.virtualHosts) {
        for (const r of vh.routes) {
          const index = routes.length;
          const upstream = (): RouterRoute => ({
            name: r.name,
            index,
            timeoutMs: r.timeoutMs ?? 0,
            destClusters: r.destinations.map((d) => clusterIndex.get(d.cluster) ?? -1),
            // Istio's metadata exchange to mesh destinations rides on the route's own edits (the core applies them).
            requestEdits: r.destinations.map((d) => encode(peerOps !== null && isMeshCluster(d.cluster) ? mergeOps(r.requestHeaders, d.requestHeaders, peerOps) : mergeOps(r.requestHeaders, d.requestHeaders))),
            responseEdits: r.destinations.map((d) => encode(mergeOps(this.#responseDefaults, r.responseHeaders, d.responseHeaders))),
            retry: retries.at(retryPolicies.routeRecord[index]!),
            rewrite: RouteRewrite.compile(r),
            mirrors: (r.mirrors ?? []).map((m) => ({ clusterIndex: clusterIndex.get(m.cluster) ?? -1, percentage: m.percentage })),
          });
          const factories = [];
          for (const f of ROUTE_FILTERS) {
            const factory = f.forRoute(r, deps);
            if (factory !== null) factories.push(factory);
          }
          routes.push({ name: r.name, index, stats: this.stats.route(r.name), chain: filterChain(factories, terminalFilter(r, deps, upstream)) });
        }
      }
      listenerChain = listenerFilters(deps, gateway, { jwt, authorization: authz?.filter ?? null, mesh });
      // Last: the cluster manager changes nothing when it throws (a refused hash table).
      clusters = this.#clusters.apply(mesh, table);
    } catch (err) {
      for (const d of disposers) d();
      table.release();
      throw err;
    }
    // Nothing below throws: from here the swap is committed. In-flight requests keep the
    // previous version alive until they finish; then its core memory is freed.
    commitTransport?.();
    // Buckets of rules this version dropped or changed are freed; unchanged ones keep their tokens.
    deps.localRateLimiter.commit();
    this.#manager.setConfig(new RouteConfig(version, mesh, table, routes, clusters, listenerChain, disposers));
  }

  listen(): Promise<void> {
    if (this.#adoptOnly) {
      this.#listener.serveAdopted(this.#requestedPort);
      return Promise.resolve();
    }
    return this.#listener.listen(this.#listenFd);
  }

  /**
   * Serves a connection another listener accepted (a sidecar's outbound capture): paused, or with
   * the bytes sniffed from it in `first`. Counted as this listener's. `originalDestination`: where
   * the client was connecting (PassthroughCluster and resolution NONE services go there, HTTP/1.1).
   */
  adoptConnection(socket: Socket, first?: Uint8Array, originalDestination: { readonly address: string; readonly port: number } | null = null): void {
    this.#listener.adopt(socket, first, originalDestination);
  }

  /** `count` descriptors of this server's listening socket for worker threads (after listen()). */
  async listenFds(count: number): Promise<number[]> {
    return duplicateListenFds(this.#listener.handle, count);
  }

  /**
   * Envoy's listener drain, without closing: new connections are refused, requests on open ones
   * are still served but end their connection (`connection: close`, GOAWAY), idle HTTP/1.1
   * connections end now. close() follows.
   */
  drain(): void {
    this.#listener.drain();
  }

  /** Open downstream connections (HTTP/1.1, HTTP/2, still sniffing): 0 once a drain is over. */
  get activeConnections(): number {
    return this.#listener.activeConnections;
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `drainTimeoutMs` (default
   * limits.drainTimeoutMs), then aborts the rest and closes pools.
   */
  close(drainTimeoutMs = this.limits.drainTimeoutMs): Promise<void> {
    return (this.#closing ??= this.#close(drainTimeoutMs));
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#manager.startClosing();
    this.#listener.stopAccepting();
    const deadline = Date.now() + drainTimeoutMs;
    while (this.#inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.#inflight.values()) s.abort();
    this.#deadlines.clear();
    this.#clusters.close();
    this.#dns?.close();
    this.#deps.rateLimitClients.close();
    await this.#deps.tracing?.exporters.close();
    this.#deps.accessLogFiles?.flush();
    this.#manager.setConfig(null);
    this.#jwks.close();
    // Idle keep-alive connections too: nothing is left for them, and a worker thread's event
    // loop only ends once uWS holds no socket.
    this.#listener.closeAll();
  }

  /**
   * Stops accepting and closes every downstream connection at once, without draining: for a
   * worker thread that is going down on an error (its event loop must not end while uWS
   * still holds sockets: Node aborts the whole process then).
   */
  closeListenerNow(): void {
    this.#listener.stopAccepting();
    this.#listener.closeAll();
  }

  /** Every cluster with its endpoints' health, ejections and active requests (GET /clusters). */
  clusters(): ClusterStatus[] {
    return this.#clusters.clusters();
  }

  /** The cluster manager (outlier ticks and stats sync for tests and the admin API). */
  get clusterManager(): ClusterManager {
    return this.#clusters;
  }
}

/** A TLS listener's settings with session ticket keys, made here when not given (shared with the worker threads). */
function withTicketKeys(config: DownstreamTransportConfig | undefined): DownstreamTransportConfig | undefined {
  if (config === undefined || config.kind === 'raw' || config.tls.sessionTicketKeys !== undefined) return config;
  return { kind: config.kind, tls: { ...config.tls, sessionTicketKeys: randomBytes(48).toString('base64') } };
}
