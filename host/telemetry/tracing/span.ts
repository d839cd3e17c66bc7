// A finished span as the exporters encode it (Zipkin v2 or OTLP): ids, name, kind, times in
// microseconds since the epoch, and tags as Envoy and Istio name them. Built by StreamTrace when
// a span ends; plain data, so a batch can be encoded off the request path.

export type SpanKind = 'SERVER' | 'CLIENT';

export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | null;
  readonly name: string;
  readonly kind: SpanKind;
  /** Microseconds since the epoch. */
  readonly startUs: number;
  readonly durationUs: number;
  /** Tag name → value (values already cut to the provider's maxTagLength). */
  readonly tags: Readonly<Record<string, string>>;
  /** The reporting proxy: Istio's tracing service name (`<canonical service>.<namespace>`) and its address. */
  readonly localService: string;
  readonly localIp: string | null;
  /** The other side's address (`ip:port`), when known. */
  readonly remote: string | null;
}
