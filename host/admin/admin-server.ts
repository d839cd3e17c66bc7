// The admin API (Envoy's /ready, /config_dump, /stats, /clusters) on its own loopback port.
// It is off the hot path, so it uses node:http: a few requests a minute from operators and
// probes, where clarity beats speed. Envoy's query parameters are served with Envoy's meaning
// where they apply (/stats filter, usedonly, format; /config_dump resource); any other is
// answered 400 naming it, rather than silently ignored.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';
import type { StatRecord } from '../telemetry/stats.js';
import { compileSearch } from '../compile/regex/search-regex.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text.js';

/** What the admin API shows; the composition root wires these to the manager and proxy. */
export interface AdminSources {
  /** true once a config is applied and the listener is up. */
  ready(): boolean;
  configDump(): unknown;
  /** Every stat (data path and control shell); the admin API filters and formats them. */
  stats(): StatRecord[];
  clustersText(): string;
  clustersJson(): unknown;
}

export interface AdminServerOptions {
  /** Loopback by default: the admin API shows the whole config and must not face the network. */
  host?: string;
  port: number;
  sources: AdminSources;
}

/** A request whose query the endpoint cannot serve: answered 400 with the message. */
class BadQuery extends Error {}

interface Endpoint {
  path: string;
  help: string;
  /** The query parameters it serves; any other is a 400. */
  params: readonly string[];
  handle(url: URL, res: ServerResponse): void;
}

const STATS_FORMATS = ['text', 'json', 'prometheus'] as const;
type StatsFormat = (typeof STATS_FORMATS)[number];

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
      { path: '/', help: 'this index', params: [], handle: (_u, res) => this.#index(res) },
      {
        path: '/ready',
        help: 'LIVE (200) once config is loaded and the listener is up, else 503',
        params: [],
        handle: (_u, res) => (s.ready() ? send(res, 200, 'text/plain', 'LIVE\n') : send(res, 503, 'text/plain', 'PRE_INITIALIZING\n')),
      },
      {
        path: '/config_dump',
        help: 'JSON: version, resources, mesh, warnings, lastError, loadedAt (?resource=<repeated field>: {configs: [...]})',
        params: ['resource'],
        handle: (u, res) => sendJson(res, configDumpResource(s.configDump(), u.searchParams.get('resource'))),
      },
      {
        path: '/stats',
        help: 'counters and gauges, Envoy text format (?format=json|prometheus, ?filter=<RE2 regex>, ?usedonly)',
        params: ['filter', 'usedonly', 'format'],
        handle: (u, res) => this.#stats(u, res, statsFormat(u.searchParams.get('format'))),
      },
      {
        path: '/stats/prometheus',
        help: 'the stats in Prometheus text format (?filter=<RE2 regex>, ?usedonly)',
        params: ['filter', 'usedonly'],
        handle: (u, res) => this.#stats(u, res, 'prometheus'),
      },
      {
        path: '/clusters',
        help: 'clusters and their endpoints with health (?format=json for JSON)',
        params: ['format'],
        handle: (u, res) => {
          const format = u.searchParams.get('format');
          if (format !== null && format !== 'json' && format !== 'text') throw new BadQuery(`unknown format '${format}' for /clusters; known: text, json`);
          if (format === 'json') sendJson(res, s.clustersJson());
          else send(res, 200, 'text/plain', s.clustersText());
        },
      },
    ];
  }

  /** /stats in `format`, narrowed by `filter` (RE2, partial match) and `usedonly`, as Envoy's. */
  #stats(u: URL, res: ServerResponse, format: StatsFormat): void {
    const filter = u.searchParams.get('filter');
    let match: ((name: string) => boolean) | null = null;
    if (filter !== null && filter !== '') {
      try {
        match = compileSearch(filter);
      } catch (err) {
        throw new BadQuery(`bad filter for ${u.pathname}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // Envoy takes `usedonly` by presence (`?usedonly`, `?usedonly=`): any value means it.
    const usedOnly = u.searchParams.has('usedonly');
    const records = this.#sources.stats().filter((r) => (!usedOnly || r.used) && (match === null || match(r.name)));
    if (format === 'json') sendJson(res, Object.fromEntries(records.map((r) => [r.name, r.value])));
    else if (format === 'prometheus') send(res, 200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(records));
    else send(res, 200, 'text/plain', records.map((r) => `${r.name}: ${r.value}\n`).join(''));
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
    return listenHttpServer(server, 'admin', this.#host, this.#requestedPort).catch((err: unknown) => {
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
    // DNS rebinding: a page in a browser on this machine can make a name it controls resolve to
    // 127.0.0.1 and read the answers (the whole config, certificates later). Only an IP address
    // or `localhost` as Host is answered: a rebound name never is.
    if (!adminHostAllowed(req.headers.host)) {
      send(res, 403, 'text/plain', `admin API: Host ${JSON.stringify(req.headers.host ?? '')} is refused; use an IP address or localhost (protection against DNS rebinding)\n`);
      return;
    }
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
    // A parameter it does not serve would otherwise be ignored: `?fliter=` returning every stat.
    const unknown = [...new Set(url.searchParams.keys())].find((k) => !endpoint.params.includes(k));
    if (unknown !== undefined) {
      const known = endpoint.params.length === 0 ? 'it takes none' : `known: ${endpoint.params.join(', ')}`;
      send(res, 400, 'text/plain', `unknown query parameter '${unknown}' for ${endpoint.path}; ${known}\n`);
      return;
    }
    try {
      endpoint.handle(url, res);
    } catch (err) {
      if (err instanceof BadQuery) send(res, 400, 'text/plain', `${err.message}\n`);
      else send(res, 500, 'text/plain', `admin ${endpoint.path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  #index(res: ServerResponse): void {
    const lines = ['wasmesh admin', ''];
    for (const e of this.#endpoints) lines.push(`  ${e.path.padEnd(19)}${e.help}`);
    send(res, 200, 'text/plain', lines.join('\n') + '\n');
  }
}

/** An IP literal (IPv4, or bracketed IPv6) or `localhost`, with an optional port. */
const ADMIN_HOST = /^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/i;

/** Whether a Host field may reach the admin API (see #handle). */
export function adminHostAllowed(host: string | undefined): boolean {
  return host !== undefined && ADMIN_HOST.test(host);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(value, null, 2) + '\n');
}

function statsFormat(format: string | null): StatsFormat {
  if (format === null) return 'text';
  if ((STATS_FORMATS as readonly string[]).includes(format)) return format as StatsFormat;
  throw new BadQuery(`unknown format '${format}' for /stats; known: ${STATS_FORMATS.join(', ')}`);
}

/**
 * Envoy's `/config_dump?resource=<field>`: the elements of one repeated field of the dump, as
 * `{ configs: [...] }`. Ours are the dump's own lists (resources, warnings, files) and the
 * resolved mesh's (virtualHosts, clusters); a field that is not one of them is a 400 naming it.
 */
function configDumpResource(dump: unknown, resource: string | null): unknown {
  if (resource === null) return dump;
  const sections = new Map<string, unknown[]>();
  const collect = (o: unknown) => {
    if (o === null || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) if (Array.isArray(v) && !sections.has(k)) sections.set(k, v);
  };
  collect(dump);
  collect((dump as { mesh?: unknown } | null)?.mesh);
  const list = sections.get(resource);
  if (list === undefined) throw new BadQuery(`unknown resource '${resource}' for /config_dump; known: ${[...sections.keys()].join(', ')}`);
  return { configs: list };
}
