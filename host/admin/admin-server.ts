// The admin API (Envoy's /ready, /config_dump, /stats, /clusters) on its own loopback port.
// It is off the hot path, so it uses node:http: a few requests a minute from operators and
// probes, where clarity beats speed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenError } from '../control/listen-error.js';

/** What the admin API shows; the composition root wires these to the manager and proxy. */
export interface AdminSources {
  /** true once a config is applied and the listener is up. */
  ready(): boolean;
  configDump(): unknown;
  statsText(): string;
  statsJson(): unknown;
  clustersText(): string;
  clustersJson(): unknown;
}

export interface AdminServerOptions {
  /** Loopback by default: the admin API shows the whole config and must not face the network. */
  host?: string;
  port: number;
  sources: AdminSources;
}

interface Endpoint {
  path: string;
  help: string;
  handle(url: URL, res: ServerResponse): void;
}

export class AdminServer {
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #sources: AdminSources;
  readonly #endpoints: Endpoint[];
  #server: Server | null = null;

  constructor(options: AdminServerOptions) {
    this.#host = options.host ?? '127.0.0.1';
    this.#requestedPort = options.port;
    this.#sources = options.sources;
    const s = this.#sources;
    this.#endpoints = [
      { path: '/', help: 'this index', handle: (_u, res) => this.#index(res) },
      {
        path: '/ready',
        help: 'LIVE (200) once config is loaded and the listener is up, else 503',
        handle: (_u, res) => (s.ready() ? send(res, 200, 'text/plain', 'LIVE\n') : send(res, 503, 'text/plain', 'PRE_INITIALIZING\n')),
      },
      {
        path: '/config_dump',
        help: 'JSON: version, resources, mesh, warnings, lastError, loadedAt',
        handle: (_u, res) => sendJson(res, s.configDump()),
      },
      {
        path: '/stats',
        help: 'counters and gauges, Envoy text format (?format=json for JSON)',
        handle: (u, res) => (u.searchParams.get('format') === 'json' ? sendJson(res, s.statsJson()) : send(res, 200, 'text/plain', s.statsText())),
      },
      {
        path: '/clusters',
        help: 'clusters and their endpoints with health (?format=json for JSON)',
        handle: (u, res) => (u.searchParams.get('format') === 'json' ? sendJson(res, s.clustersJson()) : send(res, 200, 'text/plain', s.clustersText())),
      },
    ];
  }

  /** The bound port (useful after listening on port 0). */
  get port(): number {
    const addr = this.#server?.address() as AddressInfo | null | undefined;
    return addr?.port ?? this.#requestedPort;
  }

  get host(): string {
    return this.#host;
  }

  listen(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    // Probes keep connections open; do not let them hold the process at shutdown.
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.#server = null;
        reject(listenError(err, 'admin', this.#host, this.#requestedPort));
      });
      server.listen(this.#requestedPort, this.#host, () => resolve());
    });
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin');
    } catch {
      send(res, 400, 'text/plain', 'bad request target\n');
      return;
    }
    const endpoint = this.#endpoints.find((e) => e.path === url.pathname);
    if (!endpoint) {
      send(res, 404, 'text/plain', `no admin endpoint ${url.pathname}; see / for the list\n`);
      return;
    }
    // Every endpoint here only reads; Envoy too answers reads to GET (and HEAD).
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain', `${endpoint.path} answers GET only\n`);
      return;
    }
    try {
      endpoint.handle(url, res);
    } catch (err) {
      send(res, 500, 'text/plain', `admin ${endpoint.path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  #index(res: ServerResponse): void {
    const lines = ['wasmesh admin', ''];
    for (const e of this.#endpoints) lines.push(`  ${e.path.padEnd(14)}${e.help}`);
    send(res, 200, 'text/plain', lines.join('\n') + '\n');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(value, null, 2) + '\n');
}
