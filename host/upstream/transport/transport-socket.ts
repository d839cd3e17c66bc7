// The seam between a connection pool and the bytes on the wire (Envoy's TransportSocketFactory):
// the pool asks its cluster's factory for each connection's socket and speaks its protocol over
// whatever comes back: plain TCP (raw.ts) or TLS (tls.ts, a tls.TLSSocket, which is a
// net.Socket), chosen per cluster, unknown to the pool.
import type { Socket } from 'node:net';

/** How one upstream connection's socket is made. */
export interface TransportSocketOptions {
  /**
   * Reads land in `buffer` and go to `callback` (net's `onread`): no Buffer per read. The bytes
   * are valid only during the call; returning false pauses the socket. Absent: the socket's
   * ordinary reads (HTTP/2, whose session reads the socket itself).
   */
  readonly onread?: { readonly buffer: Uint8Array; readonly callback: (bytesRead: number, buffer: Uint8Array) => boolean };
  /** Disables Nagle's algorithm (TCP_NODELAY). */
  readonly noDelay: boolean;
  /** TCP keepalive: idle time before the first probe (Istio tcp.tcpKeepalive.time); null = off. */
  readonly keepAlive: { readonly timeMs: number } | null;
  /** The DNS name the address was resolved from (Endpoint.hostname): TLS's SNI when the cluster sets none. */
  readonly hostname?: string;
  /** Keeps writing after the peer's end (a byte proxy passes half-closes on); default false. */
  readonly allowHalfOpen?: boolean;
}

export interface TransportSocketFactory {
  /**
   * The socket event after which application bytes may flow: net's `connect`; a TLS socket's
   * `secureConnect`, once the handshake has verified the peer. Until then the pool counts the
   * connection as connecting (and its connect timeout runs).
   */
  readonly readyEvent: 'connect' | 'secureConnect';
  /**
   * Starts connecting to `host:port` and returns the socket at once; connect and handshake
   * failures arrive as its `error` event (the pool maps them to connect_fail).
   */
  connect(host: string, port: number, options: TransportSocketOptions): Socket;
  /** Stops what the factory follows (a workload certificate source); the cluster is gone. */
  close?(): void;
}
