// The listener seam: a socket that accepts connections and hands each request to the connection
// manager as a Downstream. One implementation per kind (http1/ today).
import type { Downstream } from './downstream.js';

export type RequestHandler = (downstream: Downstream) => void;

export interface Listener {
  /** The bound port (after listen()). */
  readonly port: number;
  listen(): Promise<void>;
  /** Stops accepting new connections; open ones are left to the streams to finish. */
  stopAccepting(): void;
  /**
   * Envoy's drain: stops accepting, and the open connections end at their next natural point
   * (HTTP: after the response under way, `connection: close` / GOAWAY; TCP: when either side closes).
   */
  drain(): void;
  /** Closes every connection at once. */
  closeAll(): void;
}

/** Node's TCP handle object behind a listening net.Server (`_handle`): its descriptor. */
export interface TcpHandle {
  readonly fd: number;
}
