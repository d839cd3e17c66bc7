// The core's explanation calls over a loaded RouteTable (assembly/route/explain.ts): which
// virtual host serves a request, and, per route block, the first condition that fails. For
// `wasmesh explain` and tests; the data path never calls these.
import type { Core, CoreExports } from '../wasm.js';
import { requestViewOf } from '../request-view.js';
import { RouteTable, RouteTableError, RouteTableStatus } from './route-table.js';

interface ExplainExports extends CoreExports {
  explain_virtual_host(table: number, req: number): number;
  explain_block_count(table: number, route: number): number;
  explain_condition_count(table: number, route: number, block: number): number;
  explain_first_failing(table: number, req: number, route: number, block: number): number;
}

/** One route's verdict: holds, or for each of its blocks the first failing condition's position. */
export interface RouteVerdict {
  readonly holds: boolean;
  /** Per match block (table order): -1 when it holds, else its first failing condition. Empty: the route has no block (matches all). */
  readonly firstFailing: readonly number[];
  /** Per match block: its condition count in the table. */
  readonly conditionCounts: readonly number[];
}

export class RouteExplainer {
  readonly #core: Core;
  readonly #x: ExplainExports;
  readonly #table: RouteTable;

  constructor(core: Core, table: RouteTable) {
    this.#core = core;
    this.#x = core.exports as ExplainExports;
    this.#table = table;
  }

  /** Writes the request into the core's request view (as RouteTable.matchRequest does). */
  setRequest(method: string, path: string, authority: string, headers: ReadonlyArray<readonly [string, string]> = []): void {
    const view = requestViewOf(this.#core);
    let err = view.begin(method, path, authority);
    for (let i = 0; err === null && i < headers.length; i++) err = view.header(headers[i]![0], headers[i]![1]);
    if (err !== null) throw new RouteTableError('request_too_large', 0, `explain (${err})`);
  }

  /** The core's own match for the request in the view: the flattened route index, or -1. */
  matchedRoute(): number {
    return this.#table.match();
  }

  /** The virtual host (MeshConfig.virtualHosts index) serving the request in the view, or -1. */
  virtualHost(): number {
    return this.#x.explain_virtual_host(this.#table.address, requestViewOf(this.#core).base);
  }

  /** Evaluates every block of flattened route `route` against the request in the view. */
  route(route: number): RouteVerdict {
    const t = this.#table.address;
    const blocks = this.#ok(this.#x.explain_block_count(t, route), `route ${route}`);
    const firstFailing: number[] = [];
    const conditionCounts: number[] = [];
    const rv = requestViewOf(this.#core).base;
    for (let b = 0; b < blocks; b++) {
      conditionCounts.push(this.#ok(this.#x.explain_condition_count(t, route, b), `route ${route} block ${b}`));
      firstFailing.push(this.#ok(this.#x.explain_first_failing(t, rv, route, b), `route ${route} block ${b}`, true));
    }
    return { holds: blocks === 0 || firstFailing.includes(-1), firstFailing, conditionCounts };
  }

  #ok(v: number, what: string, allowMinusOne = false): number {
    if (v === RouteTableStatus.BadIndex || (v < 0 && !(allowMinusOne && v === -1))) throw new RouteTableError('bad_index', v, `explain: ${what}`);
    return v;
  }
}
