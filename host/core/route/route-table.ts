// One loaded version of the route table inside a Core: copies the compiled bytes into linear
// memory, has the core validate them, and wraps the core's numeric routing calls. Reference
// counted so in-flight requests keep their version alive after a newer one replaced it.
import type { Core, CoreExports } from '../wasm.js';
import { requestViewOf } from '../request-view.js';

/** The routing exports of core.wasm (assembly/route/index.ts). */
interface RouteExports extends CoreExports {
  route_table_check(table: number, len: number): number;
  route_table_seed(table: number, seed: number): void;
  match_route(table: number, req: number): number;
  pick_destination(table: number, route: number): number;
  pick_destination_slot(table: number, route: number): number;
  pick_endpoint(table: number, cluster: number): number;
  set_endpoint_health(table: number, cluster: number, endpoint: number, healthy: number): number;
  endpoint_active(table: number, cluster: number, endpoint: number, delta: number): number;
}

/** Mirrors RouteStatus in assembly/route/table.ts. */
export const RouteTableStatus = {
  Ok: 0,
  BadLength: -1,
  BadMagic: -2,
  BadFormat: -3,
  Corrupt: -4,
  Unsupported: -5,
  BadIndex: -6,
} as const;

export type RouteTableErrorCode = 'bad_length' | 'bad_magic' | 'bad_format' | 'corrupt' | 'unsupported' | 'bad_index' | 'released' | 'request_too_large';

const STATUS_CODE: Record<number, RouteTableErrorCode> = {
  [RouteTableStatus.BadLength]: 'bad_length',
  [RouteTableStatus.BadMagic]: 'bad_magic',
  [RouteTableStatus.BadFormat]: 'bad_format',
  [RouteTableStatus.Corrupt]: 'corrupt',
  [RouteTableStatus.Unsupported]: 'unsupported',
  [RouteTableStatus.BadIndex]: 'bad_index',
};

const STATUS_REASON: Record<RouteTableErrorCode, string> = {
  bad_length: 'the table is shorter than its header or its recorded length differs',
  bad_magic: 'the bytes are not a route table (magic "WMRT" missing)',
  bad_format: 'the table was written for another format version than this core reads',
  corrupt: 'a section, record, string or index lies outside the table',
  unsupported: 'the table uses a match kind or lb policy this core does not implement',
  bad_index: 'a route, cluster or endpoint index is out of range',
  released: 'the route table version was already released',
  request_too_large: 'the request does not fit the request view',
};

export class RouteTableError extends Error {
  readonly code: RouteTableErrorCode;
  /** The core's status number (0 for errors detected in the host). */
  readonly status: number;
  constructor(code: RouteTableErrorCode, status: number, detail: string) {
    super(`route table ${detail}: ${STATUS_REASON[code]} (${code})`);
    this.name = 'RouteTableError';
    this.code = code;
    this.status = status;
  }
}

let seedCounter = 0;

export class RouteTable {
  readonly version: number;
  readonly byteLength: number;
  readonly #core: Core;
  readonly #x: RouteExports;
  readonly #req: number;
  #ptr: number;
  #refs = 1;

  private constructor(core: Core, ptr: number, byteLength: number, version: number) {
    this.#core = core;
    this.#x = core.exports as RouteExports;
    this.#ptr = ptr;
    this.byteLength = byteLength;
    this.version = version;
    this.#req = requestViewOf(core).base;
  }

  /**
   * Copies `bytes` (from compileRouteTable) into `core`'s memory and has the core check them.
   * The returned table holds one reference (the caller's); release() it when replaced.
   * @throws RouteTableError when the core refuses the table (its memory is freed first).
   */
  static load(core: Core, bytes: Uint8Array, version: number): RouteTable {
    const x = core.exports as RouteExports;
    const ptr = x.alloc(bytes.length);
    core.u8.set(bytes, ptr); // re-read u8: alloc may have grown memory
    const status = x.route_table_check(ptr, bytes.length);
    if (status !== RouteTableStatus.Ok) {
      x.free(ptr);
      const code = STATUS_CODE[status] ?? 'corrupt';
      throw new RouteTableError(code, status, `version ${version} refused by the core`);
    }
    // Distinct random streams per version and per core, for RANDOM and LEAST_REQUEST.
    x.route_table_seed(ptr, (Math.random() * 0xffffffff) ^ ++seedCounter);
    return new RouteTable(core, ptr, bytes.length, version);
  }

  /** The table's address in linear memory (0 once released). */
  get address(): number {
    return this.#ptr;
  }

  get refs(): number {
    return this.#refs;
  }

  get released(): boolean {
    return this.#ptr === 0;
  }

  /** Keeps this version alive (one more user, e.g. an in-flight request). */
  retain(): this {
    this.#live('retain');
    this.#refs++;
    return this;
  }

  /** Drops one reference; the last one frees the table's memory. */
  release(): void {
    this.#live('release');
    if (--this.#refs === 0) {
      this.#x.free(this.#ptr);
      this.#ptr = 0;
    }
  }

  /** The route index for the request the caller wrote into the core's RequestView, or -1. */
  match(): number {
    return this.#x.match_route(this.#live('match'), this.#req);
  }

  /** Fills the RequestView and matches: for tests, benchmarks and tools, not the data path. */
  matchRequest(method: string, path: string, authority: string, headers: ReadonlyArray<readonly [string, string]> = []): number {
    const view = requestViewOf(this.#core);
    let err = view.begin(method, path, authority);
    for (let i = 0; err === null && i < headers.length; i++) err = view.header(headers[i]![0], headers[i]![1]);
    if (err !== null) throw new RouteTableError('request_too_large', 0, `matchRequest (${err})`);
    return this.match();
  }

  /** Smooth-WRR pick over route `route`'s destinations: the cluster index, or -1 when none. */
  pickCluster(route: number): number {
    return this.#checked(this.#x.pick_destination(this.#live('pickCluster'), route), route, -1);
  }

  /** Same picking (same state) as pickCluster, but returns the destination's position in the route. */
  pickDestination(route: number): number {
    return this.#checked(this.#x.pick_destination_slot(this.#live('pickDestination'), route), route, -1);
  }

  /** An endpoint index by the cluster's lb policy, or -1 when no endpoint is healthy. */
  pickEndpoint(cluster: number): number {
    return this.#checked(this.#x.pick_endpoint(this.#live('pickEndpoint'), cluster), -1, cluster);
  }

  /** Marks an endpoint healthy or not (this version only: a new version starts all healthy). */
  setHealth(cluster: number, endpoint: number, healthy: boolean): void {
    this.#checked(this.#x.set_endpoint_health(this.#live('setHealth'), cluster, endpoint, healthy ? 1 : 0), -1, cluster, endpoint);
  }

  /** Adds `delta` to an endpoint's active requests; returns the new count. */
  active(cluster: number, endpoint: number, delta: number): number {
    return this.#checked(this.#x.endpoint_active(this.#live('active'), cluster, endpoint, delta | 0), -1, cluster, endpoint);
  }

  #live(what: string): number {
    if (this.#ptr === 0) throw new RouteTableError('released', 0, `version ${this.version}: ${what}() after release`);
    return this.#ptr;
  }

  /**
   * `result`, or the bad-index error for `route` (≥ 0) or `cluster` (and `endpoint` ≥ 0): the
   * message is built only then (these run per request: a template literal was a string each time).
   */
  #checked(result: number, route: number, cluster: number, endpoint = -1): number {
    if (result !== RouteTableStatus.BadIndex) return result;
    const what = route >= 0 ? `route ${route}` : endpoint >= 0 ? `cluster ${cluster} endpoint ${endpoint}` : `cluster ${cluster}`;
    throw new RouteTableError('bad_index', result, `version ${this.version}: ${what}`);
  }
}
