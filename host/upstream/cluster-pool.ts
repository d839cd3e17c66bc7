// The connection pools of one cluster, keyed by endpoint address:port so that a config reload
// that keeps an endpoint keeps its warm connections; also where the cluster's connection
// circuit breaker is applied (Envoy max_connections, max_pending_requests): a request that
// finds no idle connection and may not open one waits in the cluster's pending queue, up to the
// pending limit, for a connection to free. The cluster decides which pool and which transport
// socket its endpoints get: HTTP/1 over the factory it is given (raw TCP for every cluster today).
import { Http1ConnPool, type Http1PoolCluster } from './conn-pool/http1/http1-conn-pool.js';
import { Http2ConnPool, type Http2PoolCluster } from './conn-pool/http2/http2-conn-pool.js';
import type { Http1Connection } from './conn-pool/http1/http1-connection.js';
import type { Http1Codec } from './conn-pool/http1/http1-codec.js';
import type { Cancellable, PoolCallbacks, PoolSettings } from './conn-pool/conn-pool.js';
import type { TransportSocketFactory } from './transport/transport-socket.js';
import { LocalBreaker, type ConnectionBreaker } from './connection-breaker.js';
import type { ClusterStats } from '../telemetry/stats.js';
import type { Limits } from '../common/limits.js';
import type { Core } from '../core/wasm.js';
import { formatHostPort } from '../common/host-port.js';

/** An endpoint's pool: HTTP/1.1, or HTTP/2 for a cluster whose protocol is HTTP/2 (gRPC, h2UpgradePolicy UPGRADE). */
export type EndpointPool = Http1ConnPool | Http2ConnPool;

/** One request waiting for a connection of `endpoint` (the cluster is at max connections). */
interface Waiter extends Cancellable {
  endpoint: EndpointPool;
  callbacks: PoolCallbacks;
  /** Taken off the queue (handed a connection, or its connect started). */
  done: boolean;
  /** The connect started for it, so that a later cancel still reaches it. */
  inner: Cancellable | null;
}

export class ClusterPool implements Http1PoolCluster, Http2PoolCluster {
  readonly name: string;
  readonly stats: ClusterStats;
  readonly limits: Limits;
  readonly codec: Http1Codec;
  /** Makes every connection's socket (the cluster's choice: raw, later TLS). */
  readonly transport: TransportSocketFactory;
  /** Its endpoints speak HTTP/2 (fixed for the pool's life: a change makes a new ClusterPool). */
  readonly http2: boolean;
  /** HTTP/2 connections on the core codec (set) or node:http2 (null). */
  readonly h2Core: Core | null;
  readonly #endpoints = new Map<string, EndpointPool>();
  readonly #queue: Waiter[] = [];
  #settings: PoolSettings;
  #breaker: ConnectionBreaker;
  #connections = 0;

  /**
   * Without configure(), the pool uses the proxy-wide limits: connect and idle timeouts from
   * `limits`, at most limits.maxConnectionsPerCluster connections and limits.maxPendingPerCluster
   * requests waiting for one (beyond that, 503 UO).
   */
  constructor(name: string, stats: ClusterStats, limits: Limits, codec: Http1Codec, transport: TransportSocketFactory, http2 = false, h2Core: Core | null = null) {
    this.http2 = http2;
    this.h2Core = h2Core;
    this.name = name;
    this.stats = stats;
    this.limits = limits;
    this.codec = codec;
    this.transport = transport;
    this.#settings = { connectTimeoutMs: limits.connectTimeoutMs, idleTimeoutMs: limits.upstreamIdleTimeoutMs, tcpKeepalive: null };
    this.#breaker = new LocalBreaker({ maxConnections: limits.maxConnectionsPerCluster, maxPending: limits.maxPendingPerCluster });
    stats.declare('upstream_rq_pending_active', 'gauge');
    stats.declare('upstream_rq_pending_total', 'counter');
    stats.declare('upstream_cx_max_requests', 'counter');
  }

  /**
   * New settings and breaker (a config version with this cluster's policy). Connections and
   * waiters already counted stay counted: the breaker must be the one they were counted in, or
   * a fresh one when none is open (the manager passes the cluster's lasting core breaker).
   */
  configure(settings: PoolSettings, breaker: ConnectionBreaker): void {
    if (breaker !== this.#breaker) {
      // Move the open connections' and waiters' units over, so releases balance.
      for (let i = 0; i < this.#connections; i++) {
        this.#breaker.release('connection');
        if (!breaker.tryAcquire('connection')) break;
      }
      for (const w of this.#queue) {
        this.#breaker.release('pending');
        breaker.tryAcquire('pending');
      }
      this.#breaker = breaker;
    }
    this.#settings = settings;
    // A raised limit may let waiters connect now.
    this.#wake();
  }

  get settings(): Readonly<PoolSettings> {
    return this.#settings;
  }

  get breaker(): ConnectionBreaker {
    return this.#breaker;
  }

  /** Connections open or opening, across the cluster's endpoints. */
  get connectionCount(): number {
    return this.#connections;
  }

  /** Requests waiting for a connection (Envoy's upstream_rq_pending_active). */
  get pendingCount(): number {
    return this.#queue.length;
  }

  /**
   * The pool for `address:port`, created on first use and kept across reloads; `hostname`: the
   * DNS name the address was resolved from (the TLS SNI when the cluster sets none).
   */
  endpoint(address: string, port: number, hostname?: string): EndpointPool {
    // Keyed by address:port only (the sweep after a reload keeps the live addresses' pools).
    const key = formatHostPort(address, port);
    let ep = this.#endpoints.get(key);
    if (!ep) {
      ep = this.http2 ? new Http2ConnPool(this, address, port, this.transport, hostname) : new Http1ConnPool(this, address, port, this.transport, hostname);
      this.#endpoints.set(key, ep);
    }
    return ep;
  }

  /** The pool for `key` (address:port) when it exists. */
  endpointByKey(key: string): EndpointPool | undefined {
    return this.#endpoints.get(key);
  }

  /** After a reload: closes the pools of endpoints no longer in the cluster. */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const [key, ep] of this.#endpoints) {
      if (!keys.has(key)) {
        ep.close();
        this.#endpoints.delete(key);
      }
    }
  }

  endpoints(): IterableIterator<EndpointPool> {
    return this.#endpoints.values();
  }

  /** Takes one connection slot from the circuit breaker, evicting an idle connection elsewhere if full. */
  reserveConnection(from: EndpointPool): boolean {
    if (!this.#breaker.tryAcquire('connection')) {
      let evicted = false;
      for (const ep of this.#endpoints.values()) {
        // evictIdle → closed() → releaseConnection(), which frees the unit taken below.
        if (ep !== from && ep.evictIdle()) {
          evicted = true;
          break;
        }
      }
      if (!evicted || !this.#breaker.tryAcquire('connection')) {
        this.stats.inc('upstream_cx_overflow');
        return false;
      }
    }
    this.#connections++;
    return true;
  }

  releaseConnection(): void {
    this.#connections--;
    this.#breaker.release('connection');
    this.#wake();
  }

  /**
   * Queues a request for a connection of `endpoint` when the pending limit allows (Envoy's
   * max_pending_requests), else counts upstream_rq_pending_overflow and returns null (503 UO).
   */
  enqueue(endpoint: EndpointPool, callbacks: PoolCallbacks): Cancellable | null {
    if (!this.#breaker.tryAcquire('pending')) {
      this.stats.inc('upstream_rq_pending_overflow');
      return null;
    }
    const queue = this.#queue;
    const breaker = (): ConnectionBreaker => this.#breaker;
    const stats = this.stats;
    const w: Waiter = {
      endpoint,
      callbacks,
      done: false,
      inner: null,
      cancel() {
        if (w.done) {
          w.inner?.cancel();
          return;
        }
        w.done = true;
        const i = queue.indexOf(w);
        if (i >= 0) queue.splice(i, 1);
        breaker().release('pending');
        stats.incDynamic('upstream_rq_pending_active', -1);
      },
    };
    queue.push(w);
    stats.incDynamic('upstream_rq_pending_total');
    stats.incDynamic('upstream_rq_pending_active', 1);
    return w;
  }

  /**
   * A connection of `endpoint` is free again: hands it to the oldest waiter for that endpoint
   * (true), or, when only other endpoints' requests wait, closes it so that one of them can
   * connect (true: the connection is gone). False: nobody waits, the caller keeps it idle.
   */
  offer(endpoint: Http1ConnPool, conn: Http1Connection): boolean {
    if (this.#queue.length === 0) return false;
    const w = this.#queue.find((x) => x.endpoint === endpoint);
    if (w) {
      this.#take(w);
      (endpoint as Http1ConnPool).handOver(conn, w.callbacks);
      return true;
    }
    conn.destroy(); // closed() → releaseConnection() → #wake() connects the oldest waiter
    return true;
  }

  /** Starts a connection for the oldest waiters while the breaker allows. */
  #wake(): void {
    while (this.#queue.length > 0) {
      const w = this.#queue[0]!;
      if (!this.#breaker.tryAcquire('connection')) return;
      this.#connections++;
      this.#take(w);
      w.inner = w.endpoint.connectReserved(w.callbacks);
    }
  }

  #take(w: Waiter): void {
    w.done = true;
    this.#queue.splice(this.#queue.indexOf(w), 1);
    this.#breaker.release('pending');
    this.stats.incDynamic('upstream_rq_pending_active', -1);
  }

  close(): void {
    for (const ep of this.#endpoints.values()) ep.close();
  }

  destroyAll(): void {
    for (const w of [...this.#queue]) {
      w.cancel();
      w.callbacks.onPoolFailure('overflow');
    }
    for (const ep of this.#endpoints.values()) ep.destroyAll();
  }
}
