// Zod schemas for the networking.istio.io resources we read, field for field after istio/api's
// networking/v1alpha3 protos (v1 and v1beta1 are the same messages). Strict: a field Istio does
// not define is an error, as Istio's CRD schemas reject it. Fields of features not served yet
// are accepted and kept, so seed YAML loads and later issues find them in the resource model.
import { z } from 'zod';
import { parseDuration } from '../common/duration.js';

/** Protobuf JSON accepts a field's proto name (`mirror_percent`) as well as its JSON name. */
function protoJsonName(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * One proto message: a strict object whose snake_case keys are first renamed to their JSON
 * names, so YAML written with proto names (seed 002's `mirror_percent`) loads as Istio loads it.
 */
export function message<T extends z.ZodRawShape>(shape: T) {
  const known = new Set(Object.keys(shape));
  return z.preprocess((input) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
    const entries = Object.entries(input as Record<string, unknown>);
    if (!entries.some(([k]) => k.includes('_'))) return input;
    const out: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      const json = protoJsonName(key);
      // Only rename to a field this message has, and never over the same field given twice.
      const name = json !== key && known.has(json) && !(json in (input as object)) ? json : key;
      out[name] = value;
    }
    return out;
  }, z.strictObject(shape));
}

const str = z.string();
const strList = z.array(z.string());
const labels = z.record(z.string(), z.string());
const bool = z.boolean();
const uint32 = z.int().min(0).max(4_294_967_295);
const int32 = z.int().min(-2_147_483_648).max(2_147_483_647);
const port = z.int().min(1, 'port must be in 1..65535').max(65_535, 'port must be in 1..65535');
const percentNumber = z.number().min(0, 'must be in 0..100').max(100, 'must be in 0..100');

/**
 * A google.protobuf.Duration as Istio accepts it; checked here so the error sits on the field.
 * The type check is marked (`expected: 'duration'`) so that a number (`timeout: 2`) is reported
 * with the string to write instead (read-resource.ts).
 */
export const duration = z.custom<string>((v) => typeof v === 'string', { params: { code: 'invalid_type', expected: 'duration' } }).superRefine((text, ctx) => {
  const parsed = parseDuration(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason, params: { code: 'invalid_duration' } });
});

// ---- shared -------------------------------------------------------------------------------

export const stringMatch = message({ exact: str.optional(), prefix: str.optional(), regex: str.optional() }).refine(
  (m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length <= 1,
  { message: 'a StringMatch takes one of exact, prefix or regex' },
);
const percent = message({ value: percentNumber.optional() });
const portSelector = message({ number: port.optional() });
const headerOperations = message({
  set: labels.optional(),
  add: labels.optional(),
  remove: strList.optional(),
});
const headers = message({ request: headerOperations.optional(), response: headerOperations.optional() });

// ---- VirtualService -------------------------------------------------------------------------

export const destination = message({ host: str.min(1, 'host is required'), subset: str.optional(), port: portSelector.optional() });

export const httpMatchRequest = message({
  name: str.optional(),
  uri: stringMatch.optional(),
  scheme: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  headers: z.record(z.string(), stringMatch).optional(),
  port: port.optional(),
  sourceLabels: labels.optional(),
  gateways: strList.optional(),
  queryParams: z.record(z.string(), stringMatch).optional(),
  ignoreUriCase: bool.optional(),
  withoutHeaders: z.record(z.string(), stringMatch).optional(),
  sourceNamespace: str.optional(),
  statPrefix: str.optional(),
});

/**
 * A route weight: Istio's validateWeight rejects only negatives (an int32). Since Istio 1.15 a
 * rule's weights need not sum to 100: each destination gets weight/total (route-builder.ts).
 */
const routeWeight = z.int().min(0, 'weight must not be negative').max(2_147_483_647, 'weight must fit an int32 (at most 2147483647)');

export const httpRouteDestination = message({
  destination,
  weight: routeWeight.optional(),
  headers: headers.optional(),
});

const routeDestination = message({
  destination,
  weight: routeWeight.optional(),
});

const httpRedirect = message({
  uri: str.optional(),
  authority: str.optional(),
  port: port.optional(),
  derivePort: z.enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']).optional(),
  scheme: str.optional(),
  redirectCode: uint32.optional(),
  prefixRewrite: str.optional(),
});

const httpDirectResponse = message({
  status: z.int().min(200, 'status must be in 200..599').max(599, 'status must be in 200..599'),
  body: message({ string: str.optional(), bytes: str.optional() }).optional(),
});

const httpRewrite = message({
  uri: str.optional(),
  authority: str.optional(),
  uriRegexRewrite: message({ match: str.optional(), rewrite: str.optional() }).optional(),
});

const httpRetry = message({
  attempts: int32.optional(),
  perTryTimeout: duration.optional(),
  retryOn: str.optional(),
  retryRemoteLocalities: bool.optional(),
  retryIgnorePreviousHosts: bool.optional(),
  backoff: duration.optional(),
});

const corsPolicy = message({
  allowOrigin: strList.optional(),
  allowOrigins: z.array(stringMatch).optional(),
  allowMethods: strList.optional(),
  allowHeaders: strList.optional(),
  exposeHeaders: strList.optional(),
  maxAge: duration.optional(),
  allowCredentials: bool.optional(),
  unmatchedPreflights: z.enum(['UNSPECIFIED', 'FORWARD', 'IGNORE']).optional(),
});

const httpFaultInjection = message({
  delay: message({
    percent: int32.optional(),
    fixedDelay: duration.optional(),
    exponentialDelay: duration.optional(),
    percentage: percent.optional(),
  }).optional(),
  abort: message({
    httpStatus: int32.optional(),
    grpcStatus: str.optional(),
    http2Error: str.optional(),
    percentage: percent.optional(),
  }).optional(),
});

const httpMirrorPolicy = message({ destination, percentage: percent.optional() });

export const httpRoute = message({
  name: str.optional(),
  match: z.array(httpMatchRequest).optional(),
  route: z.array(httpRouteDestination).optional(),
  redirect: httpRedirect.optional(),
  directResponse: httpDirectResponse.optional(),
  delegate: message({ name: str.optional(), namespace: str.optional() }).optional(),
  rewrite: httpRewrite.optional(),
  timeout: duration.optional(),
  retries: httpRetry.optional(),
  fault: httpFaultInjection.optional(),
  mirror: destination.optional(),
  mirrors: z.array(httpMirrorPolicy).optional(),
  mirrorPercent: uint32.optional(),
  mirrorPercentage: percent.optional(),
  corsPolicy: corsPolicy.optional(),
  headers: headers.optional(),
});

const l4MatchAttributes = message({
  destinationSubnets: strList.optional(),
  port: port.optional(),
  sourceSubnet: str.optional(),
  sourceLabels: labels.optional(),
  gateways: strList.optional(),
  sourceNamespace: str.optional(),
});

const tlsMatchAttributes = message({
  sniHosts: strList,
  destinationSubnets: strList.optional(),
  port: port.optional(),
  sourceLabels: labels.optional(),
  gateways: strList.optional(),
  sourceNamespace: str.optional(),
});

export const virtualServiceSpec = message({
  hosts: strList.optional(),
  gateways: strList.optional(),
  http: z.array(httpRoute).optional(),
  tls: z.array(message({ match: z.array(tlsMatchAttributes), route: z.array(routeDestination).optional() })).optional(),
  tcp: z.array(message({ match: z.array(l4MatchAttributes).optional(), route: z.array(routeDestination).optional() })).optional(),
  exportTo: strList.optional(),
});

// ---- DestinationRule --------------------------------------------------------------------------

const loadBalancerSettings = message({
  simple: z.enum(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']).optional(),
  consistentHash: message({
    httpHeaderName: str.optional(),
    httpCookie: message({
      name: str,
      path: str.optional(),
      ttl: duration.optional(),
      attributes: z.array(message({ name: str, value: str.optional() })).optional(),
    }).optional(),
    useSourceIp: bool.optional(),
    httpQueryParameterName: str.optional(),
    ringHash: message({ minimumRingSize: z.int().min(0).optional() }).optional(),
    maglev: message({ tableSize: z.int().min(0).optional() }).optional(),
    minimumRingSize: z.int().min(0).optional(),
  }).optional(),
  localityLbSetting: message({
    distribute: z.array(message({ from: str.optional(), to: z.record(z.string(), uint32).optional() })).optional(),
    failover: z.array(message({ from: str.optional(), to: str.optional() })).optional(),
    failoverPriority: strList.optional(),
    enabled: bool.optional(),
  }).optional(),
  warmupDurationSecs: duration.optional(),
  warmup: message({
    duration,
    minimumPercent: z.number().optional(),
    aggression: z.number().optional(),
  }).optional(),
});

const connectionPoolSettings = message({
  tcp: message({
    maxConnections: int32.optional(),
    connectTimeout: duration.optional(),
    tcpKeepalive: message({ probes: uint32.optional(), time: duration.optional(), interval: duration.optional() }).optional(),
    maxConnectionDuration: duration.optional(),
    idleTimeout: duration.optional(),
  }).optional(),
  http: message({
    http1MaxPendingRequests: int32.optional(),
    http2MaxRequests: int32.optional(),
    maxRequestsPerConnection: int32.optional(),
    maxRetries: int32.optional(),
    idleTimeout: duration.optional(),
    h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']).optional(),
    useClientProtocol: bool.optional(),
    maxConcurrentStreams: int32.optional(),
    http2KeepAlive: message({ interval: duration.optional(), timeout: duration.optional() }).optional(),
  }).optional(),
});

const outlierDetection = message({
  consecutiveErrors: int32.optional(), // deprecated in Istio, still accepted (seed 002 uses it)
  splitExternalLocalOriginErrors: bool.optional(),
  consecutiveLocalOriginFailures: uint32.optional(),
  consecutiveGatewayErrors: uint32.optional(),
  consecutive5xxErrors: uint32.optional(),
  interval: duration.optional(),
  baseEjectionTime: duration.optional(),
  maxEjectionPercent: int32.optional(),
  minHealthPercent: int32.optional(),
  outlierDetectionHttpErrorCodes: z.array(uint32).optional(),
});

const clientTlsSettings = message({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']).optional(),
  clientCertificate: str.optional(),
  privateKey: str.optional(),
  caCertificates: str.optional(),
  credentialName: str.optional(),
  subjectAltNames: strList.optional(),
  sni: str.optional(),
  insecureSkipVerify: bool.optional(),
  caCrl: str.optional(),
});

export const trafficPolicy = message({
  loadBalancer: loadBalancerSettings.optional(),
  connectionPool: connectionPoolSettings.optional(),
  outlierDetection: outlierDetection.optional(),
  tls: clientTlsSettings.optional(),
  portLevelSettings: z
    .array(
      message({
        port: portSelector.optional(),
        loadBalancer: loadBalancerSettings.optional(),
        connectionPool: connectionPoolSettings.optional(),
        outlierDetection: outlierDetection.optional(),
        tls: clientTlsSettings.optional(),
      }),
    )
    .optional(),
  tunnel: message({ protocol: str.optional(), targetHost: str, targetPort: port }).optional(),
  proxyProtocol: message({ version: z.enum(['V1', 'V2']).optional() }).optional(),
  retryBudget: message({
    percent: z.number().optional(),
    minRetryConcurrency: uint32.optional(),
    budgetInterval: duration.optional(),
  }).optional(),
});

export const subset = message({ name: str.min(1, 'subset name is required'), labels: labels.optional(), trafficPolicy: trafficPolicy.optional() });

export const destinationRuleSpec = message({
  host: str.min(1, 'host is required'),
  trafficPolicy: trafficPolicy.optional(),
  subsets: z.array(subset).optional(),
  exportTo: strList.optional(),
  workloadSelector: message({ matchLabels: labels.optional() }).optional(),
});

// ---- ServiceEntry / WorkloadEntry ---------------------------------------------------------------

export const workloadEntrySpec = message({
  address: str.optional(),
  ports: z.record(z.string(), port).optional(),
  labels: labels.optional(),
  network: str.optional(),
  locality: str.optional(),
  weight: uint32.optional(),
  serviceAccount: str.optional(),
});

export const servicePort = message({
  number: port,
  protocol: str.optional(),
  name: str.min(1, 'port name is required'),
  targetPort: port.optional(),
});

export const serviceEntrySpec = message({
  hosts: z.array(str).min(1, 'a ServiceEntry needs at least one host'),
  addresses: strList.optional(),
  ports: z.array(servicePort).optional(),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
  resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']).optional(),
  endpoints: z.array(workloadEntrySpec).optional(),
  workloadSelector: message({ labels: labels.optional() }).optional(),
  exportTo: strList.optional(),
  subjectAltNames: strList.optional(),
});

// ---- Sidecar ------------------------------------------------------------------------------------

const sidecarPort = message({ number: port.optional(), protocol: str.optional(), name: str.optional(), targetPort: port.optional() });
const captureMode = z.enum(['DEFAULT', 'IPTABLES', 'NONE']);

export const sidecarSpec = message({
  workloadSelector: message({ labels: labels.optional() }).optional(),
  ingress: z
    .array(
      message({
        port: sidecarPort,
        bind: str.optional(),
        captureMode: captureMode.optional(),
        defaultEndpoint: str.optional(),
        tls: z.unknown().optional(),
        connectionPool: z.unknown().optional(),
      }),
    )
    .optional(),
  egress: z
    .array(
      message({
        port: sidecarPort.optional(),
        bind: str.optional(),
        captureMode: captureMode.optional(),
        hosts: z.array(str).min(1, 'an egress listener needs at least one host'),
      }),
    )
    .optional(),
  outboundTrafficPolicy: message({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).optional(), egressProxy: z.unknown().optional() }).optional(),
  inboundConnectionPool: z.unknown().optional(),
});

// ---- Gateway ------------------------------------------------------------------------------------

const tlsProtocol = z.enum(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']);
const serverTlsSettings = message({
  httpsRedirect: bool.optional(),
  mode: z.enum(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']).optional(),
  serverCertificate: str.optional(),
  privateKey: str.optional(),
  caCertificates: str.optional(),
  caCrl: str.optional(),
  credentialName: str.optional(),
  credentialNames: strList.optional(),
  caCertCredentialName: str.optional(),
  tlsCertificates: z
    .array(message({ serverCertificate: str.optional(), privateKey: str.optional(), caCertificates: str.optional() }))
    .optional(),
  subjectAltNames: strList.optional(),
  verifyCertificateSpki: strList.optional(),
  verifyCertificateHash: strList.optional(),
  minProtocolVersion: tlsProtocol.optional(),
  maxProtocolVersion: tlsProtocol.optional(),
  cipherSuites: strList.optional(),
  insecureSkipVerify: bool.optional(),
});

export const gatewayServer = message({
  port: message({ number: port, protocol: str.min(1, 'protocol is required'), name: str.min(1, 'port name is required'), targetPort: port.optional() }),
  bind: str.optional(),
  hosts: z.array(str).min(1, 'a server needs at least one host'),
  tls: serverTlsSettings.optional(),
  defaultEndpoint: str.optional(),
  name: str.optional(),
});

export const gatewaySpec = message({ servers: z.array(gatewayServer).min(1, 'a Gateway needs at least one server'), selector: labels.optional() });

// ---- envelope -----------------------------------------------------------------------------------

/** Kubernetes object metadata: what a user writes, plus the fields `kubectl get -o yaml` adds. */
export const objectMeta = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lower-case DNS name (a-z, 0-9, "-", ".")').max(253),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (a-z, 0-9, "-")').max(63).optional(),
  labels: labels.optional(),
  annotations: labels.optional(),
  generateName: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.unknown().optional(),
  deletionTimestamp: z.unknown().optional(),
  deletionGracePeriodSeconds: z.number().optional(),
  managedFields: z.unknown().optional(),
  finalizers: strList.optional(),
  ownerReferences: z.unknown().optional(),
  selfLink: z.string().optional(),
});

export const envelope = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: objectMeta,
  // Whether a missing spec is an error depends on the kind (read-resource.ts says so once).
  spec: z.unknown().optional(),
  // Written by the API server; ignored, so `kubectl get -o yaml` output loads.
  status: z.unknown().optional(),
});

export const SPEC_SCHEMAS = {
  Gateway: gatewaySpec,
  VirtualService: virtualServiceSpec,
  DestinationRule: destinationRuleSpec,
  ServiceEntry: serviceEntrySpec,
  WorkloadEntry: workloadEntrySpec,
  Sidecar: sidecarSpec,
} as const;

export type ServedKind = keyof typeof SPEC_SCHEMAS;
export type GatewaySpec = z.infer<typeof gatewaySpec>;
export type SidecarSpec = z.infer<typeof sidecarSpec>;
export type VirtualServiceSpec = z.infer<typeof virtualServiceSpec>;
export type HttpRoute = z.infer<typeof httpRoute>;
export type HttpMatchRequest = z.infer<typeof httpMatchRequest>;
export type StringMatchSpec = z.infer<typeof stringMatch>;
export type DestinationSpec = z.infer<typeof destination>;
export type DestinationRuleSpec = z.infer<typeof destinationRuleSpec>;
export type TrafficPolicySpec = z.infer<typeof trafficPolicy>;
export type LoadBalancerSpec = z.infer<typeof loadBalancerSettings>;
export type ConnectionPoolSpec = z.infer<typeof connectionPoolSettings>;
export type OutlierDetectionSpec = z.infer<typeof outlierDetection>;
export type ServiceEntrySpec = z.infer<typeof serviceEntrySpec>;
export type ServicePortSpec = z.infer<typeof servicePort>;
export type WorkloadEntrySpec = z.infer<typeof workloadEntrySpec>;
export type HeadersSpec = z.infer<typeof headers>;
