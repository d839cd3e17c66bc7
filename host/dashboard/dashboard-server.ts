// `wasmesh dashboard`'s HTTP server: the page and its libraries (dashboard-assets.ts), and a
// small JSON API the page polls — /api/graph (the service graph), /api/workload (one workload's
// golden signals over time), /api/proxies (every proxy's xDS sync state, from the control plane's
// /debug/syncz) and /api/config (the resources that apply to a workload, from /debug/configz).
// Prometheus is asked server side: the browser talks to this origin only (CSP 'self').
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, listenHttpServer } from '../common/http-server-port.js';
import { adminHostAllowed } from '../admin/admin-server.js';
import { loadDashboardAssets, type Asset } from './dashboard-assets.js';
import { PrometheusError, type PrometheusApi } from './prometheus-api.js';
import { promRange } from './promql.js';
import { queryServiceGraph } from './service-graph.js';
import { queryWorkloadSignals } from './workload-signals.js';
import { controlPlaneViews, type ControlPlaneViews } from './control-plane-views.js';

export interface DashboardOptions {
  readonly prometheus: PrometheusApi;
  /** The control plane's monitoring base URL (http://127.0.0.1:15014), for sync status and config. */
  readonly controlPlane?: string;
  readonly host: string;
  readonly port: number;
  /** The rate() window the graph uses by default. */
  readonly window?: string;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  // Scripts from this origin only: the libraries are served from the package, never a CDN.
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A workload name or namespace as Kubernetes allows them (DNS-1123 subdomain-ish), so a bad one is a 400 not a PromQL oddity. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

class BadRequest extends Error {}

function param(url: URL, name: string, fallback?: string): string {
  const v = url.searchParams.get(name) ?? fallback;
  if (v === undefined || v === '') throw new BadRequest(`missing query parameter ${name}`);
  return v;
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BadRequest(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return n;
}

function windowParam(url: URL, fallback: string): string {
  const w = url.searchParams.get('window') ?? fallback;
  try {
    return promRange(w);
  } catch (err) {
    throw new BadRequest((err as Error).message);
  }
}

export async function startDashboardServer(opts: DashboardOptions): Promise<DashboardServer> {
  const assets = loadDashboardAssets();
  const defaultWindow = promRange(opts.window ?? '1m');
  const cp: ControlPlaneViews | null = opts.controlPlane ? controlPlaneViews(opts.controlPlane) : null;

  const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const sendAsset = (req: IncomingMessage, res: ServerResponse, asset: Asset): void => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  const api = async (url: URL): Promise<unknown> => {
    switch (url.pathname) {
      case '/api/info':
        return { prometheus: opts.prometheus.url, controlPlane: cp?.url ?? null, window: defaultWindow };
      case '/api/graph':
        return queryServiceGraph(opts.prometheus, windowParam(url, defaultWindow));
      case '/api/workload': {
        const namespace = param(url, 'namespace');
        const workload = param(url, 'workload');
        if (!NAME.test(namespace) || !NAME.test(workload)) throw new BadRequest(`not a workload name: ${namespace}/${workload}`);
        return queryWorkloadSignals(opts.prometheus, { namespace, workload }, {
          window: windowParam(url, defaultWindow), rangeS: intParam(url, 'range', 900, 60, 86_400), stepS: intParam(url, 'step', 10, 1, 3600),
        });
      }
      case '/api/proxies':
        if (cp === null) return { controlPlane: null, proxies: [] };
        return { controlPlane: cp.url, proxies: await cp.proxies() };
      case '/api/config': {
        if (cp === null) return { controlPlane: null, resources: [] };
        const namespace = param(url, 'namespace');
        const workload = param(url, 'workload');
        return { controlPlane: cp.url, resources: await cp.appliesTo({ namespace, workload, app: url.searchParams.get('app') ?? '', services: url.searchParams.getAll('service') }) };
      }
      default:
        return undefined;
    }
  };

  const server: Server = createServer((req, res) => {
    // As on the admin API: an IP literal or localhost as Host only, so that a web page elsewhere
    // cannot reach this port through a rebound DNS name and read the mesh's config.
    if (!adminHostAllowed(req.headers.host)) {
      res.writeHead(403, { ...SECURITY_HEADERS, 'content-type': 'text/plain' });
      res.end('dashboard: use an IP address or localhost as Host (protection against DNS rebinding)\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('dashboard: GET only\n');
      return;
    }
    const asset = assets.get(url.pathname);
    if (asset) return sendAsset(req, res, asset);
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    api(url).then(
      (body) => (body === undefined ? sendJson(res, 404, { error: `no API ${url.pathname}` }) : sendJson(res, 200, body)),
      (err: unknown) => {
        if (err instanceof BadRequest) sendJson(res, 400, { error: err.message });
        else if (err instanceof PrometheusError) sendJson(res, 502, { error: err.message });
        else sendJson(res, 500, { error: (err as Error).message ?? String(err) });
      },
    );
  });
  await listenHttpServer(server, 'dashboard', opts.host, opts.port);
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${shownHost}:${port}/`, port, close: () => closeHttpServer(server) };
}
