// Reads Istio's meshConfig the way Istio ships it into MeshSettings: the Kubernetes ConfigMap
// `istio` (its `data.mesh` key holds the meshConfig as a YAML string) or an IstioOperator's
// spec.meshConfig (what `istioctl install` turns into that ConfigMap). Fields wasmesh acts on are
// translated; other MeshConfig fields are accepted with an "unserved" warning; a field MeshConfig
// does not define is a located error naming the nearest known field.
import type { ConfigIssue } from '../config-error.js';
import { parseDuration } from '../../common/duration.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import { nearestName } from '../nearest-name.js';
import { ENVOY_PROVIDER, fileAccessLogProvider, meshAccessLog } from './access-log-providers.js';
import type { AccessLogTarget } from '../../model/access-logging.js';
import { defaultConfigSampling, OTLP_GRPC_UNSERVED, tracingProvider } from './tracing-providers.js';
import type { TracingProvider } from '../../model/tracing.js';
import { zodIssues } from '../zod-issues.js';
import { parseYamlText, type PathSegment, type YamlDocument } from '../yaml-source.js';
import { DEFAULT_MESH_SETTINGS, type ExtAuthzProvider, type MeshSettings, type PathNormalization } from '../../model/mesh-settings.js';
import {
  extAuthzGrpcSchema, extAuthzHttpSchema, extensionProviderSchema, meshConfigSchema, OTHER_PROVIDER_KINDS, TRACING_PROVIDER_KINDS, UNSERVED_MESH_FIELDS,
  type ExtAuthzGrpcInput, type ExtAuthzHttpInput, type MeshConfigInput,
} from './mesh-settings-schema.js';

/** The ConfigMap Istio reads meshConfig from (in istiod's namespace, istio-system by default). */
export const MESH_CONFIGMAP_NAME = 'istio';

/** Envoy's ext_authz default timeout, which Istio leaves in place when `timeout` is absent. */
const EXT_AUTHZ_DEFAULT_TIMEOUT_MS = 600_000;

/** Every field name the schema knows, for "did you mean" on a misspelt one. */
const KNOWN_FIELDS: readonly string[] = [
  ...new Set([
    ...Object.keys(meshConfigSchemaShape()),
    ...Object.keys(extensionProviderSchemaShape()),
    ...Object.keys(extAuthzHttpSchemaShape()),
    ...Object.keys(extAuthzGrpcSchemaShape()),
    'normalization', 'mode', 'tracing', 'metrics', 'accessLogging', 'http', 'grpc', 'maxRequestBytes', 'allowPartialMessage', 'packAsBytes',
  ]),
];

function shapeOf(schema: unknown): Record<string, unknown> {
  // message() wraps a strict object in a preprocess pipe: its shape is on the pipe's output.
  const s = schema as { shape?: Record<string, unknown>; def?: { out?: { shape?: Record<string, unknown> } } };
  return s.shape ?? s.def?.out?.shape ?? {};
}
function meshConfigSchemaShape(): Record<string, unknown> { return shapeOf(meshConfigSchema); }
function extensionProviderSchemaShape(): Record<string, unknown> { return shapeOf(extensionProviderSchema); }
function extAuthzHttpSchemaShape(): Record<string, unknown> { return shapeOf(extAuthzHttpSchema); }
function extAuthzGrpcSchemaShape(): Record<string, unknown> { return shapeOf(extAuthzGrpcSchema); }

/** A meshConfig read from one document, located for later messages. */
export interface MeshSettingsSource {
  readonly settings: MeshSettings;
  readonly ref: DocumentRef;
  /** `ConfigMap istio-system/istio` or `IstioOperator ns/name`. */
  readonly what: string;
}

/** Whether a document is one that carries meshConfig: the `istio` ConfigMap (core group, v1). */
export function isMeshConfigMap(apiVersion: string, kind: string, name: unknown): boolean {
  return apiVersion === 'v1' && kind === 'ConfigMap' && name === MESH_CONFIGMAP_NAME;
}

/**
 * A DocumentRef whose paths under `prefix` are located inside a YAML string nested in the
 * document (the ConfigMap's data.mesh): `innerStart` is the file line of the string's first line.
 */
function nestedRef(outer: DocumentRef, prefix: readonly PathSegment[], inner: YamlDocument | null, innerStart: number | null): DocumentRef {
  const source: YamlDocument = {
    ...outer.source,
    lineOf(path) {
      const under = prefix.every((p, i) => path[i] === p);
      if (!under || inner === null || innerStart === null) return outer.source.lineOf(path);
      return innerStart + inner.lineOf(path.slice(prefix.length)) - 1;
    },
  };
  return { source, kind: outer.kind, name: outer.name };
}

/**
 * The meshConfig of the `istio` ConfigMap: `data.mesh` parsed as YAML and validated. Issues are
 * located at the field inside the block (or, for a one-line string, at the `mesh:` line).
 */
export function readMeshConfigMap(ref: DocumentRef, doc: Record<string, unknown>, issues: ConfigIssue[], warnings: string[]): MeshSettings | null {
  const data = doc['data'];
  if (data === undefined || data === null) return DEFAULT_MESH_SETTINGS; // an empty ConfigMap: Istio's defaults
  if (typeof data !== 'object' || Array.isArray(data)) {
    issues.push(issueAt(ref, 'invalid_type', ['data'], 'a ConfigMap\'s data must be a mapping of keys to strings'));
    return null;
  }
  const mesh = (data as Record<string, unknown>)['mesh'];
  if (mesh === undefined) return DEFAULT_MESH_SETTINGS;
  if (typeof mesh !== 'string') {
    issues.push(issueAt(ref, 'invalid_type', ['data', 'mesh'], 'must be a string holding the meshConfig YAML (write `mesh: |` and the YAML indented below)'));
    return null;
  }
  const inner: ConfigIssue[] = [];
  const docs = parseYamlText(ref.source.file, mesh, inner);
  const meshLine = ref.source.lineOf(['data', 'mesh']);
  // A block scalar (`mesh: |`) starts on the line after the key; a one-line string has no inner lines to map.
  const innerStart = mesh.includes('\n') ? meshLine + 1 : null;
  if (inner.length > 0 || docs.length > 1) {
    const reason = inner[0]?.reason ?? 'holds more than one YAML document';
    issues.push(issueAt(ref, 'yaml_syntax', ['data', 'mesh'], `meshConfig: ${reason}${inner[0]?.line != null && innerStart !== null ? ` (line ${innerStart + inner[0].line - 1})` : ''}`));
    return null;
  }
  const value = docs[0]?.value ?? null;
  const located = nestedRef(ref, ['data', 'mesh'], docs[0] ?? null, innerStart);
  return readMeshConfigValue(located, value ?? {}, ['data', 'mesh'], issues, warnings);
}

/** IstioOperator spec.meshConfig (install.istio.io/v1alpha1); the rest of the spec is not served. */
export function readIstioOperator(ref: DocumentRef, doc: Record<string, unknown>, issues: ConfigIssue[], warnings: string[]): MeshSettings | null {
  const spec = doc['spec'];
  if (spec === undefined || spec === null) return DEFAULT_MESH_SETTINGS;
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    issues.push(issueAt(ref, 'invalid_type', ['spec'], 'expected a mapping'));
    return null;
  }
  const others = Object.keys(spec).filter((k) => k !== 'meshConfig');
  for (const other of others) warnings.push(warningAt(ref, ['spec', other], 'is not served (wasmesh reads only spec.meshConfig of an IstioOperator)'));
  const meshConfig = (spec as Record<string, unknown>)['meshConfig'];
  if (meshConfig === undefined || meshConfig === null) return DEFAULT_MESH_SETTINGS;
  return readMeshConfigValue(ref, meshConfig, ['spec', 'meshConfig'], issues, warnings);
}

/** One meshConfig value (already plain data) validated and translated; null when invalid. */
export function readMeshConfigValue(ref: DocumentRef, value: unknown, prefix: readonly PathSegment[], issues: ConfigIssue[], warnings: string[]): MeshSettings | null {
  const parsed = meshConfigSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    for (const issue of zodIssues(parsed.error, prefix, ref)) {
      if (issue.code === 'unknown_field') {
        const key = /unknown field "([^"]*)"/.exec(issue.reason)?.[1] ?? '';
        const near = nearestName(key, KNOWN_FIELDS);
        issue.reason = `unknown field "${key}": not part of Istio's MeshConfig${near !== null ? ` (did you mean ${near}?)` : ''}`;
      }
      issues.push(issue);
    }
    return null;
  }
  return translate(ref, parsed.data, prefix, issues, warnings);
}

function normalizationOf(value: string | undefined): PathNormalization {
  // DEFAULT is Istio's name for its default, BASE.
  return value === undefined || value === 'DEFAULT' ? 'BASE' : (value as PathNormalization);
}

function translate(ref: DocumentRef, input: MeshConfigInput, prefix: readonly PathSegment[], issues: ConfigIssue[], warnings: string[]): MeshSettings | null {
  const record = input as Record<string, unknown>;
  const unserved = new Set<string>(UNSERVED_MESH_FIELDS);
  // In the order written, so the warnings read top to bottom like the file.
  // defaultConfig: its tracing.sampling is served (defaultConfigSampling warns on the rest).
  unserved.delete('defaultConfig');
  // accessLogFile, accessLogFormat, accessLogEncoding: the built-in `envoy` access-log provider (access-log-providers.ts).
  for (const f of ['accessLogFile', 'accessLogFormat', 'accessLogEncoding']) unserved.delete(f);
  const written = Object.keys(record).filter((f) => unserved.has(f) && record[f] !== undefined);
  written.sort((a, b) => ref.source.lineOf([...prefix, a]) - ref.source.lineOf([...prefix, b]));
  for (const field of written) {
    warnings.push(warningAt(ref, [...prefix, field], 'is not served: wasmesh does not act on this meshConfig field'));
  }
  const providers: ExtAuthzProvider[] = [];
  const tracing: TracingProvider[] = [];
  const unservedTracing: Record<string, string> = {};
  const accessLogs: AccessLogTarget[] = [];
  const issuesBefore = issues.length;
  const names = new Set<string>();
  let ok = true;
  (input.extensionProviders ?? []).forEach((p, i) => {
    const at = [...prefix, 'extensionProviders', i];
    if (names.has(p.name)) {
      issues.push(issueAt(ref, 'invalid_value', [...at, 'name'], `extension provider "${p.name}" is defined twice (names must be unique, as istiod requires)`));
      ok = false;
      return;
    }
    names.add(p.name);
    const entry = p as Record<string, unknown>;
    const kinds = ['envoyExtAuthzHttp', 'envoyExtAuthzGrpc', ...TRACING_PROVIDER_KINDS, ...OTHER_PROVIDER_KINDS].filter((k) => entry[k] !== undefined);
    if (kinds.length !== 1) {
      issues.push(issueAt(ref, kinds.length === 0 ? 'missing_field' : 'invalid_value', at, `an extension provider takes exactly one provider kind (such as envoyExtAuthzHttp or envoyExtAuthzGrpc), got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`));
      ok = false;
      return;
    }
    if (p.envoyExtAuthzHttp !== undefined) providers.push(extAuthz(p.name, 'http', p.envoyExtAuthzHttp, ref, [...at, 'envoyExtAuthzHttp'], warnings));
    else if (p.envoyExtAuthzGrpc !== undefined) providers.push(extAuthz(p.name, 'grpc', p.envoyExtAuthzGrpc, ref, [...at, 'envoyExtAuthzGrpc'], warnings));
    else if (p.zipkin !== undefined || p.opentelemetry !== undefined) {
      const kind = p.zipkin !== undefined ? 'zipkin' : 'opentelemetry';
      const t = tracingProvider(p.name, kind, (p.zipkin ?? p.opentelemetry)!, ref, [...at, kind], issues, warnings);
      if (t !== null) tracing.push(t);
      else unservedTracing[p.name] = OTLP_GRPC_UNSERVED;
    }
    else if (entry['envoyFileAccessLog'] !== undefined) {
      const a = fileAccessLogProvider(p.name, entry['envoyFileAccessLog'], ref, [...at, 'envoyFileAccessLog'], issues);
      if (a !== null) accessLogs.push(a);
    }
    else warnings.push(warningAt(ref, [...at, kinds[0]!], `is not served: only envoyExtAuthzHttp, envoyExtAuthzGrpc, zipkin, opentelemetry and envoyFileAccessLog providers are (provider "${p.name}" is ignored)`));
  });
  const defaultTracing = input.defaultProviders?.tracing ?? [];
  defaultTracing.forEach((name, i) => {
    if (!names.has(name)) {
      issues.push(issueAt(ref, 'invalid_value', [...prefix, 'defaultProviders', 'tracing', i], `no extension provider is named "${name}"${names.size > 0 ? ` (defined: ${[...names].join(', ')})` : ''}`));
      ok = false;
    } else if (!tracing.some((t) => t.name === name)) {
      const why = unservedTracing[name];
      issues.push(issueAt(ref, why !== undefined ? 'unsupported_field' : 'invalid_value', [...prefix, 'defaultProviders', 'tracing', i], `extension provider "${name}" ${why ?? 'is not a tracing provider (zipkin or opentelemetry)'}`));
      ok = false;
    }
  });
  const envoyLog = meshAccessLog(record, ref, prefix, issues);
  if (envoyLog !== null && !names.has(ENVOY_PROVIDER)) accessLogs.push(envoyLog);
  const defaultAccessLog = input.defaultProviders?.accessLogging ?? [];
  defaultAccessLog.forEach((name, i) => {
    if (!accessLogs.some((a) => a.provider === name)) {
      issues.push(issueAt(ref, 'invalid_value', [...prefix, 'defaultProviders', 'accessLogging', i], `no access-log provider is named "${name}" (defined: ${accessLogs.map((a) => a.provider).join(', ')})`));
      ok = false;
    }
  });
  for (const f of ['metrics'] as const) {
    if (input.defaultProviders?.[f] !== undefined) warnings.push(warningAt(ref, [...prefix, 'defaultProviders', f], 'is not served yet'));
  }
  const sampling = defaultConfigSampling(record['defaultConfig'], ref, [...prefix, 'defaultConfig'], issues, warnings);
  const detection = protocolDetectionTimeoutOf(input.protocolDetectionTimeout, ref, [...prefix, 'protocolDetectionTimeout'], issues);
  if (issues.length > issuesBefore) ok = false;
  if (!ok) return null;
  return Object.freeze({
    rootNamespace: input.rootNamespace ?? DEFAULT_MESH_SETTINGS.rootNamespace,
    pathNormalization: normalizationOf(input.pathNormalization?.normalization),
    outboundTrafficPolicy: input.outboundTrafficPolicy?.mode ?? DEFAULT_MESH_SETTINGS.outboundTrafficPolicy,
    ...(detection !== undefined && detection > 0 ? { protocolDetectionTimeoutMs: detection } : {}),
    extAuthzProviders: Object.freeze(providers),
    ...(tracing.length > 0 ? { tracingProviders: Object.freeze(tracing) } : {}),
    ...(defaultTracing.length > 0 ? { defaultTracingProviders: Object.freeze([...defaultTracing]) } : {}),
    ...(sampling !== undefined ? { tracingSampling: sampling } : {}),
    ...(Object.keys(unservedTracing).length > 0 ? { unservedTracingProviders: Object.freeze(unservedTracing) } : {}),
    ...(accessLogs.length > 0 ? { accessLogProviders: Object.freeze(accessLogs) } : {}),
    ...(typeof record['accessLogFile'] === 'string' && record['accessLogFile'] !== '' ? { meshAccessLogFile: true } : {}),
    ...(defaultAccessLog.length > 0 ? { defaultAccessLogProviders: Object.freeze([...defaultAccessLog]) } : {}),
    ...(input.discoverySelectors !== undefined && input.discoverySelectors.length > 0 ? { discoverySelectors: Object.freeze(input.discoverySelectors) } : {}),
  });
}

function extAuthz(
  name: string,
  kind: 'http' | 'grpc',
  p: ExtAuthzHttpInput | ExtAuthzGrpcInput,
  ref: DocumentRef,
  at: readonly PathSegment[],
  warnings: string[],
): ExtAuthzProvider {
  const http = kind === 'http' ? (p as ExtAuthzHttpInput) : null;
  const unserved = ['clearRouteCache', 'includeAdditionalHeadersInCheck', 'headersToDownstreamOnAllow'];
  for (const f of unserved) {
    if ((p as Record<string, unknown>)[f] !== undefined) warnings.push(warningAt(ref, [...at, f], 'is not served yet'));
  }
  const body = p.includeRequestBodyInCheck;
  const timeout = p.timeout === undefined ? null : parseDuration(p.timeout);
  return Object.freeze({
    name,
    kind,
    service: p.service,
    port: p.port,
    timeoutMs: timeout !== null && timeout.ok ? timeout.ms : EXT_AUTHZ_DEFAULT_TIMEOUT_MS,
    failOpen: p.failOpen ?? false,
    statusOnError: p.statusOnError === undefined ? 403 : Number(p.statusOnError),
    pathPrefix: http?.pathPrefix ?? '',
    // includeHeadersInCheck is the deprecated name of includeRequestHeadersInCheck.
    includeRequestHeadersInCheck: Object.freeze([...(http?.includeRequestHeadersInCheck ?? http?.includeHeadersInCheck ?? [])]),
    headersToUpstreamOnAllow: Object.freeze([...(http?.headersToUpstreamOnAllow ?? [])]),
    headersToDownstreamOnDeny: Object.freeze([...(http?.headersToDownstreamOnDeny ?? [])]),
    maxRequestBytes: body?.maxRequestBytes ?? null,
    allowPartialMessage: body?.allowPartialMessage ?? false,
    packAsBytes: body?.packAsBytes ?? false,
  });
}

/**
 * meshConfig.protocolDetectionTimeout in ms: Istio's rule, at least 1ms or exactly 0s (no
 * timeout, its default); undefined when absent.
 */
function protocolDetectionTimeoutOf(value: string | undefined, ref: DocumentRef, at: PathSegment[], issues: ConfigIssue[]): number | undefined {
  if (value === undefined) return undefined;
  const d = parseDuration(value);
  if (!d.ok) {
    issues.push(issueAt(ref, 'invalid_value', at, `protocolDetectionTimeout ${JSON.stringify(value)}: ${d.reason}`));
    return undefined;
  }
  if (d.ms > 0 && d.ms < 1) {
    issues.push(issueAt(ref, 'invalid_value', at, `protocolDetectionTimeout ${value}: must be at least 1ms, or 0s for no timeout`));
    return undefined;
  }
  return d.ms;
}

/**
 * The mesh's settings from the meshConfig documents read (in load order): Istio's defaults when
 * none; the last one when several (like successive `kubectl apply`), with a warning.
 */
export function meshSettingsOf(sources: readonly MeshSettingsSource[], warnings: string[]): MeshSettings {
  const last = sources[sources.length - 1];
  if (last === undefined) return DEFAULT_MESH_SETTINGS;
  if (sources.length > 1) {
    warnings.push(warningAt(last.ref, [], `meshConfig is given ${sources.length} times (${sources.map((s) => s.what).join(', ')}); the last one wins`));
  }
  return last.settings;
}
