// The seam between a listener's accepted sockets and the HTTP/1.1 connection that reads them
// (Envoy's downstream transport socket): plain TCP (raw.ts), TLS (tls.ts), or either by the
// first bytes (permissive.ts), chosen per listener. A transport takes over the accepted socket
// and starts the connection once bytes may be read as HTTP, with what the connection's TLS
// established; a connection whose handshake fails is never started (counted and logged instead).
import type { Socket } from 'node:net';
import type { ConnectionSecurity } from '../../tls/connection-security.js';

/** The connection's read side: bytes as they arrive (a view valid only during the call). */
export interface ConnectionReader {
  onRead(bytes: Uint8Array): void;
}

/**
 * What ConnectionStart returns when it handed the socket to a reader of its own (an HTTP/2
 * session, which reads the socket's handle itself): the transport then attaches no reader.
 */
export const SOCKET_TAKEN: ConnectionReader = Object.freeze({ onRead(): void {} });

/**
 * Starts the HTTP connection over `socket` (the one to write to); `security` is null on a raw
 * transport (no TLS anywhere on the port), else what this connection's TLS established.
 */
export type ConnectionStart = (socket: Socket, security: ConnectionSecurity | null) => ConnectionReader;

export interface DownstreamTransport {
  readonly kind: 'raw' | 'tls' | 'permissive';
  /** Takes over a socket accepted paused (pauseOnConnect); calls `start` at most once. */
  accept(accepted: Socket, start: ConnectionStart): void;
  /** Stops any per-connection handshake state (listener closing). */
  close(): void;
}
