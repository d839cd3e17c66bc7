// Istio's agent port for merged metrics (15020): `GET /stats/prometheus` answers the proxy's own
// (Envoy's stats and istio_*, as on 15090) followed by the application's, scraped from it on
// loopback at the port and path its `prometheus.io/port` / `prometheus.io/path` annotations name
// (here the sidecar's `--app-metrics` flag), so that one scrape of the pod gets both, as with
// Istio's metrics merging. An application that does not answer (down, slow, an error status)
// leaves its part out and is counted in `istio_agent_scrape_failures_total`; the proxy's part is
// always there. Off the data path, on node:http (the app's scrape is asynchronous). Like
// pilot-agent's port it also takes POST /quitquitquit from the pod's own loopback (the app's
// "I am done"), and answers the rewritten app probes (/app-health/…).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { refusedScrape } from './stats-port.js';
import type { AppProber } from './app-prober.js';

export interface AppMetrics {
  /** The app's metrics port (`prometheus.io/port`). */
  readonly port: number;
  /** Its path (`prometheus.io/path`, default `/metrics`). */
  readonly path: string;
  /** Where the app is reached: the pod's loopback (default 127.0.0.1; ::1 on an IPv6-only pod, the sidecar's --app-address). */
  readonly host?: string;
}

export interface MergedStatsOptions {
  host: string;
  port: number;
  /** The proxy's own exposition text (what 15090 serves). */
  proxyText(): string;
  /** The application's metrics; absent: the proxy's alone. */
  app?: AppMetrics;
  /** How long the app's scrape may take (ms); default 5 s. */
  appTimeoutMs?: number;
  /** The app's probes the injector rewrote to /app-health/… (admin/app-prober.ts), served on this port as Istio's agent does. */
  probers?: AppProber;
  /**
   * POST /quitquitquit from loopback, as pilot-agent serves it on 15020 for the app (a Job's last
   * step): the graceful exit, called once the answer is written; absent: 404.
   */
  quit?: () => void;
}

/** Bodies past this are cut off and counted as a failure (an app's metrics are kilobytes to a few megabytes). */
const MAX_APP_BYTES = 32 * 1024 * 1024;

export class MergedStatsPort {
  readonly #opts: MergedStatsOptions;
  readonly #server: Server;
  #failures = 0;
  #scrapes = 0;

  constructor(opts: MergedStatsOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`merged stats: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a.port : this.#opts.port;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  listen(): Promise<void> {
    return listenHttpServer(this.#server, 'merged stats', this.#opts.host, this.#opts.port);
  }

  close(): Promise<void> {
    return closeHttpServer(this.#server);
  }

  #quitquitquit(req: IncomingMessage, res: ServerResponse, quit: () => void): void {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'POST' }).end('/quitquitquit answers POST only\n');
      return;
    }
    if (!fromLoopback(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`/quitquitquit: only requests from localhost are allowed (this one came from ${req.socket.remoteAddress ?? 'an unknown peer'})\n`);
      return;
    }
    req.resume();
    // After the answer is written: the drain then closes this port too.
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('OK\n', () => quit());
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.#opts.probers?.handles(path) && (req.method === 'GET' || req.method === 'HEAD')) {
      const { status, body } = await this.#opts.probers.answer(path);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/quitquitquit' && this.#opts.quit !== undefined) {
      this.#quitquitquit(req, res, this.#opts.quit);
      return;
    }
    if (refusedScrape(req, res)) return;
    this.#scrapes++;
    let app = '';
    if (this.#opts.app !== undefined) {
      const got = await scrapeApp(this.#opts.app, this.#opts.appTimeoutMs ?? 5000);
      if (got === null) this.#failures++;
      else app = got.endsWith('\n') || got === '' ? got : got + '\n';
    }
    const own = this.#opts.proxyText();
    const agent = '# TYPE istio_agent_scrapes_total counter\n' + `istio_agent_scrapes_total ${this.#scrapes}\n` +
      '# TYPE istio_agent_scrape_failures_total counter\n' + `istio_agent_scrape_failures_total ${this.#failures}\n`;
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : own + agent + app);
  }
}

/** Loopback peers only (pilot-agent's rule): the port is reachable from other pods for scraping. */
function fromLoopback(req: IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

/** The app's exposition text, or null when it could not be had (error, status other than 200, timeout, too large). */
function scrapeApp(app: AppMetrics, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host: app.host ?? '127.0.0.1', port: app.port, path: app.path, agent: false, headers: { accept: 'text/plain;version=0.0.4' }, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size > MAX_APP_BYTES) {
          req.destroy();
          resolve(null);
          return;
        }
        chunks.push(b);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.end();
  });
}
