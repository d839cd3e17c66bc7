// The admin API's Envoy-compatible parts for a runtime: the Envoy view of the applied config
// (/config_dump, /listeners), /server_info with the node the proxy reports as, the loggers
// (/logging) and the graceful exit (/quitquitquit). The node is the xDS identity's when the
// config comes from a control plane (Istio's `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`),
// else the one Istio's defaults give a workload of the proxy's namespace and labels.
import type { HostPort } from '../common/host-port.js';
import type { LogLevels } from '../common/log-levels.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import { workloadMetadata } from '../model/workload-metadata.js';
import { nodeId } from '../xds/xds-node.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import type { AdminExtras, AdminView } from './admin-sources.js';
import { EnvoyConfigView } from './envoy-config-view.js';
import { envoyNode, serverInfo } from './server-info.js';
import type { XdsIdentity } from '../control/xds-config-source.js';

/** What the extras read of the runtime's config options (runtime-assembly's ConfigSourceOptions). */
export interface ConfigSourceOptions {
  sources: string[];
  gateway?: string;
  namespace?: string;
  labels?: Record<string, string>;
  xds?: HostPort;
  xdsIdentity?: XdsIdentity;
}

export interface AdminExtrasInput {
  config: ConfigSourceOptions;
  admin: HostPort;
  view: AdminView;
  manager: ProxyConfigSource;
  workloadCertificates?: WorkloadCertificateSource;
  notReadyReason(): string | null;
  logLevels: LogLevels;
  quit(): void;
  /** The admin API's bound port (port 0 binds late). */
  adminPort?: () => number;
}

/** The node a runtime reports as, in Envoy's bootstrap form. */
export function runtimeNode(c: ConfigSourceOptions): Record<string, unknown> {
  const x = c.xdsIdentity;
  if (x !== undefined) {
    const metadata = { NAMESPACE: x.namespace, LABELS: x.labels, CLUSTER_ID: x.clusterId ?? 'Kubernetes', ...(x.serviceAccount !== undefined ? { SERVICE_ACCOUNT: x.serviceAccount } : {}), ...(x.gateway !== undefined ? { WASMESH_GATEWAY: x.gateway } : {}) };
    return envoyNode(nodeId(x.type, x.ip, x.pod, x.namespace), `${x.labels.app ?? x.pod}.${x.namespace}`, metadata);
  }
  const w = workloadMetadata({ ...(c.namespace !== undefined ? { namespace: c.namespace } : {}), ...(c.labels !== undefined ? { labels: c.labels } : {}) });
  const id = c.gateway !== undefined ? w.nodeId.replace(/^sidecar~/, 'router~') : w.nodeId;
  return envoyNode(id, `${w.app === 'unknown' ? w.canonicalService : w.app}.${w.namespace}`, { NAMESPACE: w.namespace, LABELS: w.labels, CLUSTER_ID: w.cluster });
}

export function adminExtras(i: AdminExtrasInput): AdminExtras {
  const startedAt = Date.now();
  const node = runtimeNode(i.config);
  const admin = (): HostPort => ({ host: i.admin.host, port: i.adminPort?.() || i.admin.port });
  const envoy = new EnvoyConfigView({
    manager: i.manager,
    mode: i.config.xds !== undefined ? 'dynamic' : 'static',
    ...(i.config.xds !== undefined ? { xds: i.config.xds } : {}),
    clusters: () => i.view.clusters(),
    plan: () => i.view.envoyPlan?.() ?? { listens: [] },
    admin,
    node: () => node,
    ...(i.config.namespace !== undefined ? { namespace: i.config.namespace } : {}),
    ...(i.workloadCertificates !== undefined ? { workloadCertificates: i.workloadCertificates } : {}),
  });
  const configPath = i.config.xds !== undefined ? `xds://${i.config.xds.host}:${i.config.xds.port}` : i.config.sources.join(',');
  return {
    envoy,
    serverInfo: () => serverInfo({
      notReadyReason: i.notReadyReason(),
      startedAt,
      now: Date.now(),
      concurrency: i.view.workers?.().live ?? 1,
      logLevel: i.logLevels.level('config') ?? 'info',
      configPath,
      node,
    }),
    logLevels: i.logLevels,
    quit: () => i.quit(),
  };
}
