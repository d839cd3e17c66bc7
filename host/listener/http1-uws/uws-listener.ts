// The uWebSockets.js HTTP/1.1 listener: one uWS app whose every request becomes a Downstream
// (host/listener/downstream.ts) handed to the connection manager, so handlers never see uWS.
//
// uWS parses request heads itself, before wasmesh sees them, and refuses on its own terms:
// more than 48 header lines or a head over ~128 KiB closes the connection without a response
// (so such requests cannot get a 431), a malformed request line or header, or a missing Host
// on HTTP/1.1, also closes the connection. wasmesh's own limits (Limits.maxRequestHeadBytes,
// maxRequestHeaders) apply to what uWS lets through and answer 431.
import uws from 'uWebSockets.js';
import type { Downstream } from '../downstream.js';
import type { Listener, RequestHandler } from '../listener.js';
import { UwsDownstream } from './uws-downstream.js';

export class UwsListener implements Listener {
  readonly #app: uws.TemplatedApp;
  readonly #host: string;
  readonly #requestedPort: number;
  #token: uws.us_listen_socket | null = null;
  #port = 0;

  constructor(host: string, port: number, onRequest: RequestHandler) {
    this.#host = host;
    this.#requestedPort = port;
    this.#app = uws.App().any('/*', (res, req) => {
      onRequest(new UwsDownstream(res, req) as Downstream);
    });
  }

  get port(): number {
    return this.#port;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#app.listen(this.#host, this.#requestedPort, (token) => {
        if (!token) {
          reject(new Error(`wasmesh: cannot listen on ${this.#host}:${this.#requestedPort} (LISTEN_FAILED)`));
          return;
        }
        this.#token = token;
        this.#port = uws.us_socket_local_port(token);
        resolve();
      });
    });
  }

  /** Stops accepting new connections; open connections are left to the proxy to finish. */
  stopAccepting(): void {
    if (this.#token) {
      uws.us_listen_socket_close(this.#token);
      this.#token = null;
    }
  }

  /** Closes every connection (uWS `close()` on the app, when this uWS build has it). */
  closeAll(): void {
    const app = this.#app as unknown as { close?: () => void };
    if (typeof app.close === 'function') app.close();
  }
}
