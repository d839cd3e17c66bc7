// The sidecar's health port (Istio's 15021): `GET /healthz/ready` answers 200 when the sidecar can
// serve and 503 otherwise, as pilot-agent does, so kubelet readiness probes and the image's
// HEALTHCHECK can ask it without reaching the loopback-only admin API. Nothing else is served.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';

export const READY_PATH = '/healthz/ready';

export interface HealthServerOptions {
  host: string;
  port: number;
  /** null when ready; otherwise why not (shown in the 503 body, for whoever debugs a probe). */
  notReadyReason(): string | null;
}

export class HealthServer {
  readonly #opts: HealthServerOptions;
  #server: Server | null = null;

  constructor(options: HealthServerOptions) {
    this.#opts = options;
  }

  /** The bound port (the OS's pick after listening on port 0). */
  get port(): number {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    return addr?.port ?? this.#opts.port;
  }

  listen(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    // Probes come every few seconds; an idle probe connection must not hold shutdown up.
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    return listenHttpServer(server, 'health', this.#opts.host, this.#opts.port).catch((err: unknown) => {
      this.#server = null;
      throw err;
    });
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    return server ? closeHttpServer(server) : Promise.resolve();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== READY_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      send(res, 404, `not found: the health port serves GET ${READY_PATH} only\n`);
      return;
    }
    const reason = this.#opts.notReadyReason();
    if (reason === null) send(res, 200, '');
    else send(res, 503, `not ready: ${reason}\n`);
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
