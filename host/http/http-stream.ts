// One downstream request through the HTTP connection manager (Envoy's ActiveStream): header
// limits, the listener-level filters, route selection, the route's filter chain ending in its
// terminal filter, the response on its way back, and the stream's record (flags, ids, upstream)
// for stats and the access log. The stream knows no filter by name: what a request goes through
// is the chain its route was given when the config version was built.
//
// Phases: Decoding (filters in order; a filter may pause and resume) → Upstream (the terminal
// filter has the request) → Done.
import { GrpcMessageCounter } from './grpc-message-counter.js';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../listener/downstream.js';
import type { RequestView } from '../core/request-view.js';
import type { Stats } from '../telemetry/stats.js';
import type { Limits } from '../common/limits.js';
import type { InflightList, InflightMember } from './inflight.js';
import { FilterStatus, type HttpFilter } from './filter.js';
import type { RequestAuth } from '../model/request-auth.js';
import type { StreamTrace } from '../telemetry/tracing/stream-trace.js';
import type { BufferedBody, StreamCallbacks } from './stream-callbacks.js';
import type { BodyTransform } from './body-transform.js';
import type { WorkloadLabels } from '../telemetry/istio-labels.js';
import type { RouteConfig, RouteEntry } from './route-config.js';
import { ResponseFlag } from './response-flags.js';
import { LOCAL_REPLY, grpcLocalReply, statusLine } from './local-reply.js';
import { isGrpcContentType } from '../common/grpc-status.js';
import { normalizePath } from './path-normalization.js';
import { addClaimFields } from './claim-view.js';
import { RepeatedValues } from '../common/repeated-values.js';
import { releaseTakenValues, takenValues } from './taken-values.js';
import { grpcStatusOf, type Trailers } from '../common/trailer-block.js';

/** removeRequestHeader's one name, as the list removeRequestHeaders takes. */
const ONE_NAME: string[] = [''];

/** What every stream of one connection manager shares. */
export interface StreamContext {
  readonly stats: Stats;
  readonly limits: Limits;
  readonly requestView: RequestView;
  readonly inflight: InflightList<HttpStream>;
}

const enum Phase { Decoding, Upstream, Done }

// Shared empty list: a stream makes its own only when it has something to put in it.
const NONE: readonly never[] = Object.freeze([]);

export class HttpStream implements DownstreamHandler, HeadSource, InflightMember, StreamCallbacks {
  /** Its slot in ctx.inflight (InflightList keeps it). */
  inflightIndex = -1;
  readonly downstream: Downstream;
  readonly #ctx: StreamContext;
  #config: RouteConfig | null = null;
  #route: RouteEntry | null = null;
  #phase = Phase.Decoding;
  /** The route's filters for this stream (the route's shared array unless one keeps state). */
  #filters: readonly HttpFilter[] = NONE;
  #terminal: HttpFilter | null = null;
  /**
   * Position of the next onRequestHeaders call: listener filters first (0..L-1), routing (L),
   * then the route's filters and the terminal one (L+1 …). Resuming continues from here.
   */
  #next = 0;
  #paused = false;
  /** Request body that arrived while the head was still going through the filters. */
  #heldBody: Uint8Array[] = NONE as never;
  #heldBytes = 0;
  /** A listener filter waiting for the body (bufferRequestBody). */
  #bodyWait: { maxBytes: number; allowPartial: boolean; done: (result: BufferedBody | 'too_large') => void } | null = null;
  #heldLast = false;
  /** Request fields as forwarded (name, value, …): the downstream's, edited in place by filters. */
  readonly #headers: string[];
  #viewFilled = false;
  /** The filled view holds #headers one for one (no '@' field skipped). */
  #viewExact = false;
  /** Leading fields of #headers still as the downstream gave them (filters only appended after them). */
  #intact: number;
  #flags: string[] | null = null;
  #extraHeaders: Array<string | Uint8Array> | null = null;
  /** A caller's shared array (addResponseHeaders) when it is the only one added: copied before any further add. */
  #extraShared: ReadonlyArray<string | Uint8Array> | null = null;
  #headSource: HeadSource | null = null;
  /** Response fields to take out of the upstream's head (takeResponseHeaders), and their values as found. */
  #take: readonly string[] | null = null;
  #taken: Array<string | null> | null = null;
  /** Bit i set: #take[i] is removed from the head unread (no value decoded or kept). */
  #unread = 0;
  readonly hasBody: boolean;
  /** Changed only by transformBody (a translated body's length is unknown). */
  chunked: boolean;
  contentLength: number;
  /** The body rewrite a filter installed (grpc-web); null for nearly every stream. */
  #transform: BodyTransform | null = null;
  requestId = '';
  forwardedFor: string | undefined = undefined;
  upstreamHost = '-';
  upstreamCluster = '-';
  upstreamServiceTimeMs = -1;
  attempts = 0;
  grpc = false;
  /** gRPC message counters (istio_request/response_messages_total); null unless the request is gRPC. */
  #grpcIn: GrpcMessageCounter | null = null;
  #grpcOut: GrpcMessageCounter | null = null;
  grpcStatus = -1;
  requestAuth: RequestAuth | null = null;
  trace: StreamTrace | null = null;
  downstreamPeer: WorkloadLabels | null = null;
  completed = false;
  #upgraded = false;

  constructor(ctx: StreamContext, ds: Downstream) {
    this.#ctx = ctx;
    this.downstream = ds;
    this.#headers = ds.headers;
    this.#intact = ds.headers.length >>> 1;
    // The body's framing as the listener read it (never re-read from the fields' text).
    this.chunked = ds.bodyFraming === 'chunked';
    this.hasBody = ds.bodyFraming !== 'none';
    this.contentLength = ds.bodyFraming === 'length' ? ds.bodyLength : 0;
  }

  get config(): RouteConfig {
    return this.#config!;
  }

  get route(): RouteEntry | null {
    return this.#route;
  }

  get responseStarted(): boolean {
    return this.downstream.headSent;
  }

  /** The Envoy response flags set so far. */
  get flags(): readonly string[] {
    return this.#flags ?? NONE;
  }

  /** Runs synchronously inside the listener's request callback. */
  run(config: RouteConfig): void {
    const ctx = this.#ctx;
    const ds = this.downstream;
    ctx.stats.downstream.inc('downstream_rq_total');
    ctx.stats.downstream.inc('downstream_rq_active');
    ctx.inflight.add(this);
    this.#config = config;
    config.retain();
    // Decided on the head as received, before any filter edits it (Envoy's is_grpc_request).
    this.grpc = isGrpcContentType(this.requestHeader('content-type'));
    this.#grpcIn = null;
    this.#grpcOut = null;
    ds.attach(this, this.hasBody);
    const refused = ds.protocolError;
    if (refused !== null) {
      // The listener refused the head: answer with its status and reason, route nothing.
      if (refused.status === 431) ctx.stats.downstream.inc('downstream_rq_header_overflow');
      this.sendLocalReply(statusLine(refused.status), NONE, refused.code, ResponseFlag.DownstreamProtocolError);
      return;
    }
    if (this.#headers.length / 2 > ctx.limits.maxRequestHeaders || ds.headBytes > ctx.limits.maxRequestHeadBytes) {
      ctx.stats.downstream.inc('downstream_rq_header_overflow');
      this.#localReplyFor(ResponseFlag.DownstreamProtocolError);
      return;
    }
    // Envoy's HCM normalizes :path before any filter or the route sees it (absent mode: BASE).
    const path = normalizePath(ds.path, config.mesh.pathNormalization ?? 'BASE');
    if (path === null) {
      ctx.stats.downstream.inc('downstream_rq_failed_path_normalization');
      this.sendLocalReply(statusLine(400), NONE, 'Bad Request', ResponseFlag.DownstreamProtocolError);
      return;
    }
    ds.path = path;
    this.#decodeHeaders();
  }

  // ── Decoding ──────────────────────────────────────────────────────────────────────────
  #decodeHeaders(): void {
    const listener = this.#config!.listenerFilters;
    const routing = listener.length;
    for (;;) {
      if (this.#phase !== Phase.Decoding) return;
      const at = this.#next++;
      let filter: HttpFilter;
      if (at < routing) filter = listener[at]!;
      else if (at === routing) {
        if (!this.#selectRoute()) return;
        continue;
      } else {
        const k = at - routing - 1;
        const filters = this.#filters;
        if (k === filters.length) {
          // The terminal filter takes the head (and answers the request, now or later).
          this.#terminal!.onRequestHeaders?.(this);
          break;
        }
        filter = filters[k]!;
      }
      if (filter.onRequestHeaders !== undefined && filter.onRequestHeaders(this) === FilterStatus.StopIteration) {
        if (this.#phase === Phase.Decoding) this.#paused = true;
        return;
      }
    }
    if (this.#phase !== Phase.Decoding) return;
    // The terminal filter has the head: the body goes straight to the filters from here on.
    this.#phase = Phase.Upstream;
    if (this.#heldBody.length > 0 || this.#heldLast) {
      const held = this.#heldBody;
      const last = this.#heldLast;
      this.#heldBody = NONE as never;
      this.#heldBytes = 0;
      for (let i = 0; i < held.length; i++) {
        if (this.#phase !== Phase.Upstream) return;
        this.#decodeBody(held[i]!, last && i === held.length - 1);
      }
      if (last && held.length === 0 && this.#phase === Phase.Upstream) this.#decodeBody(EMPTY, true);
      this.resumeRequestBody();
    }
  }

  /**
   * A connection with an original destination (a sidecar's TPROXY capture) whose request names no
   * port in its authority is matched as `authority:<original port>`: Envoy's per-port outbound
   * route (`8000`) picks the service port the client dialled, not the bare name's port 80. Only
   * the match sees it; the forwarded Host is as sent. null: not such a request (match as usual).
   */
  #matchByOriginalPort(config: NonNullable<typeof this.config>): number | null {
    const od = this.downstream.originalDestination;
    if (od === undefined || od === null) return null;
    const authority = this.downstream.authority;
    if (authority === '' || authorityHasPort(authority)) return null;
    const view = this.#ctx.requestView;
    const saved = view.swapAuthority(`${authority}:${od.port}`);
    if (saved === null) return null;
    const index = config.table.match();
    view.restoreAuthority(saved);
    return index;
  }

  /** The forwarded request in the core's view, the route match and the route's chain. */
  #selectRoute(): boolean {
    if (this.requestView() === null) {
      this.#ctx.stats.downstream.inc('downstream_rq_header_overflow');
      this.#localReplyFor(ResponseFlag.DownstreamProtocolError);
      return false;
    }
    const config = this.#config!;
    // JWT claim routing: the verified claims join the view for the match only (never forwarded).
    const claims = config.claimConditions;
    let index: number;
    if (claims.length > 0 && this.requestAuth !== null) {
      const view = this.#ctx.requestView;
      const count = view.headerCount;
      const cursor = view.byteCursor;
      const added = addClaimFields(view, claims, this.requestAuth);
      index = added ? config.table.match() : -1;
      view.truncate(count, cursor);
      if (!added) {
        this.#ctx.stats.downstream.inc('downstream_rq_header_overflow');
        this.#localReplyFor(ResponseFlag.DownstreamProtocolError);
        return false;
      }
    } else index = this.#matchByOriginalPort(config) ?? config.table.match();
    if (index < 0) {
      this.#ctx.stats.downstream.inc('no_route');
      this.#localReplyFor(ResponseFlag.NoRouteFound);
      return false;
    }
    const route = (this.#route = config.routes[index]!);
    route.stats.inc('rq_total');
    const chain = route.chain;
    this.#filters = chain.shared ?? chain.factories.map((f) => f.create());
    this.#terminal = chain.terminal.create();
    return true;
  }

  continueDecoding(): void {
    if (!this.#paused || this.#phase !== Phase.Decoding) return;
    this.#paused = false;
    this.#decodeHeaders();
  }

  #decodeBody(chunk: Uint8Array, last: boolean): void {
    if (this.#transform !== null) {
      chunk = this.#transform.request(chunk, last);
      // The transform may have answered the request (a body it cannot translate).
      if (this.#phase !== Phase.Upstream) return;
    }
    if (this.grpc) (this.#grpcIn ??= new GrpcMessageCounter()).push(chunk);
    const filters = this.#filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.onRequestBody !== undefined) {
        f.onRequestBody(this, chunk, last);
        if (this.#phase !== Phase.Upstream) return;
      }
    }
    this.#terminal!.onRequestBody?.(this, chunk, last);
  }

  // ── Request fields ────────────────────────────────────────────────────────────────────
  requestHeader(name: string): string | null {
    const h = this.#headers;
    for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === name) return h[i + 1]!;
    return null;
  }

  setRequestHeader(name: string, value: string): void {
    const h = this.#headers;
    // A filled view (the route match's) takes the edit in place, so that the head writer does
    // not fill it again from every field (x-forwarded-for, x-request-id: every request); where
    // it cannot (another stream's now, a skipped '@' field, no room) it is refilled on demand.
    const view = this.#viewFilled && this.#viewExact ? this.#ctx.requestView : null;
    const edit = view !== null && view.owner === this;
    for (let i = 0; i + 1 < h.length; i += 2) {
      if (h[i] === name) {
        h[i + 1] = value;
        if (i >>> 1 < this.#intact) this.#intact = i >>> 1;
        if (!edit || !view.replaceValue(i >>> 1, value)) this.#viewFilled = false;
        return;
      }
    }
    this.addRequestHeader(name, value);
  }

  addRequestHeader(name: string, value: string): void {
    this.#headers.push(name, value);
    const view = this.#viewFilled && this.#viewExact ? this.#ctx.requestView : null;
    if (view === null || view.owner !== this || name.charCodeAt(0) === 64 || !view.append(name, value)) this.#viewFilled = false;
  }

  removeRequestHeader(name: string): void {
    // One name through the many-name pass, in a module array (synchronous, nothing re-enters).
    ONE_NAME[0] = name;
    this.removeRequestHeaders(ONE_NAME);
  }

  requestView(): RequestView | null {
    const view = this.#ctx.requestView;
    if (this.#viewFilled && view.owner === this) return view;
    const ds = this.downstream;
    let err = view.begin(ds.method, ds.path, ds.authority);
    const h = this.#headers;
    let exact = true;
    let from = 0;
    // The downstream's own fields from its bytes where it has them (the core HTTP/2 listener's
    // decoded list), the fields filters added after them from their strings.
    if (err === null && this.#intact > 0 && ds.fillRequestView !== undefined) {
      const filled = ds.fillRequestView(view, this.#intact);
      if (filled !== false) {
        err = filled;
        from = this.#intact * 2;
      } else err = view.begin(ds.method, ds.path, ds.authority);
    }
    for (let i = from; err === null && i + 1 < h.length; i += 2) {
      // '@' starts no header name (not a token character): such a name, which only a filter could
      // have set, would pose as a JWT claim to the route match (claim-view.ts); it is not forwarded.
      if (h[i]!.charCodeAt(0) === 64) {
        exact = false;
        continue;
      }
      err = view.header(h[i]!, h[i + 1]!);
    }
    // Field i of #headers is header i of the view: setRequestHeader may edit the view in place.
    this.#viewExact = exact;
    if (err !== null) {
      view.owner = null;
      return null;
    }
    view.owner = this;
    this.#viewFilled = true;
    return view;
  }

  // ── Answers ───────────────────────────────────────────────────────────────────────────
  sendLocalReply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string, flag?: ResponseFlag): void {
    if (this.#phase === Phase.Done) return;
    if (flag !== undefined) this.setFlag(flag);
    if (this.grpc) {
      // A gRPC client reads its status from grpc-status, not from the HTTP status or a text body.
      const g = grpcLocalReply(status, headers, body, this.#transform?.grpcReplyContentType);
      this.grpcStatus = g.grpcStatus;
      this.downstream.reply(g.status, g.headers, '');
    } else this.downstream.reply(status, headers, body);
    // reply() normally finishes the stream through onResponseComplete; make sure of it.
    this.#finish();
  }

  #localReplyFor(flag: ResponseFlag): void {
    const reply = LOCAL_REPLY[flag]!;
    this.sendLocalReply(reply.status, NONE, reply.body, flag);
  }

  takeResponseHeaders(names: readonly string[], read = names.length): void {
    // Several filters may take fields (Istio's peer metadata, grpc-web's content-type): the
    // first one's list is kept as given (no array per stream), later ones appended.
    const at = this.#take === null ? 0 : this.#take.length;
    if (at + names.length > 31) throw new Error(`wasmesh: ${at + names.length} response fields taken (at most 31)`);
    this.#take = at === 0 ? names : [...this.#take!, ...names];
    for (let k = read; k < names.length; k++) this.#unread |= 1 << (at + k);
    this.#taken = null;
  }

  transformBody(transform: BodyTransform, requestLengthChanges: boolean): void {
    this.#transform = transform;
    if (requestLengthChanges && this.hasBody) {
      this.chunked = true;
      this.contentLength = 0;
      this.removeRequestHeader('content-length');
    }
  }

  removeRequestHeaders(names: readonly string[]): void {
    this.#remove(names, null);
  }

  takeRequestHeaders(names: readonly string[], values: Array<string | null>): number {
    for (let k = 0; k < names.length; k++) values[k] = null;
    return this.#remove(names, values);
  }

  /** Removes the fields of `names` in one pass (the first value of each into `values`, when given); returns how many went. */
  #remove(names: readonly string[], values: Array<string | null> | null): number {
    // Compacted in place: no array per call (splice returns the removed pair), one pass.
    const h = this.#headers;
    let w = 0;
    fields: for (let i = 0; i + 1 < h.length; i += 2) {
      const name = h[i];
      for (let k = 0; k < names.length; k++) {
        if (name === names[k]) {
          if (i >>> 1 < this.#intact) this.#intact = i >>> 1;
          if (values !== null && values[k] === null) values[k] = h[i + 1]!;
          continue fields;
        }
      }
      if (w !== i) {
        h[w] = h[i]!;
        h[w + 1] = h[i + 1]!;
      }
      w += 2;
    }
    const removed = (h.length - w) >>> 1;
    if (removed === 0) return 0;
    h.length = w;
    this.#viewFilled = false;
    return removed;
  }

  takenResponseHeader(name: string): string | null {
    const take = this.#take;
    if (take === null || this.#taken === null) return null;
    const i = take.indexOf(name);
    return i < 0 ? null : this.#taken[i]!;
  }

  addResponseHeader(name: string, value: string): void {
    const extra = (this.#extraHeaders ??= this.#unshare());
    extra.push(name, value);
  }

  addResponseHeaders(pairs: ReadonlyArray<string | Uint8Array>): void {
    if (this.#extraHeaders === null && this.#extraShared === null) {
      this.#extraShared = pairs;
      return;
    }
    const extra = (this.#extraHeaders ??= this.#unshare());
    for (let i = 0; i + 1 < pairs.length; i += 2) extra.push(pairs[i]!, pairs[i + 1]!);
  }

  /** The added headers as the stream's own array (a shared one copied: it is never changed). */
  #unshare(): Array<string | Uint8Array> {
    const shared = this.#extraShared;
    this.#extraShared = null;
    return shared === null ? [] : [...shared];
  }

  encodeHeaders(code: number, source: HeadSource, mode: BodyMode, length: number): void {
    if (this.#phase === Phase.Done) return;
    const filters = this.#filters;
    for (let i = filters.length - 1; i >= 0; i--) filters[i]!.onResponseHeaders?.(this, code);
    const listener = this.#config!.listenerFilters;
    for (let i = listener.length - 1; i >= 0; i--) listener[i]!.onResponseHeaders?.(this, code);
    this.#headSource = source;
    // A rewritten body's length is not the upstream's: the downstream frames it as it goes.
    if (this.#transform !== null && mode === BodyMode.Length) mode = BodyMode.Stream;
    if (mode === BodyMode.Upgrade) {
      // Envoy's downstream_cx_upgrades_total / _active: the connection carries the upgrade now.
      this.#upgraded = true;
      this.#ctx.stats.downstream.inc('downstream_cx_upgrades_total');
      this.#ctx.stats.downstream.inc('downstream_cx_upgrades_active');
    }
    this.downstream.writeHead(code, this, mode, length);
  }

  /**
   * The response head, when the downstream writes it (in this turn of the event loop, so the
   * source's views into reused memory are still valid): the source's fields, then the filters'.
   */
  emitHead(sink: HeadSink): void {
    if (this.#take === null) this.#headSource!.emitHead(sink);
    else {
      const taken = (this.#taken ??= takenValues(this.#take.length));
      takingSink.begin(sink, this.#take, taken, this.#unread);
      this.#headSource!.emitHead(TAKING_SINK);
      takingSink.end();
    }
    const extra = this.#extraHeaders ?? this.#extraShared;
    if (extra !== null) for (let i = 0; i + 1 < extra.length; i += 2) sink.header(extra[i]!, extra[i + 1]!);
  }

  get grpcRequestMessages(): number {
    return this.#grpcIn?.messages ?? 0;
  }

  get grpcResponseMessages(): number {
    return this.#grpcOut?.messages ?? 0;
  }

  encodeData(chunk: Uint8Array): boolean {
    if (this.#phase === Phase.Done) return true;
    if (this.grpc) (this.#grpcOut ??= new GrpcMessageCounter()).push(chunk);
    if (this.#transform !== null) {
      chunk = this.#transform.response(chunk);
      if (chunk.length === 0) return true;
    }
    return this.downstream.write(chunk);
  }

  encodeEnd(trailers?: Trailers): void {
    if (this.#phase === Phase.Done) return;
    if (this.grpc && trailers !== undefined) {
      // Read from the bytes when the upstream gave them (no string per call).
      const g = grpcStatusOf(trailers);
      if (g >= 0) this.grpcStatus = g;
    }
    if (this.#transform !== null) {
      const out = this.#transform.responseEnd(trailers);
      if (out.data !== null && out.data.length > 0) this.downstream.write(out.data);
      trailers = out.trailers;
    }
    this.downstream.end(trailers);
  }

  resetStream(): void {
    if (this.#phase === Phase.Done) return;
    this.downstream.abort();
    this.#finish();
  }

  pauseRequestBody(): void {
    this.downstream.pauseBody();
  }

  resumeRequestBody(): void {
    this.downstream.resumeBody();
  }

  setFlag(flag: ResponseFlag): void {
    (this.#flags ??= []).push(flag);
  }

  // ── Downstream events ─────────────────────────────────────────────────────────────────
  onBodyData(chunk: Uint8Array, last: boolean): void {
    if (this.#phase === Phase.Done) return;
    if (this.#phase === Phase.Upstream) {
      this.#decodeBody(chunk, last);
      return;
    }
    // The head is still in the filters (a delay): hold a bounded amount, then stop reading.
    if (chunk.length > 0) {
      if ((this.#heldBody as readonly unknown[]) === NONE) this.#heldBody = [];
      this.#heldBody.push(chunk);
      this.#heldBytes += chunk.length;
    }
    if (last) this.#heldLast = true;
    if (this.#bodyWait !== null) this.#answerBodyWait();
    if (this.#heldBytes >= this.#holdLimit()) this.downstream.pauseBody();
  }

  bufferRequestBody(maxBytes: number, allowPartial: boolean, done: (result: BufferedBody | 'too_large') => void): () => void {
    if (!this.hasBody) {
      done({ bytes: EMPTY, partial: false });
      return NOOP;
    }
    this.#bodyWait = { maxBytes, allowPartial, done };
    this.#answerBodyWait();
    // Held up to the request buffer limit so far: a waiter may need one byte more than it asks
    // for (to tell a body of maxBytes from a larger one).
    if (this.#bodyWait !== null && this.#heldBytes < this.#holdLimit()) this.downstream.resumeBody();
    return () => {
      this.#bodyWait = null;
    };
  }

  /** How much body is held while the head is in the filters: the buffer limit, or what a body waiter needs. */
  #holdLimit(): number {
    const limit = this.#ctx.limits.requestBufferBytes;
    const w = this.#bodyWait;
    return w === null ? limit : Math.max(limit, w.maxBytes + 1);
  }

  #answerBodyWait(): void {
    const w = this.#bodyWait!;
    const held = this.#heldBytes;
    let result: BufferedBody | 'too_large';
    // partial: the check goes without the whole body (Envoy: false for a complete body of maxBytes).
    if (this.#heldLast && held <= w.maxBytes) result = { bytes: this.#heldCopy(held), partial: false };
    else if (w.allowPartial && held >= w.maxBytes) result = { bytes: this.#heldCopy(w.maxBytes), partial: true };
    else if (!w.allowPartial && held > w.maxBytes) result = 'too_large';
    else return;
    this.#bodyWait = null;
    w.done(result);
  }

  /** The first `n` held body bytes, copied. */
  #heldCopy(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.#heldBody) {
      if (at >= n) break;
      const take = Math.min(c.length, n - at);
      out.set(take === c.length ? c : c.subarray(0, take), at);
      at += take;
    }
    return out;
  }

  onAborted(): void {
    if (this.#phase === Phase.Done) return;
    this.setFlag(ResponseFlag.DownstreamConnectionTermination);
    this.#ctx.stats.downstream.inc('downstream_rq_rx_reset');
    this.#finish();
  }

  onIdleTimeout(): void {
    if (this.#phase === Phase.Done) return;
    if (!this.downstream.headSent) {
      // Envoy's answer for a stream idle timeout before the response started.
      this.sendLocalReply('408 Request Timeout', NONE, 'stream timeout', ResponseFlag.StreamIdleTimeout);
      return;
    }
    this.setFlag(ResponseFlag.StreamIdleTimeout);
    this.resetStream();
  }

  onProtocolError(status: number, code: string): void {
    if (this.#phase === Phase.Done) return;
    if (!this.downstream.headSent) {
      this.sendLocalReply(statusLine(status), NONE, code, ResponseFlag.DownstreamProtocolError);
      return;
    }
    this.setFlag(ResponseFlag.DownstreamProtocolError);
    this.resetStream();
  }

  onWritable(): void {
    if (this.#phase === Phase.Done) return;
    this.#terminal?.onResponseWritable?.(this);
  }

  onResponseComplete(): void {
    this.completed = true;
    this.#finish();
  }

  /** Aborts the stream from outside (server shutdown after the drain period). */
  abort(): void {
    if (this.#phase === Phase.Done) return;
    this.downstream.abort();
    this.#finish();
  }

  // ── Ending ────────────────────────────────────────────────────────────────────────────
  #finish(): void {
    if (this.#phase === Phase.Done) return;
    this.#phase = Phase.Done;
    const ctx = this.#ctx;
    const config = this.#config!;
    const listener = config.listenerFilters;
    const filters = this.#filters;
    const terminal = this.#terminal;
    // Filters let go of what they hold (timers, upstream requests) before anything is counted.
    terminal?.onDestroy?.(this);
    for (let i = filters.length - 1; i >= 0; i--) filters[i]!.onDestroy?.(this);
    this.#heldBody = NONE as never;
    ctx.inflight.delete(this);
    ctx.stats.downstream.dec('downstream_rq_active');
    if (this.#upgraded) ctx.stats.downstream.dec('downstream_cx_upgrades_active');
    ctx.stats.downstreamDone(this.downstream.status, this.#flags ?? NONE);
    for (let i = 0; i < listener.length; i++) listener[i]!.onLog?.(this);
    for (let i = 0; i < filters.length; i++) filters[i]!.onLog?.(this);
    terminal?.onLog?.(this);
    // The terminal may serve another stream from here on (the router's pool, router-pool.ts).
    this.#terminal = null;
    // The taken values were the filters' to read until their onLog: the array serves another stream.
    if (this.#taken !== null) {
      releaseTakenValues(this.#taken);
      this.#taken = null;
    }
    config.release();
  }
}

const EMPTY = new Uint8Array(0);
const NOOP = (): void => {};

/** Whether field name `name` (as a source emits it: text or bytes, any case) is `lower` (lower-case ASCII). */
function nameIs(name: string | Uint8Array, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = typeof name === 'string' ? name.charCodeAt(i) : name[i]!;
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The sink a head passes through when a stream takes fields out of it (one for the thread:
 * heads are emitted synchronously, one at a time). Other fields go on to the listener's sink.
 */
/** The last value of each taken field, kept by its bytes (host/common/repeated-values.ts). */
const TAKEN_VALUES = new RepeatedValues();

const takingSink = {
  sink: null as HeadSink | null,
  names: [] as readonly string[],
  values: [] as Array<string | null>,
  /** Bit i set: names[i] is dropped unread. */
  unread: 0,
  begin(sink: HeadSink, names: readonly string[], values: Array<string | null>, unread: number): void {
    this.sink = sink;
    this.names = names;
    this.values = values;
    this.unread = unread;
  },
  end(): void {
    this.sink = null;
  },
};
/** Whether `mem[start, end)` (a field name, any case) is `lower` (lower-case ASCII). */
function spanIs(mem: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = mem[start + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const TAKING_SINK: HeadSink = {
  status(text: string | Uint8Array): void {
    takingSink.sink!.status(text);
  },
  headerBytes(mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const names = takingSink.names;
    for (let i = 0; i < names.length; i++) {
      if (spanIs(mem, nameStart, nameEnd, names[i]!)) {
        if ((takingSink.unread & (1 << i)) !== 0) return;
        // Istio's peer metadata: the same peer answers with the same bytes; the kept string is reused.
        const slot = TAKEN_VALUES.slotFor(names[i]!);
        takingSink.values[i] = slot !== undefined ? RepeatedValues.value(slot, mem, valueStart, valueEnd)
          : Buffer.from(mem.buffer, mem.byteOffset + valueStart, valueEnd - valueStart).toString('latin1');
        return;
      }
    }
    const sink = takingSink.sink!;
    if (sink.headerBytes !== undefined) sink.headerBytes(mem, nameStart, nameEnd, valueStart, valueEnd);
    else sink.header(mem.subarray(nameStart, nameEnd), mem.subarray(valueStart, valueEnd));
  },
  header(name: string | Uint8Array, value: string | Uint8Array): void {
    const names = takingSink.names;
    for (let i = 0; i < names.length; i++) {
      if (nameIs(name, names[i]!)) {
        if ((takingSink.unread & (1 << i)) !== 0) return;
        takingSink.values[i] = typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
        return;
      }
    }
    takingSink.sink!.header(name, value);
  },
};

/** `host:port` or `[v6]:port` (a port after the last `:` outside brackets). */
function authorityHasPort(authority: string): boolean {
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return false;
  const close = authority.lastIndexOf(']');
  return colon > close && authority.charCodeAt(0) !== 58;
}
