// A proxy's configuration from the control plane (`--xds host:port`): the proxy's own resources
// over delta ADS (host/xds/ads-client.ts: only the changed pieces travel, the client keeps the
// set), each version applied to the data path and ACKed, or NACKed with the reason the data path
// gave (the last good version keeps serving). The proxy is ready
// once the first version applied; while the control plane is away it serves what it has.
import { workloadMetadata, type WorkloadMetadata } from '../model/workload-metadata.js';
import { workloadNameOfPod } from '../model/workload-name.js';
import type { ProxyConfigSource, ConfigTarget, ConfigDump, ControlCounters, LastError, ReloadOutcome } from './config-source.js';
import type { MeshConfig } from '../model/mesh.js';
import type { Log } from '../common/log.js';
import type { HostPort } from '../common/host-port.js';
import { AdsClient, type AdsTls, type AdsUpdate } from '../xds/ads-client.js';
import { assembleProxyConfig, WASMESH_TYPE_URL } from '../xds/wasmesh-resource.js';
import { nodeId, type ProxyType } from '../xds/xds-node.js';

export interface XdsIdentity {
  type: ProxyType;
  /** Pod (or workload) name and IP, as Istio's node id carries them. */
  pod: string;
  ip: string;
  namespace: string;
  labels: Record<string, string>;
  /** Serve this Gateway by name (a router's `--gateway`); absent: by its labels. */
  gateway?: string;
  serviceAccount?: string;
  clusterId?: string;
  /** Istio's WORKLOAD_NAME (the workload's name in its metrics and peer metadata); absent: not sent. */
  workloadName?: string;
}

export interface XdsConfigSourceOptions {
  xds: HostPort;
  identity: XdsIdentity;
  target: ConfigTarget;
  log: Log;
  /** Reconnect backoff (tests shorten it). */
  backoff?: { baseMs: number; maxMs: number };
  /** xDS over TLS with a token (istiod's 15012) instead of plaintext. */
  tls?: AdsTls;
  /**
   * Where each applied version's warnings go, keyed by the control plane's config version (one
   * WarningDedupe shared by the proxies of a process prints each once per version); default: log.
   */
  reportWarnings?: (warnings: readonly string[], loadKey: string) => void;
}

export class XdsConfigSource implements ProxyConfigSource {
  readonly counters: ControlCounters = { reloads_total: 0, reload_errors_total: 0, reloads_unchanged_total: 0 };
  readonly #opts: XdsConfigSourceOptions;
  readonly #client: AdsClient;
  readonly nodeId: string;
  #version = 0;
  #controlPlaneVersion = '';
  #current: { mesh: MeshConfig; warnings: string[] } | null = null;
  #lastError: LastError | null = null;
  #loadedAt: string | null = null;

  constructor(opts: XdsConfigSourceOptions) {
    this.#opts = opts;
    const id = opts.identity;
    this.nodeId = nodeId(id.type, id.ip, id.pod, id.namespace);
    const metadata: Record<string, unknown> = {
      NAMESPACE: id.namespace,
      LABELS: id.labels,
      CLUSTER_ID: id.clusterId ?? 'Kubernetes',
      SERVICE_ACCOUNT: id.serviceAccount ?? 'default',
      INSTANCE_IPS: id.ip,
      // The client kind: wasmesh's own resource type, not Envoy's four.
      WASMESH: '1',
    };
    if (id.gateway !== undefined) metadata.WASMESH_GATEWAY = id.gateway;
    if (id.workloadName !== undefined) metadata.WORKLOAD_NAME = id.workloadName;
    this.#client = new AdsClient({
      target: opts.xds,
      node: { id: this.nodeId, cluster: String(metadata.CLUSTER_ID), metadata },
      types: [WASMESH_TYPE_URL],
      apply: (u) => this.#apply(u),
      log: opts.log,
      backoff: opts.backoff,
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
  }

  get ready(): boolean {
    return this.#current !== null;
  }

  get version(): number {
    return this.#version;
  }

  get current(): { mesh: MeshConfig } | null {
    return this.#current;
  }

  get lastError(): LastError | null {
    return this.#lastError;
  }

  /** The stream to the control plane is up. */
  get connected(): boolean {
    return this.#client.connected;
  }

  start(): void {
    this.#opts.log('info', `xDS: connecting to ${this.#opts.xds.host}:${this.#opts.xds.port} as ${this.nodeId}`);
    this.#client.start();
  }

  watch(): void {}

  /** The control plane pushes changes; a reload request asks nothing of it. */
  reloadAsync(): Promise<ReloadOutcome> {
    return Promise.resolve('unchanged');
  }

  #apply(u: AdsUpdate): string | null {
    if (u.typeUrl !== WASMESH_TYPE_URL) return `unexpected type ${u.typeUrl}`;
    this.counters.reloads_total++;
    try {
      // Every resource of the type the proxy holds with this response (the client keeps the set).
      const config = assembleProxyConfig(u.resources.map((r) => r.value));
      const next = this.#version + 1;
      this.#opts.target.apply(config.mesh, next);
      this.#version = next;
      this.#controlPlaneVersion = config.version;
      this.#current = { mesh: config.mesh, warnings: config.warnings };
      this.#lastError = null;
      this.#loadedAt = new Date().toISOString();
      if (this.#opts.reportWarnings) this.#opts.reportWarnings(config.warnings, `xds:${config.version}`);
      else for (const w of config.warnings) this.#opts.log('warn', w);
      this.#opts.log('info', `xDS: applied control plane version ${config.version} (xDS version ${u.version}, ${u.received} resource(s) received, ${u.removed} removed) as local version ${next}`);
      return null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.counters.reload_errors_total++;
      this.#lastError = { code: 'apply_failed', message, at: new Date().toISOString() };
      return message;
    }
  }

  dump(): ConfigDump {
    return {
      version: this.#version,
      resources: { source: 'xds', controlPlane: `${this.#opts.xds.host}:${this.#opts.xds.port}`, nodeId: this.nodeId, controlPlaneVersion: this.#controlPlaneVersion, connected: this.connected },
      mesh: this.#current?.mesh ?? null,
      warnings: this.#current?.warnings ?? [],
      files: [],
      lastError: this.#lastError,
      loadedAt: this.#loadedAt,
    };
  }

  close(): void {
    this.#client.close();
  }

  describe(): string {
    return `config from the control plane at ${this.#opts.xds.host}:${this.#opts.xds.port} over xDS, node ${this.nodeId}${this.ready ? `, version ${this.#version}` : ', ready once the first version arrives'}`;
  }
}

/**
 * The workload an xDS identity names (the proxy's WorkloadMetadata when its command line gave
 * none): WORKLOAD_NAME, else the pod's workload; the principal of its service account when the
 * trust domain is known.
 */
export function workloadOfIdentity(id: XdsIdentity, trustDomain?: string): WorkloadMetadata {
  return workloadMetadata({
    name: id.workloadName ?? workloadNameOfPod(id.pod),
    namespace: id.namespace,
    labels: id.labels,
    cluster: id.clusterId,
    principal: trustDomain === undefined ? null : `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount ?? 'default'}`,
    nodeId: nodeId(id.type, id.ip, id.pod, id.namespace),
    instanceIp: id.ip,
    ...(trustDomain === undefined ? {} : { meshId: trustDomain }),
  });
}
