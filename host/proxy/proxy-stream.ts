// One downstream request through the proxy, as a state machine: route → endpoint → upstream
// exchange → streamed response, with every failure mapped to an Envoy response flag. Holds
// the version it started on until it finishes.
import { randomUUID } from 'node:crypto';
import type { Downstream, DownstreamHandler, ResponseBodyMode } from '../listener/downstream.js';
import type { ExchangeHandler, UpstreamConnection, UpstreamFailure } from '../upstream/upstream-connection.js';
import type { AcquireFailure, EndpointPool, PendingAcquire } from '../upstream/endpoint-pool.js';
import type { ResponseHead } from '../upstream/upstream-codec.js';
import type { ProxyVersion, RouteRuntime, ClusterRuntime } from './proxy-version.js';
import type { RequestView } from '../core/request-view.js';
import type { Stats } from '../stats/stats.js';
import type { Limits } from './limits.js';
import type { AccessLogEntry } from './access-log.js';
import { LOCAL_REPLY, ResponseFlag } from './response-flags.js';

/** What every stream shares: the server's stats, limits, log and request bookkeeping. */
export interface ProxyContext {
  readonly stats: Stats;
  readonly limits: Limits;
  readonly requestView: RequestView;
  readonly log: ((e: AccessLogEntry) => void) | undefined;
  readonly inflight: Set<ProxyStream>;
}

const enum Phase { Routing, Connecting, Exchanging, Done }

// Methods a stale keep-alive connection may replay (RFC 9110 §9.2.2 idempotent).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class ProxyStream implements DownstreamHandler, ExchangeHandler {
  readonly #ctx: ProxyContext;
  readonly #ds: Downstream;
  #version: ProxyVersion | null = null;
  #phase = Phase.Routing;
  #route: RouteRuntime | null = null;
  #destSlot = 0;
  #clusterIndex = -1;
  #cluster: ClusterRuntime | null = null;
  #endpointIndex = -1;
  #endpoint: EndpointPool | null = null;
  #conn: UpstreamConnection | null = null;
  #pending: PendingAcquire | null = null;
  #timer: NodeJS.Timeout | null = null;
  #flags: string[] = [];
  #requestId = '';
  #head: Uint8Array | null = null;
  #hasBody = false;
  #chunked = false;
  #body: Uint8Array[] = [];
  #bodyBytes = 0;
  #bodyDone = false;
  #retried = false;
  #upstreamTime = -1;
  #forwardedFor: string | undefined;

  constructor(ctx: ProxyContext, ds: Downstream) {
    this.#ctx = ctx;
    this.#ds = ds;
  }

  /** Runs synchronously inside the uWS handler (everything read from `req` is already copied). */
  run(version: ProxyVersion): void {
    const ctx = this.#ctx;
    const ds = this.#ds;
    ctx.stats.downstream.inc('downstream_rq_total');
    ctx.stats.downstream.inc('downstream_rq_active');
    ctx.inflight.add(this);
    this.#version = version;
    version.retain();
    const te = this.#header('transfer-encoding');
    const cl = this.#header('content-length');
    this.#chunked = te !== null;
    this.#hasBody = this.#chunked || (cl !== null && cl !== '0');
    ds.attach(this, this.#hasBody);
    if (ds.headers.length > ctx.limits.maxRequestHeaders || ds.headBytes > ctx.limits.maxRequestHeadBytes) {
      ctx.stats.downstream.inc('downstream_rq_header_overflow');
      this.#localReply(ResponseFlag.DownstreamProtocolError);
      return;
    }
    // Route on the request as forwarded (Envoy mutates x-forwarded-* and x-request-id
    // before routing): the core's request view holds exactly what the head writer sends.
    const view = ctx.requestView;
    let err = view.begin(ds.method, ds.path, ds.authority);
    let xff = false;
    let xfp = false;
    for (let i = 0; err === null && i < ds.headers.length; i++) {
      const [name, value] = ds.headers[i]!;
      if (name === 'x-forwarded-for' && !xff) {
        xff = true;
        this.#forwardedFor = `${value}, ${ds.remoteAddress}`;
        err = view.header(name, this.#forwardedFor);
        continue;
      }
      if (name === 'x-forwarded-proto') xfp = true;
      else if (name === 'x-request-id' && !this.#requestId) this.#requestId = value;
      err = view.header(name, value);
    }
    if (err === null && !xff) err = view.header('x-forwarded-for', (this.#forwardedFor = ds.remoteAddress));
    // Kept when present: a gateway in front may have terminated TLS.
    if (err === null && !xfp) err = view.header('x-forwarded-proto', 'http');
    if (err === null && !this.#requestId) err = view.header('x-request-id', (this.#requestId = randomUUID()));
    if (err !== null) {
      ctx.stats.downstream.inc('downstream_rq_header_overflow');
      this.#localReply(ResponseFlag.DownstreamProtocolError);
      return;
    }
    const table = version.table;
    const routeIndex = table.match();
    if (routeIndex < 0) {
      ctx.stats.downstream.inc('no_route');
      this.#localReply(ResponseFlag.NoRouteFound);
      return;
    }
    const route = (this.#route = version.routes[routeIndex]!);
    route.stats.inc('rq_total');
    this.#destSlot = table.pickDestination(routeIndex);
    this.#clusterIndex = route.destClusters[this.#destSlot] ?? -1;
    const cluster = (this.#cluster = version.clusters[this.#clusterIndex] ?? null);
    if (!cluster) {
      this.#localReply(ResponseFlag.NoHealthyUpstream);
      return;
    }
    cluster.stats.inc('upstream_rq_total');
    cluster.stats.inc('upstream_rq_active');
    this.#endpointIndex = table.pickEndpoint(this.#clusterIndex);
    if (this.#endpointIndex < 0) {
      cluster.stats.inc('upstream_cx_none_healthy');
      this.#localReply(ResponseFlag.NoHealthyUpstream);
      return;
    }
    const endpoint = (this.#endpoint = cluster.endpoints[this.#endpointIndex]!);
    endpoint.activeRequests++;
    table.active(this.#clusterIndex, this.#endpointIndex, 1);

    // Written now, while the request view still holds this request (the next one reuses it).
    this.#head = cluster.pool.codec.writeRequestHead(
      route.requestEdits[this.#destSlot]!,
      this.#chunked ? 'chunked' : this.#hasBody ? 'length' : 'none',
      this.#hasBody && !this.#chunked ? Number(cl) : 0,
    );
    const timeout = route.timeoutMs || ctx.limits.defaultRouteTimeoutMs;
    if (timeout > 0) this.#timer = setTimeout(() => this.#onTimeout(), timeout);
    this.#connect();
  }

  #header(name: string): string | null {
    for (const [n, v] of this.#ds.headers) if (n === name) return v;
    return null;
  }

  #connect(): void {
    this.#phase = Phase.Connecting;
    this.#pending = this.#endpoint!.acquire((r) => this.#onConnection(r));
  }

  #onConnection(r: UpstreamConnection | AcquireFailure): void {
    this.#pending = null;
    if (this.#phase !== Phase.Connecting) {
      if (typeof r !== 'string') this.#endpoint!.release(r, true);
      return;
    }
    if (typeof r === 'string') {
      this.#localReply(r === 'overflow' ? ResponseFlag.UpstreamOverflow : ResponseFlag.UpstreamConnectionFailure);
      return;
    }
    this.#phase = Phase.Exchanging;
    this.#conn = r;
    r.start(this.#head!, this, { isHead: this.#ds.method === 'HEAD', chunked: this.#chunked, hasBody: this.#hasBody });
    let ok = true;
    for (const chunk of this.#body) ok = r.writeBody(chunk) && ok;
    this.#body = [];
    this.#bodyBytes = 0;
    if (this.#bodyDone) r.endRequest();
    if (!ok) this.#ds.pauseBody();
    else this.#ds.resumeBody();
  }

  // ── Downstream events ────────────────────────────────────────────────────────────────
  onBodyData(chunk: Uint8Array, last: boolean): void {
    if (this.#phase === Phase.Done) return;
    if (last) this.#bodyDone = true;
    const conn = this.#conn;
    if (this.#phase === Phase.Exchanging && conn) {
      const ok = conn.writeBody(chunk);
      if (last) conn.endRequest();
      if (!ok) this.#ds.pauseBody();
      return;
    }
    // Not connected yet: buffer a bounded amount, then stop reading the client.
    if (chunk.length > 0) this.#body.push(chunk);
    this.#bodyBytes += chunk.length;
    if (this.#bodyBytes >= this.#ctx.limits.requestBufferBytes) this.#ds.pauseBody();
  }

  onAborted(): void {
    if (this.#phase === Phase.Done) return;
    this.#flags.push(ResponseFlag.DownstreamConnectionTermination);
    this.#ctx.stats.downstream.inc('downstream_rq_rx_reset');
    this.#cancelUpstream();
    this.#finish();
  }

  onWritable(): void {
    this.#conn?.resumeResponse();
  }

  onResponseComplete(): void {
    this.#finish();
  }

  // ── Upstream events ──────────────────────────────────────────────────────────────────
  onRequestDrain(): void {
    this.#ds.resumeBody();
  }

  onResponseHead(head: ResponseHead): void {
    const ds = this.#ds;
    this.#upstreamTime = Date.now() - ds.startTime;
    const cs = this.#cluster!.stats;
    cs.incDynamic(`upstream_rq_${head.code}`);
    cs.inc(`upstream_rq_${Math.floor(head.code / 100)}xx` as 'upstream_rq_2xx');
    this.#route!.stats.incDynamic(`rq_${head.code}`);
    const edits = this.#route!.responseEdits[this.#destSlot]!;
    const codec = this.#cluster!.pool.codec;
    const isHead = ds.method === 'HEAD';
    const body: ResponseBodyMode = head.framing === 'none' ? { kind: 'none' } : head.framing === 'length' ? { kind: 'length', length: head.contentLength } : { kind: 'stream' };
    const upstreamTime = String(this.#upstreamTime);
    ds.writeHead(head.code, (sink) => {
      // The core filters the fields (hop-by-hop and framing dropped, route edits applied,
      // including date removed and server overwritten); the spans go straight to uWS.
      codec.forEachResponseField(edits, isHead || head.code === 304, sink.status, sink.header);
      sink.header('x-envoy-upstream-service-time', upstreamTime);
    }, body);
  }

  onResponseData(data: Uint8Array): boolean {
    if (this.#phase === Phase.Done) return true;
    return this.#ds.write(data);
  }

  onResponseEnd(): void {
    this.#conn = null;
    this.#cluster?.stats.inc('upstream_rq_completed');
    if (this.#phase === Phase.Done) return;
    this.#ds.end();
  }

  onUpstreamFailure(failure: UpstreamFailure, stale: boolean): void {
    this.#conn = null;
    if (this.#phase === Phase.Done) return;
    if (stale && !this.#retried && !this.#hasBody && IDEMPOTENT.has(this.#ds.method) && !this.#ds.headSent) {
      // The keep-alive race: the upstream closed an idle connection as we reused it, and
      // nothing came back. Replaying a bodyless idempotent request on a fresh connection is safe.
      this.#retried = true;
      this.#cluster!.stats.inc('upstream_rq_retry_stale');
      this.#connect();
      return;
    }
    const flag = failure === 'protocol_error' ? ResponseFlag.UpstreamProtocolError : ResponseFlag.UpstreamConnectionTermination;
    if (!this.#ds.headSent) {
      this.#localReply(flag);
      return;
    }
    // Mid-response: close the client connection so it cannot take a partial body for a whole one.
    this.#flags.push(flag);
    this.#ds.abort();
    this.#finish();
  }

  // ── Endings ──────────────────────────────────────────────────────────────────────────
  #onTimeout(): void {
    this.#timer = null;
    if (this.#phase === Phase.Done) return;
    this.#cluster?.stats.inc('upstream_rq_timeout');
    this.#cancelUpstream();
    if (!this.#ds.headSent) {
      this.#localReply(ResponseFlag.UpstreamRequestTimeout);
      return;
    }
    this.#flags.push(ResponseFlag.UpstreamRequestTimeout);
    this.#ds.abort();
    this.#finish();
  }

  /** Aborts the stream from outside (server shutdown after the drain period). */
  abort(): void {
    if (this.#phase === Phase.Done) return;
    this.#cancelUpstream();
    this.#ds.abort();
    this.#finish();
  }

  #cancelUpstream(): void {
    this.#pending?.cancel();
    this.#pending = null;
    if (this.#conn) {
      this.#cluster?.stats.inc('upstream_rq_cancelled');
      this.#conn.abort();
      this.#conn = null;
    }
  }

  #localReply(flag: ResponseFlag): void {
    this.#flags.push(flag);
    const reply = LOCAL_REPLY[flag]!;
    this.#ds.reply(reply.status, [], reply.body);
    // reply() normally finishes the stream through onResponseComplete; make sure of it.
    this.#finish();
  }

  #finish(): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    const ctx = this.#ctx;
    const ds = this.#ds;
    if (this.#timer) clearTimeout(this.#timer);
    this.#cancelPendingOnly();
    ctx.inflight.delete(this);
    ctx.stats.downstream.dec('downstream_rq_active');
    const code = ds.status;
    ctx.stats.downstreamDone(code, this.#flags);
    if (this.#cluster) this.#cluster.stats.dec('upstream_rq_active');
    const version = this.#version!;
    if (this.#endpoint) {
      this.#endpoint.activeRequests--;
      version.table.active(this.#clusterIndex, this.#endpointIndex, -1);
    }
    if (ctx.log) {
      ctx.log({
        startTime: ds.startTime,
        method: ds.method,
        path: ds.path,
        code,
        flags: this.#flags.length ? this.#flags.join(',') : '-',
        bytesReceived: ds.bytesReceived,
        bytesSent: ds.bytesSent,
        durationMs: Date.now() - ds.startTime,
        upstreamServiceTimeMs: this.#upstreamTime,
        requestId: this.#requestId,
        authority: ds.authority,
        upstreamHost: this.#endpoint ? this.#endpoint.key : '-',
        upstreamCluster: this.#cluster ? this.#cluster.name : '-',
        route: this.#route ? this.#route.name : '-',
        version: version.version,
        protocol: 'HTTP/1.1',
        forwardedFor: this.#forwardedFor,
        userAgent: this.#header('user-agent') ?? undefined,
      });
    }
    version.release();
  }

  #cancelPendingOnly(): void {
    this.#pending?.cancel();
    this.#pending = null;
  }
}
