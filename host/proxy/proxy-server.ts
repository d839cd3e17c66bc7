// The data-path server: a uWS listener, the current configuration version (route table in the
// core, header edits, route policies, the cluster manager's view of the clusters) swapped
// atomically by apply(), and the per-request streams; what the CLI, the admin API and hot
// reload drive.
import { InflightList } from './inflight.js';
import { Core } from '../core/wasm.js';
import { RouteTable, requestViewOf } from '../core/router.js';
import { compileRouteTable } from '../compile/route-table.js';
import type { MeshConfig } from '../model/mesh.js';
import { Listener } from '../listener/listener.js';
import type { Downstream, DownstreamHandler } from '../listener/downstream.js';
import { CoreUpstreamCodec } from '../upstream/core-codec.js';
import { Stats } from '../stats/stats.js';
import { resolveLimits, type Limits } from './limits.js';
import type { AccessLogEntry } from './access-log.js';
import { ProxyStream, type ProxyContext } from './proxy-stream.js';
import { ProxyVersion, mergeOps, type ClusterRuntime, type RouteRuntime } from './proxy-version.js';
import type { EditHandle, RequestFraming } from '../upstream/upstream-codec.js';
import type { HeaderOps, Route } from '../model/mesh.js';
import { RetryPolicy, retryPolicyFromIstio } from '../core/upstream-policy.js';
import { ClusterManager, type ClusterStatus } from './cluster-manager.js';
import { RequestHeadWriter, EditList, WRITE_FRAMING_NONE, WRITE_FRAMING_LENGTH, WRITE_FRAMING_CHUNKED, type HeadOverrides } from '../core/codec.js';
import { Random } from './random.js';
import { RouteRewrite } from './rewrite.js';
import { RouteCors } from './cors.js';

const WRITE_FRAMING: Record<RequestFraming, number> = { none: WRITE_FRAMING_NONE, length: WRITE_FRAMING_LENGTH, chunked: WRITE_FRAMING_CHUNKED };

/**
 * Request headers the proxy itself sets per attempt, dropped from what the client sent:
 * x-envoy-attempt-count always (Istio sets include_request_attempt_count on its virtual
 * hosts), x-envoy-original-path also when the route rewrites the path.
 */
const STRIP_ATTEMPT: HeaderOps = { remove: ['x-envoy-attempt-count'], set: [], add: [] };
const STRIP_ATTEMPT_AND_ORIGINAL_PATH: HeaderOps = { remove: ['x-envoy-attempt-count', 'x-envoy-original-path'], set: [], add: [] };
/**
 * The first attempt's count, applied after the route's edits: the head written once per
 * request is then the one sent, with no copy, unless the request is retried.
 */
const ATTEMPT_ONE: HeaderOps = { remove: [], set: [['x-envoy-attempt-count', '1']], add: [] };

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
  /**
   * Seeds the percentage draws (fault injection, mirroring) and the clusters' retry backoff
   * jitter, so tests get repeatable sequences; absent, random.
   */
  seed?: number;
  /** The compiled core to instantiate (a worker thread gets the main thread's); default: build/core.wasm. */
  coreModule?: WebAssembly.Module;
}

export type { ClusterStatus, EndpointStatus } from './cluster-manager.js';

export class ProxyServer {
  readonly stats = new Stats();
  readonly limits: Limits;
  readonly #core: Core;
  readonly #codec: CoreUpstreamCodec;
  readonly #listener: Listener;
  readonly #ctx: ProxyContext;
  readonly #clusters: ClusterManager;
  readonly #writer: RequestHeadWriter;
  readonly #strip: EditHandle;
  readonly #stripRewrite: EditHandle;
  #current: ProxyVersion | null = null;
  #closing: Promise<void> | null = null;

  readonly #requestedPort: number;

  constructor(opts: ProxyServerOptions) {
    this.limits = resolveLimits(opts.limits);
    this.#core = new Core(opts.coreModule);
    const view = requestViewOf(this.#core);
    this.#codec = new CoreUpstreamCodec(this.#core, view);
    this.#clusters = new ClusterManager(this.#core, this.stats, this.limits, this.#codec, { seed: opts.seed });
    this.#writer = new RequestHeadWriter(this.#core);
    this.#strip = new EditList(this.#core, STRIP_ATTEMPT);
    this.#stripRewrite = new EditList(this.#core, STRIP_ATTEMPT_AND_ORIGINAL_PATH);
    const writer = this.#writer;
    const lists2 = [this.#strip, this.#strip] as EditList[];
    const lists3 = [this.#strip, this.#strip, new EditList(this.#core, ATTEMPT_ONE)] as EditList[];
    this.#ctx = {
      stats: this.stats,
      limits: this.limits,
      requestView: view,
      log: opts.log,
      inflight: new InflightList(),
      rng: new Random(opts.seed),
      listenerPort: () => this.#listener.port,
      clusters: this.#clusters,
      writeHead: (edits, rewritesPath, framing, contentLength, overrides, attemptOne) => {
        // Reused argument arrays: the writer reads them synchronously and keeps nothing.
        const lists = attemptOne ? lists3 : lists2;
        lists[0] = (rewritesPath ? this.#stripRewrite : this.#strip) as EditList;
        lists[1] = edits as EditList;
        return writer.write(view, lists, WRITE_FRAMING[framing], contentLength, overrides);
      },
    };
    this.#requestedPort = opts.port;
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
    // `port` matches fall back to the listener's port when the authority names none; before
    // listen() that is the configured port (0 in tests that let the OS choose).
    const bytes = compileRouteTable(mesh, { listenerPort: this.#listener.port || this.#requestedPort });
    const table = RouteTable.load(this.#core, bytes, version);
    const edits: EditHandle[] = [];
    const encode = (ops: HeaderOps): EditHandle => {
      const e = this.#codec.encodeEdits(ops);
      edits.push(e);
      return e;
    };
    const policies: RetryPolicy[] = [];
    let defaultRetry: RetryPolicy | null = null;
    const retryOf = (r: Route): RetryPolicy => {
      if (r.retry === undefined) {
        if (!defaultRetry) policies.push((defaultRetry = RetryPolicy.encode(this.#core, retryPolicyFromIstio(undefined))));
        return defaultRetry;
      }
      const p = RetryPolicy.encode(this.#core, r.retry);
      policies.push(p);
      return p;
    };
    let routes: RouteRuntime[];
    let clusters: ClusterRuntime[];
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
            retry: retryOf(r),
            fault: r.fault && (r.fault.delay || r.fault.abort) ? r.fault : null,
            rewrite: RouteRewrite.compile(r),
            redirect: r.redirect ?? null,
            directResponse: r.directResponse ?? null,
            cors: r.cors ? new RouteCors(r.cors, r.name) : null,
            mirrors: (r.mirrors ?? []).map((m) => ({ clusterIndex: clusterIndex.get(m.cluster) ?? -1, percentage: m.percentage })),
            localResponseHeaders: [...r.responseHeaders.set, ...r.responseHeaders.add].map(([n, v]) => [n.toLowerCase(), v]),
          });
        }
      }
      // Last: the cluster manager changes nothing when it throws (a refused hash table).
      clusters = this.#clusters.apply(mesh, table);
    } catch (err) {
      for (const e of edits) e.dispose();
      for (const p of policies) p.free();
      table.release();
      throw err;
    }
    // Nothing below throws: from here the swap is committed.
    const prev = this.#current;
    this.#current = new ProxyVersion(version, mesh, table, routes, clusters);
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
    for (const s of this.#ctx.inflight.values()) s.abort();
    this.#clusters.close();
    this.#current?.retire();
    this.#current = null;
    // Idle keep-alive connections too: nothing is left for them, and a worker thread's event
    // loop only ends once uWS holds no socket.
    this.#listener.closeAll();
  }

  /**
   * Stops accepting and closes every downstream connection at once, without draining: for a
   * worker thread that is going down on an error (its event loop must not end while uWS
   * still holds sockets: Node aborts the whole process then).
   */
  closeListenerNow(): void {
    this.#listener.stopAccepting();
    this.#listener.closeAll();
  }

  /** Every cluster with its endpoints' health, ejections and active requests (GET /clusters). */
  clusters(): ClusterStatus[] {
    return this.#clusters.clusters();
  }

  /** The cluster manager (outlier ticks and stats sync for tests and the admin API). */
  get clusterManager(): ClusterManager {
    return this.#clusters;
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
