// Istio's app prober (pilot-agent's status port, 15020): the injector rewrites an app container's
// httpGet and tcpSocket probes to `GET /app-health/<container>/<readyz|livez|startupz>` on 15020
// and hands the originals over as ISTIO_KUBE_APP_PROBERS (JSON, path → probe). The sidecar makes
// each original probe itself, from inside the pod on 127.0.0.1 as the proxy's uid (which the
// capture rules exempt), and answers 200 when it passed, 500 when not — so the kubelet's probe
// still checks the app under STRICT mTLS, and is never captured into the inbound listener.
// Served behind the merged-stats port (admin/merged-stats-port.ts), as Istio's agent serves both.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

/** One original probe, as ISTIO_KUBE_APP_PROBERS carries it. */
export type AppProbe =
  | { kind: 'http'; port: number; path: string; scheme: 'HTTP' | 'HTTPS'; headers: [string, string][]; timeoutMs: number }
  | { kind: 'tcp'; port: number; timeoutMs: number };

/** Where the kubelet's rewritten probes go: `/app-health/<container>/<readyz|livez|startupz>`. */
export const APP_HEALTH_PREFIX = '/app-health/';
const PATH_RE = /^\/app-health\/[^/]+\/(readyz|livez|startupz)$/;
/** Kubernetes' default probe timeout (timeoutSeconds: 1). */
const DEFAULT_TIMEOUT_MS = 1000;

/**
 * ISTIO_KUBE_APP_PROBERS → the probes by path. Throws an Error naming the entry that is wrong
 * (a path not under /app-health/, neither httpGet nor tcpSocket, a port that is not 1..65535).
 */
export function parseAppProbers(json: string): Map<string, AppProbe> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('must be a JSON object of path → probe');
  const out = new Map<string, AppProbe>();
  for (const [path, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!PATH_RE.test(path)) throw new Error(`"${path}": a prober path is /app-health/<container>/<readyz|livez|startupz>`);
    const p = value as Record<string, any>;
    if (p === null || typeof p !== 'object') throw new Error(`"${path}": must be a probe object`);
    const timeoutMs = p.timeoutSeconds === undefined ? DEFAULT_TIMEOUT_MS : Number(p.timeoutSeconds) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`"${path}": timeoutSeconds must be a positive number`);
    const port = (v: unknown): number => {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw new Error(`"${path}": port must be an integer from 1 to 65535 (named ports are resolved by the injector)`);
      return v as number;
    };
    if (p.httpGet && typeof p.httpGet === 'object') {
      const g = p.httpGet as Record<string, any>;
      const scheme = g.scheme === undefined ? 'HTTP' : String(g.scheme).toUpperCase();
      if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new Error(`"${path}": scheme must be HTTP or HTTPS`);
      const headers: [string, string][] = Array.isArray(g.httpHeaders) ? g.httpHeaders.map((h: any) => [String(h.name), String(h.value)]) : [];
      out.set(path, { kind: 'http', port: port(g.port), path: typeof g.path === 'string' && g.path !== '' ? g.path : '/', scheme, headers, timeoutMs });
    } else if (p.tcpSocket && typeof p.tcpSocket === 'object') {
      out.set(path, { kind: 'tcp', port: port(p.tcpSocket.port), timeoutMs });
    } else {
      throw new Error(`"${path}": neither httpGet nor tcpSocket`);
    }
  }
  return out;
}

/** Runs the app's probes for the kubelet's rewritten ones. */
export class AppProber {
  readonly #probes: Map<string, AppProbe>;
  readonly #host: string;

  constructor(probes: Map<string, AppProbe>, host = '127.0.0.1') {
    this.#probes = probes;
    this.#host = host;
  }

  /** Whether `path` is under /app-health/ (answered here: known, or 404). */
  handles(path: string): boolean {
    return path.startsWith(APP_HEALTH_PREFIX);
  }

  /** The answer to the kubelet: 200 when the original probe passed, 500 with why when not, 404 for an unknown path. */
  async answer(path: string): Promise<{ status: number; body: string }> {
    const probe = this.#probes.get(path);
    if (probe === undefined) return { status: 404, body: `no app probe at ${path}\n` };
    const failure = probe.kind === 'http' ? await this.#http(probe) : await this.#tcp(probe);
    return failure === null ? { status: 200, body: 'ok\n' } : { status: 500, body: `${failure}\n` };
  }

  /** Kubernetes' rule: a status from 200 to 399 passes; redirects are not followed. */
  #http(p: Extract<AppProbe, { kind: 'http' }>): Promise<string | null> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.34', accept: '*/*' };
      for (const [k, v] of p.headers) headers[k.toLowerCase()] = v;
      const make = p.scheme === 'HTTPS' ? httpsRequest : httpRequest;
      // HTTPS probes skip verification, as the kubelet's do.
      const req = make({ host: this.#host, port: p.port, path: p.path, method: 'GET', headers, agent: false, timeout: p.timeoutMs, ...(p.scheme === 'HTTPS' ? { rejectUnauthorized: false } : {}) }, (res) => {
        res.resume();
        const s = res.statusCode ?? 0;
        resolve(s >= 200 && s < 400 ? null : `app answered ${s} on port ${p.port} ${p.path}`);
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${p.timeoutMs} ms`)));
      req.on('error', (err) => resolve(`app probe on port ${p.port} ${p.path}: ${err.message}`));
      req.end();
    });
  }

  #tcp(p: Extract<AppProbe, { kind: 'tcp' }>): Promise<string | null> {
    return new Promise((resolve) => {
      const sock = connect({ host: this.#host, port: p.port, timeout: p.timeoutMs });
      sock.once('connect', () => {
        sock.destroy();
        resolve(null);
      });
      sock.once('timeout', () => {
        sock.destroy();
        resolve(`connect to port ${p.port} timed out after ${p.timeoutMs} ms`);
      });
      sock.once('error', (err) => resolve(`connect to port ${p.port}: ${err.message}`));
    });
  }
}
