// One configuration version as the data path serves it: the route table loaded in the core,
// per-route header edit lists encoded in the core, and the cluster pools indexed as the table
// indexes them. Requests retain the version they start on; the core memory of a superseded
// version (table and edit lists) is freed when its last request releases it.
import type { MeshConfig, HeaderOps, FaultPolicy, Redirect, DirectResponse } from '../model/mesh.js';
import type { RetryPolicy } from '../core/upstream-policy.js';
import type { ClusterRuntimeParts } from './cluster-manager.js';
import type { RouteRewrite } from './rewrite.js';
import type { RouteCors } from './cors.js';
import type { RouteTable } from '../core/router.js';
import type { EditHandle } from '../upstream/upstream-codec.js';
import type { StatScope, ROUTE_STATS } from '../stats/stats.js';

export interface RouteRuntime {
  name: string;
  timeoutMs: number;
  stats: StatScope<keyof typeof ROUTE_STATS>;
  /** Cluster index per destination slot (-1: unknown cluster). */
  destClusters: number[];
  /** Per destination slot: route ops then destination ops, encoded in the core. */
  requestEdits: EditHandle[];
  responseEdits: EditHandle[];
  /** The route's retry policy in the core (Istio's default policy when the route sets none). */
  retry: RetryPolicy;
  fault: FaultPolicy | null;
  rewrite: RouteRewrite | null;
  redirect: Redirect | null;
  directResponse: DirectResponse | null;
  cors: RouteCors | null;
  mirrors: MirrorRuntime[];
  /** Route-level response set/add ops as pairs, for the responses the proxy answers itself. */
  localResponseHeaders: Array<[string, string]>;
}

export interface MirrorRuntime {
  /** Index in the version's clusters (-1: unknown cluster, the copy is skipped). */
  clusterIndex: number;
  /** 0..100. */
  percentage: number;
}

/** One cluster as a version serves it: the cluster manager's parts (pool, stats, endpoints, core state). */
export type ClusterRuntime = ClusterRuntimeParts;

/**
 * Merges header ops in application order (Istio applies route-level, then destination-level
 * ops; a later set of the same name wins; removes and adds accumulate).
 */
export function mergeOps(...layers: HeaderOps[]): HeaderOps {
  const set = new Map<string, string>();
  const remove: string[] = [];
  const add: Array<[string, string]> = [];
  for (const l of layers) {
    for (const n of l.remove) remove.push(n.toLowerCase());
    for (const [n, v] of l.set) set.set(n.toLowerCase(), v);
    for (const [n, v] of l.add) add.push([n.toLowerCase(), v]);
  }
  return { remove, set: [...set], add };
}

export class ProxyVersion {
  readonly version: number;
  readonly mesh: MeshConfig;
  readonly table: RouteTable;
  readonly routes: RouteRuntime[];
  readonly clusters: ClusterRuntime[];
  // One reference for the server while current, one per in-flight request.
  #refs = 1;
  #retired = false;

  constructor(version: number, mesh: MeshConfig, table: RouteTable, routes: RouteRuntime[], clusters: ClusterRuntime[]) {
    this.version = version;
    this.mesh = mesh;
    this.table = table;
    this.routes = routes;
    this.clusters = clusters;
  }

  /** Requests currently running on this version. */
  get inflight(): number {
    return this.#refs - (this.#retired ? 0 : 1);
  }

  /** True once the version's core memory was freed (superseded and drained). */
  get freed(): boolean {
    return this.table.released;
  }

  retain(): void {
    this.#refs++;
  }

  release(): void {
    if (--this.#refs === 0) this.#free();
  }

  /** The server's reference goes: the version is freed after its last request. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.release();
  }

  #free(): void {
    const policies = new Set<RetryPolicy>();
    for (const r of this.routes) {
      for (const e of r.requestEdits) e.dispose();
      for (const e of r.responseEdits) e.dispose();
      policies.add(r.retry);
    }
    // Routes without their own retries share one default policy record.
    for (const p of policies) p.free();
    this.table.release();
  }
}
