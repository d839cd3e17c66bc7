// Zod schema for telemetry.istio.io Telemetry (v1 and v1alpha1 are the same messages, istio/api
// telemetry/v1alpha1/telemetry.proto), read strictly as the other Istio kinds: the tracing
// accessLogging and metrics sections are typed field for field.
import { z } from 'zod';
import { message } from './istio-schemas.js';

const str = z.string();
const labels = z.record(z.string(), z.string());

const providerRef = message({ name: str.min(1, 'a provider name is required') });

/** Telemetry CustomTag: exactly one of literal, environment, header (checked by the translation, with its location). */
const customTag = message({
  literal: message({ value: str }).optional(),
  environment: message({ name: str.min(1, 'name is required'), defaultValue: str.optional() }).optional(),
  header: message({ name: str.min(1, 'name is required'), defaultValue: str.optional() }).optional(),
});

const tracing = message({
  match: message({ mode: z.enum(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']).optional() }).optional(),
  providers: z.array(providerRef).optional(),
  // A google.protobuf.DoubleValue: a number in YAML.
  randomSamplingPercentage: z.number().min(0, 'must be in 0..100').max(100, 'must be in 0..100').optional(),
  disableSpanReporting: z.boolean().optional(),
  customTags: z.record(z.string(), customTag).optional(),
  useRequestIdForTraceSampling: z.boolean().optional(),
  enableIstioTags: z.boolean().optional(),
});

/** Telemetry AccessLogging; filter.expression is a CEL expression (the translation serves response.code comparisons). */
const accessLogging = message({
  match: message({ mode: z.enum(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']).optional() }).optional(),
  providers: z.array(providerRef).optional(),
  disabled: z.boolean().optional(),
  filter: message({ expression: str }).optional(),
});

/** Telemetry Metrics: overrides of the standard metrics (MetricSelector, TagOverride). */
const metrics = message({
  providers: z.array(providerRef).optional(),
  overrides: z.array(message({
    match: message({
      metric: z.enum(['ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES']).optional(),
      customMetric: str.optional(),
      mode: z.enum(['CLIENT_AND_SERVER', 'CLIENT', 'SERVER']).optional(),
    }).optional(),
    disabled: z.boolean().optional(),
    tagOverrides: z.record(z.string(), message({ operation: z.enum(['UPSERT', 'REMOVE']).optional(), value: str.optional() })).optional(),
  })).optional(),
  reportingInterval: str.optional(),
});

export const telemetrySpec = message({
  selector: message({ matchLabels: labels.optional() }).optional(),
  targetRef: message({ group: str.optional(), kind: str, name: str, namespace: str.optional() }).optional(),
  targetRefs: z.array(message({ group: str.optional(), kind: str, name: str, namespace: str.optional() })).optional(),
  tracing: z.array(tracing).optional(),
  metrics: z.array(metrics).optional(),
  accessLogging: z.array(accessLogging).optional(),
});

export const TELEMETRY_SPEC_SCHEMAS = { Telemetry: telemetrySpec } as const;
export type TelemetryKind = keyof typeof TELEMETRY_SPEC_SCHEMAS;
export type TelemetrySpec = z.infer<typeof telemetrySpec>;
export type TelemetryTracingSpec = z.infer<typeof tracing>;
export type TelemetryAccessLoggingSpec = z.infer<typeof accessLogging>;
export type TelemetryMetricsSpec = z.infer<typeof metrics>;
