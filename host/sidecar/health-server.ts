// The sidecar's health port (Istio's 15021): `GET /healthz/ready` answers 200 when the sidecar can
// serve and 503 otherwise, as pilot-agent does, so kubelet readiness probes and the image's
// HEALTHCHECK can ask it without reaching the loopback-only admin API. Nothing else is served.
// On uWebSockets.js, as the admin API (host/common/uws-http-port.ts).
import { UwsHttpPort, type PortRequest, type PortResponse } from '../common/uws-http-port.js';

export const READY_PATH = '/healthz/ready';

export interface HealthServerOptions {
  host: string;
  port: number;
  /** null when ready; otherwise why not (shown in the 503 body, for whoever debugs a probe). */
  notReadyReason(): string | null;
}

export class HealthServer {
  readonly #opts: HealthServerOptions;
  readonly #port: UwsHttpPort;

  constructor(options: HealthServerOptions) {
    this.#opts = options;
    this.#port = new UwsHttpPort('health', options.host, options.port, (req) => this.#handle(req));
  }

  /** The bound port (the OS's pick after listening on port 0). */
  get port(): number {
    return this.#port.port;
  }

  listen(): Promise<void> {
    return this.#port.listen();
  }

  close(): Promise<void> {
    return this.#port.close();
  }

  #handle(req: PortRequest): PortResponse {
    if (req.path !== READY_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return { status: 404, body: `not found: the health port serves GET ${READY_PATH} only\n` };
    }
    const reason = this.#opts.notReadyReason();
    return reason === null ? { status: 200, body: '' } : { status: 503, body: `not ready: ${reason}\n` };
  }
}
