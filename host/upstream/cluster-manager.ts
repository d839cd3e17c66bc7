// The clusters of one ProxyServer across config versions (Envoy's cluster manager): per cluster
// name it keeps the core's cluster state (stable endpoint slots: ejections, active requests and
// circuit-breaker counts survive reloads), the connection pool, the outlier timer and the
// consistent-hash tables; per version it maps the route table's cluster and endpoint indices
// onto them. The request path asks it for an endpoint (pickEndpoint), for admission (max
// requests) and reports each attempt's outcome; health it learns (ejections, panic) is pushed
// into every live route table and hash table so that every balancer skips ejected endpoints.
import type { Core } from '../core/wasm.js';
import type { Http2UpstreamCodec } from './http2-upstream-codec.js';
import type { RouteTable } from '../core/route/route-table.js';
import { HashBalancer, hashKey } from '../core/balance/hash-balancer.js';
import { ClusterStates, UPSTREAM_COUNTERS, type ClusterState } from '../core/upstream/cluster-state.js';
import { OutlierResult } from '../core/upstream/outlier.js';
import type { CircuitBreakerLimits } from '../model/circuit-breaker-limits.js';
import type { OutlierSettings } from '../model/outlier-settings.js';
import { endpointHashKey, type HashLbDescriptor, type HashKeySource } from '../model/hash-lb.js';
import { DEFAULT_MIN_RING_SIZE, DEFAULT_MAX_RING_SIZE, HOST_SELECTION_RETRY_MAX_ATTEMPTS, istioCircuitBreakerLimits } from '../model/istio-defaults.js';
import type { Cluster, LbPolicy, MeshConfig } from '../model/mesh.js';
import { ClusterPool } from './cluster-pool.js';
import { LocalBreaker } from './connection-breaker.js';
import type { ConnPool, PoolSettings } from './conn-pool/conn-pool.js';
import type { Http1Codec } from './conn-pool/http1/http1-codec.js';
import { RAW_TRANSPORT } from './transport/raw.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { transportKey, upstreamTlsSettings } from './cluster-transport.js';
import { upstreamProtocol, withH2Alpn, withTcpAlpn } from './upstream-protocol.js';

import { TlsTransportSocketFactory } from './transport/tls.js';
import type { TransportSocketFactory } from './transport/transport-socket.js';
import type { UpstreamTlsSettings } from '../tls/tls-settings.js';
import type { Log } from '../common/log.js';
import type { ClusterStats, Stats } from '../telemetry/stats.js';
import type { ClusterStatus, EndpointStatus } from '../telemetry/cluster-status.js';
import { http2ConnectionSettings, type H2ConnectionSettings } from '../core/h2/h2-connection-settings.js';
import type { Limits } from '../common/limits.js';
import { authorityDestination, hashValues, originalDestination, setCookieValue } from './hash-key.js';
import type { PassthroughGuard } from './passthrough-guard.js';
import { formatHostPort } from '../common/host-port.js';

/** A request as the balancers see it (everything is already copied out of uWS). */
export interface PickRequest {
  /** Request headers, flat (name, value, …), lower-case names, repeated names allowed (ds.headers). */
  headers: readonly string[];
  /** Downstream peer IP (no port). */
  clientIp: string;
  /** Downstream peer port when known: part of a generated hash cookie's value, as in Envoy. */
  clientPort?: number;
  /** Request-target (path and query). */
  path: string;
  /** Request authority (Host), used by PASSTHROUGH clusters when there is no original destination. */
  authority: string;
  /**
   * Where the client was connecting (a sidecar's TPROXY capture: the accepted socket's local
   * address); PASSTHROUGH clusters go there, as Envoy's ORIGINAL_DST does. Absent: the authority.
   */
  originalDestination?: { readonly address: string; readonly port: number } | null;
  /**
   * Endpoint indices this request already tried (retries): the balancer re-picks up to
   * HOST_SELECTION_RETRY_MAX_ATTEMPTS times to avoid them (Envoy's previous_hosts predicate).
   */
  tried?: readonly number[];
}

/**
 * How one attempt on an endpoint ended, as outlier detection counts it (the retry decision's
 * input is another type: AttemptOutcome in core/upstream/retry.ts).
 */
export type OutlierOutcome =
  /** The HTTP status of the response head. */
  | number
  /** Connection refused or connect timeout (local origin). */
  | 'connect_failed'
  /** No response head within the (per-try or route) timeout. */
  | 'timeout'
  /** Connection reset or closed before the response completed. */
  | 'reset'
  /** A connection was obtained (matters only with splitExternalLocalOriginErrors). */
  | 'connect_success';

/** Clock and timer control, for tests: a fake `now` and ticks driven by hand. */
export interface ClusterManagerOptions {
  /** Milliseconds; Date.now by default. Every ejection time is measured with it. */
  now?: () => number;
  /** When true, no interval timers are started: call tick() yourself. */
  manualTicks?: boolean;
  /** Seeds each cluster state's PRNG (retry backoff jitter) for repeatable tests. */
  seed?: number;
  /**
   * Upstream TLS per cluster name (programmatic: DestinationRule `tls` is not translated yet);
   * a cluster not named here connects in plain TCP.
   */
  upstreamTls?: Readonly<Record<string, UpstreamTlsSettings>>;
  /** The proxy's workload certificate: the credential of ISTIO_MUTUAL clusters (absent: they are refused). */
  workloadCertificates?: WorkloadCertificateSource;
  /** The operational log (upstream TLS handshake failures). */
  log?: Log;
  /** Refuses passthrough destinations that are this proxy (its own ports); absent: none refused. */
  passthroughGuard?: PassthroughGuard;
  /** HTTP/2 upstream connections: node:http2 (default) or the core codec (http2-upstream-codec.ts). */
  http2UpstreamCodec?: Http2UpstreamCodec;
  /** The clusters of a byte proxy (TcpProxyServer): their mesh TLS offers Istio's TCP ALPN, not HTTP's. */
  byteProxy?: boolean;
}

/** One consistent-hash table, shared by the versions whose endpoint list it was built for. */
interface SharedHash {
  signature: string;
  balancer: HashBalancer;
  refs: number;
}

/**
 * A cluster's unit of max_connections as a byte proxy's connection holds it (admitConnection):
 * one object per cluster, whose release() gives one unit back; its holder calls it once.
 */
export class ConnectionUnit {
  readonly #m: ManagedCluster;

  constructor(m: ManagedCluster) {
    this.#m = m;
  }

  /** How the cluster's connections are made (plain TCP, or its TLS origination). */
  get transport(): TransportSocketFactory {
    return this.#m.pool.transport;
  }

  /** The cluster's connect settings now (connectTimeout, tcpKeepalive). */
  get settings(): PoolSettings {
    return this.#m.pool.settings;
  }

  get stats(): ClusterStats {
    return this.#m.stats;
  }

  release(): void {
    // The state outlives a removed cluster while connections on older versions run.
    if (this.#m.state.address !== 0) this.#m.state.breaker.release('connection');
  }
}

/**
 * A cluster's unit of max requests as a request holds it (admitRequest): one object per
 * cluster, whose release() gives one unit back; its holder calls it once per admission.
 */
export class RequestUnit {
  readonly #m: ManagedCluster | null;

  constructor(m: ManagedCluster | null) {
    this.#m = m;
  }

  release(): void {
    const m = this.#m;
    // The state outlives a removed cluster while requests on older versions run.
    if (m !== null && m.state.address !== 0) m.state.breaker.release('request');
  }
}

/** What admitRequest hands a request on a cluster it does not know (nothing to give back). */
const NO_UNIT = new RequestUnit(null);

/** A cluster by name: what survives config versions. */
class ManagedCluster {
  readonly name: string;
  readonly state: ClusterState;
  readonly pool: ClusterPool;
  readonly stats: ClusterStats;
  config: Cluster;
  outlier: OutlierSettings | null = null;
  outlierKey = '';
  /** The pool's transport settings (cluster-transport.ts transportKey): a change makes a new pool. */
  transportKey = '';
  timer: NodeJS.Timeout | null = null;
  timerMs = 0;
  panic = false;
  closed = false;
  /** Slot key (Envoy host key) → generation when its slot was opened: stale leases are ignored. */
  readonly generation = new Map<string, number>();
  /** Views of live versions (their tables not yet released). */
  readonly views = new Set<ClusterView>();
  current: ClusterView | null = null;
  hash: SharedHash | null = null;
  /** What admitConnection hands each admitted byte-proxy connection. */
  readonly connectionUnit: ConnectionUnit = new ConnectionUnit(this);
  /** What admitRequest hands each admitted request. */
  readonly requestUnit: RequestUnit = new RequestUnit(this);

  constructor(name: string, state: ClusterState, pool: ClusterPool, stats: ClusterStats, config: Cluster) {
    this.name = name;
    this.state = state;
    this.pool = pool;
    this.stats = stats;
    this.config = config;
  }
}

/** One cluster as one version's route table indexes it. */
interface ClusterView {
  readonly managed: ManagedCluster;
  readonly table: RouteTable;
  /** Cluster index in that version. */
  readonly index: number;
  readonly lb: LbPolicy;
  /** Per endpoint index: Envoy host key (`ip:port`, IPv6 bracketed), slot, pool. */
  readonly keys: string[];
  readonly slots: Int32Array;
  readonly pools: ConnPool[];
  readonly indexOfKey: Map<string, number>;
  readonly hash: SharedHash | null;
  /** Hash-table entry (distinct host key) → the first endpoint index with that key. */
  readonly hashToEndpoint: Int32Array;
  readonly hashKey: HashKeySource | null;
  readonly cookie: Extract<HashKeySource, { kind: 'cookie' }> | null;
}

/** What the version keeps per cluster (ProxyVersion's ClusterRuntime shape). */
export interface ClusterRuntimeParts {
  name: string;
  stats: ClusterStats;
  endpoints: ConnPool[];
  /** The cluster's lasting core state (retry breaker and backoff PRNG for RetryState). */
  state: ClusterState;
}

let generations = 0;

/**
 * One picked endpoint for one attempt. The request reports the attempt's outcome and
 * releases the lease when the attempt is over (both idempotent where it matters).
 */
export class EndpointLease {
  /** Index in Cluster.endpoints, or -1 for a PASSTHROUGH destination. */
  index!: number;
  endpoint!: ConnPool;
  /** A Set-Cookie value to add to the response (generated consistent-hash cookie). */
  setCookie: string | undefined;
  // Set by #fill, from the constructor and from _refill.
  #manager!: ClusterManager;
  #managed!: ManagedCluster;
  #key!: string;
  #slot!: number;
  #generation!: number;
  #released = false;

  /** @internal */
  constructor(manager: ClusterManager, managed: ManagedCluster, index: number, endpoint: ConnPool, key: string, slot: number, setCookie: string | undefined) {
    this.#fill(manager, managed, index, endpoint, key, slot, setCookie);
  }

  /**
   * @internal (ClusterManager.pickEndpoint with `into`) this object as a new lease with these
   * arguments would be: the router keeps one per request for all its attempts instead of a new one
   * per attempt. Only a released lease is refilled (the previous attempt's count must be gone).
   */
  _refill(manager: ClusterManager, managed: ManagedCluster, index: number, endpoint: ConnPool, key: string, slot: number, setCookie: string | undefined): this {
    if (!this.#released) throw new Error('wasmesh: EndpointLease refilled before its release()');
    this.#released = false;
    this.#fill(manager, managed, index, endpoint, key, slot, setCookie);
    return this;
  }

  #fill(manager: ClusterManager, managed: ManagedCluster, index: number, endpoint: ConnPool, key: string, slot: number, setCookie: string | undefined): void {
    this.#manager = manager;
    this.#managed = managed;
    this.index = index;
    this.endpoint = endpoint;
    this.#key = key;
    this.#slot = slot;
    this.#generation = slot >= 0 ? managed.generation.get(key) ?? -1 : -1;
    this.setCookie = setCookie;
    if (slot >= 0) this.#adjustActive(+1);
  }

  /** Whether release() ran (a lease held by nobody: pickEndpoint may refill it). */
  get released(): boolean {
    return this.#released;
  }

  /** Feeds outlier detection with this attempt's outcome (call once per attempt). */
  report(outcome: OutlierOutcome): void {
    if (!this.#current()) return;
    this.#manager._report(this.#managed, this.#slot, outcome);
  }

  /** The attempt is over: its active-request count goes. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#slot >= 0 && this.#current()) this.#adjustActive(-1);
  }

  /** False when the endpoint left the cluster (its slot may serve another endpoint now). */
  #current(): boolean {
    const m = this.#managed;
    return this.#slot >= 0 && m.state.address !== 0 && m.generation.get(this.#key) === this.#generation;
  }

  #adjustActive(delta: number): void {
    const m = this.#managed;
    m.state.active(this.#slot, delta);
    // The current table's counters feed LEAST_REQUEST; a new version copies the slots' counts.
    const v = m.current;
    if (!v || v.table.released) return;
    const i = v.indexOfKey.get(this.#key);
    if (i !== undefined) v.table.active(v.index, i, delta);
  }
}

export class ClusterManager {
  readonly #core: Core;
  readonly #stats: Stats;
  readonly #limits: Limits;
  readonly #codec: Http1Codec;
  readonly #states: ClusterStates;
  readonly #now: () => number;
  readonly #manualTicks: boolean;
  readonly #seed: number | undefined;
  readonly #upstreamTls: Readonly<Record<string, UpstreamTlsSettings>>;
  readonly #workloadCertificates: WorkloadCertificateSource | undefined;
  readonly #log: Log | undefined;
  readonly #passthroughGuard: PassthroughGuard | undefined;
  readonly #byteProxy: boolean;
  readonly #clusters = new Map<string, ManagedCluster>();
  readonly #versions = new Map<RouteTable, ClusterView[]>();
  /**
   * Clusters that left the config while older versions still serve them: their core state
   * stays until those versions are freed (in-flight requests still release breaker units and
   * active counts into it).
   */
  readonly #retired = new Set<ManagedCluster>();
  /** Set when HTTP/2 upstream connections run on the core codec. */
  readonly #h2Core: Core | null;
  #h2Settings: H2ConnectionSettings | null = null;
  #closed = false;

  constructor(core: Core, stats: Stats, limits: Limits, codec: Http1Codec, opts: ClusterManagerOptions = {}) {
    this.#core = core;
    this.#stats = stats;
    this.#limits = limits;
    this.#codec = codec;
    this.#states = new ClusterStates(core);
    this.#now = opts.now ?? Date.now;
    this.#manualTicks = opts.manualTicks ?? false;
    this.#seed = opts.seed;
    this.#upstreamTls = opts.upstreamTls ?? {};
    this.#workloadCertificates = opts.workloadCertificates;
    this.#log = opts.log;
    this.#passthroughGuard = opts.passthroughGuard;
    this.#byteProxy = opts.byteProxy === true;
    this.#h2Core = opts.http2UpstreamCodec === 'core' ? core : null;
  }

  /** The clock outlier detection runs on. */
  now(): number {
    return this.#now();
  }

  /**
   * Takes `mesh`'s clusters for the version whose table is `table` (already loaded): slots
   * synced, policies applied, hash tables built, health pushed into the table. Returns the
   * per-cluster parts the version keeps, indexed like mesh.clusters. Clusters that left close
   * their pools and timers; their core state is freed. Throws only for a consistent-hash
   * table the core refuses (HashBalancerError), before changing anything.
   */
  apply(mesh: MeshConfig, table: RouteTable): ClusterRuntimeParts[] {
    if (this.#closed) throw new Error('wasmesh: ClusterManager.apply after close (CLUSTER_MANAGER_CLOSED)');
    this.#sweep();
    // Phase 1 (may throw): the hash tables, so that a refused one changes nothing.
    const hashes = new Map<string, SharedHash>();
    const transports = new Map<string, { key: string; factory: TransportSocketFactory }>();
    try {
      // Transports whose settings are new or changed: built here, so a refused one (a missing
      // file, ISTIO_MUTUAL without a workload certificate source) changes nothing.
      for (const c of mesh.clusters) {
        const h2 = !this.#byteProxy && upstreamProtocol(c) === 'http2';
        const settings = this.#byteProxy ? withTcpAlpn(this.#tlsFor(c)) : h2 ? withH2Alpn(this.#tlsFor(c)) : this.#tlsFor(c);
        // The protocol is part of the key: a cluster that changes it gets a new pool.
        const key = (h2 ? 'h2|' : '') + transportKey(settings);
        const prev = this.#clusters.get(c.name);
        if (prev !== undefined && prev.transportKey === key) continue;
        transports.set(c.name, { key, factory: settings === null ? RAW_TRANSPORT : new TlsTransportSocketFactory(settings, { stats: this.#stats.cluster(c.name), log: this.#log, cluster: c.name }, this.#workloadCertificates) });
      }
      for (const c of mesh.clusters) {
        if (c.lb !== 'CONSISTENT_HASH') continue;
        const desc = hashDescriptor(c);
        const endpoints = uniqueEndpoints(c);
        const signature = JSON.stringify([desc.table, endpoints]);
        const prev = this.#clusters.get(c.name)?.hash;
        // A cluster whose transport changes gets a new ManagedCluster, and with it a new table.
        if (prev && prev.signature === signature && !prev.balancer.released && !transports.has(c.name)) continue;
        hashes.set(c.name, { signature, balancer: HashBalancer.build(this.#core, endpoints, desc.table), refs: 0 });
      }
    } catch (err) {
      for (const h of hashes.values()) h.balancer.release();
      for (const t of transports.values()) t.factory.close?.();
      throw err;
    }

    // Phase 2: nothing below throws on valid models.
    const names = new Set(mesh.clusters.map((c) => c.name));
    for (const [name, m] of this.#clusters) if (!names.has(name)) this.#remove(m);
    this.#freeRetired();

    const views: ClusterView[] = [];
    const parts = mesh.clusters.map((c, index): ClusterRuntimeParts => {
      const m = this.#managed(c, transports.get(c.name));
      m.config = c;
      const keys = c.endpoints.map((e) => endpointHashKey(e.address, e.port));
      const unique = [...new Set(keys)];
      const uniqueSlots = m.state.sync(unique);
      const slotOf = new Map(unique.map((k, i) => [k, uniqueSlots[i]!]));
      for (const k of [...m.generation.keys()]) if (!slotOf.has(k)) m.generation.delete(k);
      for (const k of unique) if (!m.generation.has(k)) m.generation.set(k, ++generations);
      this.#configure(m, c);

      // The latest hash table of the cluster (m.hash) is kept; older ones go with their last view.
      const hash: SharedHash | null = c.lb === 'CONSISTENT_HASH' ? hashes.get(c.name) ?? m.hash : null;
      if (hash !== m.hash) {
        const old = m.hash;
        m.hash = hash;
        if (old && old.refs === 0) old.balancer.release();
      }
      if (hash) hash.refs++;
      const key = c.lb === 'CONSISTENT_HASH' ? hashDescriptor(c).key : null;
      const view: ClusterView = {
        managed: m,
        table,
        index,
        lb: c.lb,
        keys,
        slots: Int32Array.from(keys, (k) => slotOf.get(k)!),
        pools: c.endpoints.map((e) => m.pool.endpoint(e.address, e.port, e.hostname)),
        indexOfKey: new Map(keys.map((k, i) => [k, i])),
        hash,
        hashToEndpoint: Int32Array.from(new Set(keys), (k) => keys.indexOf(k)),
        hashKey: key,
        cookie: key && key.kind === 'cookie' ? key : null,
      };
      // Active requests survive the reload: the new table's counters start from the slots'.
      view.slots.forEach((slot, i) => {
        const active = m.state.active(slot, 0);
        if (active > 0) table.active(index, i, active);
      });
      m.views.add(view);
      m.current = view;
      views.push(view);
      // Endpoint pools that left close (busy connections finish first); passthrough
      // destinations in use stay.
      const live = new Set(c.endpoints.map((e) => formatHostPort(e.address, e.port)));
      if (c.lb === 'PASSTHROUGH') for (const ep of m.pool.endpoints()) if (ep.activeRequests > 0) live.add(ep.key);
      m.pool.retainOnly(live);
      return { name: c.name, stats: m.stats, endpoints: view.pools, state: m.state };
    });
    this.#versions.set(table, views);
    for (const m of this.#clusters.values()) this.#pushHealth(m);
    return parts;
  }

  /**
   * An endpoint of cluster `clusterIndex` in `version` for one attempt, by the cluster's lb
   * policy; null when none is healthy, or for PASSTHROUGH when the authority is not an
   * `ip:port` (answer 503 UH). Counts the endpoint's active request until lease.release().
   *
   * - ROUND_ROBIN / LEAST_REQUEST (P2C over active requests) / RANDOM: the core's route table.
   * - CONSISTENT_HASH: the request's key (header, cookie, source IP, query parameter) through
   *   the ring or Maglev table; no key → a random entry; a missing cookie with a ttl gets a
   *   generated value, hashed, and returned as `setCookie` for the response.
   * - PASSTHROUGH (Envoy ORIGINAL_DST): the authority's address.
   * Retries pass `tried`: up to 5 re-picks avoid those endpoints (Envoy previous_hosts).
   */
  /**
   * `into`: a released lease to refill instead of making a new one (EndpointLease._refill); it is
   * left as it was when no endpoint is picked.
   */
  pickEndpoint(version: { readonly table: RouteTable }, clusterIndex: number, req: PickRequest, into?: EndpointLease): EndpointLease | null {
    const v = this.#versions.get(version.table)?.[clusterIndex];
    if (!v || v.managed.closed) return null;
    const m = v.managed;
    if (m.panic) m.stats.incDynamic('lb_healthy_panic');
    if (v.lb === 'PASSTHROUGH') {
      const dst = req.originalDestination ?? (m.config.destinationFromAuthorityName === true ? authorityDestination(req.authority) : originalDestination(req.authority));
      if (!dst) return null;
      if (this.#passthroughGuard?.refuses(dst.address, dst.port)) {
        m.stats.incDynamic('upstream_cx_passthrough_self_refused');
        return null;
      }
      const pool = m.pool.endpoint(dst.address, dst.port);
      return into !== undefined ? into._refill(this, m, -1, pool, '', -1, undefined) : new EndpointLease(this, m, -1, pool, '', -1, undefined);
    }
    const tried = req.tried ?? [];
    let index: number;
    let setCookie: string | undefined;
    if (v.lb === 'CONSISTENT_HASH') {
      const hash = v.hash!.balancer;
      let values = hashValues(v.hashKey!, req);
      if (values === null && v.cookie && v.cookie.ttlMs !== null) {
        // Envoy: the value is the hash of the downstream connection's addresses, so that
        // requests racing on one connection get the same cookie.
        const value = hashKey(this.#core, `${req.clientIp}:${req.clientPort ?? 0}`).toString(16).padStart(16, '0');
        setCookie = setCookieValue(v.cookie.name, value, v.cookie.path, v.cookie.ttlMs, v.cookie.attributes);
        values = [value];
      }
      // Hash-table entries are distinct host keys; map each pick to its endpoint index.
      const at = (entry: number): number => (entry < 0 ? -1 : v.hashToEndpoint[entry] ?? -1);
      if (values === null) {
        index = at(hash.pickRandom());
        for (let k = 0; k < HOST_SELECTION_RETRY_MAX_ATTEMPTS && index >= 0 && tried.includes(index); k++) index = at(hash.pickRandom());
      } else if (values.length === 1) {
        // One value (every source but a repeated header): key bytes straight into the core,
        // hashed and picked in one call, no BigInt (pickKey(k) = pick(hashKey(k))).
        const key = values[0]!;
        index = at(hash.pickKey(key));
        for (let k = 1; k <= HOST_SELECTION_RETRY_MAX_ATTEMPTS && index >= 0 && tried.includes(index); k++) index = at(hash.pickKey(key, k));
      } else {
        let h = 0n;
        for (const value of values) h = hashKey(this.#core, value, h);
        index = at(hash.pick(h));
        for (let k = 1; k <= HOST_SELECTION_RETRY_MAX_ATTEMPTS && index >= 0 && tried.includes(index); k++) index = at(hash.pick(h, k));
      }
    } else {
      index = v.table.pickEndpoint(v.index);
      for (let k = 0; k < HOST_SELECTION_RETRY_MAX_ATTEMPTS && index >= 0 && tried.includes(index); k++) index = v.table.pickEndpoint(v.index);
    }
    if (index < 0) return null;
    if (into !== undefined) return into._refill(this, m, index, v.pools[index]!, v.keys[index]!, v.slots[index]!, setCookie);
    return new EndpointLease(this, m, index, v.pools[index]!, v.keys[index]!, v.slots[index]!, setCookie);
  }

  /**
   * Admission against the cluster's max requests (Istio http2MaxRequests, Envoy max_requests):
   * the cluster's RequestUnit, whose release() the request calls exactly once when it ends
   * (the same object for every request: nothing is allocated per request), or 'overflow'
   * (answer 503 UO; counted as upstream_rq_pending_overflow, as Envoy counts it).
   */
  admitRequest(version: { readonly table: RouteTable }, clusterIndex: number): RequestUnit | 'overflow' {
    const v = this.#versions.get(version.table)?.[clusterIndex];
    if (!v || v.managed.closed) return NO_UNIT;
    const m = v.managed;
    if (!m.state.breaker.tryAcquire('request')) {
      m.stats.inc('upstream_rq_pending_overflow');
      return 'overflow';
    }
    return m.requestUnit;
  }

  /**
   * A byte proxy's upstream connection on cluster `clusterIndex` (Envoy's tcp_proxy takes one
   * unit of the cluster's max_connections, Istio tcp.maxConnections): the cluster's connect
   * settings (connectTimeout, tcpKeepalive) and stats with a release function to call exactly
   * once when the connection ends (the cluster's one ConnectionUnit: nothing is allocated per
   * connection), 'overflow' (counted as upstream_cx_overflow; close, flag UO), or null for a
   * cluster this version does not have.
   */
  admitConnection(version: { readonly table: RouteTable }, clusterIndex: number): ConnectionUnit | 'overflow' | null {
    const v = this.#versions.get(version.table)?.[clusterIndex];
    if (!v || v.managed.closed) return null;
    const m = v.managed;
    if (!m.state.breaker.tryAcquire('connection')) {
      m.stats.inc('upstream_cx_overflow');
      return 'overflow';
    }
    return m.connectionUnit;
  }

  /** @internal (EndpointLease) records an outcome; an ejection is pushed to the balancers at once. */
  _report(m: ManagedCluster, slot: number, outcome: OutlierOutcome): void {
    const code =
      typeof outcome === 'number' ? outcome
      : outcome === 'connect_failed' ? OutlierResult.ConnectFailed
      : outcome === 'timeout' ? OutlierResult.Timeout
      : outcome === 'reset' ? OutlierResult.Reset
      : OutlierResult.ConnectSuccess;
    if (typeof outcome === 'number' && (outcome < 100 || outcome > 599)) return;
    if (m.state.outlier.report(slot, code, this.#now())) this.#pushHealth(m);
  }

  /**
   * The outlier interval for cluster `name` (all clusters when omitted) at now(): ejected
   * endpoints whose time has passed return. Timers call it every `interval`; tests call it.
   * Returns how many endpoints returned.
   */
  tick(name?: string): number {
    this.#sweep();
    let back = 0;
    for (const m of this.#clusters.values()) {
      if (name !== undefined && m.name !== name) continue;
      if (!m.outlier) continue;
      const n = m.state.outlier.tick(this.#now());
      back += n;
      if (n > 0) this.#pushHealth(m);
    }
    return back;
  }

  /**
   * Kept for callers that used to push counters: the core's per-cluster counters and gauges
   * are a stats source (StatScope.attach) read whenever /stats renders, so nothing to copy.
   */
  syncStats(): void {}

  /** Every cluster of the current config with its endpoints' health, for GET /clusters. */
  clusters(): ClusterStatus[] {
    this.#sweep();
    const out: ClusterStatus[] = [];
    for (const m of this.#clusters.values()) {
      const v = m.current;
      if (!v) continue;
      const slots = new Map(m.state.endpoints().map((e) => [e.slot, e]));
      out.push({
        name: m.name,
        lb: m.config.lb,
        connections: m.pool.connectionCount,
        pendingRequests: m.pool.pendingCount,
        outlierDetection: m.outlier !== null,
        ejectionsActive: m.state.outlier.ejectionsActive,
        panic: m.panic,
        endpoints: m.config.endpoints.map((e, i): EndpointStatus => {
          const s = slots.get(v.slots[i]!);
          const ejected = s?.state === 'ejected';
          return {
            address: e.address,
            port: e.port,
            healthy: !ejected,
            healthFlags: ejected ? '/failed_outlier_check' : 'healthy',
            weight: e.weight,
            activeRequests: s?.activeRequests ?? 0,
            connections: v.pools[i]!.connections,
            timesEjected: s?.timesEjected ?? 0,
            consecutive5xx: s?.consecutive5xx ?? 0,
            consecutiveGatewayErrors: s?.consecutiveGatewayFailure ?? 0,
            consecutiveLocalOriginFailures: s?.consecutiveLocalOriginFailure ?? 0,
          };
        }),
      });
    }
    return out;
  }

  /** Stops the timers, destroys every connection and frees the core state and hash tables. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of [...this.#clusters.values()]) this.#remove(m, true);
    for (const m of this.#retired) m.pool.destroyAll();
    this.#retired.clear();
    for (const views of this.#versions.values()) for (const v of views) if (v.hash && !v.hash.balancer.released) v.hash.balancer.release();
    this.#versions.clear();
    this.#states.retain([]);
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────────

  /** A cluster's TLS: the programmatic upstreamTls by name first, else the model's (DestinationRule tls, auto mTLS). */
  #tlsFor(c: Cluster): UpstreamTlsSettings | null {
    if (Object.hasOwn(this.#upstreamTls, c.name)) return this.#upstreamTls[c.name]!;
    return upstreamTlsSettings(c.tls);
  }

  /**
   * The cluster's lasting parts; `transport` (built in apply's phase 1) when its TLS is new or
   * changed: a changed cluster's pool closes gracefully (open connections finish on the old
   * settings, none is reused) and a new pool takes the new transport.
   */
  #managed(c: Cluster, transport?: { key: string; factory: TransportSocketFactory }): ManagedCluster {
    let m = this.#clusters.get(c.name);
    if (m && transport !== undefined && m.transportKey !== transport.key) {
      this.#remove(m);
      m = undefined;
    }
    if (!m) {
      const stats = this.#stats.cluster(c.name);
      stats.declare('lb_healthy_panic', 'counter');
      const state = this.#states.get(c.name);
      if (this.#seed !== undefined) state.seed(this.#seed);
      // One factory, so one session cache, per cluster.
      const made = transport ?? { key: '', factory: RAW_TRANSPORT };
      const pool = new ClusterPool(c.name, stats, this.#limits, this.#codec, made.factory, made.key.startsWith('h2|'), this.#h2Core);
      const managed = (m = new ManagedCluster(c.name, state, pool, stats, c));
      managed.transportKey = made.key;
      // The core's counters and gauges (outlier detection, retries, circuit-breaker state) under
      // Envoy's names, read when /stats renders. The pool counts upstream_cx_overflow and
      // upstream_rq_pending_overflow itself (the core counts the same events), so those two are
      // left out here rather than summed twice.
      stats.attach(CORE_STATS, () => {
        if (managed.closed) return {};
        const s = managed.state.stats();
        delete s['upstream_cx_overflow'];
        delete s['upstream_rq_pending_overflow'];
        return s;
      }, (name) => (CORE_COUNTERS.has(name) ? 'counter' : 'gauge'));
      this.#clusters.set(c.name, m);
    }
    return m;
  }

  /** Outlier detection, breaker limits, pool settings and the interval timer from the cluster's policy. */
  #configure(m: ManagedCluster, c: Cluster): void {
    const p = c.policy;
    const outlier = p?.outlier ?? null;
    const key = JSON.stringify(outlier);
    if (key !== m.outlierKey) {
      m.state.outlier.configure(outlier);
      m.outlier = outlier;
      m.outlierKey = key;
    }
    // Without a policy: the proxy-wide connection and pending limits (Envoy's 1024 each; docs/clusters.md).
    const limits: CircuitBreakerLimits = p
      ? p.limits
      : { ...istioCircuitBreakerLimits(), maxConnections: this.#limits.maxConnectionsPerCluster, maxPendingRequests: this.#limits.maxPendingPerCluster };
    m.state.breaker.configure(limits);
    // HTTP/2 on the core codec: flood limits, keepalive, SETTINGS timeout from the proxy's limits.
    const http2 = this.#h2Settings ??= http2ConnectionSettings(this.#limits, 'upstream');
    const settings: PoolSettings = p
      ? { connectTimeoutMs: p.connection.connectTimeoutMs, idleTimeoutMs: p.connection.idleTimeoutMs, tcpKeepalive: p.connection.tcpKeepalive, ...(p.connection.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: p.connection.maxConcurrentStreams } : {}), http2 }
      : { connectTimeoutMs: this.#limits.connectTimeoutMs, idleTimeoutMs: this.#limits.upstreamIdleTimeoutMs, tcpKeepalive: null, http2 };
    m.pool.configure(settings, m.state.breaker);
    const interval = outlier && !this.#manualTicks ? outlier.intervalMs : 0;
    if (interval !== m.timerMs) {
      if (m.timer) clearInterval(m.timer);
      m.timer = null;
      m.timerMs = interval;
      if (interval > 0) {
        m.timer = setInterval(() => this.tick(m.name), interval);
        m.timer.unref();
      }
    }
  }

  /** Health into every live table and hash table of `m`: ejected endpoints are skipped unless in panic. */
  #pushHealth(m: ManagedCluster): void {
    const od = m.state.outlier;
    const panic = m.outlier !== null && od.panic;
    if (panic && !m.panic) m.stats.incDynamic('outlier_detection.panic_entered');
    m.panic = panic;
    const rebuilt = new Set<SharedHash>();
    for (const v of m.views) {
      if (v.table.released) continue;
      const mask = Array.from(v.slots, (slot) => panic || !od.isEjected(slot));
      mask.forEach((healthy, i) => v.table.setHealth(v.index, i, healthy));
      if (v.hash && !rebuilt.has(v.hash) && !v.hash.balancer.released) {
        rebuilt.add(v.hash);
        v.hash.balancer.rebuild(uniqueMask(v, mask));
      }
    }
  }

  /** Forgets versions whose table was freed (their last request ended), releasing hash tables. */
  #sweep(): void {
    for (const [table, views] of this.#versions) {
      if (!table.released) continue;
      this.#versions.delete(table);
      for (const v of views) {
        v.managed.views.delete(v);
        if (v.hash && --v.hash.refs === 0 && (v.managed.closed || v.managed.hash !== v.hash) && !v.hash.balancer.released) v.hash.balancer.release();
      }
    }
    this.#freeRetired();
  }

  /** Frees the core state of clusters that left once no live version uses them. */
  #freeRetired(): void {
    for (const m of this.#retired) {
      if (m.views.size > 0) continue;
      this.#retired.delete(m);
      // Connections still closing give their units to a JS breaker, not to freed memory.
      m.pool.configure(m.pool.settings, new LocalBreaker({ maxConnections: 0xffffffff, maxPending: 0 }));
    }
    // A name re-added meanwhile shares the state (ClusterStates is by name): it stays.
    this.#states.retain([...this.#clusters.keys(), ...[...this.#retired].map((m) => m.name)]);
  }

  #remove(m: ManagedCluster, destroy = false): void {
    m.closed = true;
    if (!destroy) this.#retired.add(m);
    m.stats.detach(CORE_STATS);
    if (m.timer) clearInterval(m.timer);
    m.timer = null;
    if (destroy) m.pool.destroyAll();
    else m.pool.close();
    m.pool.transport.close?.();
    this.#clusters.delete(m.name);
  }
}

/** The key of the core-counter stats source on each cluster's scope. */
const CORE_STATS = 'cluster-state';
/** The core's counters; the rest of its stats are gauges (ejections_active, circuit-breaker state). */
const CORE_COUNTERS: ReadonlySet<string> = new Set(UPSTREAM_COUNTERS);

/** The cluster's hash descriptor, or Envoy's default ring with no key (random picks). */
function hashDescriptor(c: Cluster): HashLbDescriptor {
  return c.policy?.hash ?? { key: { kind: 'none' }, table: { kind: 'ringHash', minimumRingSize: DEFAULT_MIN_RING_SIZE, maximumRingSize: DEFAULT_MAX_RING_SIZE, stableRebuild: true }, warnings: [] };
}

/** Hash-table endpoints: one per distinct host key (a key listed twice adds its weights). */
function uniqueEndpoints(c: Cluster): Array<{ key: string; weight: number }> {
  const byKey = new Map<string, number>();
  for (const e of c.endpoints) {
    const k = endpointHashKey(e.address, e.port);
    byKey.set(k, (byKey.get(k) ?? 0) + Math.max(1, Math.floor(e.weight) || 1));
  }
  return [...byKey].map(([key, weight]) => ({ key, weight }));
}

/** The endpoint-index mask reduced to the hash table's distinct keys. */
function uniqueMask(v: ClusterView, mask: boolean[]): boolean[] {
  const seen = new Map<string, boolean>();
  v.keys.forEach((k, i) => seen.set(k, (seen.get(k) ?? false) || mask[i]!));
  return [...seen.values()];
}
