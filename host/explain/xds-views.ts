// `wasmesh explain --xds`: the meshes asked of a control plane, as its proxies get them (the
// wasmesh resource over delta ADS, host/control/xds-config-source.ts), instead of read from
// files: the routing proxy's view (a sidecar of --namespace/--labels, or a gateway), then each
// destination workload's own view for its inbound side, fetched as the explanation asks for it.
import type { HostPort } from '../common/host-port.js';
import type { MeshConfig } from '../model/mesh.js';
import { XdsConfigSource, type XdsIdentity } from '../control/xds-config-source.js';
import { DEFAULT_NAMESPACE } from '../config/loaded-config.js';
import { checkInput, explainWithViews, type ExplainInput, type ExplainReport, type MeshViews } from './explain-request.js';
import { ExplainError } from './explain-error.js';

export interface XdsExplainOptions {
  readonly xds: HostPort;
  /** The sidecar's workload labels (no WorkloadEntry names travel over xDS). */
  readonly labels?: Readonly<Record<string, string>>;
  /** How long to wait for each view; default 5 s. */
  readonly timeoutMs?: number;
}

/** One view from the control plane: a short-lived ADS client that keeps nothing after the first version. */
async function fetchView(xds: HostPort, identity: XdsIdentity, timeoutMs: number): Promise<MeshConfig> {
  const source = new XdsConfigSource({ xds, identity, target: { apply() {} }, log: () => {}, backoff: { baseMs: 50, maxMs: 200 } });
  source.start();
  try {
    const until = Date.now() + timeoutMs;
    while (source.current === null) {
      if (source.lastError !== null) throw new ExplainError('xds_failed', `the control plane at ${xds.host}:${xds.port} sent a view wasmesh cannot apply: ${source.lastError.message}`);
      if (Date.now() > until) throw new ExplainError('xds_failed', `no config from the control plane at ${xds.host}:${xds.port} within ${timeoutMs} ms (is \`wasmesh control-plane\` listening there?)`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return source.current.mesh;
  } finally {
    source.close();
  }
}

const keyOf = (ns: string, labels: Readonly<Record<string, string>>): string => JSON.stringify([ns, Object.entries(labels).sort()]);

/** Explains `input` over the control plane's views (input.files, input.from: not used). */
export async function explainOverXds(input: ExplainInput, opts: XdsExplainOptions): Promise<ExplainReport> {
  checkInput(input);
  if (input.from !== undefined) throw new ExplainError('bad_source', '--from names a WorkloadEntry, which xDS does not carry: give the sidecar\'s --namespace and --labels');
  const ns = input.namespace ?? DEFAULT_NAMESPACE;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const base = { pod: 'wasmesh-explain', ip: '127.0.0.1' };
  const routingIdentity: XdsIdentity = input.gateway !== undefined
    ? { ...base, type: 'router', namespace: input.gateway.includes('/') ? input.gateway.split('/')[0]! : ns, labels: { ...(opts.labels ?? {}) }, gateway: input.gateway }
    : { ...base, type: 'sidecar', namespace: ns, labels: { ...(opts.labels ?? {}) } };
  const mesh = await fetchView(opts.xds, routingIdentity, timeoutMs);
  const proxy: ExplainReport['proxy'] = input.gateway !== undefined
    ? { kind: 'gateway', name: input.gateway, namespace: routingIdentity.namespace, labels: routingIdentity.labels }
    : { kind: 'sidecar', name: `(xDS sidecar)`, namespace: ns, labels: routingIdentity.labels };
  const servers = new Map<string, MeshConfig>();
  const missing = new Map<string, { namespace: string; labels: Record<string, string> }>();
  const views: MeshViews = {
    warnings: [],
    routing: () => ({ proxy, mesh, source: null }),
    server(namespace, labels) {
      const k = keyOf(namespace, labels);
      const known = servers.get(k);
      if (known === undefined) missing.set(k, { namespace, labels: { ...labels } });
      return known ?? null;
    },
    workloadAt: () => null,
    isVirtualService: () => null,
  };
  // The server side is known only once an endpoint is picked: explain, fetch the views it asked
  // for, explain again. A balancer with random state may pick another endpoint the second time,
  // hence a few rounds, each adding the views asked for.
  for (let round = 0; ; round++) {
    const report = explainWithViews(input, views);
    if (missing.size === 0 || round === 4) return report;
    for (const [k, v] of missing) servers.set(k, await fetchView(opts.xds, { ...base, type: 'sidecar', namespace: v.namespace, labels: v.labels }, timeoutMs));
    missing.clear();
  }
}
