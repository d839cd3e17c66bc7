// Istio's Prometheus port (15090): `GET /stats/prometheus` only, the same text as the admin
// API's (Envoy's stats, then istio_*), on its own address. The admin API stays on loopback (it
// shows the whole config); this port is what Prometheus scrapes from outside the pod, so it
// binds every interface by default, as Istio's sidecars do, and answers nothing else.
// On node:http, not uWS: uWS binds with SO_REUSEPORT, so a second proxy on the same host would
// share the port with the first (each scrape answered by either) instead of failing to bind.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text.js';
import { renderIstioPrometheus } from './istio-prometheus-text.js';
import type { AdminSources } from './admin-server.js';

/** Istio's port for the merged Envoy and Istio metrics. */
export const ISTIO_STATS_PORT = 15090;

type Sources = Pick<AdminSources, 'stats' | 'istio' | 'istioOverrides'>;

/** The proxy's whole Prometheus text: Envoy's stats, then istio_*. */
export function proxyPrometheusText(sources: Sources): string {
  const istio = sources.istio?.();
  return renderPrometheus(sources.stats()) + (istio ? renderIstioPrometheus(istio, sources.istioOverrides?.()) : '');
}

export class StatsPort {
  readonly #host: string;
  readonly #requestedPort: number;
  readonly #server: Server;

  constructor(host: string, port: number, sources: Sources) {
    this.#host = host;
    this.#requestedPort = port;
    this.#server = createServer((req, res) => serve(req, res, sources));
  }

  get port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a.port : this.#requestedPort;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  listen(): Promise<void> {
    return listenHttpServer(this.#server, 'stats', this.#host, this.#requestedPort);
  }

  close(): Promise<void> {
    return closeHttpServer(this.#server);
  }
}

function serve(req: IncomingMessage, res: ServerResponse, sources: Sources): void {
  if (refusedScrape(req, res)) return;
  let body: string;
  try {
    body = proxyPrometheusText(sources);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`stats: ${err instanceof Error ? err.message : String(err)}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Answers what a scrape port does not serve (another path: 404; a method other than GET or
 * HEAD: 405) and says so; false for a scrape of /stats/prometheus. Shared by the 15090 and 15020 ports.
 */
export function refusedScrape(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/stats/prometheus') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('only /stats/prometheus is served here\n');
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('/stats/prometheus answers GET only\n');
    return true;
  }
  return false;
}
