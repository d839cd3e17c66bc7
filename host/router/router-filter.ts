// The router: the terminal filter of a route that goes upstream (Envoy's router filter). It
// picks the route's weighted destination, writes the upstream head (the route's rewrites and
// header edits, by the core), then runs attempts — admission, endpoint pick, a stream from the
// endpoint's connection pool (a ConnPool, whatever its protocol), the exchange — retried by the core's decisions with backoff, bounded by
// the route timeout and the per-try timeout, and streams the response back through the stream.
// Mirrored copies leave from here too, as Envoy's router shadows requests.
//
// Attempt phases: Connecting ⇄ Exchanging → [Backoff → Connecting …] → Done.
import type { Cancellable, ConnPool, ExchangeHandler, PoolCallbacks, PoolFailure, UpstreamFailure, UpstreamStream } from '../upstream/conn-pool/conn-pool.js';
import { liveStream } from './live-stream.js';
import type { RequestFraming, ResponseFields, ResponseHead, EditHandle } from '../upstream/upstream-head.js';
import type { HeadOverrides, HeadTail } from '../core/codec/head-writer.js';
import { RetryState } from './retry-state.js';
import type { RouterPool } from './router-pool.js';
import type { AttemptOutcomeName, AttemptResult, RetryPolicy } from '../core/upstream/retry.js';
import type { ClusterManager, EndpointLease, PickRequest, RequestUnit } from '../upstream/cluster-manager.js';
import type { Limits } from '../common/limits.js';
import type { Random } from '../common/random.js';
import { BodyMode, type HeadSink, type HeadSource } from '../listener/downstream.js';
import { FilterStatus, type HttpFilter, type HttpFilterFactory } from '../http/filter.js';
import type { StreamCallbacks } from '../http/stream-callbacks.js';
import type { ClusterRuntime } from '../http/route-config.js';
import { ResponseFlag } from '../http/response-flags.js';
import { LOCAL_REPLY } from '../http/local-reply.js';
import type { RouteRewrite } from './rewrite.js';
import { withHeaderLines, withAttemptCount, withReplacedLastLines, shadowHost } from './upstream-head-edits.js';
import { sendMirror, type MirrorCopy } from './shadow.js';
import { UpgradeTunnel, type TunnelCallbacks, type TunnelClose } from '../http/upgrade-tunnel.js';
import { grpcTimeoutMs } from './grpc-timeout.js';
import type { Deadline, DeadlineQueue } from '../common/deadline-queue.js';
import type { Trailers } from '../common/trailer-block.js';

/** What every router of one server shares: the cluster level, limits, draws and the head writer. */
export interface RouterContext {
  readonly clusters: ClusterManager;
  readonly limits: Limits;
  /** Percentage draws for mirroring. */
  readonly rng: Random;
  /** The route timeouts of the server's requests (one timer for all, nothing allocated per request). */
  readonly deadlines: DeadlineQueue;
  /** The worker's idle routers (router-pool.ts): a request takes one, or makes one when there is none. */
  readonly routers: RouterPool<Router>;
  /**
   * The upstream head (HTTP/1.1 bytes: see UpstreamStream.start) for the request in the core's
   * request view: the proxy's own header strips, then `edits`; `overrides` replace path and
   * authority (rewrites, the mirror's -shadow host); `attemptOne` writes
   * `x-envoy-attempt-count: 1` last (the first attempt's head as sent).
   */
  readonly writeHead: (edits: EditHandle, rewritesPath: boolean, framing: RequestFraming, contentLength: number, overrides: HeadOverrides | undefined, attemptOne: boolean,
    /** Lines (`name: value\r\n`) inserted before the blank line, then `tail`'s (tracing's): written with the head, no copy of it. */
    lines?: string, tail?: HeadTail | null) => Uint8Array;
}

/** One route as the router serves it, built once per config version. */
export interface RouterRoute {
  readonly name: string;
  /** The route's index in the version's table (destination picks). */
  readonly index: number;
  readonly timeoutMs: number;
  /** Cluster index per destination slot (-1: unknown cluster). */
  readonly destClusters: readonly number[];
  /** Per destination slot: route ops then destination ops, encoded in the core. */
  readonly requestEdits: readonly EditHandle[];
  readonly responseEdits: readonly EditHandle[];
  /** The route's retry policy in the core (Istio's default policy when the route sets none). */
  readonly retry: RetryPolicy;
  readonly rewrite: RouteRewrite | null;
  readonly mirrors: readonly { clusterIndex: number; percentage: number }[];
}

/** The route's router: one per stream (it holds the request's upstream state), an idle one reused when the worker has one. */
export function routerFilter(ctx: RouterContext, route: RouterRoute): HttpFilterFactory {
  return { shared: null, create: () => ctx.routers.take()?.reopen(route) ?? new Router(ctx, route) };
}

const enum Phase { Idle, Connecting, Exchanging, Backoff, Done }

/** Stat names per response status, made once per status rather than concatenated per request. */
interface StatusStatNames {
  upstreamCode: string;
  upstreamClass: 'upstream_rq_1xx' | 'upstream_rq_2xx' | 'upstream_rq_3xx' | 'upstream_rq_4xx' | 'upstream_rq_5xx';
  routeCode: string;
}
const STATUS_STAT_NAMES: Array<StatusStatNames | undefined> = [];

function statNames(code: number): StatusStatNames {
  let n = STATUS_STAT_NAMES[code];
  if (n === undefined) {
    // The response parser only accepts 3-digit status codes (100–999).
    n = {
      upstreamCode: `upstream_rq_${code}`,
      upstreamClass: `upstream_rq_${Math.floor(code / 100)}xx` as StatusStatNames['upstreamClass'],
      routeCode: `rq_${code}`,
    };
    STATUS_STAT_NAMES[code] = n;
  }
  return n;
}

// Scratch arguments for synchronous calls that read them and keep nothing (no object per request).
const START = { isHead: false, chunked: false, hasBody: false, upgrade: false };
const PICK: PickRequest = { headers: [], clientIp: '', path: '', authority: '', originalDestination: null, tried: undefined };
const ATTEMPT: AttemptResult = { outcome: 'Response', status: 0, elapsedMs: 0, routeTimeoutMs: 0, bodyNotBuffered: false };

// Shared empty lists: a router makes its own only when it has something to put in them
// (most requests have no body and no retry).
const NONE: readonly never[] = Object.freeze([]);

// Methods a stale keep-alive connection may replay (RFC 9110 §9.2.2 idempotent).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * One request's router. Reused for later requests of the worker (router-pool.ts): given back once
 * nothing can reach it for this request (#giveBack), its generation moving then.
 */
export class Router implements HttpFilter, PoolCallbacks, ExchangeHandler, HeadSource, TunnelCallbacks, Deadline {
  readonly #ctx: RouterContext;
  #route: RouterRoute;
  /** Moves each time the router is given back to the pool: code that ran on after a call that may have ended the request checks it. */
  #generation = 0;
  /** Ended downstream while its upstream exchange still finishes (completed response): given back at the exchange's last callback. */
  #givesBackAtExchangeEnd = false;
  /** This router's retry bookkeeping and endpoint lease, kept across requests and attempts (#retry / #lease point at them while in use). */
  #retryKept: RetryState | null = null;
  #leaseKept: EndpointLease | undefined = undefined;
  #stream: StreamCallbacks | null = null;
  #phase = Phase.Idle;
  #destSlot = 0;
  #clusterIndex = -1;
  #cluster: ClusterRuntime | null = null;
  /** The cluster's upstream_rq_total/active were counted (the request reached the upstream stage). */
  #upstreamCounted = false;
  #endpoint: ConnPool | null = null;
  /** The current attempt's endpoint and its admission (both given back when the attempt ends). */
  #lease: EndpointLease | null = null;
  #admission: RequestUnit | null = null;
  /** Endpoints tried (previous_hosts): the first in a scalar, a list only from a retry on. */
  #firstTried = -1;
  #tried: number[] | null = null;
  #upstream: UpstreamStream | null = null;
  /** The stream's generation when the pool handed it over (read through #up: a pooled stream moves on when its exchange ends). */
  #upstreamGeneration: number | undefined = undefined;
  #pending: Cancellable | null = null;
  /** The route timeout, in the server's DeadlineQueue while armed (Deadline). */
  deadlineSlot = -1;
  deadlineAt = 0;
  #perTryTimer: NodeJS.Timeout | null = null;
  #waitTimer: NodeJS.Timeout | null = null;
  #retry: RetryState | null = null;
  #upstreamStart = 0;
  #gotHead = false;
  /** Where the response head's fields are read when the downstream writes the head. */
  #fields: ResponseFields | null = null;
  /** The upstream head as the core wrote it; each attempt adds its own lines. */
  #head: Uint8Array | null = null;
  #headLines = '';
  #mirrors: MirrorCopy[] | null = null;
  // Request body: `#queue` waits for the current attempt's connection; `#kept` is everything
  // received, for a retry or a mirror to replay (null once beyond limits.retryBufferBytes).
  #queue: Uint8Array[] = NONE as never;
  #queueBytes = 0;
  #kept: Uint8Array[] | null = NONE as never;
  #received = 0;
  #bodyDone = false;
  #staleRetried = false;
  #responseCode = 0;
  /** A WebSocket upgrade answered 101: the two connections joined as a byte tunnel. */
  #tunnel: UpgradeTunnel | null = null;

  constructor(ctx: RouterContext, route: RouterRoute) {
    this.#ctx = ctx;
    this.#route = route;
  }

  /** Moves when the router goes back to its pool (a holder from before compares it). */
  get generation(): number {
    return this.#generation;
  }

  /**
   * A router given back, for another request on `route`: every per-request field as the
   * constructor leaves it (the kept RetryState and EndpointLease stay for reuse).
   */
  reopen(route: RouterRoute): this {
    this.#route = route;
    this.#givesBackAtExchangeEnd = false;
    this.#stream = null;
    this.#phase = Phase.Idle;
    this.#destSlot = 0;
    this.#clusterIndex = -1;
    this.#cluster = null;
    this.#upstreamCounted = false;
    this.#endpoint = null;
    this.#lease = null;
    this.#admission = null;
    this.#firstTried = -1;
    this.#tried = null;
    this.#upstream = null;
    this.#upstreamGeneration = undefined;
    this.#pending = null;
    this.deadlineSlot = -1;
    this.deadlineAt = 0;
    this.#perTryTimer = null;
    this.#waitTimer = null;
    this.#retry = null;
    this.#upstreamStart = 0;
    this.#gotHead = false;
    this.#fields = null;
    this.#head = null;
    this.#headLines = '';
    this.#mirrors = null;
    this.#queue = NONE as never;
    this.#queueBytes = 0;
    this.#kept = NONE as never;
    this.#received = 0;
    this.#bodyDone = false;
    this.#staleRetried = false;
    this.#responseCode = 0;
    this.#tunnel = null;
    return this;
  }

  /**
   * Back to the worker's pool, when nothing can reach the router for this request any more: the
   * deadline, the timers and a pending stream request gone (onDestroy), no upstream exchange that
   * could still call it, no tunnel (which holds it for the connection's life: never given back).
   */
  #giveBack(): void {
    if (this.deadlineSlot >= 0 || this.#perTryTimer !== null || this.#waitTimer !== null || this.#pending !== null || this.#tunnel !== null) return;
    this.#givesBackAtExchangeEnd = false;
    this.#generation++;
    // Nothing of the request is retained while idle.
    this.#stream = null;
    this.#cluster = null;
    this.#endpoint = null;
    this.#upstream = null;
    this.#fields = null;
    this.#head = null;
    this.#mirrors = null;
    this.#tried = null;
    this.#ctx.routers.give(this);
  }

  /** Takes the request (the value is the terminal's: the stream passes the head to nobody else). */
  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    this.#stream = stream;
    this.#start(stream);
    return FilterStatus.StopIteration;
  }

  #start(stream: StreamCallbacks): void {
    this.#bodyDone = !stream.hasBody;
    const config = stream.config;
    const route = this.#route;
    this.#destSlot = config.table.pickDestination(route.index);
    this.#clusterIndex = route.destClusters[this.#destSlot] ?? -1;
    const cluster = (this.#cluster = config.clusters[this.#clusterIndex] ?? null);
    if (!cluster) {
      this.#localReply(ResponseFlag.NoHealthyUpstream);
      return;
    }
    stream.upstreamCluster = cluster.name;
    if (!this.#writeHeads(stream)) return;
    this.#startUpstream();
  }

  /** The upstream head (with the route's rewrites) and the heads of the mirrored copies. */
  #writeHeads(stream: StreamCallbacks): boolean {
    const ctx = this.#ctx;
    const ds = stream.downstream;
    // The head is written from the core's request view, which holds this stream's request
    // (refilled if a filter paused it meanwhile and another request used the view).
    if (stream.requestView() === null) {
      this.#localReply(ResponseFlag.DownstreamProtocolError);
      return false;
    }
    const framing: RequestFraming = stream.chunked ? 'chunked' : stream.hasBody ? 'length' : 'none';
    const length = stream.contentLength;
    const route = this.#route;
    const rw = route.rewrite;
    let overrides: HeadOverrides | undefined;
    let authority = ds.authority;
    let path = ds.path;
    if (rw) {
      const p = rw.path(ds.path);
      overrides = {};
      if (p !== null) {
        overrides.path = path = p;
        // Envoy keeps the path as received for the upstream (and its access log).
        this.#headLines = `x-envoy-original-path: ${ds.path}\r\n`;
      }
      if (rw.authority !== null) overrides.authority = authority = rw.authority;
    }
    const edits = route.requestEdits[this.#destSlot]!;
    const rewritesPath = rw !== null && rw.rewritesPath;
    // The first attempt's head complete (x-envoy-attempt-count: 1 written by the core): sent
    // as is unless the request is retried (withAttemptCount then makes a copy per retry).
    // An upgrade request (WebSocket) keeps its Upgrade and `Connection: upgrade` upstream (the
    // core drops them as hop-by-hop), as Envoy's upgrade_configs do; mirrors go without them.
    const upgradeLines = ds.upgrade ? `upgrade: ${ds.upgrade}\r\nconnection: upgrade\r\n` : '';
    // Tracing's propagation lines last, for the first attempt (its span id drawn now); a retry
    // overwrites them in its copy of the head (onPoolReady).
    this.#head = ctx.writeHead(edits, rewritesPath, framing, length, overrides, true, this.#headLines + upgradeLines, stream.trace ?? null);
    if (route.mirrors.length === 0) return true;
    const clusters = stream.config.clusters;
    for (const m of route.mirrors) {
      if (!ctx.rng.chance(m.percentage)) continue;
      const cluster = clusters[m.clusterIndex];
      if (!cluster) continue;
      // Envoy shadows the request as finally sent upstream (rewrites included), host -shadow.
      const head = ctx.writeHead(edits, rewritesPath, framing, length, { path, authority: shadowHost(authority) }, false);
      (this.#mirrors ??= []).push({ cluster, clusterIndex: m.clusterIndex, head: this.#headLines ? withHeaderLines(head, this.#headLines) : head });
    }
    return true;
  }

  #startUpstream(): void {
    const ctx = this.#ctx;
    const route = this.#route;
    const cluster = this.#cluster!;
    cluster.stats.inc('upstream_rq_total');
    cluster.stats.inc('upstream_rq_active');
    this.#upstreamCounted = true;
    let retry = this.#retryKept;
    if (retry === null) retry = this.#retryKept = new RetryState(route.retry, cluster.state);
    else retry.begin(route.retry, cluster.state);
    this.#retry = retry;
    this.#upstreamStart = Date.now();
    // A gRPC request's own deadline (grpc-timeout), capped by the route timeout.
    const timeout = grpcTimeoutMs(this.#stream!.downstream.headers, route.timeoutMs || ctx.limits.defaultRouteTimeoutMs);
    if (timeout > 0) ctx.deadlines.add(this, timeout);
    if (this.#mirrors && this.#bodyDone) this.#sendMirrors();
    this.#startAttempt();
  }

  // ── Attempts ─────────────────────────────────────────────────────────────────────────
  // The seams with the cluster level (ClusterManager): #startAttempt admits and picks,
  // #report feeds outlier detection, #endAttempt gives the endpoint and admission back.

  #startAttempt(): void {
    const ctx = this.#ctx;
    const stream = this.#stream!;
    const ds = stream.downstream;
    const cluster = this.#cluster!;
    const config = stream.config;
    stream.attempts = this.#retry!.attempt;
    const admission = ctx.clusters.admitRequest(config, this.#clusterIndex);
    if (admission === 'overflow') {
      // max requests (Istio http2MaxRequests): 503 UO, never retried (Envoy).
      this.#attemptFailed('Overflow', ResponseFlag.UpstreamOverflow);
      return;
    }
    // Envoy's previous_hosts predicate (Istio sets it): the pick avoids endpoints tried already.
    // The fields as forwarded (the stream edits the downstream's array in place).
    PICK.headers = ds.headers;
    PICK.clientIp = ds.remoteAddress;
    PICK.path = ds.path;
    PICK.authority = ds.authority;
    PICK.originalDestination = ds.originalDestination ?? null;
    if (this.#firstTried >= 0 && this.#tried === null) this.#tried = [this.#firstTried];
    PICK.tried = this.#tried ?? NONE;
    // The router's lease object refilled (released by the previous attempt or request), a new one the first time.
    const kept = this.#leaseKept;
    const lease = ctx.clusters.pickEndpoint(config, this.#clusterIndex, PICK, kept !== undefined && kept.released ? kept : undefined);
    if (!lease) {
      admission.release();
      cluster.stats.inc('upstream_cx_none_healthy');
      this.#localReply(ResponseFlag.NoHealthyUpstream);
      return;
    }
    this.#admission = admission;
    this.#lease = this.#leaseKept = lease;
    if (this.#firstTried < 0) this.#firstTried = lease.index;
    else this.#tried!.push(lease.index);
    const endpoint = (this.#endpoint = lease.endpoint);
    stream.upstreamHost = endpoint.key;
    // Tracing: a child span per attempt (its context goes into this attempt's head).
    stream.trace?.attemptStart(cluster.name, endpoint.key);
    endpoint.activeRequests++;
    this.#gotHead = false;
    this.#upstreamect();
  }

  /** The attempt's outcome for outlier detection (once per attempt: a status or a local-origin event). */
  #report(outcome: Parameters<EndpointLease['report']>[0]): void {
    this.#lease?.report(outcome);
  }

  /** The current attempt is over (or the request is): endpoint and admission go back. */
  #endAttempt(): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = null;
    lease.release();
    lease.endpoint.activeRequests--;
    this.#admission?.release();
    this.#admission = null;
  }

  #upstreamect(): void {
    this.#phase = Phase.Connecting;
    // The router is its own PoolCallbacks: no closure per attempt.
    this.#pending = this.#endpoint!.newStream(this);
  }

  onPoolFailure(failure: PoolFailure): void {
    this.#pending = null;
    if (this.#phase !== Phase.Connecting) return;
    if (failure === 'overflow') this.#attemptFailed('Overflow', ResponseFlag.UpstreamOverflow);
    else {
      this.#report('connect_failed');
      this.#attemptFailed('ConnectFailure', ResponseFlag.UpstreamConnectionFailure);
    }
  }

  /** The attempt's upstream stream while it is still this exchange's; null once the pool's object moved on (UpstreamStream.generation). */
  get #up(): UpstreamStream | null {
    return liveStream(this.#upstream, this.#upstreamGeneration);
  }

  onPoolReady(upstream: UpstreamStream): void {
    this.#pending = null;
    if (this.#phase !== Phase.Connecting) {
      this.#endpoint!.release(upstream, true);
      return;
    }
    this.#report('connect_success');
    this.#phase = Phase.Exchanging;
    this.#upstream = upstream;
    this.#upstreamGeneration = upstream.generation;
    const stream = this.#stream!;
    const attempt = this.#retry!.attempt;
    let head = this.#head!;
    if (attempt > 1) {
      // The head ends with the first attempt's propagation lines (#writeHeads): this attempt's
      // take their place in a copy (retries only), then its attempt count.
      if (stream.trace) head = withReplacedLastLines(head, stream.trace);
      head = withAttemptCount(head, attempt);
    }
    START.isHead = stream.downstream.method === 'HEAD';
    START.chunked = stream.chunked;
    START.hasBody = stream.hasBody;
    START.upgrade = !!stream.downstream.upgrade;
    const generation = this.#generation;
    upstream.start(head, this, START);
    // A start that failed may have ended the request, and the router may serve another one by now.
    if (this.#generation !== generation) return;
    // From here through #up: a start that failed ended the stream, which may be another exchange's by now.
    let ok = true;
    const queue = this.#queue;
    if (queue.length > 0) {
      for (const chunk of queue) ok = (this.#up?.writeBody(chunk) ?? true) && ok;
      this.#queue = NONE as never;
    }
    this.#queueBytes = 0;
    if (this.#bodyDone) {
      this.#up?.endRequest();
      this.#armPerTry();
    }
    if (!ok) stream.pauseRequestBody();
    else stream.resumeRequestBody();
  }

  /** Envoy starts the per-try timer once the whole request went upstream. */
  #armPerTry(): void {
    const ms = this.#route.retry.spec.perTryTimeoutMs;
    if (ms > 0 && this.#perTryTimer === null && !this.#gotHead) {
      const generation = this.#generation;
      this.#perTryTimer = setTimeout(() => {
        // A timer of a request before this router's reuse acts on nothing (onDestroy clears it; this makes sure).
        if (this.#generation === generation) this.#onPerTryTimeout();
      }, ms);
    }
  }

  #clearPerTry(): void {
    if (this.#perTryTimer) clearTimeout(this.#perTryTimer);
    this.#perTryTimer = null;
  }

  #onPerTryTimeout(): void {
    this.#perTryTimer = null;
    if (this.#phase !== Phase.Exchanging || this.#gotHead) return;
    this.#cluster!.stats.inc('upstream_rq_per_try_timeout');
    this.#report('timeout');
    this.#up?.abort();
    this.#upstream = null;
    this.#attemptFailed('PerTryTimeout', ResponseFlag.UpstreamRequestTimeout);
  }

  /** The attempt's result for the core (in the scratch ATTEMPT: onAttemptEnd keeps nothing of it). */
  #attemptResult(outcome: AttemptOutcomeName, status: number): AttemptResult {
    const r = ATTEMPT;
    r.outcome = outcome;
    r.status = status;
    r.elapsedMs = Date.now() - this.#upstreamStart;
    r.routeTimeoutMs = this.#route.timeoutMs || this.#ctx.limits.defaultRouteTimeoutMs;
    r.bodyNotBuffered = this.#kept === null;
    r.grpcStatus = -1;
    return r;
  }

  /** An attempt ended without a response head: retry it, or answer with `flag`. */
  #attemptFailed(outcome: AttemptOutcomeName, flag: ResponseFlag): void {
    this.#stream?.trace?.attemptEnd(0, flag);
    this.#clearPerTry();
    this.#endAttempt();
    const decision = this.#retry!.onAttemptEnd(this.#attemptResult(outcome, 0));
    if (decision === 'retry') {
      this.#retryAfter(this.#retry!.backoffMs);
      return;
    }
    if (decision === 'limit_exceeded') this.#stream!.setFlag(ResponseFlag.UpstreamRetryLimitExceeded);
    else if (decision === 'overflow') this.#stream!.setFlag(ResponseFlag.UpstreamOverflow);
    this.#localReply(flag);
  }

  /** Waits the backoff, then starts the next attempt with the kept body queued again. */
  #retryAfter(backoffMs: number): void {
    this.#phase = Phase.Backoff;
    this.#queue = this.#kept ? this.#kept.slice() : [];
    this.#queueBytes = this.#kept ? this.#received : 0;
    const generation = this.#generation;
    this.#waitTimer = setTimeout(() => {
      if (this.#generation !== generation) return;
      this.#waitTimer = null;
      if (this.#phase === Phase.Backoff) this.#startAttempt();
    }, backoffMs);
  }

  #sendMirrors(): void {
    const mirrors = this.#mirrors!;
    this.#mirrors = null;
    const kept = this.#kept;
    const ctx = this.#ctx;
    const stream = this.#stream!;
    const ds = stream.downstream;
    const config = stream.config;
    const pick = { headers: ds.headers, clientIp: ds.remoteAddress, path: ds.path, authority: ds.authority, originalDestination: ds.originalDestination ?? null };
    for (const m of mirrors) {
      if (kept === null) {
        // The body outgrew the buffer: a copy without its whole body would be a different request.
        m.cluster.stats.inc('upstream_rq_mirror_skipped');
        continue;
      }
      sendMirror(m, {
        isHead: ds.method === 'HEAD',
        chunked: stream.chunked,
        hasBody: stream.hasBody,
        body: kept,
        timeoutMs: this.#route.timeoutMs || ctx.limits.mirrorTimeoutMs,
      }, () => ctx.clusters.pickEndpoint(config, m.clusterIndex, pick));
    }
  }

  // ── Request body ─────────────────────────────────────────────────────────────────────
  onRequestBody(stream: StreamCallbacks, chunk: Uint8Array, last: boolean): void {
    if (this.#phase === Phase.Done) return;
    if (last) this.#bodyDone = true;
    if (chunk.length > 0) {
      this.#received += chunk.length;
      if (this.#kept) {
        if (this.#received <= this.#ctx.limits.retryBufferBytes) {
          // The first chunk as a one-element literal (most bodies are one chunk): push onto []
          // would allocate room for 16.
          if ((this.#kept as readonly unknown[]) === NONE) this.#kept = [chunk];
          else this.#kept.push(chunk);
        }
        else this.#kept = null; // from here on the request can be neither retried nor mirrored
      }
    }
    const upstream = this.#up;
    if (this.#phase === Phase.Exchanging && upstream) {
      const generation = this.#generation;
      const ok = chunk.length > 0 ? upstream.writeBody(chunk) : true;
      // A write that failed may have ended the request (and the router taken another).
      if (this.#generation !== generation) return;
      if (last) {
        this.#up?.endRequest();
        this.#armPerTry();
      }
      if (!ok) stream.pauseRequestBody();
    } else {
      // No connection yet (or between attempts): queue a bounded amount, then stop reading the client.
      if (chunk.length > 0) {
        if ((this.#queue as readonly unknown[]) === NONE) this.#queue = [chunk];
        else this.#queue.push(chunk);
      }
      this.#queueBytes += chunk.length;
      if (this.#queueBytes >= this.#ctx.limits.requestBufferBytes) stream.pauseRequestBody();
    }
    if (last && this.#mirrors && this.#upstreamCounted) this.#sendMirrors();
  }

  onResponseWritable(): void {
    this.#up?.resumeResponse();
  }

  // ── Upstream events ──────────────────────────────────────────────────────────────────
  onRequestDrain(): void {
    this.#stream?.resumeRequestBody();
  }

  onResponseHead(head: ResponseHead): void {
    const stream = this.#stream!;
    const cluster = this.#cluster!;
    const cs = cluster.stats;
    this.#gotHead = true;
    this.#report(head.code);
    stream.trace?.attemptEnd(head.code, '-');
    // Upstream stats count every attempt's response, as Envoy's do.
    const names = statNames(head.code);
    cs.incDynamic(names.upstreamCode);
    cs.inc(names.upstreamClass);
    const result = this.#attemptResult('Response', head.code);
    // gRPC retry conditions (cancelled, unavailable, …) read a trailers-only response's grpc-status.
    if (head.grpcStatus !== undefined) result.grpcStatus = head.grpcStatus;
    const decision = this.#retry!.onAttemptEnd(result);
    if (decision === 'retry') {
      // The response is dropped unread: the connection goes with it.
      this.#clearPerTry();
      this.#up?.abort();
      this.#upstream = null;
      this.#endAttempt();
      this.#retryAfter(this.#retry!.backoffMs);
      return;
    }
    if (decision === 'limit_exceeded') stream.setFlag(ResponseFlag.UpstreamRetryLimitExceeded);
    else if (decision === 'overflow') stream.setFlag(ResponseFlag.UpstreamOverflow);
    // Envoy ignores the per-try timeout once the response started downstream.
    this.#clearPerTry();
    stream.upstreamServiceTimeMs = Date.now() - stream.downstream.startTime;
    // The head of the response that goes downstream: a trailers-only response's status.
    if (head.grpcStatus !== undefined && head.grpcStatus >= 0) stream.grpcStatus = head.grpcStatus;
    stream.route!.stats.incDynamic(names.routeCode);
    this.#responseCode = head.code;
    this.#fields = head.fields;
    if (head.code === 101 && stream.downstream.upgrade) {
      this.#startTunnel(stream);
      return;
    }
    const mode = head.framing === 'none' ? BodyMode.None : head.framing === 'length' ? BodyMode.Length : BodyMode.Stream;
    stream.encodeHeaders(head.code, this, mode, head.contentLength);
  }

  /**
   * The upstream response head, when the downstream writes it (in this turn of the event loop:
   * the core's filtered spans are still those of this response). The core filters the fields
   * (hop-by-hop and framing dropped, route edits applied, including date removed and server
   * overwritten); the spans go straight to the listener.
   */
  emitHead(sink: HeadSink): void {
    const stream = this.#stream!;
    const code = this.#responseCode;
    const edits = this.#route.responseEdits[this.#destSlot]!;
    this.#fields!.forEachResponseField(edits, stream.downstream.method === 'HEAD' || code === 304, sink.status, sink.header, sink.headerBytes);
    sink.header('x-envoy-upstream-service-time', String(stream.upstreamServiceTimeMs));
    // A consistent-hash cookie the balancer generated (Envoy adds it to the response).
    const setCookie = this.#lease?.setCookie;
    if (setCookie) sink.header('set-cookie', setCookie);
  }

  // ── Upgrades ─────────────────────────────────────────────────────────────────────────
  /**
   * The upstream switched protocols: its connection leaves the pool, the 101 goes downstream,
   * and the two connections are joined. The route timeout stops here (the response arrived);
   * the stream idle timeout watches the tunnel.
   */
  #startTunnel(stream: StreamCallbacks): void {
    const up = this.#up?.upgrade?.() ?? null;
    if (up === null) {
      // A 101 the pool cannot hand over (a protocol without upgrades): nothing to carry it.
      this.#up?.abort();
      this.#upstream = null;
      this.#localReply(ResponseFlag.UpstreamProtocolError);
      return;
    }
    this.#upstream = null;
    this.#ctx.deadlines.remove(this);
    const generation = this.#generation;
    stream.encodeHeaders(101, this, BodyMode.Upgrade, 0);
    const down = stream.downstream.tunnel?.() ?? null;
    if (down === null || this.#phase === Phase.Done || this.#generation !== generation) {
      up.reset();
      if (this.#phase !== Phase.Done && this.#generation === generation) stream.resetStream();
      return;
    }
    const tunnel = (this.#tunnel = new UpgradeTunnel(down, up, this));
    tunnel.start();
  }

  onTunnelClosed(how: TunnelClose): void {
    const stream = this.#stream;
    if (this.#phase === Phase.Done || stream === null) return;
    if (how === 'downstream_reset') stream.setFlag(ResponseFlag.DownstreamConnectionTermination);
    else if (how === 'upstream_reset') stream.setFlag(ResponseFlag.UpstreamConnectionTermination);
    this.#cluster?.stats.inc('upstream_rq_completed');
    stream.encodeEnd();
  }

  onResponseData(data: Uint8Array): boolean {
    if (this.#phase === Phase.Done) return true;
    return this.#stream!.encodeData(data);
  }

  onResponseEnd(trailers?: Trailers): void {
    this.#upstream = null;
    this.#cluster?.stats.inc('upstream_rq_completed');
    if (this.#phase === Phase.Done) {
      if (this.#givesBackAtExchangeEnd) this.#giveBack();
      return;
    }
    this.#stream!.encodeEnd(trailers);
  }

  onUpstreamFailure(failure: UpstreamFailure, stale: boolean): void {
    this.#upstream = null;
    if (this.#phase === Phase.Done) {
      if (this.#givesBackAtExchangeEnd) this.#giveBack();
      return;
    }
    const stream = this.#stream!;
    if (this.#gotHead || stream.responseStarted) {
      // Mid-response: close the client connection so it cannot take a partial body for a whole one.
      stream.setFlag(failure === 'protocol_error' ? ResponseFlag.UpstreamProtocolError : failure === 'remote_reset' ? ResponseFlag.UpstreamRemoteReset : ResponseFlag.UpstreamConnectionTermination);
      stream.resetStream();
      return;
    }
    if (stale && !this.#staleRetried && IDEMPOTENT.has(stream.downstream.method) && (!stream.hasBody || this.#kept !== null)) {
      // The keep-alive race: the upstream closed an idle connection as we reused it, and
      // nothing came back. Replaying an idempotent request on a fresh connection is safe; it
      // is not an attempt of the retry policy (same attempt number).
      this.#staleRetried = true;
      this.#cluster!.stats.inc('upstream_rq_retry_stale');
      this.#clearPerTry();
      this.#queue = this.#kept ? this.#kept.slice() : [];
      this.#queueBytes = this.#kept ? this.#received : 0;
      this.#upstreamect();
      return;
    }
    if (failure === 'refused_stream') {
      // Never processed by the upstream (REFUSED_STREAM, above a GOAWAY): Envoy's refused-stream retry condition.
      this.#attemptFailed('RefusedStream', ResponseFlag.UpstreamRemoteReset);
      return;
    }
    this.#report('reset');
    if (failure === 'remote_reset') this.#attemptFailed('ResetBeforeHeaders', ResponseFlag.UpstreamRemoteReset);
    else if (failure === 'protocol_error') this.#attemptFailed('ResetBeforeHeaders', ResponseFlag.UpstreamProtocolError);
    else this.#attemptFailed('ResetBeforeHeaders', ResponseFlag.UpstreamConnectionTermination);
  }

  // ── Endings ──────────────────────────────────────────────────────────────────────────
  /** The route timeout passed (Deadline). */
  onDeadline(): void {
    if (this.#phase === Phase.Done) return;
    const stream = this.#stream!;
    this.#cluster?.stats.inc('upstream_rq_timeout');
    if (!this.#gotHead) this.#report('timeout');
    this.#cancelUpstream();
    if (!stream.responseStarted) {
      this.#localReply(ResponseFlag.UpstreamRequestTimeout);
      return;
    }
    stream.setFlag(ResponseFlag.UpstreamRequestTimeout);
    stream.resetStream();
  }

  #cancelUpstream(): void {
    this.#pending?.cancel();
    this.#pending = null;
    const up = this.#up;
    this.#upstream = null;
    if (up !== null) {
      this.#cluster?.stats.inc('upstream_rq_cancelled');
      up.abort();
    }
  }

  #localReply(flag: ResponseFlag): void {
    const reply = LOCAL_REPLY[flag]!;
    this.#stream!.sendLocalReply(reply.status, NONE, reply.body, flag);
  }

  /** The stream is over (answered, client gone, shut down): nothing upstream outlives it. */
  onDestroy(stream: StreamCallbacks): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    // A tunnel the stream did not see close (idle timeout, reset, shutdown) goes with it.
    this.#tunnel?.reset();
    // A response handed over whole may still be finishing its exchange (the last bytes reach
    // the client inside the upstream's read): that connection completes and is reused. A stream
    // the proxy answered itself before any upstream head (a malformed body, a stream idle
    // timeout) leaves a half-sent request upstream: that exchange is cancelled.
    if (!stream.completed || !this.#gotHead) this.#cancelUpstream();
    this.#pending?.cancel();
    this.#pending = null;
    this.#ctx.deadlines.remove(this);
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#waitTimer = null;
    this.#clearPerTry();
    this.#retry?.finish();
    if (this.#upstreamCounted) this.#cluster!.stats.dec('upstream_rq_active');
    this.#endAttempt();
    this.#kept = null;
    this.#queue = NONE as never;
    // The exchange of a completed response may still be finishing upstream: it holds the router
    // (its handler) until its last callback, which gives it back then.
    if (this.#up !== null) this.#givesBackAtExchangeEnd = true;
    else this.#giveBack();
  }
}
