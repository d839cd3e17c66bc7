// The off-data-path HTTP ports (admin API, the sidecar's health port) on uWebSockets.js: small
// synchronous GET handlers where uWS serves well — every request is answered from memory in the
// callback, copied out of uWS's request first, written in one cork. (uWS is not the data path's
// listener: it cannot refuse what its own parser accepts; docs/architecture.md.) A bind failure
// is explained by a probe bind with node:net, since uWS reports none.
import uws from 'uWebSockets.js';
import { createServer } from 'node:net';
import { listenError } from './listen-error.js';

/** What a handler sees of a request (copied out of uWS synchronously). */
export interface PortRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** The query string without `?` ('' when none). */
  query: string;
  /** Header value by lower-case name ('' when absent). */
  header(name: string): string;
}

export interface PortResponse {
  status: number;
  body: string;
  type?: string;
  headers?: ReadonlyArray<readonly [string, string]>;
}

const REASON: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export class UwsHttpPort {
  readonly #role: string;
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #handle: (req: PortRequest) => PortResponse;
  #app: uws.TemplatedApp | null = null;
  #token: uws.us_listen_socket | null = null;
  #port = 0;

  constructor(role: string, host: string, port: number, handle: (req: PortRequest) => PortResponse) {
    this.#role = role;
    this.#host = host;
    this.#requestedPort = port;
    this.#handle = handle;
  }

  get port(): number {
    return this.#port || this.#requestedPort;
  }

  get listening(): boolean {
    return this.#token !== null;
  }

  listen(): Promise<void> {
    const app = uws.App().any('/*', (res, req) => this.#serve(res, req));
    this.#app = app;
    return new Promise((resolve, reject) => {
      app.listen(this.#host, this.#requestedPort, (token) => {
        if (token) {
          this.#token = token;
          this.#port = uws.us_socket_local_port(token);
          resolve();
          return;
        }
        this.#app = null;
        // uWS says only that it failed: a node:net bind of the same address says why.
        const probe = createServer();
        probe.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, this.#role, this.#host, this.#requestedPort)));
        probe.listen(this.#requestedPort, this.#host, () => probe.close(() => reject(listenError({ name: 'Error', message: 'uWebSockets.js could not listen', code: 'EUNKNOWN' }, this.#role, this.#host, this.#requestedPort))));
      });
    });
  }

  #serve(res: uws.HttpResponse, req: uws.HttpRequest): void {
    // uWS ends the process when a handler returns with neither an answer nor an abort handler.
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const headers = new Map<string, string>();
    req.forEach((k, v) => {
      if (!headers.has(k)) headers.set(k, v);
    });
    const request: PortRequest = {
      method: req.getMethod().toUpperCase(),
      path: req.getUrl(),
      query: req.getQuery() ?? '',
      header: (name) => headers.get(name) ?? '',
    };
    let answer: PortResponse;
    try {
      answer = this.#handle(request);
    } catch (err) {
      answer = { status: 500, body: `${this.#role}: ${err instanceof Error ? err.message : String(err)}\n` };
    }
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(`${answer.status} ${REASON[answer.status] ?? 'Status'}`);
      res.writeHeader('content-type', answer.type ?? 'text/plain; charset=utf-8');
      res.writeHeader('cache-control', 'no-cache');
      for (const [n, v] of answer.headers ?? []) res.writeHeader(n, v);
      if (request.method === 'HEAD') res.endWithoutBody(Buffer.byteLength(answer.body));
      else res.end(answer.body);
    });
  }

  /** Stops accepting and closes every connection (keep-alive probes must not hold shutdown up). */
  close(): Promise<void> {
    if (this.#token) uws.us_listen_socket_close(this.#token);
    this.#token = null;
    const app = this.#app as unknown as { close?: () => void } | null;
    this.#app = null;
    app?.close?.();
    return Promise.resolve();
  }
}
