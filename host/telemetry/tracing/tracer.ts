// One config version's tracer: from the request's propagation headers and the version's tracing
// config, the stream's trace (StreamTrace) — the context it continues or starts, the sampling
// decision — or null when the headers are malformed (Envoy then makes no span and forwards the
// headers untouched). Built once per version with everything that does not change per request:
// the proxy's own tags (node_id, istio.*, component, literal and environment custom tags).
import type { TracingConfig } from '../../model/tracing.js';
import type { WorkloadMetadata } from '../../model/workload-metadata.js';
import { extractB3, B3_HEADERS, ReusedContext, type HeaderReader } from './b3.js';
import { extractTraceparent, W3C_HEADERS } from './traceparent.js';
import type { Extracted } from './span-context.js';
import { decideSampling, SamplingReason } from './sampling.js';
import type { SpanIds } from './span-ids.js';
import type { FinishedSpan, SpanKind } from './span.js';
import { StreamTrace, type TracedRequest, type TraceSource } from './stream-trace.js';
import { fromSpanContext, ReceivedContext } from './received-context.js';
import { extractBytes, X_CONTEXT, X_INVALID, X_SAMPLING } from './extract-bytes.js';
import type { PropagationBytes } from '../../common/propagation-bytes.js';

/** How many finished traces a tracer keeps for reuse (streams in flight at once on one worker, in practice). */
const MAX_FREE_TRACES = 256;

/** Every header the proxy rewrites when it continues a trace (B3 in both forms, W3C). */
export const PROPAGATION_HEADERS: readonly string[] = [...B3_HEADERS, ...W3C_HEADERS];

/** The counters a tracer moves. */
export interface TracerStats {
  inc(name: 'tracing.random_sampling' | 'tracing.client_enabled' | 'tracing.not_traceable'): void;
}

export interface TracerDeps {
  readonly config: TracingConfig;
  readonly workload: WorkloadMetadata;
  readonly ids: SpanIds;
  /** Where finished sampled spans go (the version's provider's exporter). */
  readonly report: (span: FinishedSpan) => void;
  readonly stats: TracerStats;
  /** The stream span's kind (SERVER as ProxyServer sets it: a hop of its own, Envoy's spawn_upstream_span; CLIENT would be Envoy's egress without per-attempt spans). */
  readonly kind: SpanKind;
  /** Environment for `environment` custom tags (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class Tracer implements TraceSource {
  readonly config: TracingConfig;
  readonly ids: SpanIds;
  readonly kind: SpanKind;
  readonly report: (span: FinishedSpan) => void;
  /** Istio's tracing service name: `<canonical service>.<namespace>`. */
  readonly serviceName: string;
  readonly localIp: string | null;
  /** Tags every span of this proxy carries (already cut to maxTagLength). */
  readonly baseTags: Readonly<Record<string, string>>;
  readonly #stats: TracerStats;
  readonly #headerTags: ReadonlyArray<{ tag: string; name: string; defaultValue: string | null }>;
  readonly #zipkinFirst: boolean;
  /** The sampling draw, one closure for the tracer rather than one per request. */
  readonly #draw: () => number;
  /** Finished unreported traces, reused by start() (bounded: about the streams in flight at once). */
  readonly #free: StreamTrace[] = [];
  /** The extracted B3 context of the request being started (extract(): no result object per request). */
  readonly #reused = new ReusedContext();
  /** The received context as numbers, copied by the stream's trace (no object per request). */
  readonly #received = new ReceivedContext();

  constructor(deps: TracerDeps) {
    const { config, workload } = deps;
    this.config = config;
    this.ids = deps.ids;
    this.kind = deps.kind;
    this.report = deps.report;
    this.#stats = deps.stats;
    this.#zipkinFirst = config.provider.kind === 'zipkin';
    this.#draw = () => this.ids.draw();
    this.serviceName = `${workload.canonicalService}.${workload.namespace}`;
    this.localIp = workload.instanceIp === 'unknown' ? null : workload.instanceIp;
    const env = deps.env ?? process.env;
    const tags: Record<string, string> = {
      component: 'proxy',
      node_id: workload.nodeId,
      'istio.canonical_service': workload.canonicalService,
      'istio.canonical_revision': workload.canonicalRevision,
      'istio.mesh_id': workload.meshId,
      'istio.namespace': workload.namespace,
      'istio.cluster_id': workload.cluster,
    };
    const headerTags: Array<{ tag: string; name: string; defaultValue: string | null }> = [];
    for (const t of config.customTags) {
      if (t.kind === 'literal') tags[t.tag] = t.value;
      else if (t.kind === 'environment') {
        const v = env[t.name] ?? t.defaultValue;
        if (v !== null && v !== undefined) tags[t.tag] = v;
      } else headerTags.push({ tag: t.tag, name: t.name.toLowerCase(), defaultValue: t.defaultValue });
    }
    for (const k of Object.keys(tags)) tags[k] = this.cut(tags[k]!);
    this.baseTags = Object.freeze(tags);
    this.#headerTags = headerTags;
  }

  /** A tag value cut to the provider's maxTagLength. */
  cut(v: string): string {
    const max = this.config.provider.maxTagLength;
    return v.length > max ? v.slice(0, max) : v;
  }

  /**
   * The request's context as its headers carry it: the provider's own format first, the other as
   * a fallback. A B3 multi-header context is the tracer's reused one: valid until the next call
   * (start() copies what the stream keeps of it first).
   */
  extract(get: HeaderReader): Extracted {
    const first = this.#zipkinFirst ? extractB3(get, this.#reused) : extractTraceparent(get);
    if (first.kind !== 'none') return first;
    return this.#zipkinFirst ? extractTraceparent(get) : extractB3(get, this.#reused);
  }

  /**
   * The stream's trace, or null when its propagation headers are malformed (no span, headers as
   * received). `request` is read now (its strings are kept, not copied); null: the caller gives
   * it with `trace.describe(...)` when `trace.reports` (a span will be built), and only then.
   */
  start(get: HeaderReader, request: TracedRequest | null, startMs: number): StreamTrace | null {
    const e = this.extract(get);
    if (e.kind === 'invalid') return null;
    const upstream = e.kind === 'context' ? (e.context.debug ? true : e.context.sampled) : e.kind === 'sampling' ? e.sampled : null;
    return this.#begin(upstream, e.kind === 'context' ? fromSpanContext(e.context, this.#received) : null, get, request, startMs);
  }

  /**
   * start() with the context read from the propagation fields' bytes (the HTTP/1 listener's
   * hand-over: no string per field, the ids taken as numbers). `get` reads the request's other
   * fields (x-client-trace-id, a custom tag's header) and the propagation ones as strings.
   */
  startFromBytes(fields: PropagationBytes, get: HeaderReader, request: TracedRequest | null, startMs: number): StreamTrace | null {
    const r = this.#received;
    const k = extractBytes(fields, this.#zipkinFirst, r);
    // A value too long for the hand-over's buffer: the string parsers read the fields.
    if (k < 0) return this.start(get, request, startMs);
    if (k === X_INVALID) return null;
    const upstream = k === X_CONTEXT ? (r.debug ? true : r.sampled) : k === X_SAMPLING ? r.sampled : null;
    return this.#begin(upstream, k === X_CONTEXT ? r : null, get, request, startMs);
  }

  /** The sampling decision, counted, and the stream's trace (a reused one when there is one). */
  #begin(upstream: boolean | null, ctx: ReceivedContext | null, get: HeaderReader, request: TracedRequest | null, startMs: number): StreamTrace {
    // x-client-trace-id is asked only when it decides (no decision came with the request).
    const decision = decideSampling(upstream, upstream === null && get('x-client-trace-id') !== null, this.config.samplingPercentage, this.#draw);
    if (decision.reason === SamplingReason.ClientForced) this.#stats.inc('tracing.client_enabled');
    else if (decision.reason === SamplingReason.Random) this.#stats.inc('tracing.random_sampling');
    else if (decision.reason === SamplingReason.NotTraceable) this.#stats.inc('tracing.not_traceable');
    let requestTags: Array<[string, string]> | null = null;
    if (decision.sampled && this.#headerTags.length > 0) {
      for (const t of this.#headerTags) {
        const v = get(t.name) ?? t.defaultValue;
        if (v !== null) (requestTags ??= []).push([t.tag, this.cut(v)]);
      }
    }
    const free = this.#free.pop();
    return free === undefined ? new StreamTrace(this, ctx, decision.sampled, request, startMs, requestTags) : free.restart(ctx, decision.sampled, request, startMs, requestTags);
  }

  /**
   * A finished stream's trace given back for reuse by a later start(), when its spans were not
   * reported (StreamTrace.recycle). The caller must hold no reference to it any more.
   */
  release(trace: StreamTrace): void {
    if (this.#free.length < MAX_FREE_TRACES && trace.recycle()) this.#free.push(trace);
  }
}
