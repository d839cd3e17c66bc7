// meshConfig's tracing pieces: extensionProviders[].zipkin and .opentelemetry as TracingProvider
// (Istio's defaults: Zipkin at /api/v2/spans, OTLP/HTTP at /v1/traces, maxTagLength 256), and
// defaultConfig.tracing.sampling. What wasmesh cannot do is said where it is written: OTLP over
// gRPC (an opentelemetry provider without `http`) is a located error rather than spans silently
// sent nowhere: a warning where the provider is defined (a meshConfig copied from a cluster still
// loads), a located error where a Telemetry or defaultProviders uses it; unserved provider fields
// are warnings.
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import type { PathSegment } from '../yaml-source.js';
import { DEFAULT_MAX_TAG_LENGTH, type TracingProvider } from '../../model/tracing.js';
import type { OpenTelemetryProviderInput, ZipkinProviderInput } from './mesh-settings-schema.js';

/** Why an OTLP provider without `http` cannot be used (the message where it is referenced). */
export const OTLP_GRPC_UNSERVED = 'exports OTLP over gRPC, which is not served: set `http: {path: /v1/traces}` and the collector\'s OTLP/HTTP port (4318)';

/** A zipkin or opentelemetry provider, or null (a warning or an issue was added). */
export function tracingProvider(
  name: string,
  kind: 'zipkin' | 'opentelemetry',
  p: ZipkinProviderInput | OpenTelemetryProviderInput,
  ref: DocumentRef,
  at: readonly PathSegment[],
  issues: ConfigIssue[],
  warnings: string[],
): TracingProvider | null {
  const entry = p as Record<string, unknown>;
  const unserved = kind === 'zipkin' ? ['enable64bitTraceId', 'traceContextOption', 'timeout', 'headers'] : ['resourceDetectors', 'dynatraceSampler'];
  for (const f of unserved) if (entry[f] !== undefined) warnings.push(warningAt(ref, [...at, f], 'is not served yet'));
  let path = '/api/v2/spans';
  if (kind === 'zipkin') path = (p as ZipkinProviderInput).path ?? path;
  else {
    const otel = p as OpenTelemetryProviderInput;
    if (otel.http === undefined) {
      // Istio exports OTLP over gRPC when `http` is absent; wasmesh exports OTLP/HTTP only.
      warnings.push(warningAt(ref, otel.grpc !== undefined ? [...at, 'grpc'] : at, `is not served: provider "${name}" exports OTLP over gRPC (no \`http\`), wasmesh exports OTLP/HTTP only; it is ignored`));
      return null;
    }
    if (otel.http.timeout !== undefined) warnings.push(warningAt(ref, [...at, 'http', 'timeout'], 'is not served yet (reports time out after 5 s)'));
    if (otel.http.headers !== undefined) warnings.push(warningAt(ref, [...at, 'http', 'headers'], 'is not served yet'));
    path = otel.http.path ?? '/v1/traces';
  }
  return Object.freeze({ name, kind, service: p.service, port: p.port, path, maxTagLength: p.maxTagLength || DEFAULT_MAX_TAG_LENGTH });
}

/**
 * meshConfig defaultConfig.tracing.sampling (ProxyConfig: a percentage, 0..100), undefined when
 * absent or invalid (an issue added); the other defaultConfig fields are warned unserved.
 */
export function defaultConfigSampling(value: unknown, ref: DocumentRef, at: readonly PathSegment[], issues: ConfigIssue[], warnings: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push(issueAt(ref, 'invalid_type', at, 'defaultConfig must be a mapping (Istio\'s ProxyConfig)'));
    return undefined;
  }
  const config = value as Record<string, unknown>;
  for (const f of Object.keys(config)) if (f !== 'tracing') warnings.push(warningAt(ref, [...at, f], 'is not served: wasmesh does not act on this defaultConfig field'));
  const tracing = config['tracing'];
  if (tracing === undefined || tracing === null) return undefined;
  if (typeof tracing !== 'object' || Array.isArray(tracing)) {
    issues.push(issueAt(ref, 'invalid_type', [...at, 'tracing'], 'must be a mapping'));
    return undefined;
  }
  const t = tracing as Record<string, unknown>;
  for (const f of Object.keys(t)) if (f !== 'sampling') warnings.push(warningAt(ref, [...at, 'tracing', f], 'is not served (tracing providers are meshConfig extensionProviders and Telemetry)'));
  const s = t['sampling'];
  if (s === undefined) return undefined;
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 100) {
    issues.push(issueAt(ref, 'invalid_value', [...at, 'tracing', 'sampling'], 'must be a percentage between 0 and 100'));
    return undefined;
  }
  return s;
}
