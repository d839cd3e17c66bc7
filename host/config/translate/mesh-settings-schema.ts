// Zod schema for Istio's meshConfig (istio/api mesh/v1alpha1 MeshConfig) as far as wasmesh
// serves it: the fields it acts on are typed; every other MeshConfig field Istio defines is
// accepted (so an `istio` ConfigMap copied from a cluster loads) and listed as unserved by the
// reader; a field MeshConfig does not define is an error, as istiod rejects it.
import { z } from 'zod';
import { duration, message } from '../istio-schemas.js';

const str = z.string();
const strList = z.array(z.string());
const port = z.int().min(1, 'port must be in 1..65535').max(65_535, 'port must be in 1..65535');
/** Istio's statusOnError is a string holding an HTTP status ("403"). */
const httpStatus = z.string().regex(/^[1-5][0-9][0-9]$/, 'must be an HTTP status code such as "403"');

const bodyInCheck = message({
  maxRequestBytes: z.int().min(0).optional(),
  allowPartialMessage: z.boolean().optional(),
  packAsBytes: z.boolean().optional(),
});

export const extAuthzHttpSchema = message({
  service: str.min(1, 'service is required'),
  port: port,
  timeout: duration.optional(),
  pathPrefix: str.optional(),
  failOpen: z.boolean().optional(),
  clearRouteCache: z.boolean().optional(),
  statusOnError: httpStatus.optional(),
  includeHeadersInCheck: strList.optional(),
  includeRequestHeadersInCheck: strList.optional(),
  includeAdditionalHeadersInCheck: z.record(z.string(), z.string()).optional(),
  includeRequestBodyInCheck: bodyInCheck.optional(),
  headersToUpstreamOnAllow: strList.optional(),
  headersToDownstreamOnDeny: strList.optional(),
  headersToDownstreamOnAllow: strList.optional(),
});

export const extAuthzGrpcSchema = message({
  service: str.min(1, 'service is required'),
  port: port,
  timeout: duration.optional(),
  failOpen: z.boolean().optional(),
  clearRouteCache: z.boolean().optional(),
  statusOnError: httpStatus.optional(),
  includeRequestBodyInCheck: bodyInCheck.optional(),
});

/** meshConfig.extensionProviders[].zipkin (istio/api ZipkinTracingProvider). */
export const zipkinProviderSchema = message({
  service: str.min(1, 'service is required'),
  port: port,
  maxTagLength: z.int().min(0).optional(),
  enable64bitTraceId: z.boolean().optional(),
  path: str.regex(/^\//, 'must start with /').optional(),
  traceContextOption: z.enum(['USE_B3', 'USE_B3_WITH_W3C_PROPAGATION']).optional(),
  timeout: duration.optional(),
  headers: z.array(z.unknown()).optional(),
});

/** meshConfig.extensionProviders[].opentelemetry (istio/api OpenTelemetryTracingProvider). */
export const openTelemetryProviderSchema = message({
  service: str.min(1, 'service is required'),
  port: port,
  maxTagLength: z.int().min(0).optional(),
  http: message({ path: str.regex(/^\//, 'must start with /').optional(), timeout: duration.optional(), headers: z.array(z.unknown()).optional() }).optional(),
  grpc: message({ timeout: duration.optional(), initialMetadata: z.array(z.unknown()).optional() }).optional(),
  resourceDetectors: z.unknown().optional(),
  dynatraceSampler: z.unknown().optional(),
});

/** The tracing provider kinds wasmesh serves (translate/tracing-providers.ts). */
export const TRACING_PROVIDER_KINDS = ['zipkin', 'opentelemetry'] as const;

/** The provider kinds of MeshConfig.ExtensionProvider besides the ext_authz and tracing ones (all unserved). */
export const OTHER_PROVIDER_KINDS = [
  'lightstep', 'datadog', 'stackdriver', 'opencensus', 'skywalking', 'prometheus',
  'envoyFileAccessLog', 'envoyHttpAls', 'envoyTcpAls', 'envoyOtelAls', 'sds',
] as const;

export const extensionProviderSchema = message({
  name: str.min(1, 'name is required'),
  envoyExtAuthzHttp: extAuthzHttpSchema.optional(),
  envoyExtAuthzGrpc: extAuthzGrpcSchema.optional(),
  zipkin: zipkinProviderSchema.optional(),
  opentelemetry: openTelemetryProviderSchema.optional(),
  ...Object.fromEntries(OTHER_PROVIDER_KINDS.map((k) => [k, z.unknown().optional()])),
});

/** MeshConfig fields Istio defines that wasmesh does not act on (accepted with a warning). */
export const UNSERVED_MESH_FIELDS = [
  'proxyListenPort', 'proxyInboundListenPort', 'proxyHttpPort', 'connectTimeout', 'tcpKeepalive',
  'ingressClass', 'ingressService', 'ingressControllerMode', 'ingressSelector', 'enableTracing', 'accessLogFile',
  'accessLogFormat', 'accessLogEncoding', 'enableEnvoyAccessLogService', 'disableEnvoyListenerLog', 'defaultConfig',
  'inboundTrafficPolicy', 'configSources', 'enableAutoMtls', 'trustDomain', 'trustDomainAliases', 'caCertificates',
  'defaultServiceExportTo', 'defaultVirtualServiceExportTo', 'defaultDestinationRuleExportTo', 'localityLbSetting',
  'dnsRefreshRate', 'h2UpgradePolicy', 'inboundClusterStatName', 'outboundClusterStatName', 'certificates',
  'serviceSettings', 'enablePrometheusMerge', 'verifyCertificateAtClient', 'ca',
  'defaultHttpRetryPolicy', 'meshMTLS', 'tlsDefaults', 'serviceScopeConfigs',
  'thriftConfig', 'mixerCheckServer', 'mixerReportServer', 'disablePolicyChecks', 'policyCheckFailOpen',
  'sidecarToTelemetrySessionAffinity', 'enableClientSidePolicyCheck', 'sdsUdsPath', 'sdsRefreshDelay', 'authPolicy',
  'rdsRefreshDelay', 'mixerAddress',
] as const;

/** metav1.LabelSelector, as the API server validates one (In/NotIn need values, Exists/DoesNotExist take none). */
const labelSelectorSchema = message({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(message({
    key: z.string().min(1, 'key is required'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).optional(),
  }).superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${r.operator} needs at least one value` });
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${r.operator} takes no values` });
  })).optional(),
});

export const meshConfigSchema = message({
  discoverySelectors: z.array(labelSelectorSchema).optional(),
  rootNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (a-z, 0-9, "-")').optional(),
  pathNormalization: message({
    normalization: z.enum(['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']).optional(),
  }).optional(),
  outboundTrafficPolicy: message({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).optional() }).optional(),
  protocolDetectionTimeout: z.string().optional(),
  extensionProviders: z.array(extensionProviderSchema).optional(),
  defaultProviders: message({ tracing: strList.optional(), metrics: strList.optional(), accessLogging: strList.optional() }).optional(),
  ...Object.fromEntries(UNSERVED_MESH_FIELDS.map((k) => [k, z.unknown().optional()])),
});

export type MeshConfigInput = z.infer<typeof meshConfigSchema>;
export type ExtAuthzHttpInput = z.infer<typeof extAuthzHttpSchema>;
export type ZipkinProviderInput = z.infer<typeof zipkinProviderSchema>;
export type OpenTelemetryProviderInput = z.infer<typeof openTelemetryProviderSchema>;
export type ExtAuthzGrpcInput = z.infer<typeof extAuthzGrpcSchema>;
