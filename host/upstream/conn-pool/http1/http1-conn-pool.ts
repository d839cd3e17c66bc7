// The HTTP/1 connection pool of one endpoint (address:port): keep-alive connections, each
// carrying one exchange at a time; idle connections are reused last-in first-out so that a
// quiet period lets the extra ones reach the idle timeout and close. Sockets come from the
// cluster's transport socket factory; connection limits and the pending queue are the cluster's.
import { Http1Connection, type ConnectionOwner } from './http1-connection.js';
import type { Http1Codec } from './http1-codec.js';
import type { Cancellable, ConnPool, PoolCallbacks, PoolFailure, PoolSettings } from '../conn-pool.js';
import type { TransportSocketFactory, TransportSocketOptions } from '../../transport/transport-socket.js';
import type { ConnectionBreaker } from '../../connection-breaker.js';
import type { ClusterStats } from '../../../telemetry/stats.js';
import { formatHostPort } from '../../../common/host-port.js';

/**
 * What the pool needs from its cluster (ClusterPool implements it): declared here, on the pool's
 * side, so that the cluster level depends on the pool and not the other way round.
 */
export interface Http1PoolCluster {
  readonly stats: ClusterStats;
  readonly codec: Http1Codec;
  readonly settings: Readonly<PoolSettings>;
  readonly breaker: ConnectionBreaker;
  /** Takes a connection unit of the cluster's limit for `from` (false: none left). */
  reserveConnection(from: Http1ConnPool): boolean;
  /** A connection counted by reserveConnection is gone. */
  releaseConnection(): void;
  /** Queues `callbacks` for a connection of `endpoint` (null: the pending queue is full). */
  enqueue(endpoint: Http1ConnPool, callbacks: PoolCallbacks): Cancellable | null;
  /** A connection of `endpoint` is free: true when a waiter took it (or it closed for another endpoint's). */
  offer(endpoint: Http1ConnPool, conn: Http1Connection): boolean;
}

/** The read buffer of every upstream socket on this thread (reads are consumed synchronously). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const NOTHING_PENDING: Cancellable = { cancel() {} };

export class Http1ConnPool implements ConnPool, ConnectionOwner {
  readonly address: string;
  readonly port: number;
  readonly key: string;
  /** Requests currently using (or waiting for) this endpoint. */
  activeRequests = 0;
  readonly #cluster: Http1PoolCluster;
  readonly #transport: TransportSocketFactory;
  /** The DNS name the address was resolved from (TLS SNI when the cluster sets none). */
  readonly #hostname: string | undefined;
  readonly #idle: Http1Connection[] = [];
  readonly #active = new Set<Http1Connection>();
  #connecting = 0;
  #closed = false;
  /** Closes connections idle for the idle timeout: one timer per pool, armed for the oldest. */
  #sweep: NodeJS.Timeout | null = null;

  constructor(cluster: Http1PoolCluster, address: string, port: number, transport: TransportSocketFactory, hostname?: string) {
    this.#hostname = hostname;
    this.#cluster = cluster;
    this.#transport = transport;
    this.address = address;
    this.port = port;
    this.key = formatHostPort(address, port);
  }

  get connections(): { active: number; idle: number; connecting: number } {
    return { active: this.#active.size, idle: this.#idle.length, connecting: this.#connecting };
  }

  /**
   * A connection for `callbacks`: an idle one at once, else a new one once connected; when the
   * cluster is at its connection limit the request waits in the cluster's pending queue (up to
   * its pending limit) until a connection frees; else onPoolFailure('overflow') at once.
   */
  newStream(callbacks: PoolCallbacks): Cancellable {
    while (this.#idle.length > 0) {
      const conn = this.#idle.pop()!;
      if (conn.closed || conn.socket.destroyed) continue;
      this.handOver(conn, callbacks);
      return NOTHING_PENDING;
    }
    if (this.#closed) {
      this.#cluster.stats.inc('upstream_cx_overflow');
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    if (this.#cluster.reserveConnection(this)) return this.#connect(callbacks);
    const waiting = this.#cluster.enqueue(this, callbacks);
    if (waiting) return waiting;
    callbacks.onPoolFailure('overflow');
    return NOTHING_PENDING;
  }

  /** @internal (ClusterPool) gives a free connection of this endpoint to `callbacks`. */
  handOver(conn: Http1Connection, callbacks: PoolCallbacks): void {
    this.#active.add(conn);
    callbacks.onPoolReady(conn);
  }

  /** @internal (ClusterPool) opens a connection whose breaker unit the cluster already took. */
  connectReserved(callbacks: PoolCallbacks): Cancellable {
    if (this.#closed) {
      this.#cluster.releaseConnection();
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    return this.#connect(callbacks);
  }

  #connect(callbacks: PoolCallbacks): Cancellable {
    const stats = this.#cluster.stats;
    const settings = this.#cluster.settings;
    this.#connecting++;
    let cancelled = false;
    let settled = false;
    // Reads land in one buffer shared by every upstream socket of this thread and go straight
    // to the connection (net's `onread`): no Buffer per read, no readable-stream machinery.
    let conn: Http1Connection | null = null;
    const options: TransportSocketOptions = {
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (conn === null) {
            // Bytes before the connection is handed out (none are asked for): nothing may
            // read them as a response.
            socket.destroy();
            return false;
          }
          conn.onRead(buf.subarray(0, n));
          return true;
        },
      },
      noDelay: true,
      keepAlive: settings.tcpKeepalive,
      ...(this.#hostname !== undefined ? { hostname: this.#hostname } : {}),
    };
    const transport = this.#transport;
    const socket = transport.connect(this.address, this.port, options);
    const fail = (why: PoolFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      this.#cluster.releaseConnection();
      stats.inc('upstream_cx_connect_fail');
      if (why === 'connect_timeout') stats.inc('upstream_cx_connect_timeout');
      socket.destroy();
      if (!cancelled) callbacks.onPoolFailure(why);
    };
    const timer = setTimeout(() => fail('connect_timeout'), settings.connectTimeoutMs);
    socket.once('error', () => fail('connect_fail'));
    socket.once(transport.readyEvent, () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      stats.inc('upstream_cx_total');
      stats.inc('upstream_cx_active');
      const c = (conn = new Http1Connection(socket, this.#cluster.codec, this, stats));
      this.#active.add(c);
      if (cancelled) this.release(c, true);
      else callbacks.onPoolReady(c);
    });
    return {
      cancel() {
        cancelled = true;
      },
    };
  }

  release(conn: Http1Connection, reusable: boolean): void {
    this.#active.delete(conn);
    if (reusable && !this.#closed && !conn.closed && !this.#cluster.breaker.connectionReusable(conn.exchanges)) {
      // maxRequestsPerConnection reached: Envoy closes the connection after that response.
      this.#cluster.stats.incDynamic('upstream_cx_max_requests');
      reusable = false;
    }
    if (reusable && !this.#closed && !conn.closed) {
      // A waiting request takes it at once (or it closes to let another endpoint connect).
      if (this.#cluster.offer(this, conn)) return;
      // Not a socket timeout per connection: setting and clearing one on every release and
      // reuse cost two timers per request. The idle list is in release order, oldest first.
      conn.idleSince = performance.now();
      this.#idle.push(conn);
      this.#armSweep();
    } else {
      conn.destroy();
    }
  }

  closed(conn: Http1Connection, _byRemote: boolean): void {
    this.#active.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#cluster.stats.dec('upstream_cx_active');
    this.#cluster.releaseConnection();
  }

  /** Closes one idle connection to make room elsewhere in the cluster; false when none. */
  evictIdle(): boolean {
    const conn = this.#idle.shift();
    if (!conn) return false;
    conn.destroy();
    return true;
  }

  /** Arms the idle sweep for the oldest idle connection (no-op when armed or nothing is idle). */
  #armSweep(): void {
    const ms = this.#cluster.settings.idleTimeoutMs;
    if (this.#sweep !== null || this.#idle.length === 0 || !(ms > 0)) return;
    const due = this.#idle[0]!.idleSince + ms - performance.now();
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      this.#sweepIdle();
    }, Math.max(1, Math.ceil(due)));
    this.#sweep.unref();
  }

  /** Closes every connection idle for the idle timeout (Envoy upstream_cx_idle_timeout). */
  #sweepIdle(): void {
    const ms = this.#cluster.settings.idleTimeoutMs;
    const now = performance.now();
    while (this.#idle.length > 0 && ms > 0 && now - this.#idle[0]!.idleSince >= ms) {
      const conn = this.#idle.shift()!;
      this.#cluster.stats.inc('upstream_cx_idle_timeout');
      conn.destroy();
    }
    this.#armSweep();
  }

  /** No new connections; idle ones close now, busy ones when their exchange ends. */
  close(): void {
    this.#closed = true;
    if (this.#sweep !== null) clearTimeout(this.#sweep);
    this.#sweep = null;
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }

  /** Destroys every connection, busy ones included (shutdown after the drain period). */
  destroyAll(): void {
    this.close();
    for (const conn of [...this.#active]) conn.destroy();
  }
}
