// The HTTP/2 connection pool of one endpoint (address:port): streams multiplexed on few
// connections (Envoy's Http2 ConnPool). A request takes a stream on a connection with a free
// slot; else it waits, as a pending request of the cluster (max_pending_requests → 503 UO), for a
// connection being opened or a slot to free; a new connection opens when the waiting requests
// exceed what the connecting ones will carry, within the cluster's max connections. A slot is
// bounded by maxConcurrentStreams and the server's SETTINGS_MAX_CONCURRENT_STREAMS; a connection
// drains after maxRequestsPerConnection streams or a GOAWAY; an idle one closes after the idle
// timeout. Its connections speak node:http2 (http2-connection.ts) or, when the cluster hands it
// a core (Http2PoolCluster.h2Core: WASMESH_HTTP2_UPSTREAM_CODEC=core), the core codec's frames and
// HPACK (core-h2-upstream-connection.ts); the pool treats both alike (PooledH2Connection).
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import type { Cancellable, ConnPool, PoolCallbacks, PoolFailure, PoolSettings, UpstreamStream } from '../conn-pool.js';
import type { TransportSocketFactory } from '../../transport/transport-socket.js';
import type { ConnectionBreaker } from '../../connection-breaker.js';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import type { Core } from '../../../core/wasm.js';
import { Http2Connection } from './http2-connection.js';
import { CoreH2UpstreamConnection } from './core-h2-upstream-connection.js';
import type { H2ConnectionOwner, PooledH2Connection } from './h2-pooled-connection.js';
import { formatHostPort } from '../../../common/host-port.js';

/** Envoy's http2_protocol_options.max_concurrent_streams default (2^31 - 1). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 2147483647;

/** What the pool needs from its cluster (ClusterPool implements it). */
export interface Http2PoolCluster {
  readonly stats: ClusterStats;
  /** Reads the response head's fields (the core's filter and edits). */
  readonly codec: Http1Codec;
  readonly settings: Readonly<PoolSettings>;
  readonly breaker: ConnectionBreaker;
  reserveConnection(from: ConnPool): boolean;
  releaseConnection(): void;
  /** Queues `callbacks` until the cluster may open a connection for `endpoint` (null: pending queue full). */
  enqueue(endpoint: Http2ConnPool, callbacks: PoolCallbacks): Cancellable | null;
  /** Set: connections run on the core codec (core-h2-upstream-connection.ts), else on node:http2. */
  readonly h2Core?: Core | null;
}

/** A connection being opened, and how many waiters count on it. */
interface Connecting {
  attached: number;
  cancelled: boolean;
}

interface Waiter extends Cancellable {
  callbacks: PoolCallbacks;
  /** Holds a pending unit of the cluster's breaker. */
  pending: boolean;
  /** The connect it waits for; null: a slot on an open connection. */
  on: Connecting | null;
  done: boolean;
}

const NOTHING_PENDING: Cancellable = { cancel() {} };

export class Http2ConnPool implements ConnPool, H2ConnectionOwner {
  readonly address: string;
  readonly port: number;
  readonly key: string;
  activeRequests = 0;
  readonly #cluster: Http2PoolCluster;
  readonly #transport: TransportSocketFactory;
  readonly #scheme: 'http' | 'https';
  readonly #hostname: string | undefined;
  readonly #conns: PooledH2Connection[] = [];
  readonly #connecting = new Set<Connecting>();
  readonly #waiters: Waiter[] = [];
  #closed = false;
  #sweep: NodeJS.Timeout | null = null;

  constructor(cluster: Http2PoolCluster, address: string, port: number, transport: TransportSocketFactory, hostname?: string) {
    this.#cluster = cluster;
    this.#transport = transport;
    this.#scheme = transport.readyEvent === 'secureConnect' ? 'https' : 'http';
    this.#hostname = hostname;
    this.address = address;
    this.port = port;
    this.key = formatHostPort(address, port);
  }

  get connections(): { active: number; idle: number; connecting: number } {
    let active = 0;
    for (const c of this.#conns) if (c.active > 0) active++;
    return { active, idle: this.#conns.length - active, connecting: this.#connecting.size };
  }

  /** Open connections (tests, /clusters). */
  get openConnections(): readonly PooledH2Connection[] {
    return this.#conns;
  }

  get #maxStreams(): number {
    const n = this.#cluster.settings.maxConcurrentStreams;
    return n !== undefined && n > 0 ? n : DEFAULT_MAX_CONCURRENT_STREAMS;
  }

  newStream(callbacks: PoolCallbacks): Cancellable {
    const conn = this.#readyConnection();
    if (conn) {
      callbacks.onPoolReady(conn.newStream());
      return NOTHING_PENDING;
    }
    if (this.#closed) {
      this.#cluster.stats.inc('upstream_cx_overflow');
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    // A connect under way with room for one more: wait for it.
    let on: Connecting | null = null;
    for (const c of this.#connecting) {
      if (c.attached < this.#maxStreams) {
        on = c;
        break;
      }
    }
    if (on === null && this.#cluster.reserveConnection(this)) on = this.#connect();
    if (on === null && this.#conns.length === 0 && this.#connecting.size === 0) {
      // Nothing of this endpoint to wait on: the cluster's queue opens one when it can.
      const w = this.#cluster.enqueue(this, callbacks);
      if (w) return w;
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    // Waits for that connect, or for a slot on an open connection (the cluster is at its limit).
    const w = this.#wait(callbacks, on, true);
    if (w === null) {
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    return w;
  }

  /** @internal (ClusterPool) opens a connection whose breaker unit the cluster already took, for `callbacks`. */
  connectReserved(callbacks: PoolCallbacks): Cancellable {
    if (this.#closed) {
      this.#cluster.releaseConnection();
      callbacks.onPoolFailure('overflow');
      return NOTHING_PENDING;
    }
    return this.#wait(callbacks, this.#connect(), false)!;
  }

  release(stream: UpstreamStream, _reusable: boolean): void {
    (stream as UpstreamStream & { releaseUnstarted?(): void }).releaseUnstarted?.();
  }

  /** The oldest connection with a free slot (streams concentrate, so extra connections can idle out). */
  #readyConnection(): PooledH2Connection | null {
    const breaker = this.#cluster.breaker;
    for (const c of this.#conns) {
      if (!c.ready) continue;
      if (!breaker.connectionReusable(c.started)) {
        // maxRequestsPerConnection streams served: Envoy drains the connection.
        this.#cluster.stats.incDynamic('upstream_cx_max_requests');
        c.draining = true;
        if (c.active === 0) c.close();
        continue;
      }
      return c;
    }
    return null;
  }

  #wait(callbacks: PoolCallbacks, on: Connecting | null, takePending: boolean): Waiter | null {
    const cluster = this.#cluster;
    if (takePending) {
      if (!cluster.breaker.tryAcquire('pending')) {
        cluster.stats.inc('upstream_rq_pending_overflow');
        return null;
      }
      cluster.stats.incDynamic('upstream_rq_pending_total');
      cluster.stats.incDynamic('upstream_rq_pending_active', 1);
    }
    const waiters = this.#waiters;
    const w: Waiter = {
      callbacks,
      pending: takePending,
      on,
      done: false,
      cancel: () => {
        if (w.done) return;
        this.#take(w);
      },
    };
    if (on) on.attached++;
    waiters.push(w);
    return w;
  }

  /** Takes `w` off the queue, its pending unit back. */
  #take(w: Waiter): void {
    w.done = true;
    const i = this.#waiters.indexOf(w);
    if (i >= 0) this.#waiters.splice(i, 1);
    if (w.on) w.on.attached--;
    if (w.pending) {
      this.#cluster.breaker.release('pending');
      this.#cluster.stats.incDynamic('upstream_rq_pending_active', -1);
    }
  }

  /** Hands free slots to waiters, oldest first; opens connections for those left when allowed. */
  #serve(): void {
    const waiters = this.#waiters;
    while (waiters.length > 0) {
      const conn = this.#readyConnection();
      if (!conn) break;
      const w = waiters[0]!;
      this.#take(w);
      w.callbacks.onPoolReady(conn.newStream());
    }
    if (this.#closed || waiters.length === 0) return;
    // Waiters no connect counts on: one more connection when the cluster allows.
    const loose = waiters.filter((w) => w.on === null);
    while (loose.length > 0 && this.#cluster.reserveConnection(this)) {
      const c = this.#connect();
      for (const w of loose.splice(0, this.#maxStreams)) {
        w.on = c;
        c.attached++;
      }
    }
  }

  #connect(): Connecting {
    const cluster = this.#cluster;
    const stats = cluster.stats;
    const settings = cluster.settings;
    const attempt: Connecting = { attached: 0, cancelled: false };
    this.#connecting.add(attempt);
    let settled = false;
    const socket = this.#transport.connect(this.address, this.port, {
      noDelay: true,
      keepAlive: settings.tcpKeepalive,
      ...(this.#hostname !== undefined ? { hostname: this.#hostname } : {}),
    });
    let session: ClientHttp2Session | null = null;
    const fail = (why: PoolFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting.delete(attempt);
      cluster.releaseConnection();
      stats.inc('upstream_cx_connect_fail');
      if (why === 'connect_timeout') stats.inc('upstream_cx_connect_timeout');
      session?.destroy();
      socket.destroy();
      // The requests that counted on this connect fail with it (Envoy: pending streams of a
      // failed client); the others keep waiting.
      for (const w of this.#waiters.filter((x) => x.on === attempt)) {
        this.#take(w);
        w.callbacks.onPoolFailure(why);
      }
    };
    const timer = setTimeout(() => fail('connect_timeout'), settings.connectTimeoutMs);
    const established = (conn: PooledH2Connection): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting.delete(attempt);
      stats.inc('upstream_cx_total');
      stats.incDynamic('upstream_cx_http2_total');
      stats.inc('upstream_cx_active');
      this.#conns.push(conn);
      for (const w of this.#waiters) if (w.on === attempt) w.on = null;
      attempt.attached = 0;
      if (this.#closed) conn.close();
      this.#serve();
      this.#armSweep();
    };
    socket.once('error', () => fail('connect_fail'));
    const core = cluster.h2Core;
    if (core) {
      // The core codec: HTTP/2 starts once the transport is ready; the connection counts as
      // established when the server's SETTINGS arrived (its stream limit known).
      socket.once(this.#transport.readyEvent, () => {
        if (settled) return;
        const conn: CoreH2UpstreamConnection = new CoreH2UpstreamConnection(core, socket, this.#scheme, this, stats, cluster.codec, this.#maxStreams, (ok) => {
          if (ok) established(conn);
          else fail('connect_fail');
        }, settings.http2);
      });
      return attempt;
    }
    const s = h2connect(`${this.#scheme}://${formatHostPort(this.address, this.port)}`, {
      createConnection: () => socket,
      settings: { enablePush: false },
    });
    session = s;
    s.once('error', () => fail('connect_fail'));
    s.once('connect', () => {
      if (settled) return;
      established(new Http2Connection(s, this.#scheme, this, stats, cluster.codec, this.#maxStreams, settings.http2?.keepalive));
    });
    return attempt;
  }

  capacityChanged(_conn: PooledH2Connection): void {
    this.#serve();
    this.#armSweep();
  }

  closed(conn: PooledH2Connection): void {
    const i = this.#conns.indexOf(conn);
    if (i < 0) return;
    this.#conns.splice(i, 1);
    this.#cluster.stats.dec('upstream_cx_active');
    this.#cluster.releaseConnection();
    this.#serve();
  }

  /** Closes one idle connection to make room elsewhere in the cluster; false when none. */
  evictIdle(): boolean {
    const c = this.#conns.find((x) => x.active === 0);
    if (!c) return false;
    c.destroy();
    return true;
  }

  #armSweep(): void {
    const ms = this.#cluster.settings.idleTimeoutMs;
    if (this.#sweep !== null || !(ms > 0)) return;
    let oldest = Infinity;
    // Indexed: this runs at each stream's end, and a for-of's iterator was an object per request.
    const conns = this.#conns;
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i]!;
      if (c.active === 0 && c.idleSince > 0 && c.idleSince < oldest) oldest = c.idleSince;
    }
    if (oldest === Infinity) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      const now = performance.now();
      for (const c of [...this.#conns]) {
        if (c.active === 0 && c.idleSince > 0 && now - c.idleSince >= ms) {
          this.#cluster.stats.inc('upstream_cx_idle_timeout');
          c.close();
        }
      }
      this.#armSweep();
    }, Math.max(1, Math.ceil(oldest + ms - performance.now())));
    this.#sweep.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#sweep !== null) clearTimeout(this.#sweep);
    this.#sweep = null;
    for (const c of [...this.#conns]) c.close();
  }

  destroyAll(): void {
    this.close();
    for (const w of [...this.#waiters]) {
      this.#take(w);
      w.callbacks.onPoolFailure('overflow');
    }
    for (const c of [...this.#conns]) c.destroy();
  }
}
