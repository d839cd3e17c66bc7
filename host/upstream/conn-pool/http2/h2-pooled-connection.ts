// What the HTTP/2 pool (http2-conn-pool.ts) needs of one of its connections, whichever codec
// carries it: node:http2's ClientHttp2Session (http2-connection.ts) or the core codec's frames and
// HPACK (core-h2-upstream-connection.ts). The pool hands out streams, counts them against the
// connection's capacity and maxRequestsPerConnection, drains and closes.
import type { UpstreamStream } from '../conn-pool.js';

export interface PooledH2Connection {
  /** Streams handed out and not yet done. */
  readonly active: number;
  /** Streams handed out over the connection's life (maxRequestsPerConnection). */
  readonly started: number;
  /** When it last became idle (performance.now()), for the idle timeout; 0 while busy. */
  readonly idleSince: number;
  /** GOAWAY received, or the request limit reached: no new stream. */
  draining: boolean;
  /** It may take a new stream now. */
  readonly ready: boolean;
  /** A stream on this connection (the caller checked `ready`). */
  newStream(): UpstreamStream & { releaseUnstarted(): void };
  /** Graceful: in-flight streams finish, then it closes. */
  close(): void;
  /** Closes at once, failing the streams on it. */
  destroy(): void;
}

/** What a connection reports back to its endpoint pool. */
export interface H2ConnectionOwner {
  /** A stream slot freed (or the connection's capacity changed): waiters may take it. */
  capacityChanged(conn: PooledH2Connection): void;
  /** The connection is gone (its streams are failed or done). */
  closed(conn: PooledH2Connection): void;
}
