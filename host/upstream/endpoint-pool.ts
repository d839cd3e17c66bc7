// Keep-alive connections to one endpoint (address:port): idle connections are reused last-in
// first-out so that a quiet period lets the extra ones reach the idle timeout and close.
import { connect } from 'node:net';
import { UpstreamConnection, type ConnectionOwner } from './upstream-connection.js';
import type { ClusterPool } from './cluster-pool.js';

export type AcquireFailure = 'overflow' | 'connect_fail' | 'connect_timeout';
export type AcquireCallback = (result: UpstreamConnection | AcquireFailure) => void;

/** A connection request that may be withdrawn (client gone) before it completes. */
export interface PendingAcquire {
  cancel(): void;
}

/** The read buffer of every upstream socket on this thread (reads are consumed synchronously). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const NOTHING_PENDING: PendingAcquire = { cancel() {} };

export class EndpointPool implements ConnectionOwner {
  readonly address: string;
  readonly port: number;
  readonly key: string;
  healthy = true;
  /** Requests currently using (or waiting for) this endpoint. */
  activeRequests = 0;
  readonly #cluster: ClusterPool;
  readonly #idle: UpstreamConnection[] = [];
  readonly #active = new Set<UpstreamConnection>();
  #connecting = 0;
  #closed = false;
  /** Closes connections idle for the idle timeout: one timer per pool, armed for the oldest. */
  #sweep: NodeJS.Timeout | null = null;

  constructor(cluster: ClusterPool, address: string, port: number) {
    this.#cluster = cluster;
    this.address = address;
    this.port = port;
    this.key = `${address}:${port}`;
  }

  get connections(): { active: number; idle: number; connecting: number } {
    return { active: this.#active.size, idle: this.#idle.length, connecting: this.#connecting };
  }

  /**
   * Hands a connection to `cb`: an idle one at once, else a new one once connected; when the
   * cluster is at its connection limit the request waits in the cluster's pending queue (up to
   * its pending limit) and `cb` runs when a connection frees; else `cb('overflow')` at once.
   */
  acquire(cb: AcquireCallback): PendingAcquire {
    while (this.#idle.length > 0) {
      const conn = this.#idle.pop()!;
      if (conn.closed || conn.socket.destroyed) continue;
      this.handOver(conn, cb);
      return NOTHING_PENDING;
    }
    if (this.#closed) {
      this.#cluster.stats.inc('upstream_cx_overflow');
      cb('overflow');
      return NOTHING_PENDING;
    }
    if (this.#cluster.reserveConnection(this)) return this.#connect(cb);
    const waiting = this.#cluster.enqueue(this, cb);
    if (waiting) return waiting;
    cb('overflow');
    return NOTHING_PENDING;
  }

  /** @internal (ClusterPool) gives a free connection of this endpoint to `cb`. */
  handOver(conn: UpstreamConnection, cb: AcquireCallback): void {
    this.#active.add(conn);
    cb(conn);
  }

  /** @internal (ClusterPool) opens a connection whose breaker unit the cluster already took. */
  connectReserved(cb: AcquireCallback): PendingAcquire {
    if (this.#closed) {
      this.#cluster.releaseConnection();
      cb('overflow');
      return NOTHING_PENDING;
    }
    return this.#connect(cb);
  }

  #connect(cb: AcquireCallback): PendingAcquire {
    const stats = this.#cluster.stats;
    const settings = this.#cluster.settings;
    this.#connecting++;
    let cancelled = false;
    let settled = false;
    // Reads land in one buffer shared by every upstream socket of this thread and go straight
    // to the connection (net's `onread`): no Buffer per read, no readable-stream machinery.
    let conn: UpstreamConnection | null = null;
    const socket = connect({
      host: this.address,
      port: this.port,
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
    });
    socket.setNoDelay(true);
    if (settings.tcpKeepalive) socket.setKeepAlive(true, settings.tcpKeepalive.timeMs);
    const fail = (why: AcquireFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      this.#cluster.releaseConnection();
      stats.inc('upstream_cx_connect_fail');
      if (why === 'connect_timeout') stats.inc('upstream_cx_connect_timeout');
      socket.destroy();
      if (!cancelled) cb(why);
    };
    const timer = setTimeout(() => fail('connect_timeout'), settings.connectTimeoutMs);
    socket.once('error', () => fail('connect_fail'));
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      stats.inc('upstream_cx_total');
      stats.inc('upstream_cx_active');
      const c = (conn = new UpstreamConnection(socket, this.#cluster.codec, this, stats));
      this.#active.add(c);
      if (cancelled) this.release(c, true);
      else cb(c);
    });
    return {
      cancel() {
        cancelled = true;
      },
    };
  }

  release(conn: UpstreamConnection, reusable: boolean): void {
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

  closed(conn: UpstreamConnection, _byRemote: boolean): void {
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
