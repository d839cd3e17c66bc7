// How a mesh app calls another service: a plain HTTP/1.1 request to its own sidecar (the
// proxy in mesh mode) with the service's name as Host, the way an app in an Istio pod calls
// `http://middleware/` and iptables hands the connection to Envoy's outbound listener.
import { Agent, request } from 'node:http';

/** Where the app's sidecar listens; set once the sidecar has started. */
export interface SidecarAddress {
  host: string;
  port: number;
}

export interface OutboundResult {
  /** HTTP status, or 0 when the sidecar could not be reached (the error is in `body`). */
  status: number;
  body: string;
  ms: number;
}

/** A keep-alive HTTP client to one sidecar. */
export class OutboundClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  sidecar: SidecarAddress | null = null;

  /**
   * GET `path` on `authority` (e.g. `middleware`, `reviews:9080`) through the sidecar. Never
   * rejects: an unreachable sidecar is status 0, so an app can answer with what went wrong.
   */
  get(authority: string, path: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<OutboundResult> {
    const started = Date.now();
    const sidecar = this.sidecar;
    if (!sidecar) return Promise.resolve({ status: 0, body: 'no sidecar', ms: 0 });
    return new Promise((resolve) => {
      const req = request(
        { agent: this.#agent, host: sidecar.host, port: sidecar.port, path, method: 'GET', headers: { ...headers, host: authority }, timeout: timeoutMs },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
          res.on('error', (err) => resolve({ status: 0, body: err.message, ms: Date.now() - started }));
        },
      );
      // A safety net only: the proxy's route and per-try timeouts are what the scenarios show.
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ status: 0, body: err.message, ms: Date.now() - started }));
      req.end();
    });
  }

  /** Drops pooled connections, so that the sidecar and this app can close promptly. */
  close(): void {
    this.#agent.destroy();
  }
}
