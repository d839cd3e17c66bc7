// Istio's Prometheus port (15090): `GET /stats/prometheus` only, the same text as the admin
// API's (Envoy's stats, then istio_*), on its own address. The admin API stays on loopback (it
// shows the whole config); this port is what Prometheus scrapes from outside the pod, so it
// binds every interface by default, as Istio's sidecars do, and answers nothing else.
import { UwsHttpPort, type PortRequest, type PortResponse } from '../common/uws-http-port.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus-text.js';
import { renderIstioPrometheus } from './istio-prometheus-text.js';
import type { AdminSources } from './admin-server.js';

/** Istio's port for the merged Envoy and Istio metrics. */
export const ISTIO_STATS_PORT = 15090;

export class StatsPort {
  readonly #port: UwsHttpPort;

  constructor(host: string, port: number, sources: Pick<AdminSources, 'stats' | 'istio'>) {
    this.#port = new UwsHttpPort('stats', host, port, (req) => serve(req, sources));
  }

  get port(): number {
    return this.#port.port;
  }

  get listening(): boolean {
    return this.#port.listening;
  }

  listen(): Promise<void> {
    return this.#port.listen();
  }

  close(): Promise<void> {
    return this.#port.close();
  }
}

function serve(req: PortRequest, sources: Pick<AdminSources, 'stats' | 'istio'>): PortResponse {
  if (req.path !== '/stats/prometheus') return { status: 404, type: 'text/plain', body: 'only /stats/prometheus is served here\n' };
  if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, type: 'text/plain', body: '/stats/prometheus answers GET only\n', headers: [['allow', 'GET, HEAD']] };
  const istio = sources.istio?.();
  return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: renderPrometheus(sources.stats()) + (istio ? renderIstioPrometheus(istio) : '') };
}
