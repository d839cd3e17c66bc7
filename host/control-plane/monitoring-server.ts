// The control plane's monitoring port (istiod's 15014, loopback by default): Prometheus metrics
// at /metrics, readiness at /ready, and the debug views /debug/syncz (every connected proxy, per
// type: sent and ACKed version and nonce, last NACK — what `wasmesh proxy-status` reads) and
// /debug/configz (the resources being served). Only an IP address or localhost as Host is
// answered, as on the proxies' admin API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../core/wasm.js';
import { adminHostAllowed } from '../admin/admin-server.js';
import { syncState } from '../xds/sync-status.js';
import type { ControlPlane } from './control-plane.js';
import { caMetricLines, type CaMetricsSource } from './ca-metrics.js';
import { shortType } from './xds-metrics.js';
import { kubeMetricLines, kubeWriterLines, type KubeMetricsSource, type KubeWriterFigures } from './kube-metrics.js';

/** /debug/syncz: one entry per connected proxy. */
export interface SyncEntry {
  proxy: string;
  kind: string;
  protocol: 'sotw' | 'delta';
  /** The control plane's config version. */
  controlPlaneVersion: number;
  types: Record<string, { state: string; sent: string | null; sentNonce: string | null; acked: string | null; ackedNonce: string | null; nack: { version: string; message: string; at: string } | null; resources: number }>;
  error: string | null;
  /** The proxy's cluster (its node's CLUSTER_ID), istioctl's CLUSTER column. */
  cluster: string;
  /** This control plane (its host name, as istiod reports its pod's), istioctl's ISTIOD column. */
  istiod: string;
  /** The control plane's release (wasmesh's package version), istioctl's VERSION column. */
  istioVersion: string;
}

let release: string | null = null;

/** wasmesh's package version, or `unknown`. */
function controlPlaneRelease(): string {
  if (release !== null) return release;
  try {
    release = String(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
  } catch {
    release = 'unknown';
  }
  return release;
}

export function syncz(cp: ControlPlane): SyncEntry[] {
  const errors = new Map(cp.connected().map((c) => [c.node.id, c.error]));
  const clusters = new Map(cp.connected().map((c) => [c.node.id, c.node.clusterId]));
  return cp.ads.proxies().map((p) => ({
    proxy: p.proxyId,
    kind: p.kind,
    protocol: p.protocol,
    controlPlaneVersion: cp.version,
    types: Object.fromEntries([...p.types].map(([type, t]) => [shortType(type), {
      state: syncState(t),
      sent: t.sentVersion,
      sentNonce: t.sentNonce,
      acked: t.ackedVersion,
      ackedNonce: t.ackedNonce,
      nack: t.nack ? { version: t.nack.version, message: t.nack.message, at: new Date(t.nack.at).toISOString() } : null,
      resources: t.resources,
    }])),
    error: errors.get(p.proxyId) ?? null,
    cluster: clusters.get(p.proxyId) ?? '',
    istiod: hostname(),
    istioVersion: controlPlaneRelease(),
  }));
}

/** istiod's help texts for the injection webhook's counters (host/control-plane/injection-webhook-server.ts). */
const WEBHOOK_HELP: Record<string, string> = {
  sidecar_injection_requests_total: 'Total number of sidecar injection requests.',
  sidecar_injection_success_total: 'Total number of successful sidecar injection requests.',
  sidecar_injection_skip_total: 'Total number of skipped sidecar injection requests.',
  sidecar_injection_failure_total: 'Total number of failed sidecar injection requests.',
};

export class MonitoringServer {
  readonly #cp: ControlPlane;
  readonly #server: Server;
  #port = 0;
  #ca: CaMetricsSource | null = null;
  #kube: KubeMetricsSource | null = null;
  #kubeWriters: (() => KubeWriterFigures) | null = null;
  #webhook: (() => Record<string, number>) | null = null;

  constructor(cp: ControlPlane) {
    this.#cp = cp;
    this.#server = createServer((req, res) => {
      const send = (status: number, type: string, body: string): void => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (!adminHostAllowed(req.headers.host)) {
        send(403, 'text/plain', 'monitoring: use an IP address or localhost as Host (protection against DNS rebinding)\n');
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      const cp = this.#cp;
      switch (path) {
        case '/ready':
          send(cp.ready ? 200 : 503, 'text/plain', cp.ready ? 'ready\n' : 'not ready\n');
          return;
        case '/metrics': {
          const st = cp.status();
          send(200, 'text/plain; version=0.0.4', cp.metrics.render([
            { name: 'wasmesh_control_plane_config_version', help: 'The config version being served.', type: 'gauge', value: st.version },
            { name: 'wasmesh_control_plane_config_error', help: '1 when the last change was rejected (the previous version serves on).', type: 'gauge', value: st.lastError ? 1 : 0 },
            ...(this.#ca === null ? [] : caMetricLines(this.#ca)),
            ...(this.#kube === null ? [] : kubeMetricLines(this.#kube)),
            ...(this.#kubeWriters === null ? [] : kubeWriterLines(this.#kubeWriters())),
            ...(this.#webhook === null ? [] : Object.entries(this.#webhook()).map(([name, value]) => ({ name, help: WEBHOOK_HELP[name] ?? name, type: 'counter' as const, value }))),
          ]));
          return;
        }
        case '/debug/syncz':
          send(200, 'application/json', JSON.stringify(syncz(cp), null, 2));
          return;
        case '/debug/configz':
          send(200, 'application/json', JSON.stringify({ ...cp.status(), resources: cp.resources(), proxies: cp.connected().map((c) => ({ id: c.node.id, kind: c.node.kind, warnings: c.warnings, error: c.error })) }, null, 2));
          return;
        default:
          send(404, 'text/plain', 'endpoints: /ready /metrics /debug/syncz /debug/configz\n');
      }
    });
  }

  /** Adds the CA's citadel_server_* metrics to /metrics (the CA starts after this port listens). */
  showCa(ca: CaMetricsSource): void {
    this.#ca = ca;
  }

  /** Adds what the control plane writes to the API server (`--kube`): Events, root-cert ConfigMaps, caBundle patches. */
  showKubeWriters(figures: () => KubeWriterFigures): void {
    this.#kubeWriters = figures;
  }

  /** Adds the Kubernetes source's wasmesh_kube_* metrics (`--kube`). */
  showKube(kube: KubeMetricsSource): void {
    this.#kube = kube;
  }

  /** Adds the injection webhook's sidecar_injection_* counters to /metrics. */
  showWebhook(stats: () => Record<string, number>): void {
    this.#webhook = stats;
  }

  get port(): number {
    return this.#port;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`wasmesh: cannot listen for monitoring on ${host}:${port}: ${err.code ?? err.message} (LISTEN_FAILED)`)));
      this.#server.listen(port, host, () => {
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve(this.#port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
