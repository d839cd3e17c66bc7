// What the main thread and the data-path worker threads of `wasmesh proxy --workers N` say to
// each other: config versions, stats snapshots, access-log batches and shutdown, as plain
// structured-clone data (MeshConfig is plain data: objects, arrays, strings, numbers).
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import type { Reporter } from '../telemetry/istio-labels.js';
import type { IstioSnapshot } from '../telemetry/istio-metrics.js';
import type { MeshConfig } from '../model/mesh.js';
import type { ProxyTlsSettings } from '../tls/tls-settings.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import type { Limits } from '../common/limits.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import type { StatRecord } from '../telemetry/stats.js';

/** workerData of a data-path worker. */
export interface WorkerInit {
  index: number;
  host: string;
  /** The shared listening port. */
  port: number;
  /** This worker's descriptor of the main thread's listening socket (host/server/listen-fds.ts). */
  listenFd: number;
  limits: Limits;
  seed?: number;
  /** Post access-log batches to the main thread. */
  accessLog: boolean;
  /** The compiled core, shared with the main thread (no second compilation). */
  module: WebAssembly.Module;
  /** The version being served when the worker starts. */
  config: { mesh: MeshConfig; version: number } | null;
  /** The main thread's TLS settings (ProxyServer.transportSettings): the same on every thread. */
  transport: ProxyTlsSettings;
  /**
   * Whether the main thread has a workload certificate source: the worker then serves from a
   * cell of its own, filled with `workloadCertificate` (the one in hand, or null) and every
   * renewal ('workload-certificate' messages).
   */
  workload: boolean;
  workloadCertificate: WorkloadCertificate | null;
  /** The process's other ports passthrough may not reach (ProxyServerOptions.reservedPorts), bound before the workers start. */
  reservedPorts?: number[];
  /** The main thread's workload and Istio metrics reporter (ProxyServer.istioSettings); absent: the defaults. */
  istio?: { workload: WorkloadMetadata; reporter: Reporter | 'off' };
}

export type ToWorker =
  | { type: 'apply'; mesh: MeshConfig; version: number }
  /** Write a StatsSnapshot as JSON into `buffer` (see SNAPSHOT_* below) and notify. */
  | { type: 'snapshot'; buffer: SharedArrayBuffer }
  /** A new workload certificate (renewal, root change): the worker's cell takes it. */
  | { type: 'workload-certificate'; cert: WorkloadCertificate }
  | { type: 'close' }
  /** Throws an uncaught error in the worker: exercises crash reporting (tests, diagnostics). */
  | { type: 'fail'; message: string };

export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'listen-failed'; message: string }
  | { type: 'applied'; version: number }
  | { type: 'apply-failed'; version: number; message: string }
  /** Whole access-log lines, each ending in a newline. */
  | { type: 'log'; text: string }
  | { type: 'closed' }
  /** An uncaught error: the worker closed its listener and ends (the others keep serving). */
  | { type: 'crashed'; message: string };

/** One worker's counters and cluster view, as its admin figures. */
export interface StatsSnapshot {
  stats: StatRecord[];
  clusters: ClusterStatus[];
  /** Istio's standard metrics of the worker (absent: off). */
  istio?: IstioSnapshot;
}

// Snapshot buffer layout (Int32 slots, then UTF-8 JSON from byte SNAPSHOT_DATA).
export const SNAPSHOT_STATE = 0;
export const SNAPSHOT_LENGTH = 1;
export const SNAPSHOT_DATA = 8;
export const SNAPSHOT_WAITING = 0;
export const SNAPSHOT_READY = 1;
/** The JSON did not fit: SNAPSHOT_LENGTH holds its size; ask again with a larger buffer. */
export const SNAPSHOT_TOO_BIG = 2;
