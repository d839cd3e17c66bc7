// The admin API (Envoy's /ready, /config_dump, /stats, /clusters, /server_info, /listeners, and
// the POST-only /logging, /reset_counters, /quitquitquit; docs/operator-commands.md) on its own loopback port, on
// uWebSockets.js (host/common/uws-http-port.ts): a few synchronous reads a minute from operators
// and probes, each answered from memory inside uWS's callback. Envoy's query parameters are served with Envoy's meaning
// where they apply (/stats filter, usedonly, format; /config_dump resource); any other is
// answered 400 naming it, rather than silently ignored.
import { UwsHttpPort, type PortRequest, type PortResponse } from '../common/uws-http-port.js';
import type { StatRecord } from '../telemetry/stats.js';
import { compileSearch } from '../compile/regex/search-regex.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text.js';
import { renderIstioPrometheus } from './istio-prometheus-text.js';
import type { IstioSnapshot } from '../telemetry/istio-metrics.js';
import type { MetricsOverrides } from '../model/metrics-overrides.js';
import { configDumpResource as envoyDumpResource } from './envoy-config-dump.js';
import { loggingEndpoint } from './logging-endpoint.js';
import type { LogLevels } from '../common/log-levels.js';
import { listenersJson, listenersText, type ListenerStatus } from './listeners-status.js';

/** What the admin API shows; the composition root wires these to the manager and proxy. */
export interface AdminSources {
  /** true once a config is applied and the listener is up. */
  ready(): boolean;
  /** Why /ready answers 503 (shown after PRE_INITIALIZING); absent: no reason given. */
  notReadyReason?(): string | null;
  /** wasmesh's own dump (version, Istio resources, resolved mesh, warnings, lastError): `/config_dump?format=wasmesh`. */
  configDump(): unknown;
  /** Envoy's admin.v3.ConfigDump of the applied config (host/admin/envoy-config-dump.ts); endpoints only with includeEds. */
  envoyConfigDump(includeEds: boolean): { configs: Array<Record<string, unknown>> };
  /** /server_info: Envoy's admin.v3.ServerInfo. */
  serverInfo?(): unknown;
  /** /listeners: each listener's name and bound address. */
  listeners?(): ListenerStatus[];
  /** /logging: the operational log's loggers (absent: /logging is 404). */
  logLevels?: LogLevels;
  /** /reset_counters: every counter reads 0 from now on (absent: 404). */
  resetCounters?(): void;
  /** /quitquitquit: a graceful exit, called once the answer is written (absent: 404). */
  quit?(): void;
  /** Every stat (data path and control shell); the admin API filters and formats them. */
  stats(): StatRecord[];
  clustersText(): string;
  /** /clusters?format=wasmesh: wasmesh's own cluster status ({clusters: ClusterStatus[]}). */
  clustersJson(): unknown;
  /** /clusters?format=json: Envoy's admin.v3.Clusters (host/admin/clusters-json.ts). */
  envoyClustersJson(): unknown;
  /** /certs: Envoy's admin.v3.Certificates JSON; absent: no certificates (`{ "certificates": [] }`). */
  certs?(): unknown;
  /** Istio's standard metrics (istio_*), appended to the Prometheus format; absent: none. */
  istio?(): IstioSnapshot;
  /** The current config's Telemetry API metrics overrides (absent or undefined: none). */
  istioOverrides?(): MetricsOverrides | undefined;
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
  /** POST: the endpoint changes state, and Envoy answers any other method 405 (POST required). */
  method?: 'POST';
  /** Its query parameters are its own (/logging: `?<logger>=<level>`); none is refused. */
  anyParams?: boolean;
  /** The query parameters it serves; any other is a 400. */
  params: readonly string[];
  handle(url: URL): PortResponse;
}

const STATS_FORMATS = ['text', 'json', 'prometheus'] as const;
type StatsFormat = (typeof STATS_FORMATS)[number];

export class AdminServer {
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #sources: AdminSources;
  readonly #endpoints: Endpoint[];
  readonly #port: UwsHttpPort;

  constructor(options: AdminServerOptions) {
    this.#host = options.host ?? '127.0.0.1';
    this.#requestedPort = options.port;
    this.#sources = options.sources;
    const s = this.#sources;
    this.#endpoints = [
      { path: '/', help: 'this index', params: [], handle: () => this.#index() },
      {
        path: '/ready',
        help: 'LIVE (200) once config is loaded and the listener is up, else 503',
        params: [],
        handle: () => {
          if (s.ready()) return send(200, 'text/plain', 'LIVE\n');
          const reason = s.notReadyReason?.() ?? null;
          return send(503, 'text/plain', reason === null ? 'PRE_INITIALIZING\n' : `PRE_INITIALIZING: ${reason}\n`);
        },
      },
      {
        path: '/config_dump',
        help: 'Envoy\'s admin.v3.ConfigDump of the applied config (?resource=<field>, ?include_eds); ?format=wasmesh: wasmesh\'s own dump (version, resources, mesh, warnings, lastError, loadedAt)',
        params: ['resource', 'include_eds', 'format'],
        handle: (u) => this.#configDump(u),
      },
      {
        path: '/stats',
        help: 'counters and gauges, Envoy text format (?format=json|prometheus, ?filter=<RE2 regex>, ?usedonly)',
        params: ['filter', 'usedonly', 'format'],
        handle: (u) => this.#stats(u, statsFormat(u.searchParams.get('format'))),
      },
      {
        path: '/stats/prometheus',
        help: 'the stats in Prometheus text format (?filter=<RE2 regex>, ?usedonly)',
        params: ['filter', 'usedonly'],
        handle: (u) => this.#stats(u, 'prometheus'),
      },
      {
        path: '/clusters',
        help: 'clusters and their endpoints with health (?format=json: Envoy\'s admin.v3.Clusters; ?format=wasmesh: wasmesh\'s own)',
        params: ['format'],
        handle: (u) => {
          const format = u.searchParams.get('format');
          if (format !== null && format !== 'json' && format !== 'text' && format !== 'wasmesh') throw new BadQuery(`unknown format '${format}' for /clusters; known: text, json, wasmesh`);
          if (format === 'json') return sendJson(s.envoyClustersJson());
          return format === 'wasmesh' ? sendJson(s.clustersJson()) : send(200, 'text/plain', s.clustersText());
        },
      },
      ...(s.serverInfo ? [{
        path: '/server_info',
        help: 'JSON: Envoy\'s ServerInfo (version, state, uptime, command line options, node)',
        params: [],
        handle: () => sendJson(s.serverInfo!()),
      }] : []),
      ...(s.listeners ? [{
        path: '/listeners',
        help: 'the listeners and their bound addresses, `name::address:port` (?format=json)',
        params: ['format'],
        handle: (u: URL) => {
          const format = u.searchParams.get('format');
          if (format !== null && format !== 'json' && format !== 'text') throw new BadQuery(`unknown format '${format}' for /listeners; known: text, json`);
          const list = s.listeners!();
          return format === 'json' ? sendJson(listenersJson(list)) : send(200, 'text/plain', listenersText(list));
        },
      }] : []),
      ...(s.logLevels ? [{
        path: '/logging',
        help: 'POST: the loggers and their levels; ?level=<level> sets all, ?<logger>=<level> one, ?paths=a:level,b:level several',
        method: 'POST' as const,
        params: [],
        anyParams: true,
        handle: (u: URL) => loggingEndpoint(s.logLevels!, u.searchParams),
      }] : []),
      ...(s.resetCounters ? [{
        path: '/reset_counters',
        help: 'POST: every counter reads 0 from now on (gauges keep their values)',
        method: 'POST' as const,
        params: [],
        handle: () => {
          s.resetCounters!();
          return send(200, 'text/plain', 'OK\n');
        },
      }] : []),
      ...(s.quit ? [{
        path: '/quitquitquit',
        help: 'POST: exit gracefully (listeners drain, then the process stops)',
        method: 'POST' as const,
        params: [],
        handle: () => {
          // After the answer is written: the drain closes this port too.
          setImmediate(() => s.quit!());
          return send(200, 'text/plain', 'OK\n');
        },
      }] : []),
      {
        path: '/certs',
        help: 'JSON: the workload certificate chain and trust bundle in use (serials, SANs, validity), as Envoy\'s /certs',
        params: [],
        handle: () => sendJson(s.certs ? s.certs() : { certificates: [] }),
      },
    ];
    this.#port = new UwsHttpPort('admin', this.#host, this.#requestedPort, (req) => this.#handle(req));
  }

  /** /stats in `format`, narrowed by `filter` (RE2, partial match) and `usedonly`, as Envoy's. */
  #stats(u: URL, format: StatsFormat): PortResponse {
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
    if (format === 'json') return sendJson(Object.fromEntries(records.map((r) => [r.name, r.value])));
    if (format === 'prometheus') return send(200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(records) + this.#istioText(match));
    return send(200, 'text/plain', records.map((r) => `${r.name}: ${r.value}\n`).join(''));
  }

  /** istio_* series for the Prometheus format; a filter narrows them by metric family name, as Envoy's applies to its stat names. */
  #istioText(match: ((name: string) => boolean) | null): string {
    const snap = this.#sources.istio?.();
    if (snap === undefined) return '';
    // `usedonly` keeps them all: a series exists only once a request counted in it.
    if (match !== null && !['istio_requests_total', 'istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes'].some(match)) return '';
    return renderIstioPrometheus(snap, this.#sources.istioOverrides?.());
  }

  /**
   * /config_dump: Envoy's shape (`?resource=`, `?include_eds` as Envoy), or with `?format=wasmesh`
   * wasmesh's own dump (its `?resource=` picks a list of that dump).
   */
  #configDump(u: URL): PortResponse {
    const format = u.searchParams.get('format');
    const resource = u.searchParams.get('resource');
    if (format === 'wasmesh') {
      if (u.searchParams.has('include_eds')) throw new BadQuery('include_eds is for Envoy\'s dump, not ?format=wasmesh');
      return sendJson(configDumpResource(this.#sources.configDump(), resource));
    }
    if (format !== null) throw new BadQuery(`unknown format '${format}' for /config_dump; known: wasmesh (absent: Envoy's ConfigDump)`);
    const dump = this.#sources.envoyConfigDump(u.searchParams.has('include_eds'));
    if (resource === null) return sendJson(dump);
    const picked = envoyDumpResource(dump, resource);
    // Envoy's answer for a field no config has.
    return picked === null ? send(404, 'text/plain', `${resource} not found in config dump\n`) : sendJson(picked);
  }

  /** The bound port (useful after listening on port 0). */
  get port(): number {
    return this.#port.port;
  }

  get host(): string {
    return this.#host;
  }

  listen(): Promise<void> {
    return this.#port.listen();
  }

  close(): Promise<void> {
    return this.#port.close();
  }

  #handle(req: PortRequest): PortResponse {
    // DNS rebinding: a page in a browser on this machine can make a name it controls resolve to
    // 127.0.0.1 and read the answers (the whole config, certificates later). Only an IP address
    // or `localhost` as Host is answered: a rebound name never is.
    const host = req.header('host');
    if (!adminHostAllowed(host === '' ? undefined : host)) {
      return send(403, 'text/plain', `admin API: Host ${JSON.stringify(host)} is refused; use an IP address or localhost (protection against DNS rebinding)\n`);
    }
    let url: URL;
    try {
      url = new URL(req.query === '' ? req.path : `${req.path}?${req.query}`, 'http://admin');
    } catch {
      return send(400, 'text/plain', 'bad request target\n');
    }
    const endpoint = this.#endpoints.find((e) => e.path === url.pathname);
    if (!endpoint) return send(404, 'text/plain', `no admin endpoint ${url.pathname}; see / for the list\n`);
    // What changes state takes POST only, Envoy's wording (a link or a GET from a page must not
    // reset counters or stop the proxy); what reads answers GET (and HEAD).
    const method = req.method.toUpperCase();
    if (endpoint.method === 'POST' && method !== 'POST') {
      return { ...send(405, 'text/plain', `Method ${method} not allowed, POST required.\n`), headers: [['allow', 'POST']] };
    }
    // A web page can POST to loopback (a form needs no preflight) and its Host is then a plain
    // 127.0.0.1: browsers name the page's origin on every cross-origin POST, operators' tools
    // (curl, istioctl, wasmesh) send none. A state change from a page is refused.
    if (endpoint.method === 'POST' && req.header('origin') !== '') {
      return send(403, 'text/plain', `admin API: ${endpoint.path} from a web page (Origin ${JSON.stringify(req.header('origin'))}) is refused\n`);
    }
    if (endpoint.method === undefined && method !== 'GET' && method !== 'HEAD') {
      return { ...send(405, 'text/plain', `${endpoint.path} answers GET only\n`), headers: [['allow', 'GET, HEAD']] };
    }
    // A parameter it does not serve would otherwise be ignored: `?fliter=` returning every stat.
    const unknown = endpoint.anyParams ? undefined : [...new Set(url.searchParams.keys())].find((k) => !endpoint.params.includes(k));
    if (unknown !== undefined) {
      const known = endpoint.params.length === 0 ? 'it takes none' : `known: ${endpoint.params.join(', ')}`;
      return send(400, 'text/plain', `unknown query parameter '${unknown}' for ${endpoint.path}; ${known}\n`);
    }
    try {
      return endpoint.handle(url);
    } catch (err) {
      if (err instanceof BadQuery) return send(400, 'text/plain', `${err.message}\n`);
      return send(500, 'text/plain', `admin ${endpoint.path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  #index(): PortResponse {
    const lines = ['wasmesh admin', ''];
    for (const e of this.#endpoints) lines.push(`  ${e.path.padEnd(19)}${e.help}`);
    return send(200, 'text/plain', lines.join('\n') + '\n');
  }
}

/** An IP literal (IPv4, or bracketed IPv6) or `localhost`, with an optional port. */
const ADMIN_HOST = /^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/i;

/** Whether a Host field may reach the admin API (see #handle). */
export function adminHostAllowed(host: string | undefined): boolean {
  return host !== undefined && ADMIN_HOST.test(host);
}

function send(status: number, type: string, body: string): PortResponse {
  return { status, type: type.includes('charset') ? type : `${type}; charset=utf-8`, body };
}

function sendJson(value: unknown): PortResponse {
  return send(200, 'application/json', JSON.stringify(value, null, 2) + '\n');
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
