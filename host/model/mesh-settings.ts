// Istio's meshConfig as wasmesh serves it: the mesh-wide settings every proxy shares (Istio reads
// them from the `istio` ConfigMap's `mesh` key in the root namespace, or IstioOperator
// spec.meshConfig). Plain data with Istio's defaults; host/config reads them from the loaded
// resources (translate/mesh-settings.ts) and passes them to every translation that needs one.

/** meshConfig.pathNormalization.normalization (Istio's default: BASE). */
import type { TracingProvider } from './tracing.js';
import type { AccessLogTarget } from './access-logging.js';
import type { LabelSelector } from './label-selector.js';

export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

/** meshConfig.outboundTrafficPolicy.mode (Istio's default: ALLOW_ANY). */
export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** An external authorizer (meshConfig.extensionProviders[].envoyExtAuthzHttp / envoyExtAuthzGrpc). */
export interface ExtAuthzProvider {
  readonly name: string;
  readonly kind: 'http' | 'grpc';
  /** The authorizer's service host (`ext-authz.foo.svc.cluster.local`) and port. */
  readonly service: string;
  readonly port: number;
  /** Istio `timeout` (default 600 s for Envoy; Istio leaves Envoy's default). */
  readonly timeoutMs: number;
  /** Istio `failOpen` (default false: fail closed). */
  readonly failOpen: boolean;
  /** Istio `statusOnError` (default 403). */
  readonly statusOnError: number;
  /** HTTP only: Istio `pathPrefix`. */
  readonly pathPrefix: string;
  /** HTTP: headers sent to the authorizer (includeRequestHeadersInCheck), copied upstream on allow (headersToUpstreamOnAllow), downstream on deny (headersToDownstreamOnDeny). */
  readonly includeRequestHeadersInCheck: readonly string[];
  readonly headersToUpstreamOnAllow: readonly string[];
  readonly headersToDownstreamOnDeny: readonly string[];
  /** Istio `includeRequestBodyInCheck` (maxRequestBytes), null when absent. */
  readonly maxRequestBytes: number | null;
  /** includeRequestBodyInCheck.allowPartialMessage: send the first maxRequestBytes of a larger body (else 413); absent: false. */
  readonly allowPartialMessage?: boolean;
  /** includeRequestBodyInCheck.packAsBytes (gRPC): the body as raw_body bytes, not a UTF-8 string; absent: false. */
  readonly packAsBytes?: boolean;
}

export interface MeshSettings {
  /** meshConfig.rootNamespace (Istio's default istio-system): its policies apply mesh-wide. */
  readonly rootNamespace: string;
  readonly pathNormalization: PathNormalization;
  readonly outboundTrafficPolicy: OutboundTrafficMode;
  /** meshConfig.protocolDetectionTimeout in ms (absent or 0: none, Istio's default 0s). */
  readonly protocolDetectionTimeoutMs?: number;
  readonly extAuthzProviders: readonly ExtAuthzProvider[];
  /** extensionProviders[].zipkin / .opentelemetry (absent: none). */
  readonly tracingProviders?: readonly TracingProvider[];
  /** defaultProviders.tracing: the providers a workload traces to when no Telemetry names one (absent: none, no tracing). */
  readonly defaultTracingProviders?: readonly string[];
  /** defaultConfig.tracing.sampling, a percentage (absent: Istio's 1 %). */
  readonly tracingSampling?: number;
  /** Tracing providers defined but not served (an OTLP/gRPC opentelemetry provider): name → why, for the error where one is used. */
  readonly unservedTracingProviders?: Readonly<Record<string, string>>;
  /** Access-log providers by name: extensionProviders[].envoyFileAccessLog and the built-in `envoy` (meshConfig accessLogFile/Format/Encoding); absent: none defined. */
  readonly accessLogProviders?: readonly AccessLogTarget[];
  /** meshConfig accessLogFile is set: every proxy logs through `envoy` when no Telemetry says otherwise. */
  readonly meshAccessLogFile?: boolean;
  /** defaultProviders.accessLogging (absent: none). */
  readonly defaultAccessLogProviders?: readonly string[];
  /**
   * meshConfig discoverySelectors: the namespaces whose objects a control plane watching an API
   * server takes (any selector matching the namespace's labels); absent or empty: every namespace.
   */
  readonly discoverySelectors?: readonly LabelSelector[];
}

export const DEFAULT_MESH_SETTINGS: MeshSettings = Object.freeze({
  rootNamespace: 'istio-system',
  pathNormalization: 'BASE',
  outboundTrafficPolicy: 'ALLOW_ANY',
  extAuthzProviders: Object.freeze([]) as readonly ExtAuthzProvider[],
});
