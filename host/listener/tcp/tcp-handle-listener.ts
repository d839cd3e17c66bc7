// The TCP listener kind on Node's raw TCP server handle (the byte proxy's handle transport):
// what tcp-listener.ts does with a net.Server — accepted connections handed over paused (no read
// before the handler has an upstream), half-open allowed, TCP_NODELAY, at most maxConnections
// at once (0: no limit; beyond: closed at accept, as net.Server's maxConnections) — with each accepted
// connection a HandleSocket instead of a net.Socket.
import { isIP } from 'node:net';
import type { Listener } from '../listener.js';
import { HandleSocket, uvError } from './handle-socket.js';
import type { TcpHandle, TcpHandleBinding } from './tcp-handle-binding.js';
import type { TcpListenerOptions } from './tcp-listener.js';

/** Node's listen backlog (net.Server's default). */
const BACKLOG = 511;

export class TcpHandleListener implements Listener {
  readonly #binding: TcpHandleBinding;
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #onConnection: (socket: HandleSocket) => void;
  readonly #maxConnections: number;
  readonly #sockets = new Set<HandleSocket>();
  #server: TcpHandle | null = null;
  #port = 0;

  /** `host` must be an IP address (tcpHandleListenable). */
  constructor(binding: TcpHandleBinding, host: string, port: number, onConnection: (socket: HandleSocket) => void, opts: TcpListenerOptions) {
    if (isIP(host) === 0) throw new Error(`TCP handle listener: ${host} is not an IP address (a name needs net.Server's lookup)`);
    this.#binding = binding;
    this.#host = host;
    this.#requestedPort = port;
    this.#onConnection = onConnection;
    this.#maxConnections = opts.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  /** Open connections (accepted, not yet closed). */
  get connections(): number {
    return this.#sockets.size;
  }

  listen(): Promise<void> {
    const server = this.#binding.newServerHandle();
    const where = `${this.#host}:${this.#requestedPort}`;
    let err = isIP(this.#host) === 6 ? server.bind6(this.#host, this.#requestedPort, 0) : server.bind(this.#host, this.#requestedPort);
    let syscall = 'bind';
    if (err === 0) {
      syscall = 'listen';
      err = server.listen(BACKLOG);
    }
    if (err !== 0) {
      server.close();
      const e = uvError(err, syscall);
      e.message = `${e.message} ${where}`;
      return Promise.reject(e);
    }
    const out: { port?: number } = {};
    server.getsockname(out);
    this.#port = out.port ?? this.#requestedPort;
    const sockets = this.#sockets;
    // One handler for every socket ('close' comes once; `this` is the socket).
    const forget = function (this: HandleSocket): void {
      sockets.delete(this);
    };
    server.onconnection = (status, client) => {
      if (status !== 0 || client === undefined) return;
      if (this.#maxConnections > 0 && sockets.size >= this.#maxConnections) {
        client.close();
        return;
      }
      client.setNoDelay(true);
      const s = new HandleSocket(this.#binding, client, { paused: true });
      sockets.add(s);
      s.on('close', forget);
      this.#onConnection(s);
    };
    this.#server = server;
    return Promise.resolve();
  }

  stopAccepting(): void {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    server.onconnection = null;
    server.close();
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
