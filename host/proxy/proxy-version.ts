// One configuration version as the data path serves it: the route table loaded in the core,
// per-route header edits and names, and the cluster pools indexed as the table indexes them.
// Requests retain the version they start on; the core memory of a superseded version is
// freed when its last request releases it.
import type { MeshConfig, HeaderOps } from '../model/mesh.js';
import type { RouteTable } from '../core/router.js';
import type { ClusterPool } from '../upstream/cluster-pool.js';
import type { EndpointPool } from '../upstream/endpoint-pool.js';
import type { ClusterStats, StatScope, ROUTE_STATS } from '../stats/stats.js';

/** Header edits for one (route, destination) pair, route ops then destination ops merged. */
export interface EditSet {
  remove: string[];
  set: Array<[string, string]>;
  add: Array<[string, string]>;
}

export interface RouteRuntime {
  name: string;
  timeoutMs: number;
  stats: StatScope<keyof typeof ROUTE_STATS>;
  /** Cluster index per destination slot. */
  destClusters: number[];
  requestEdits: EditSet[];
  responseEdits: EditSet[];
}

export interface ClusterRuntime {
  name: string;
  pool: ClusterPool;
  stats: ClusterStats;
  /** Indexed like Cluster.endpoints. */
  endpoints: EndpointPool[];
}

/** Merges route-level and destination-level ops (Istio applies both; the destination's set wins). */
export function mergeEdits(route: HeaderOps, dest: HeaderOps): EditSet {
  const set = new Map<string, string>();
  for (const [n, v] of route.set) set.set(n.toLowerCase(), v);
  for (const [n, v] of dest.set) set.set(n.toLowerCase(), v);
  return {
    remove: [...route.remove, ...dest.remove].map((n) => n.toLowerCase()),
    set: [...set],
    add: [...route.add, ...dest.add].map(([n, v]) => [n.toLowerCase(), v] as [string, string]),
  };
}

export class ProxyVersion {
  readonly version: number;
  readonly mesh: MeshConfig;
  readonly table: RouteTable;
  readonly routes: RouteRuntime[];
  readonly clusters: ClusterRuntime[];
  #inflight = 0;

  constructor(version: number, mesh: MeshConfig, table: RouteTable, routes: RouteRuntime[], clusters: ClusterRuntime[]) {
    this.version = version;
    this.mesh = mesh;
    this.table = table;
    this.routes = routes;
    this.clusters = clusters;
  }

  /** Requests currently running on this version. */
  get inflight(): number {
    return this.#inflight;
  }

  /** True once the table's core memory was freed (superseded and drained). */
  get freed(): boolean {
    return this.table.released;
  }

  retain(): void {
    this.#inflight++;
    this.table.retain();
  }

  release(): void {
    this.#inflight--;
    this.table.release();
  }
}
