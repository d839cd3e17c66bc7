// Distributed tracing as one proxy applies it: the collector its spans go to (a meshConfig
// extension provider, zipkin or opentelemetry), the sampling percentage and the custom tags, as
// the Telemetry API (telemetry.istio.io Telemetry) and meshConfig resolve them for this workload.
// Plain data: host/config translates Istio's YAML into it, host/telemetry/tracing acts on it.

/** A tracing collector (meshConfig.extensionProviders[].zipkin / .opentelemetry). */
export interface TracingProvider {
  /** The extension provider's name (what Telemetry `providers[].name` and defaultProviders.tracing refer to). */
  readonly name: string;
  /** zipkin: Zipkin v2 JSON to `POST /api/v2/spans`; opentelemetry: OTLP/HTTP JSON to `POST <path>` (default /v1/traces). */
  readonly kind: 'zipkin' | 'opentelemetry';
  /** The collector's host (`zipkin.istio-system.svc.cluster.local`, or an address) and port. */
  readonly service: string;
  readonly port: number;
  /** The HTTP path spans are posted to. */
  readonly path: string;
  /** Istio's maxTagLength: tag values are cut to this many characters (default 256). */
  readonly maxTagLength: number;
}

/** A Telemetry customTags entry: a literal value, a request header's, or an environment variable's. */
export type CustomTag =
  | { readonly tag: string; readonly kind: 'literal'; readonly value: string }
  | { readonly tag: string; readonly kind: 'header'; readonly name: string; readonly defaultValue: string | null }
  | { readonly tag: string; readonly kind: 'environment'; readonly name: string; readonly defaultValue: string | null };

export interface TracingConfig {
  /** Where spans go. */
  readonly provider: TracingProvider;
  /** Telemetry randomSamplingPercentage, else meshConfig defaultConfig.tracing.sampling, else Istio's 1 %. */
  readonly samplingPercentage: number;
  readonly customTags: readonly CustomTag[];
  /**
   * Telemetry disableSpanReporting: the proxy still propagates (and samples) trace context but
   * reports no span.
   */
  readonly disableSpanReporting: boolean;
}

/** Istio's default sampling: 1 % of requests without a sampling decision are traced. */
export const DEFAULT_SAMPLING_PERCENTAGE = 1;
/** Istio's default zipkin maxTagLength. */
export const DEFAULT_MAX_TAG_LENGTH = 256;
