// One pooled HTTP/2 connection to an endpoint (a node:http2 ClientHttp2Session over the
// cluster's transport socket), carrying many streams at once: its capacity is the lower of the
// cluster's maxConcurrentStreams and the server's SETTINGS_MAX_CONCURRENT_STREAMS, and it takes
// no new stream once it has served maxRequestsPerConnection or received GOAWAY (draining: the
// streams in flight finish, then it closes).
import type { ClientHttp2Session } from 'node:http2';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import { Http2Stream } from './http2-stream.js';
import type { H2ConnectionOwner, PooledH2Connection } from './h2-pooled-connection.js';
import type { H2KeepaliveSettings, H2Keepalive } from '../../../core/h2/h2-keepalive.js';
import { nodeH2Keepalive } from './node-h2-keepalive.js';

/** What a connection reports back to its endpoint pool. */
export type Http2ConnectionOwner = H2ConnectionOwner;

export class Http2Connection implements PooledH2Connection {
  readonly session: ClientHttp2Session;
  readonly scheme: 'http' | 'https';
  readonly stats: ClusterStats;
  readonly codec: Http1Codec;
  /** Streams handed out and not yet done. */
  active = 0;
  /** Streams handed out over the connection's life (maxRequestsPerConnection). */
  started = 0;
  /** When it last became idle (performance.now()), for the idle timeout. */
  idleSince = 0;
  /** GOAWAY received, or the request limit reached: no new stream. */
  draining = false;
  /** A session error (not a peer's RST_STREAM) ended it. */
  closedByError = false;
  #closed = false;
  /** GOAWAY's last-stream-id: streams above it were never processed (-1: no GOAWAY). */
  #goawayLast = -1;
  readonly #owner: Http2ConnectionOwner;
  readonly #maxStreams: number;

  /** The upstream's SETTINGS arrived (its ENABLE_CONNECT_PROTOCOL is known). */
  settingsReceived = false;
  /** PING keepalive (node-h2-keepalive.ts), or null when the cluster sets none. */
  readonly keepalive: H2Keepalive | null;

  constructor(session: ClientHttp2Session, scheme: 'http' | 'https', owner: Http2ConnectionOwner, stats: ClusterStats, codec: Http1Codec, maxConcurrentStreams: number, keepalive?: Readonly<H2KeepaliveSettings>) {
    this.session = session;
    this.scheme = scheme;
    this.#owner = owner;
    this.stats = stats;
    this.codec = codec;
    this.#maxStreams = maxConcurrentStreams;
    this.idleSince = performance.now();
    this.keepalive = nodeH2Keepalive(session, keepalive, stats);
    session.on('remoteSettings', () => {
      this.settingsReceived = true;
      owner.capacityChanged(this);
    });
    session.on('goaway', (_code: number, lastStreamId: number) => {
      this.#goawayLast = lastStreamId;
      this.stats.incDynamic('upstream_cx_close_notify');
      this.draining = true;
      owner.capacityChanged(this);
    });
    session.on('error', () => {
      this.closedByError = true;
    });
    session.on('close', () => this.#onClose());
  }

  get closed(): boolean {
    return this.#closed || this.session.destroyed || this.session.closed;
  }

  /** Streams this connection may carry at once now. */
  get capacity(): number {
    const remote = this.session.remoteSettings?.maxConcurrentStreams;
    return remote !== undefined && remote < this.#maxStreams ? remote : this.#maxStreams;
  }

  /** It may take a new stream now. */
  get ready(): boolean {
    return !this.draining && !this.closed && this.active < this.capacity;
  }

  /** A stream on this connection (the caller checked `ready`). */
  newStream(): Http2Stream {
    this.keepalive?.beforeStream();
    this.active++;
    this.started++;
    this.idleSince = 0;
    return new Http2Stream(this);
  }

  /** The stream with `id` lies above a GOAWAY's last-stream-id: the server never processed it. */
  refused(id: number | undefined): boolean {
    return this.#goawayLast >= 0 && (id === undefined || id > this.#goawayLast);
  }

  /** @internal (Http2Stream) its exchange is over. */
  streamDone(_stream: Http2Stream): void {
    this.active--;
    if (this.active === 0) this.idleSince = performance.now();
    if (this.draining && this.active === 0) {
      this.close();
      return;
    }
    this.#owner.capacityChanged(this);
  }

  /** Graceful: GOAWAY to the server, in-flight streams finish, then the session closes. */
  close(): void {
    if (this.#closed) return;
    this.draining = true;
    if (this.active === 0) {
      this.stats.inc('upstream_cx_destroy_local');
      this.session.close();
      this.session.destroy();
      this.#onClose();
      return;
    }
    this.session.close();
  }

  /** Destroys the session and every stream on it. */
  destroy(): void {
    if (this.#closed) return;
    this.draining = true;
    this.stats.inc('upstream_cx_destroy_local');
    this.session.destroy();
    // Released now, as HTTP/1's destroy does: the session's 'close' event comes a turn later,
    // when a pool being torn down may already have freed its cluster's breaker.
    this.#onClose();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.draining = true;
    this.#owner.closed(this);
  }
}
