// One configuration version as the HTTP layer serves it: the route table loaded in the core,
// one entry per route with its precomputed filter chain, the listener-level filters that run
// before routing, and the clusters as the table indexes them. Streams retain the version they
// start on; what the version holds in the core (table, header edit lists, retry policies) is
// freed when its last stream releases it.
import type { MeshConfig } from '../model/mesh.js';
import type { RouteTable } from '../core/route/route-table.js';
import type { ClusterRuntimeParts } from '../upstream/cluster-manager.js';
import type { HttpFilter, HttpFilterFactory } from './filter.js';
import type { StreamConfig, StreamRoute } from './stream-callbacks.js';
import { claimConditions, type ClaimCondition } from '../compile/claim-conditions.js';

/** The filters of one route, in order, ending with the terminal one (router or direct response). */
export interface FilterChain {
  /** The non-terminal filters' factories (absent filters are off for the route). */
  readonly factories: readonly HttpFilterFactory[];
  /** Their filters when none keeps per-stream state: one array for every stream of the route. */
  readonly shared: readonly HttpFilter[] | null;
  /** Ends the chain: answers the request (router to the upstream, or a direct response). */
  readonly terminal: HttpFilterFactory;
}

/** Builds a chain, sharing the filter array when every filter is stateless. */
export function filterChain(factories: readonly HttpFilterFactory[], terminal: HttpFilterFactory): FilterChain {
  const shared = factories.every((f) => f.shared !== null) ? factories.map((f) => f.shared!) : null;
  return { factories, shared, terminal };
}

export interface RouteEntry extends StreamRoute {
  readonly chain: FilterChain;
}

/** One cluster as a version serves it: the cluster manager's parts (pool, stats, endpoints, core state). */
export type ClusterRuntime = ClusterRuntimeParts;

export class RouteConfig implements StreamConfig {
  readonly version: number;
  readonly mesh: MeshConfig;
  readonly table: RouteTable;
  readonly routes: readonly RouteEntry[];
  readonly clusters: readonly ClusterRuntime[];
  /** Filters that run for every request before the route is chosen (all stateless). */
  readonly listenerFilters: readonly HttpFilter[];
  /** The JWT claims the table's routes match on (Istio's `@request.auth.claims.…`); empty: none. */
  readonly claimConditions: readonly ClaimCondition[];
  /** A listener filter reads the trace context fields as bytes (HttpFilter.readsPropagation): the HTTP/1 listener hands them over so. */
  readonly takesPropagation: boolean;
  readonly #disposers: Array<() => void>;
  // One reference for the server while current, one per stream.
  #refs = 1;
  #retired = false;

  constructor(
    version: number,
    mesh: MeshConfig,
    table: RouteTable,
    routes: readonly RouteEntry[],
    clusters: readonly ClusterRuntime[],
    listenerFilters: readonly HttpFilter[],
    disposers: Array<() => void>,
  ) {
    this.version = version;
    this.mesh = mesh;
    this.table = table;
    this.routes = routes;
    this.clusters = clusters;
    this.listenerFilters = listenerFilters;
    this.takesPropagation = listenerFilters.some((f) => f.readsPropagation === true);
    this.claimConditions = claimConditions(mesh);
    this.#disposers = disposers;
  }

  /** Streams currently running on this version. */
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

  /** The server's reference goes: the version is freed after its last stream. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.release();
  }

  #free(): void {
    for (const d of this.#disposers) d();
    this.table.release();
  }
}
