// One stream's spans, as Envoy writes them with a span per upstream attempt (its connection
// manager's spawn_upstream_span): the stream span (SERVER: the proxy is a hop of its own; named
// after the authority, as Istio's route decorator names it) and a CLIENT
// span `router <cluster> egress` per upstream attempt, so a retried request shows each attempt.
// Each attempt's head carries the attempt span's context (B3 multi-header and W3C traceparent,
// tracestate passed on): the core's head writer appends the first attempt's lines (writeTail,
// its span id drawn ahead) and a retry's copy of the head gets its own (writeHeadLines, in
// place); the router calls attemptStart / attemptEnd, the tracing filter finishes the stream
// span when the stream ends. Unsampled streams still propagate their
// context (x-b3-sampled: 0) but build and report nothing.
import { b3HeaderLines } from './b3.js';
import { traceparentLines } from './traceparent.js';
import { traceId128 } from './span-context.js';
import type { ReceivedContext } from './received-context.js';
import type { FinishedSpan, SpanKind } from './span.js';
import type { SpanIds } from './span-ids.js';
import type { TracingConfig } from '../../model/tracing.js';

/** What a stream's trace reads of its version's tracer (tracer.ts implements it). */
export interface TraceSource {
  readonly config: TracingConfig;
  readonly ids: SpanIds;
  readonly kind: SpanKind;
  readonly serviceName: string;
  readonly localIp: string | null;
  readonly baseTags: Readonly<Record<string, string>>;
  readonly report: (span: FinishedSpan) => void;
  cut(v: string): string;
}

/** What a span says of the request, read when the stream starts. */
export interface TracedRequest {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  /** `http` or `https` (x-forwarded-proto as forwarded). */
  readonly scheme: string;
  readonly requestId: string;
  /** The downstream peer's address. */
  readonly peerAddress: string;
  readonly userAgent: string | null;
  readonly downstreamCluster: string | null;
}

/** The stream's own ids and decision. */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | null;
  readonly sampled: boolean;
  readonly tracestate: string | null;
}

/** How the stream ended, for its span. */
export interface StreamEnd {
  /** The response status (0: none was sent). */
  readonly code: number;
  /** Envoy's response flags (`-` when none). */
  readonly flags: string;
  readonly upstreamCluster: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** What a span says of a request that was never described (a caller that skipped describe()). */
const UNDESCRIBED: TracedRequest = Object.freeze({
  method: '-', authority: '-', path: '-', scheme: 'http', requestId: '-', peerAddress: '-', userAgent: null, downstreamCluster: null,
});

const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where a generated id's hex is spelled out when its string is needed (a reported span). */
const SCRATCH = Buffer.allocUnsafe(32);

/** A header-line literal as bytes, copied with one TypedArray set (no string written per request). */
const lit = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const L_TRACEID = lit('x-b3-traceid: ');
const L_SPANID = lit('\r\nx-b3-spanid: ');
const L_PARENT = lit('\r\nx-b3-parentspanid: ');
const L_SAMPLED_1 = lit('\r\nx-b3-sampled: 1\r\ntraceparent: 00-');
const L_SAMPLED_0 = lit('\r\nx-b3-sampled: 0\r\ntraceparent: 00-');
const L_FLAGS_1 = lit('-01\r\n');
const L_FLAGS_0 = lit('-00\r\n');
const L_TRACESTATE = lit('tracestate: ');

/** `v`'s low `digits` hex digits at `at` in `out`; returns the index after them. */
function putHex(out: Uint8Array, at: number, v: number, digits: number): number {
  for (let i = digits - 1; i >= 0; i--) {
    out[at + i] = HEX[v & 15]!;
    v >>>= 4;
  }
  return at + digits;
}

/** A generated 64-bit id's 3 chunks (6, 6, 4 hex digits) at `at`. */
function putSpanId(out: Uint8Array, at: number, c0: number, c1: number, c2: number): number {
  return putHex(out, putHex(out, putHex(out, at, c0, 6), c1, 6), c2, 4);
}

/** `bytes` at `at` in `out`; returns the index after them. */
function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/**
 * The lines of the common cases, an attempt of a trace the proxy started (no context received:
 * the client side's proxy) or continued with a 128-bit trace id and no tracestate (a mesh peer's
 * context: the app's sidecar), as one template per sampling decision: the literals are copied with one
 * TypedArray set and only the ids' hex is written, at fixed offsets (seven sets before).
 */
interface LinesTemplate {
  readonly bytes: Uint8Array;
  /** Offsets of the trace id (twice: B3 and traceparent), the attempt's span id (twice) and its parent. */
  readonly trace1: number;
  readonly span1: number;
  readonly parent: number;
  readonly trace2: number;
  readonly span2: number;
}

function linesTemplate(sampled: boolean): LinesTemplate {
  const T = 'T'.repeat(32);
  const S = 'S'.repeat(16);
  const P = 'P'.repeat(16);
  const flag = sampled ? '1' : '0';
  const text = `x-b3-traceid: ${T}\r\nx-b3-spanid: ${S}\r\nx-b3-parentspanid: ${P}\r\nx-b3-sampled: ${flag}\r\ntraceparent: 00-${T}-${S}-0${flag}\r\n`;
  return {
    bytes: lit(text),
    trace1: text.indexOf(T),
    span1: text.indexOf(S),
    parent: text.indexOf(P),
    trace2: text.lastIndexOf(T),
    span2: text.lastIndexOf(S),
  };
}
const LINES_SAMPLED = linesTemplate(true);
const LINES_UNSAMPLED = linesTemplate(false);

/** A latin1 string (a tracestate as received) at `at`, byte by byte: no call into the runtime for a few dozen bytes. */
function putText(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i) & 0xff;
  return at + s.length;
}

export class StreamTrace {
  readonly #tracer: TraceSource;
  /**
   * The stream's ids. Ids the proxy generates are kept as 24-bit chunks (small integers: no
   * allocation on the 99 % of streams that are not sampled but still propagate), written as hex
   * straight into the upstream heads (writeHeadLines); `ids` spells them out once, when read.
   * A received context's ids are read into chunks too (received-context.ts), so a continued trace
   * is written as a started one is. The trace id: 6 chunks (6×5 + 2 hex digits); a 64-bit one
   * (`#trace64`) is the low 16 digits, the others zero.
   */
  #trace64 = false;
  #t0 = 0; #t1 = 0; #t2 = 0; #t3 = 0; #t4 = 0; #t5 = 0;
  /** The stream span's id: 3 chunks (6 + 6 + 4 hex digits). */
  #s0 = 0; #s1 = 0; #s2 = 0;
  /** The received span id (the stream span's parent), when the trace was continued: 3 chunks. */
  #hasParent = false;
  #p0 = 0; #p1 = 0; #p2 = 0;
  #sampled = false;
  #tracestate: string | null = null;
  #ids: TraceIds | null = null;
  #request: TracedRequest = UNDESCRIBED;
  #startMs = 0;
  #requestTags: Array<[string, string]> | null = null;
  /** The open attempt: its span id (chunks), number, and (reported spans only) start, cluster, endpoint. */
  #attemptOpen = false;
  #a0 = 0; #a1 = 0; #a2 = 0;
  /**
   * The next attempt's span id, drawn ahead when the router writes the first attempt's head
   * (writeTail: the core's head writer appends the lines before the endpoint is picked); the
   * attempt takes it when it starts.
   */
  #ahead = false;
  #n0 = 0; #n1 = 0; #n2 = 0;
  #attemptStartMs = 0;
  #attemptCluster = '';
  #attemptEndpoint = '';
  #attempts = 0;
  #finished = false;
  /** Given back to its tracer's pool of unreported traces (recycle()); restart() takes it out. */
  #pooled = false;

  /**
   * A stream's trace: `parent` the context it continues (its numbers copied now) (null: a new trace, its id drawn now),
   * its own span id drawn now (trace id first, as the ids are drawn in that order).
   */
  constructor(tracer: TraceSource, parent: ReceivedContext | null, sampled: boolean, request: TracedRequest | null, startMs: number, requestTags: Array<[string, string]> | null) {
    this.#tracer = tracer;
    this.restart(parent, sampled, request, startMs, requestTags);
  }

  /**
   * This object as a new stream's trace (the constructor's arguments; every field reset): the
   * tracer reuses the traces of finished streams whose spans were not reported (recycle()), so
   * that the 99 % of requests Istio does not sample allocate no trace of their own.
   */
  restart(parent: ReceivedContext | null, sampled: boolean, request: TracedRequest | null, startMs: number, requestTags: Array<[string, string]> | null): this {
    const ids = this.#tracer.ids;
    if (parent === null) {
      this.#trace64 = false;
      this.#hasParent = false;
      do {
        this.#t0 = ids.chunk(); this.#t1 = ids.chunk(); this.#t2 = ids.chunk();
        this.#t3 = ids.chunk(); this.#t4 = ids.chunk(); this.#t5 = ids.chunk() & 0xff;
      } while ((this.#t0 | this.#t1 | this.#t2 | this.#t3 | this.#t4 | this.#t5) === 0);
    } else {
      const t = parent.trace;
      this.#trace64 = parent.trace64;
      this.#t0 = t[0]!; this.#t1 = t[1]!; this.#t2 = t[2]!; this.#t3 = t[3]!; this.#t4 = t[4]!; this.#t5 = t[5]!;
      const p = parent.span;
      this.#hasParent = true;
      this.#p0 = p[0]!; this.#p1 = p[1]!; this.#p2 = p[2]!;
    }
    do {
      this.#s0 = ids.chunk(); this.#s1 = ids.chunk(); this.#s2 = ids.chunk() & 0xffff;
    } while ((this.#s0 | this.#s1 | this.#s2) === 0);
    this.#sampled = sampled;
    this.#tracestate = parent === null ? null : parent.tracestate;
    this.#request = request ?? UNDESCRIBED;
    this.#startMs = startMs;
    this.#requestTags = requestTags;
    this.#ids = null;
    this.#attemptOpen = false;
    this.#ahead = false;
    this.#attemptStartMs = 0;
    this.#attemptCluster = '';
    this.#attemptEndpoint = '';
    this.#attempts = 0;
    this.#finished = false;
    this.#pooled = false;
    return this;
  }

  /**
   * Whether this trace may go back to its tracer's pool: finished, its spans not reported (no
   * span holds anything of it), not already given back. The caller drops every reference it
   * has (the stream's `trace`) before the trace is reused. True once per restart.
   */
  recycle(): boolean {
    if (!this.#finished || this.#pooled || this.reports) return false;
    this.#pooled = true;
    return true;
  }

  /** The stream's ids as strings (made on first read: a reported span, a test). */
  get ids(): TraceIds {
    if (this.#ids === null) {
      const traceId = SCRATCH.toString('latin1', 0, this.#putTraceId(SCRATCH, 0, false));
      putSpanId(SCRATCH, 0, this.#s0, this.#s1, this.#s2);
      const spanId = SCRATCH.toString('latin1', 0, 16);
      let parentId: string | null = null;
      if (this.#hasParent) {
        putSpanId(SCRATCH, 0, this.#p0, this.#p1, this.#p2);
        parentId = SCRATCH.toString('latin1', 0, 16);
      }
      this.#ids = { traceId, spanId, parentId, sampled: this.#sampled, tracestate: this.#tracestate };
    }
    return this.#ids;
  }

  get sampled(): boolean {
    return this.#sampled;
  }

  /** Whether this stream's spans are built and reported (sampled, reporting not disabled). */
  get reports(): boolean {
    return this.#sampled && !this.#tracer.config.disableSpanReporting;
  }

  /** The request its spans describe, when the tracer was started without it (read only when `reports`). */
  describe(request: TracedRequest): void {
    this.#request = request;
  }

  /** Upstream attempts begun so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** An upstream attempt begins (endpoint picked): its child span opens; an attempt still open is ended first. */
  attemptStart(cluster: string, endpoint: string): void {
    if (this.#attemptOpen) this.attemptEnd(0, '-');
    if (this.#ahead) {
      this.#ahead = false;
      this.#a0 = this.#n0; this.#a1 = this.#n1; this.#a2 = this.#n2;
    } else {
      const ids = this.#tracer.ids;
      do {
        this.#a0 = ids.chunk(); this.#a1 = ids.chunk(); this.#a2 = ids.chunk() & 0xffff;
      } while ((this.#a0 | this.#a1 | this.#a2) === 0);
    }
    this.#attemptOpen = true;
    this.#attempts++;
    // Only a reported attempt span reads them.
    if (!this.reports) return;
    this.#attemptStartMs = Date.now();
    this.#attemptCluster = cluster;
    this.#attemptEndpoint = endpoint;
  }

  /** The open attempt's span id as a string (a reported span, attemptHeaders). */
  #attemptText(): string {
    putSpanId(SCRATCH, 0, this.#a0, this.#a1, this.#a2);
    return SCRATCH.toString('latin1', 0, 16);
  }

  /**
   * The propagation lines (`name: value\r\n`) for the open attempt's upstream head: the attempt
   * span as the parent of whatever the upstream does; the stream span when no attempt is open.
   * As a string (tests, the reference writeHeadLines is checked against); the router uses
   * writeHeadLines.
   */
  attemptHeaders(): string {
    const ids = this.ids;
    const spanId = this.#attemptOpen ? this.#attemptText() : ids.spanId;
    const parentId = this.#attemptOpen ? ids.spanId : ids.parentId;
    return b3HeaderLines(ids.traceId, spanId, parentId, ids.sampled) + traceparentLines(traceId128(ids.traceId), spanId, ids.sampled, ids.tracestate);
  }

  /** The bytes attemptHeaders() takes, for writeHeadLines (the router's head copy). */
  headLinesLength(): number {
    return this.#linesLength(this.#attemptOpen || this.#hasParent);
  }

  /** The lines' length: with or without x-b3-parentspanid (a parent is 16 digits). */
  #linesLength(parent: boolean): number {
    const traceLength = this.#trace64 ? 16 : 32;
    // x-b3-traceid, x-b3-spanid, x-b3-sampled, traceparent (00-{32}-{16}-{2}).
    let n = 14 + traceLength + 2 + 13 + 16 + 2 + 17 + 16 + 32 + 1 + 16 + 1 + 2 + 2;
    if (parent) n += 19 + 16 + 2;
    if (this.#tracestate !== null) n += 12 + this.#tracestate.length + 2;
    return n;
  }

  /** The trace id's hex at `at` (`pad`: a 64-bit one as 32 digits, zero-padded, as traceparent needs it). */
  #putTraceId(out: Uint8Array, at: number, pad: boolean): number {
    if (this.#trace64 && !pad) {
      // The low 16 digits: the last 2 of the third chunk, then the rest.
      at = putHex(out, at, this.#t2, 2);
      at = putHex(out, putHex(out, at, this.#t3, 6), this.#t4, 6);
      return putHex(out, at, this.#t5, 2);
    }
    at = putHex(out, putHex(out, putHex(out, at, this.#t0, 6), this.#t1, 6), this.#t2, 6);
    at = putHex(out, putHex(out, at, this.#t3, 6), this.#t4, 6);
    return putHex(out, at, this.#t5, 2);
  }

  /**
   * attemptHeaders() written straight into `out` at `at` (returns the index after them), with
   * no string built: the literals copied as bytes, the ids' hex from their chunks. On a retry
   * the router overwrites the first attempt's lines with these (the same length) in the head's copy.
   */
  writeHeadLines(out: Uint8Array, at: number): number {
    if (this.#attemptOpen) return this.#writeLines(out, at, this.#a0, this.#a1, this.#a2, true);
    return this.#writeLines(out, at, this.#s0, this.#s1, this.#s2, false);
  }

  /**
   * The lines the next upstream attempt carries (its span as the parent of whatever the upstream
   * does), for the core's head writer to append to the first attempt's head before the endpoint
   * is picked (host/core/codec/head-writer.ts HeadTail): the attempt's span id is drawn now, and
   * attemptStart takes it. No copy of the head is made for them.
   */
  tailLength(): number {
    return this.#linesLength(true);
  }

  /** Writes tailLength() bytes at `at` in `out` (the core's memory); returns the index after them. */
  writeTail(out: Uint8Array, at: number): number {
    if (!this.#ahead) {
      const ids = this.#tracer.ids;
      do {
        this.#n0 = ids.chunk(); this.#n1 = ids.chunk(); this.#n2 = ids.chunk() & 0xffff;
      } while ((this.#n0 | this.#n1 | this.#n2) === 0);
      this.#ahead = true;
    }
    return this.#writeLines(out, at, this.#n0, this.#n1, this.#n2, true);
  }

  /** #writeLines for an attempt with a 32-digit trace id and no tracestate: the template, then the ids in place. */
  #writeTemplate(out: Uint8Array, at: number, c0: number, c1: number, c2: number): number {
    const t = this.#sampled ? LINES_SAMPLED : LINES_UNSAMPLED;
    out.set(t.bytes, at);
    this.#putTraceId(out, at + t.trace1, false);
    this.#putTraceId(out, at + t.trace2, false);
    putSpanId(out, at + t.span1, c0, c1, c2);
    putSpanId(out, at + t.span2, c0, c1, c2);
    putSpanId(out, at + t.parent, this.#s0, this.#s1, this.#s2);
    return at + t.bytes.length;
  }

  /** The lines with span id (c0, c1, c2): an attempt's (`attempt`: the stream span its parent), else the stream span's own. */
  #writeLines(out: Uint8Array, at: number, c0: number, c1: number, c2: number, attempt: boolean): number {
    // The template's trace id slots hold 32 digits: a trace the proxy started, or a continued one
    // with a 128-bit id (every mesh peer's: the sidecar's common case); a 64-bit id is padded in
    // traceparent only, and tracestate is a line of its own, so those take the line-by-line path.
    if (attempt && this.#tracestate === null && !this.#trace64) return this.#writeTemplate(out, at, c0, c1, c2);
    at = put(out, at, L_TRACEID);
    at = this.#putTraceId(out, at, false);
    at = put(out, at, L_SPANID);
    at = putSpanId(out, at, c0, c1, c2);
    if (attempt) {
      at = put(out, at, L_PARENT);
      at = putSpanId(out, at, this.#s0, this.#s1, this.#s2);
    } else if (this.#hasParent) {
      at = put(out, at, L_PARENT);
      at = putSpanId(out, at, this.#p0, this.#p1, this.#p2);
    }
    at = put(out, at, this.#sampled ? L_SAMPLED_1 : L_SAMPLED_0);
    at = this.#putTraceId(out, at, true);
    out[at++] = 0x2d;
    at = putSpanId(out, at, c0, c1, c2);
    at = put(out, at, this.#sampled ? L_FLAGS_1 : L_FLAGS_0);
    if (this.#tracestate !== null) {
      at = put(out, at, L_TRACESTATE);
      at = putText(out, at, this.#tracestate);
      out[at++] = 0x0d;
      out[at++] = 0x0a;
    }
    return at;
  }

  /** The open attempt ended: with response status `code` (0: none, the attempt failed with `flag`). */
  attemptEnd(code: number, flag: string): void {
    if (!this.#attemptOpen) return;
    this.#attemptOpen = false;
    const t = this.#tracer;
    if (!this.#sampled || t.config.disableSpanReporting) return;
    const id = this.#attemptText();
    const now = Date.now();
    const tags = this.#tags(code, code === 0 ? flag : '-');
    tags['upstream_cluster'] = t.cut(this.#attemptCluster);
    tags['upstream_cluster.name'] = t.cut(this.#attemptCluster);
    tags['upstream_address'] = this.#attemptEndpoint;
    if (this.#attempts > 1) tags['retry.count'] = String(this.#attempts - 1);
    t.report({
      traceId: this.ids.traceId,
      spanId: id,
      parentId: this.ids.spanId,
      name: t.cut(`router ${this.#attemptCluster} egress`),
      kind: 'CLIENT',
      startUs: this.#attemptStartMs * 1000,
      durationUs: (now - this.#attemptStartMs) * 1000,
      tags,
      localService: t.serviceName,
      localIp: t.localIp,
      remote: this.#attemptEndpoint === '' || this.#attemptEndpoint === '-' ? null : this.#attemptEndpoint,
    });
  }

  /** The stream ended: an attempt still open is closed (cancelled), then the stream span is reported. */
  finish(end: StreamEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#attemptOpen) this.attemptEnd(0, end.flags);
    const t = this.#tracer;
    if (!this.#sampled || t.config.disableSpanReporting) return;
    const tags = this.#tags(end.code, end.flags);
    tags['upstream_cluster'] = t.cut(end.upstreamCluster);
    tags['upstream_cluster.name'] = t.cut(end.upstreamCluster);
    tags['request_size'] = String(end.requestBytes);
    tags['response_size'] = String(end.responseBytes);
    const r = this.#request;
    tags['peer.address'] = r.peerAddress;
    tags['downstream_cluster'] = t.cut(r.downstreamCluster ?? '-');
    if (r.userAgent !== null) tags['user_agent'] = t.cut(r.userAgent);
    const rq = this.#requestTags;
    if (rq !== null) for (const [k, v] of rq) tags[k] = v;
    const now = Date.now();
    t.report({
      traceId: this.ids.traceId,
      spanId: this.ids.spanId,
      parentId: this.ids.parentId,
      name: t.cut(`${r.authority}/*`),
      kind: t.kind,
      startUs: this.#startMs * 1000,
      durationUs: (now - this.#startMs) * 1000,
      tags,
      localService: t.serviceName,
      localIp: t.localIp,
      remote: t.kind === 'SERVER' ? r.peerAddress : null,
    });
  }

  /** The tags every span of the stream has: the proxy's, the request's, the status'. */
  #tags(code: number, flags: string): Record<string, string> {
    const t = this.#tracer;
    const r = this.#request;
    const tags: Record<string, string> = { ...t.baseTags };
    tags['guid:x-request-id'] = t.cut(r.requestId);
    tags['http.method'] = r.method;
    tags['http.url'] = t.cut(`${r.scheme}://${r.authority}${r.path}`);
    tags['http.protocol'] = 'HTTP/1.1';
    tags['http.status_code'] = String(code);
    tags['response_flags'] = flags;
    // Envoy marks a span failed when there is no response or it is a 5xx.
    if (code === 0 || code >= 500) tags['error'] = 'true';
    return tags;
  }
}
