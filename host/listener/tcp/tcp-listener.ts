// The TCP listener kind: a plain net.Server whose accepted sockets are handed over raw, half-open
// allowed (a FIN from the client is passed on, not answered with a close) and paused until the
// handler has an upstream (Envoy's tcp_proxy reads nothing before it is connected).
import { createServer, type Server, type Socket } from 'node:net';
import type { Listener } from '../listener.js';

export type ConnectionHandler = (socket: Socket) => void;

export interface TcpListenerOptions {
  /** Accepted connections at once at most (Envoy's overload manager / listener limit); beyond: closed at accept. */
  maxConnections: number;
}

export class TcpListener implements Listener {
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(host: string, port: number, onConnection: ConnectionHandler, opts: TcpListenerOptions) {
    this.#host = host;
    this.#requestedPort = port;
    const sockets = this.#sockets;
    // One handler for every socket ('close' comes once; `this` is the socket), not a closure and a once-wrapper each.
    const forget = function (this: Socket): void {
      sockets.delete(this);
    };
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      sockets.add(socket);
      socket.on('close', forget);
      onConnection(socket);
    });
    this.#server.maxConnections = opts.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  /** Open connections (accepted, not yet closed). */
  get connections(): number {
    return this.#sockets.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#host, port: this.#requestedPort, exclusive: true }, () => {
        this.#server.off('error', onError);
        const a = this.#server.address();
        this.#port = typeof a === 'object' && a !== null ? a.port : this.#requestedPort;
        resolve();
      });
    });
  }

  stopAccepting(): void {
    if (this.#server.listening) this.#server.close();
  }

  /** TCP has no message boundary to close at: the sessions run on until either side closes. */
  drain(): void {
    this.stopAccepting();
  }

  closeAll(): void {
    this.stopAccepting();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }
}
