// One downstream request through the proxy, as a state machine: route → route-level policies
// (CORS, fault, redirect / direct response) → attempts (endpoint → upstream exchange, retried
// by the core's decisions) → streamed response, with every failure mapped to an Envoy
// response flag. Holds the version it started on until it finishes.
//
// Phases: Routing → [Delaying] → Connecting ⇄ Exchanging → [Backoff → Connecting …] → Done.
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../listener/downstream.js';
import type { ExchangeHandler, UpstreamConnection, UpstreamFailure } from '../upstream/upstream-connection.js';
import type { AcquireFailure, EndpointPool, PendingAcquire } from '../upstream/endpoint-pool.js';
import type { RequestFraming, ResponseHead, EditHandle } from '../upstream/upstream-codec.js';
import type { ProxyVersion, RouteRuntime, ClusterRuntime } from './proxy-version.js';
import type { RequestView } from '../core/request-view.js';
import type { HeadOverrides } from '../core/codec.js';
import { RetryState, type AttemptOutcomeName, type AttemptResult } from '../core/upstream-policy.js';
import type { Stats } from '../stats/stats.js';
import type { Limits } from './limits.js';
import type { AccessLogEntry } from './access-log.js';
import type { Random } from './random.js';
import { LOCAL_REPLY, ResponseFlag, formatFlags } from './response-flags.js';
import { decideFault, FAULT_ABORT_BODY, NO_FAULT } from './fault.js';
import { redirectLocation, statusLine } from './redirect.js';
import { withHeaderLines, withAttemptCount, shadowHost } from './request-head.js';
import { sendMirror, type MirrorCopy } from './mirror.js';
import { randomRequestId } from './request-id.js';
import type { ClusterManager, EndpointLease, PickRequest } from './cluster-manager.js';
import type { InflightList, InflightMember } from './inflight.js';

/** What every stream shares: the server's stats, limits, log, head writer and request bookkeeping. */
export interface ProxyContext {
  readonly stats: Stats;
  readonly limits: Limits;
  readonly requestView: RequestView;
  readonly log: ((e: AccessLogEntry) => void) | undefined;
  readonly inflight: InflightList<ProxyStream>;
  /** Percentage draws (fault injection, mirroring). */
  readonly rng: Random;
  readonly listenerPort: () => number;
  /** Endpoint picks, admission (max requests) and outcome reports: the cluster level. */
  readonly clusters: ClusterManager;
  /**
   * The upstream head for the request in the request view: the proxy's own header strips, then
   * `edits`; `overrides` replace path and authority (rewrites, the mirror's -shadow host);
   * `attemptOne` writes `x-envoy-attempt-count: 1` last (the first attempt's head as sent).
   */
  readonly writeHead: (edits: EditHandle, rewritesPath: boolean, framing: RequestFraming, contentLength: number, overrides: HeadOverrides | undefined, attemptOne: boolean) => Uint8Array;
}

const enum Phase { Routing, Delaying, Backoff, Connecting, Exchanging, Done }

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
const START = { isHead: false, chunked: false, hasBody: false };
const PICK: PickRequest = { headers: [], clientIp: '', path: '', authority: '', tried: undefined };
const ATTEMPT: AttemptResult = { outcome: 'Response', status: 0, elapsedMs: 0, routeTimeoutMs: 0, bodyNotBuffered: false };

// Shared empty lists: a stream makes its own only when it has something to put in them
// (most requests have no flag, no body and no retry).
const NONE: readonly never[] = Object.freeze([]);

// Methods a stale keep-alive connection may replay (RFC 9110 §9.2.2 idempotent).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class ProxyStream implements DownstreamHandler, ExchangeHandler, HeadSource, InflightMember {
  /** Its slot in ctx.inflight (InflightList keeps it). */
  inflightIndex = -1;
  readonly #ctx: ProxyContext;
  readonly #ds: Downstream;
  #version: ProxyVersion | null = null;
  #phase = Phase.Routing;
  #route: RouteRuntime | null = null;
  #destSlot = 0;
  #clusterIndex = -1;
  #cluster: ClusterRuntime | null = null;
  /** The cluster's upstream_rq_total/active were counted (the request reached the upstream stage). */
  #upstreamCounted = false;
  #endpoint: EndpointPool | null = null;
  /** The current attempt's endpoint and its admission (both given back when the attempt ends). */
  #lease: EndpointLease | null = null;
  #admission: (() => void) | null = null;
  /** Endpoints tried (previous_hosts): the first in a scalar, a list only from a retry on. */
  #firstTried = -1;
  #tried: number[] | null = null;
  #conn: UpstreamConnection | null = null;
  #pending: PendingAcquire | null = null;
  #timer: NodeJS.Timeout | null = null;
  #perTryTimer: NodeJS.Timeout | null = null;
  #waitTimer: NodeJS.Timeout | null = null;
  #retry: RetryState | null = null;
  #upstreamStart = 0;
  #gotHead = false;
  #flags: string[] | null = null;
  #requestId = '';
  /** The upstream head as the core wrote it; each attempt adds its own lines. */
  #head: Uint8Array | null = null;
  #headLines = '';
  #mirrors: MirrorCopy[] | null = null;
  #corsHeaders: ReadonlyArray<readonly [string, string]> | null = null;
  #hasBody = false;
  #chunked = false;
  // Request body: `#queue` waits for the current attempt's connection; `#kept` is everything
  // received, for a retry or a mirror to replay (null once beyond limits.retryBufferBytes).
  #queue: Uint8Array[] = NONE as never;
  #queueBytes = 0;
  #kept: Uint8Array[] | null = NONE as never;
  #received = 0;
  #bodyDone = false;
  #staleRetried = false;
  #upstreamTime = -1;
  #forwardedFor: string | undefined;
  /** The response head being written downstream (emitHead reads it). */
  #responseCode = 0;

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
    this.#bodyDone = !this.#hasBody;
    ds.attach(this, this.#hasBody);
    if (ds.headers.length / 2 > ctx.limits.maxRequestHeaders || ds.headBytes > ctx.limits.maxRequestHeadBytes) {
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
    const fields = ds.headers;
    for (let i = 0; err === null && i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
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
    if (err === null && !this.#requestId) err = view.header('x-request-id', (this.#requestId = randomRequestId()));
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

    // CORS first (Istio's filter chain runs cors before fault and the router).
    if (route.cors) {
      const v = route.cors.verdict(ds.method, this.#header('origin'), this.#header('access-control-request-method'));
      if (v.kind === 'preflight') {
        ctx.stats.downstream.inc('rq_cors_preflight');
        ds.reply('200 OK', v.headers, '');
        this.#finish();
        return;
      }
      if (v.kind === 'simple') this.#corsHeaders = v.headers;
    }

    if (!route.redirect && !route.directResponse) {
      this.#destSlot = table.pickDestination(routeIndex);
      this.#clusterIndex = route.destClusters[this.#destSlot] ?? -1;
      const cluster = (this.#cluster = version.clusters[this.#clusterIndex] ?? null);
      if (!cluster) {
        this.#localReply(ResponseFlag.NoHealthyUpstream);
        return;
      }
      // Written now, while the request view still holds this request (the next one reuses it,
      // also during a fault delay or a retry backoff).
      this.#writeHeads(route, cl);
    }

    const fault = route.fault ? decideFault(route.fault, ctx.rng) : NO_FAULT;
    if (fault.delayMs > 0) {
      // The delay is not part of the route timeout (Istio: timeouts do not apply to faults).
      this.#flag(ResponseFlag.DelayInjected);
      ctx.stats.downstream.inc('fault.delays_injected');
      this.#phase = Phase.Delaying;
      this.#waitTimer = setTimeout(() => {
        this.#waitTimer = null;
        if (this.#phase === Phase.Delaying) this.#afterDelay(fault.abortStatus);
      }, fault.delayMs);
      return;
    }
    this.#afterDelay(fault.abortStatus);
  }

  #flag(flag: ResponseFlag): void {
    (this.#flags ??= []).push(flag);
  }

  #header(name: string): string | null {
    const h = this.#ds.headers;
    for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === name) return h[i + 1]!;
    return null;
  }

  /** The upstream head (with the route's rewrites) and the heads of the mirrored copies. */
  #writeHeads(route: RouteRuntime, contentLength: string | null): void {
    const ctx = this.#ctx;
    const ds = this.#ds;
    const framing: RequestFraming = this.#chunked ? 'chunked' : this.#hasBody ? 'length' : 'none';
    const length = framing === 'length' ? Number(contentLength) : 0;
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
    const head = ctx.writeHead(edits, rewritesPath, framing, length, overrides, true);
    this.#head = this.#headLines ? withHeaderLines(head, this.#headLines) : head;
    if (route.mirrors.length === 0) return;
    const version = this.#version!;
    for (const m of route.mirrors) {
      if (!ctx.rng.chance(m.percentage)) continue;
      const cluster = version.clusters[m.clusterIndex];
      if (!cluster) continue;
      // Envoy shadows the request as finally sent upstream (rewrites included), host -shadow.
      const head = ctx.writeHead(edits, rewritesPath, framing, length, { path, authority: shadowHost(authority) }, false);
      (this.#mirrors ??= []).push({ cluster, clusterIndex: m.clusterIndex, head: this.#headLines ? withHeaderLines(head, this.#headLines) : head });
    }
  }

  /** After any fault delay: the fault abort, the proxy's own answers, or the upstream. */
  #afterDelay(abortStatus: number): void {
    const ctx = this.#ctx;
    const ds = this.#ds;
    const route = this.#route!;
    if (abortStatus > 0) {
      this.#flag(ResponseFlag.FaultInjected);
      ctx.stats.downstream.inc('fault.aborts_injected');
      ds.reply(statusLine(abortStatus), [], FAULT_ABORT_BODY);
      this.#finish();
      return;
    }
    if (route.redirect) {
      ctx.stats.downstream.inc('rq_redirect');
      const location = redirectLocation(route.redirect, {
        path: ds.path,
        authority: ds.authority,
        scheme: this.#header('x-forwarded-proto') ?? 'http',
        listenerPort: ctx.listenerPort(),
      });
      ds.reply(statusLine(route.redirect.redirectCode), [['location', location], ...route.localResponseHeaders], '');
      this.#finish();
      return;
    }
    if (route.directResponse) {
      ctx.stats.downstream.inc('rq_direct_response');
      const d = route.directResponse;
      ds.reply(statusLine(d.status), route.localResponseHeaders, d.body ?? '');
      this.#finish();
      return;
    }
    this.#startUpstream();
  }

  #startUpstream(): void {
    const ctx = this.#ctx;
    const route = this.#route!;
    const cluster = this.#cluster!;
    cluster.stats.inc('upstream_rq_total');
    cluster.stats.inc('upstream_rq_active');
    this.#upstreamCounted = true;
    this.#retry = new RetryState(route.retry, cluster.state);
    this.#upstreamStart = Date.now();
    const timeout = route.timeoutMs || ctx.limits.defaultRouteTimeoutMs;
    if (timeout > 0) this.#timer = setTimeout(() => this.#onTimeout(), timeout);
    if (this.#mirrors && this.#bodyDone) this.#sendMirrors();
    this.#startAttempt();
  }

  // ── Attempts ─────────────────────────────────────────────────────────────────────────
  // The seams with the cluster level (ClusterManager): #startAttempt admits and picks,
  // #report feeds outlier detection, #endAttempt gives the endpoint and admission back.

  #startAttempt(): void {
    const ctx = this.#ctx;
    const ds = this.#ds;
    const cluster = this.#cluster!;
    const version = this.#version!;
    const admission = ctx.clusters.admitRequest(version, this.#clusterIndex);
    if (admission === 'overflow') {
      // max requests (Istio http2MaxRequests): 503 UO, never retried (Envoy).
      this.#attemptFailed('Overflow', ResponseFlag.UpstreamOverflow);
      return;
    }
    // Envoy's previous_hosts predicate (Istio sets it): the pick avoids endpoints tried already.
    PICK.headers = ds.headers;
    PICK.clientIp = ds.remoteAddress;
    PICK.path = ds.path;
    PICK.authority = ds.authority;
    if (this.#firstTried >= 0 && this.#tried === null) this.#tried = [this.#firstTried];
    PICK.tried = this.#tried ?? NONE;
    const lease = ctx.clusters.pickEndpoint(version, this.#clusterIndex, PICK);
    if (!lease) {
      admission();
      cluster.stats.inc('upstream_cx_none_healthy');
      this.#localReply(ResponseFlag.NoHealthyUpstream);
      return;
    }
    this.#admission = admission;
    this.#lease = lease;
    if (this.#firstTried < 0) this.#firstTried = lease.index;
    else this.#tried!.push(lease.index);
    const endpoint = (this.#endpoint = lease.endpoint);
    endpoint.activeRequests++;
    this.#gotHead = false;
    this.#connect();
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
    this.#admission?.();
    this.#admission = null;
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
      if (r === 'overflow') this.#attemptFailed('Overflow', ResponseFlag.UpstreamOverflow);
      else {
        this.#report('connect_failed');
        this.#attemptFailed('ConnectFailure', ResponseFlag.UpstreamConnectionFailure);
      }
      return;
    }
    this.#report('connect_success');
    this.#phase = Phase.Exchanging;
    this.#conn = r;
    const attempt = this.#retry!.attempt;
    const head = attempt === 1 ? this.#head! : withAttemptCount(this.#head!, attempt);
    START.isHead = this.#ds.method === 'HEAD';
    START.chunked = this.#chunked;
    START.hasBody = this.#hasBody;
    r.start(head, this, START);
    let ok = true;
    const queue = this.#queue;
    if (queue.length > 0) {
      for (const chunk of queue) ok = r.writeBody(chunk) && ok;
      this.#queue = NONE as never;
    }
    this.#queueBytes = 0;
    if (this.#bodyDone) {
      r.endRequest();
      this.#armPerTry();
    }
    if (!ok) this.#ds.pauseBody();
    else this.#ds.resumeBody();
  }

  /** Envoy starts the per-try timer once the whole request went upstream. */
  #armPerTry(): void {
    const ms = this.#route!.retry.spec.perTryTimeoutMs;
    if (ms > 0 && this.#perTryTimer === null && !this.#gotHead) this.#perTryTimer = setTimeout(() => this.#onPerTryTimeout(), ms);
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
    this.#conn?.abort();
    this.#conn = null;
    this.#attemptFailed('PerTryTimeout', ResponseFlag.UpstreamRequestTimeout);
  }

  /** The attempt's result for the core (in the scratch ATTEMPT: onAttemptEnd keeps nothing of it). */
  #attemptResult(outcome: AttemptOutcomeName, status: number): AttemptResult {
    const r = ATTEMPT;
    r.outcome = outcome;
    r.status = status;
    r.elapsedMs = Date.now() - this.#upstreamStart;
    r.routeTimeoutMs = this.#route!.timeoutMs || this.#ctx.limits.defaultRouteTimeoutMs;
    r.bodyNotBuffered = this.#kept === null;
    return r;
  }

  /** An attempt ended without a response head: retry it, or answer with `flag`. */
  #attemptFailed(outcome: AttemptOutcomeName, flag: ResponseFlag): void {
    this.#clearPerTry();
    this.#endAttempt();
    const { decision, backoffMs } = this.#retry!.onAttemptEnd(this.#attemptResult(outcome, 0));
    if (decision === 'retry') {
      this.#retryAfter(backoffMs);
      return;
    }
    if (decision === 'limit_exceeded') this.#flag(ResponseFlag.UpstreamRetryLimitExceeded);
    else if (decision === 'overflow') this.#flag(ResponseFlag.UpstreamOverflow);
    this.#localReply(flag);
  }

  /** Waits the backoff, then starts the next attempt with the kept body queued again. */
  #retryAfter(backoffMs: number): void {
    this.#phase = Phase.Backoff;
    this.#queue = this.#kept ? this.#kept.slice() : [];
    this.#queueBytes = this.#kept ? this.#received : 0;
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = null;
      if (this.#phase === Phase.Backoff) this.#startAttempt();
    }, backoffMs);
  }

  #sendMirrors(): void {
    const mirrors = this.#mirrors!;
    this.#mirrors = null;
    const kept = this.#kept;
    const ctx = this.#ctx;
    const ds = this.#ds;
    const version = this.#version!;
    const pick = { headers: ds.headers, clientIp: ds.remoteAddress, path: ds.path, authority: ds.authority };
    for (const m of mirrors) {
      if (kept === null) {
        // The body outgrew the buffer: a copy without its whole body would be a different request.
        m.cluster.stats.inc('upstream_rq_mirror_skipped');
        continue;
      }
      sendMirror(m, {
        isHead: this.#ds.method === 'HEAD',
        chunked: this.#chunked,
        hasBody: this.#hasBody,
        body: kept,
        timeoutMs: this.#route!.timeoutMs || this.#ctx.limits.mirrorTimeoutMs,
      }, () => ctx.clusters.pickEndpoint(version, m.clusterIndex, pick));
    }
  }

  // ── Downstream events ────────────────────────────────────────────────────────────────
  onBodyData(chunk: Uint8Array, last: boolean): void {
    if (this.#phase === Phase.Done) return;
    if (last) this.#bodyDone = true;
    if (chunk.length > 0) {
      this.#received += chunk.length;
      if (this.#kept) {
        if (this.#received <= this.#ctx.limits.retryBufferBytes) {
          if ((this.#kept as readonly unknown[]) === NONE) this.#kept = [];
          this.#kept.push(chunk);
        }
        else this.#kept = null; // from here on the request can be neither retried nor mirrored
      }
    }
    const conn = this.#conn;
    if (this.#phase === Phase.Exchanging && conn) {
      const ok = chunk.length > 0 ? conn.writeBody(chunk) : true;
      if (last) {
        conn.endRequest();
        this.#armPerTry();
      }
      if (!ok) this.#ds.pauseBody();
    } else {
      // No connection yet (or between attempts): queue a bounded amount, then stop reading the client.
      if (chunk.length > 0) {
        if ((this.#queue as readonly unknown[]) === NONE) this.#queue = [];
        this.#queue.push(chunk);
      }
      this.#queueBytes += chunk.length;
      if (this.#queueBytes >= this.#ctx.limits.requestBufferBytes) this.#ds.pauseBody();
    }
    if (last && this.#mirrors && this.#upstreamCounted) this.#sendMirrors();
  }

  onAborted(): void {
    if (this.#phase === Phase.Done) return;
    this.#flag(ResponseFlag.DownstreamConnectionTermination);
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
    const cluster = this.#cluster!;
    const cs = cluster.stats;
    this.#gotHead = true;
    this.#report(head.code);
    // Upstream stats count every attempt's response, as Envoy's do.
    const names = statNames(head.code);
    cs.incDynamic(names.upstreamCode);
    cs.inc(names.upstreamClass);
    const { decision, backoffMs } = this.#retry!.onAttemptEnd(this.#attemptResult('Response', head.code));
    if (decision === 'retry') {
      // The response is dropped unread: the connection goes with it.
      this.#clearPerTry();
      this.#conn?.abort();
      this.#conn = null;
      this.#endAttempt();
      this.#retryAfter(backoffMs);
      return;
    }
    if (decision === 'limit_exceeded') this.#flag(ResponseFlag.UpstreamRetryLimitExceeded);
    else if (decision === 'overflow') this.#flag(ResponseFlag.UpstreamOverflow);
    // Envoy ignores the per-try timeout once the response started downstream.
    this.#clearPerTry();
    this.#upstreamTime = Date.now() - ds.startTime;
    this.#route!.stats.incDynamic(names.routeCode);
    this.#responseCode = head.code;
    const mode = head.framing === 'none' ? BodyMode.None : head.framing === 'length' ? BodyMode.Length : BodyMode.Stream;
    ds.writeHead(head.code, this, mode, head.contentLength);
  }

  /**
   * The response head, when the downstream writes it (in this turn of the event loop: the
   * core's filtered spans are still those of this response). The core filters the fields
   * (hop-by-hop and framing dropped, route edits applied, including date removed and server
   * overwritten); the spans go straight to uWS.
   */
  emitHead(sink: HeadSink): void {
    const code = this.#responseCode;
    const edits = this.#route!.responseEdits[this.#destSlot]!;
    this.#cluster!.pool.codec.forEachResponseField(edits, this.#ds.method === 'HEAD' || code === 304, sink.status, sink.header);
    sink.header('x-envoy-upstream-service-time', String(this.#upstreamTime));
    const cors = this.#corsHeaders;
    if (cors) for (const [n, v] of cors) sink.header(n, v);
    // A consistent-hash cookie the balancer generated (Envoy adds it to the response).
    const setCookie = this.#lease?.setCookie;
    if (setCookie) sink.header('set-cookie', setCookie);
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
    if (this.#gotHead || this.#ds.headSent) {
      // Mid-response: close the client connection so it cannot take a partial body for a whole one.
      this.#flag(failure === 'protocol_error' ? ResponseFlag.UpstreamProtocolError : ResponseFlag.UpstreamConnectionTermination);
      this.#ds.abort();
      this.#finish();
      return;
    }
    if (stale && !this.#staleRetried && IDEMPOTENT.has(this.#ds.method) && (!this.#hasBody || this.#kept !== null)) {
      // The keep-alive race: the upstream closed an idle connection as we reused it, and
      // nothing came back. Replaying an idempotent request on a fresh connection is safe; it
      // is not an attempt of the retry policy (same attempt number).
      this.#staleRetried = true;
      this.#cluster!.stats.inc('upstream_rq_retry_stale');
      this.#clearPerTry();
      this.#queue = this.#kept ? this.#kept.slice() : [];
      this.#queueBytes = this.#kept ? this.#received : 0;
      this.#connect();
      return;
    }
    this.#report('reset');
    if (failure === 'protocol_error') this.#attemptFailed('ResetBeforeHeaders', ResponseFlag.UpstreamProtocolError);
    else this.#attemptFailed('ResetBeforeHeaders', ResponseFlag.UpstreamConnectionTermination);
  }

  // ── Endings ──────────────────────────────────────────────────────────────────────────
  #onTimeout(): void {
    this.#timer = null;
    if (this.#phase === Phase.Done) return;
    this.#cluster?.stats.inc('upstream_rq_timeout');
    if (!this.#gotHead) this.#report('timeout');
    this.#cancelUpstream();
    if (!this.#ds.headSent) {
      this.#localReply(ResponseFlag.UpstreamRequestTimeout);
      return;
    }
    this.#flag(ResponseFlag.UpstreamRequestTimeout);
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
    this.#flag(flag);
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
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#timer = this.#waitTimer = null;
    this.#clearPerTry();
    this.#pending?.cancel();
    this.#pending = null;
    this.#retry?.finish();
    ctx.inflight.delete(this);
    ctx.stats.downstream.dec('downstream_rq_active');
    const code = ds.status;
    const flags = this.#flags ?? NONE;
    ctx.stats.downstreamDone(code, flags);
    if (this.#upstreamCounted) this.#cluster!.stats.dec('upstream_rq_active');
    const version = this.#version!;
    this.#endAttempt();
    this.#kept = null;
    this.#queue = NONE as never;
    if (ctx.log) {
      ctx.log({
        startTime: ds.startTime,
        method: ds.method,
        path: ds.path,
        code,
        flags: formatFlags(flags),
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
        attempts: this.#retry ? this.#retry.attempt : 0,
      });
    }
    version.release();
  }
}
