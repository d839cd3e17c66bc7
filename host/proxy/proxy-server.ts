// The data-path server: a uWS listener, the current configuration version (route table in the
// core, header edits, cluster pools) swapped atomically by apply(), and the per-request
// streams; what the CLI, the admin API and hot reload drive.
import { Core } from '../core/wasm.js';
import { RouteTable, requestViewOf } from '../core/router.js';
import { compileRouteTable } from '../compile/route-table.js';
import type { MeshConfig } from '../model/mesh.js';
import { Listener } from '../listener/listener.js';
import type { Downstream, DownstreamHandler } from '../listener/downstream.js';
import { ClusterPool } from '../upstream/cluster-pool.js';
import { CoreUpstreamCodec } from '../upstream/core-codec.js';
import { Stats } from '../stats/stats.js';
import { resolveLimits, type Limits } from './limits.js';
import type { AccessLogEntry } from './access-log.js';
import { ProxyStream, type ProxyContext } from './proxy-stream.js';
import { ProxyVersion, mergeOps, type ClusterRuntime, type RouteRuntime } from './proxy-version.js';
import type { EditHandle } from '../upstream/upstream-codec.js';
import type { HeaderOps } from '../model/mesh.js';

/**
 * Response edits applied before the route's own (which may override them): uWS writes its own
 * Date, so the upstream's is dropped; `server` is overwritten, as Envoy does by default
 * (server_header_transformation OVERWRITE; Istio's sidecars answer `server: istio-envoy`).
 */
const RESPONSE_DEFAULTS: HeaderOps = { remove: ['date'], set: [['server', 'wasmesh']], add: [] };

/** For requests answered before any stream exists (no config yet, shutting down). */
const IGNORE_DOWNSTREAM: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };

export interface ProxyServerOptions {
  host: string;
  port: number;
  log?: (line: AccessLogEntry) => void;
  limits?: Partial<Limits>;
}

export interface EndpointStatus {
  address: string;
  port: number;
  healthy: boolean;
  activeRequests: number;
  connections: { active: number; idle: number; connecting: number };
}

export interface ClusterStatus {
  name: string;
  connections: number;
  endpoints: EndpointStatus[];
}

export class ProxyServer {
  readonly stats = new Stats();
  readonly limits: Limits;
  readonly #core: Core;
  readonly #codec: CoreUpstreamCodec;
  readonly #listener: Listener;
  readonly #ctx: ProxyContext;
  readonly #pools = new Map<string, ClusterPool>();
  #current: ProxyVersion | null = null;
  #closing: Promise<void> | null = null;

  constructor(opts: ProxyServerOptions) {
    this.limits = resolveLimits(opts.limits);
    this.#core = new Core();
    const view = requestViewOf(this.#core);
    this.#codec = new CoreUpstreamCodec(this.#core, view);
    this.#ctx = {
      stats: this.stats,
      limits: this.limits,
      requestView: view,
      log: opts.log,
      inflight: new Set(),
    };
    this.#listener = new Listener(opts.host, opts.port, (ds) => this.#onRequest(ds));
  }

  /** The actual listening port (after listen()). */
  get port(): number {
    return this.#listener.port;
  }

  /** The version being served (null before the first apply). */
  get current(): ProxyVersion | null {
    return this.#current;
  }

  /** Requests in flight across all versions. */
  get inflight(): number {
    return this.#ctx.inflight.size;
  }

  /**
   * Compiles and loads `mesh` as `version`, then swaps it in. Throws (RouteCompileError,
   * RouteTableError) on a bad mesh, leaving the previous version serving untouched.
   */
  apply(mesh: MeshConfig, version: number): void {
    const bytes = compileRouteTable(mesh);
    const table = RouteTable.load(this.#core, bytes, version);
    const edits: EditHandle[] = [];
    const encode = (ops: HeaderOps): EditHandle => {
      const e = this.#codec.encodeEdits(ops);
      edits.push(e);
      return e;
    };
    let routes: RouteRuntime[];
    try {
      const clusterIndex = new Map(mesh.clusters.map((c, i) => [c.name, i]));
      routes = [];
      for (const vh of mesh.virtualHosts) {
        for (const r of vh.routes) {
          routes.push({
            name: r.name,
            timeoutMs: r.timeoutMs ?? 0,
            stats: this.stats.route(r.name),
            destClusters: r.destinations.map((d) => clusterIndex.get(d.cluster) ?? -1),
            requestEdits: r.destinations.map((d) => encode(mergeOps(r.requestHeaders, d.requestHeaders))),
            responseEdits: r.destinations.map((d) => encode(mergeOps(RESPONSE_DEFAULTS, r.responseHeaders, d.responseHeaders))),
          });
        }
      }
    } catch (err) {
      for (const e of edits) e.dispose();
      table.release();
      throw err;
    }
    // Nothing below throws: from here the swap is committed.
    const clusters: ClusterRuntime[] = mesh.clusters.map((c) => {
      let pool = this.#pools.get(c.name);
      if (!pool) this.#pools.set(c.name, (pool = new ClusterPool(c.name, this.stats.cluster(c.name), this.limits, this.#codec)));
      return { name: c.name, pool, stats: pool.stats, endpoints: c.endpoints.map((e) => pool!.endpoint(e.address, e.port)) };
    });
    const prev = this.#current;
    this.#current = new ProxyVersion(version, mesh, table, routes, clusters);
    // Pools of endpoints and clusters that left the config close (busy connections finish first).
    const live = new Map<string, Set<string>>();
    for (const c of mesh.clusters) live.set(c.name, new Set(c.endpoints.map((e) => `${e.address}:${e.port}`)));
    for (const [name, pool] of this.#pools) {
      const keys = live.get(name);
      if (keys) pool.retainOnly(keys);
      else {
        pool.close();
        this.#pools.delete(name);
      }
    }
    // In-flight requests keep `prev` alive until they finish; then its core memory is freed.
    prev?.retire();
  }

  listen(): Promise<void> {
    return this.#listener.listen();
  }

  /** Stops accepting, lets in-flight requests finish for up to limits.drainTimeoutMs, then aborts the rest and closes pools. */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#listener.stopAccepting();
    const deadline = Date.now() + this.limits.drainTimeoutMs;
    while (this.#ctx.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.#ctx.inflight]) s.abort();
    for (const pool of this.#pools.values()) pool.destroyAll();
    this.#pools.clear();
    this.#current?.retire();
    this.#current = null;
  }

  clusters(): ClusterStatus[] {
    const out: ClusterStatus[] = [];
    const v = this.#current;
    if (!v) return out;
    v.mesh.clusters.forEach((c, ci) => {
      const rt = v.clusters[ci]!;
      out.push({
        name: c.name,
        connections: rt.pool.connectionCount,
        endpoints: rt.endpoints.map((ep) => ({
          address: ep.address,
          port: ep.port,
          healthy: ep.healthy,
          activeRequests: ep.activeRequests,
          connections: ep.connections,
        })),
      });
    });
    return out;
  }

  #onRequest(ds: Downstream): void {
    const v = this.#current;
    if (!v || this.#closing) {
      ds.attach(IGNORE_DOWNSTREAM, false);
      ds.reply('503 Service Unavailable', [], this.#closing ? 'proxy is shutting down' : 'no configuration loaded');
      return;
    }
    new ProxyStream(this.#ctx, ds).run(v);
  }
}
