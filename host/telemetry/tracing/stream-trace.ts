// One stream's spans, as Envoy writes them with a span per upstream attempt (its connection
// manager's spawn_upstream_span): the stream span (SERVER: the proxy is a hop of its own; named
// after the authority, as Istio's route decorator names it) and a CLIENT
// span `router <cluster> egress` per upstream attempt, so a retried request shows each attempt.
// Each attempt's head carries the attempt span's context (B3 multi-header and W3C traceparent,
// tracestate passed on); the router calls attemptStart / attemptHeaders / attemptEnd, the tracing
// filter finishes the stream span when the stream ends. Unsampled streams still propagate their
// context (x-b3-sampled: 0) but build and report nothing.
import { b3HeaderLines } from './b3.js';
import { traceparentLines } from './traceparent.js';
import { traceId128 } from './span-context.js';
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

export class StreamTrace {
  readonly #tracer: TraceSource;
  readonly ids: TraceIds;
  #request: TracedRequest;
  readonly #startMs: number;
  readonly #requestTags: Array<[string, string]> | null;
  /** The open attempt: its span id, start, cluster, endpoint and number (0: none open). */
  #attemptId: string | null = null;
  #attemptStartMs = 0;
  #attemptCluster = '';
  #attemptEndpoint = '';
  #attempts = 0;
  #finished = false;

  constructor(tracer: TraceSource, ids: TraceIds, request: TracedRequest | null, startMs: number, requestTags: Array<[string, string]> | null) {
    this.#tracer = tracer;
    this.ids = ids;
    this.#request = request ?? UNDESCRIBED;
    this.#startMs = startMs;
    this.#requestTags = requestTags;
  }

  get sampled(): boolean {
    return this.ids.sampled;
  }

  /** Whether this stream's spans are built and reported (sampled, reporting not disabled). */
  get reports(): boolean {
    return this.ids.sampled && !this.#tracer.config.disableSpanReporting;
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
    if (this.#attemptId !== null) this.attemptEnd(0, '-');
    this.#attemptId = this.#tracer.ids.spanId();
    this.#attemptStartMs = Date.now();
    this.#attemptCluster = cluster;
    this.#attemptEndpoint = endpoint;
    this.#attempts++;
  }

  /**
   * The propagation lines (`name: value\r\n`) for the open attempt's upstream head: the attempt
   * span as the parent of whatever the upstream does; the stream span when no attempt is open.
   */
  attemptHeaders(): string {
    const ids = this.ids;
    const spanId = this.#attemptId ?? ids.spanId;
    const parentId = this.#attemptId === null ? ids.parentId : ids.spanId;
    return b3HeaderLines(ids.traceId, spanId, parentId, ids.sampled) + traceparentLines(traceId128(ids.traceId), spanId, ids.sampled, ids.tracestate);
  }

  /** The bytes attemptHeaders() takes, for writeHeadLines (the router's head copy). */
  headLinesLength(): number {
    const ids = this.ids;
    const parentId = this.#attemptId === null ? ids.parentId : ids.spanId;
    // x-b3-traceid, x-b3-spanid, x-b3-sampled, traceparent (00-{32}-{16}-{2}).
    let n = 14 + ids.traceId.length + 2 + 13 + 16 + 2 + 17 + 16 + 32 + 1 + 16 + 1 + 2 + 2;
    if (parentId !== null) n += 19 + parentId.length + 2;
    if (ids.tracestate !== null) n += 12 + ids.tracestate.length + 2;
    return n;
  }

  /**
   * attemptHeaders() written straight into `out` at `at` (returns the index after them): every
   * traced request's upstream head carries them, so no string is built (the pieces are the ids
   * as kept and constant literals, copied natively).
   */
  writeHeadLines(out: Buffer, at: number): number {
    const ids = this.ids;
    const spanId = this.#attemptId ?? ids.spanId;
    const parentId = this.#attemptId === null ? ids.parentId : ids.spanId;
    at += out.write('x-b3-traceid: ', at, 'latin1');
    at += out.write(ids.traceId, at, 'latin1');
    at += out.write('\r\nx-b3-spanid: ', at, 'latin1');
    at += out.write(spanId, at, 'latin1');
    if (parentId !== null) {
      at += out.write('\r\nx-b3-parentspanid: ', at, 'latin1');
      at += out.write(parentId, at, 'latin1');
    }
    at += out.write(ids.sampled ? '\r\nx-b3-sampled: 1\r\ntraceparent: 00-' : '\r\nx-b3-sampled: 0\r\ntraceparent: 00-', at, 'latin1');
    if (ids.traceId.length !== 32) at += out.write('0000000000000000', at, 'latin1');
    at += out.write(ids.traceId, at, 'latin1');
    out[at++] = 0x2d;
    at += out.write(spanId, at, 'latin1');
    at += out.write(ids.sampled ? '-01\r\n' : '-00\r\n', at, 'latin1');
    if (ids.tracestate !== null) {
      at += out.write('tracestate: ', at, 'latin1');
      at += out.write(ids.tracestate, at, 'latin1');
      out[at++] = 0x0d;
      out[at++] = 0x0a;
    }
    return at;
  }

  /** The open attempt ended: with response status `code` (0: none, the attempt failed with `flag`). */
  attemptEnd(code: number, flag: string): void {
    const id = this.#attemptId;
    if (id === null) return;
    this.#attemptId = null;
    const t = this.#tracer;
    if (!this.ids.sampled || t.config.disableSpanReporting) return;
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
    if (this.#attemptId !== null) this.attemptEnd(0, end.flags);
    const t = this.#tracer;
    if (!this.ids.sampled || t.config.disableSpanReporting) return;
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
