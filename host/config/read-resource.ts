// One YAML document to one validated Istio resource: sorts documents into kinds read, Istio
// kinds not served yet and Kubernetes objects (both skipped with a warning, so seed files load
// as they are) and unknown kinds (errors, with the nearest known kind), and turns every schema
// violation into a located ConfigIssue.
import type { ConfigIssue } from './config-error.js';
import { describe, zodIssues } from './zod-issues.js';
import { GATEWAY_API_GROUP, groupSuggestion, istioApiVersionOf, istioGroupOf, ISTIO_GROUPS, kindSuggestion, KUBERNETES_KINDS, READ_SCHEMAS, REMOVED_ISTIO_GROUPS, type ReadKind } from './api-kinds.js';
import { envelope } from './istio-schemas.js';
import { SECURITY_SPEC_SCHEMAS } from './security-schemas.js';
import { issueAt, warningAt, type DocumentRef } from './issue-location.js';
import type { LoadedResource } from './loaded-config.js';
import type { YamlDocument } from './yaml-source.js';
import { isMeshConfigMap, readIstioOperator, readMeshConfigMap, type MeshSettingsSource } from './translate/mesh-settings.js';
import { KUBE_KIND_GROUPS, KUBE_OBJECT_SCHEMAS, type KubeKind } from './kube-schemas.js';

export { zodIssues } from './zod-issues.js';

export interface SourcedResource {
  resource: LoadedResource;
  ref: DocumentRef;
}

/** A Kubernetes object read as a registry source in file mode (translate/kube-registry.ts). */
export interface KubeSourced {
  kind: KubeKind;
  namespace: string;
  name: string;
  /** The object as validated by kube-schemas.ts. */
  object: unknown;
  ref: DocumentRef;
  file: string;
  line: number;
  /**
   * Read from a live API server (`control-plane --kube`), not a file: there the cluster's
   * controllers and kubelets give objects their addresses and endpoints over time, so a Pod not
   * yet given an IP or a Service with no endpoints yet is a state, not a mistake to warn about
   * (istiod serves such a Service with no endpoints). Set by readConfig for its `extra` results.
   */
  live?: boolean;
}

export type ReadResult =
  | { status: 'ok'; value: SourcedResource }
  /** A Service, EndpointSlice, Endpoints or Pod: a service registry source in file mode. */
  | { status: 'kube'; value: KubeSourced }
  | { status: 'skipped' }
  /** The mesh's meshConfig (the `istio` ConfigMap or an IstioOperator's spec.meshConfig). */
  | { status: 'mesh'; value: MeshSettingsSource }
  /** Invalid: identity kept when known, so later checks don't pile errors onto its absence. */
  | { status: 'invalid'; kind: string | null; namespace: string | null; name: string | null };

export function readResource(source: YamlDocument, defaultNamespace: string, issues: ConfigIssue[], warnings: string[]): ReadResult {
  const ref: DocumentRef = { source, kind: null, name: null };
  const value = source.value;
  if (value === null) return { status: 'skipped' }; // an empty document, e.g. after a trailing ---
  if (typeof value !== 'object' || Array.isArray(value)) {
    issues.push(issueAt(ref, 'invalid_type', [], `a document must be a mapping with apiVersion, kind, metadata and spec; got ${describe(value)}`));
    return { status: 'invalid', kind: null, namespace: null, name: null };
  }
  const doc = value as Record<string, unknown>;
  const apiVersion = doc['apiVersion'];
  const kind = doc['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    if (typeof apiVersion !== 'string') issues.push(issueAt(ref, apiVersion === undefined ? 'missing_field' : 'invalid_type', ['apiVersion'], 'apiVersion must be a string such as networking.istio.io/v1'));
    if (typeof kind !== 'string') issues.push(issueAt(ref, kind === undefined ? 'missing_field' : 'invalid_type', ['kind'], 'kind must be a string such as VirtualService'));
    return { status: 'invalid', kind: null, namespace: null, name: null };
  }
  ref.kind = kind;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const metaName = (doc['metadata'] as { name?: unknown } | undefined)?.name;
  ref.name = typeof metaName === 'string' ? metaName : null;

  if (isMeshConfigMap(apiVersion, kind, metaName) || (apiVersion === 'install.istio.io/v1alpha1' && kind === 'IstioOperator')) {
    return readMeshSource(ref, doc, kind, defaultNamespace, issues, warnings);
  }
  const sorted = sortKind(ref, apiVersion, group, version, kind, issues, warnings);
  if (sorted === 'kube') return readKubeObject(ref, doc, kind as KubeKind, defaultNamespace, issues);
  if (sorted !== 'read') return sorted === 'skipped' ? { status: 'skipped' } : { status: 'invalid', kind, namespace: null, name: ref.name };
  const read = kind as ReadKind;
  const found: ConfigIssue[] = [];
  const env = envelope.safeParse(doc, { reportInput: true });
  if (!env.success) found.push(...zodIssues(env.error, [], ref));
  const meta = env.success ? env.data.metadata : null;
  const namespace = meta?.namespace ?? defaultNamespace;
  if (meta !== null) ref.name = `${namespace}/${meta.name}`;
  else if (ref.name !== null) ref.name = `${namespace}/${ref.name}`;
  let spec: unknown = undefined;
  // A security policy without spec is the empty policy, as Istio reads it (an AuthorizationPolicy
  // `spec: {}` denies everything): it must be checked, not refused as incomplete.
  const rawSpec = (doc['spec'] === undefined || doc['spec'] === null) && read in SECURITY_SPEC_SCHEMAS ? {} : doc['spec'];
  if (rawSpec === undefined || rawSpec === null) {
    found.push(issueAt(ref, 'missing_field', ['spec'], 'required field is missing (expected a mapping)'));
  } else {
    const parsed = READ_SCHEMAS[read].safeParse(rawSpec, { reportInput: true });
    if (parsed.success) spec = parsed.data;
    else found.push(...zodIssues(parsed.error, ['spec'], ref));
  }
  if (found.length > 0 || meta === null || spec === undefined) {
    // Re-label issues pushed before the name was known.
    for (const i of found) i.name = ref.name;
    issues.push(...found);
    return { status: 'invalid', kind, namespace, name: meta?.name ?? null };
  }
  return {
    status: 'ok',
    value: {
      ref,
      resource: { kind: read, apiVersion, namespace, name: meta.name, file: source.file, doc: source.doc, line: source.line, spec, ...(meta.annotations !== undefined ? { annotations: meta.annotations } : {}) },
    },
  };
}

/** A Service, EndpointSlice, Endpoints or Pod validated whole (its fields sit outside spec too). */
function readKubeObject(ref: DocumentRef, doc: Record<string, unknown>, kind: KubeKind, defaultNamespace: string, issues: ConfigIssue[]): ReadResult {
  const parsed = KUBE_OBJECT_SCHEMAS[kind].safeParse(doc, { reportInput: true });
  const meta = doc['metadata'] as { name?: unknown; namespace?: unknown } | undefined;
  const namespace = typeof meta?.namespace === 'string' ? meta.namespace : defaultNamespace;
  const name = typeof meta?.name === 'string' ? meta.name : null;
  if (name !== null) ref.name = `${namespace}/${name}`;
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, [], ref));
    return { status: 'invalid', kind, namespace, name };
  }
  return { status: 'kube', value: { kind, namespace, name: name!, object: parsed.data, ref, file: ref.source.file, line: ref.source.line } };
}

/** The `istio` ConfigMap or an IstioOperator: meshConfig read into MeshSettings (translate/mesh-settings.ts). */
function readMeshSource(ref: DocumentRef, doc: Record<string, unknown>, kind: string, defaultNamespace: string, issues: ConfigIssue[], warnings: string[]): ReadResult {
  const meta = doc['metadata'] as { namespace?: unknown } | undefined;
  const namespace = typeof meta?.namespace === 'string' ? meta.namespace : defaultNamespace;
  ref.name = `${namespace}/${ref.name ?? ''}`;
  const before = issues.length;
  const settings = kind === 'ConfigMap' ? readMeshConfigMap(ref, doc, issues, warnings) : readIstioOperator(ref, doc, issues, warnings);
  if (settings === null || issues.length > before) return { status: 'invalid', kind, namespace, name: ref.name };
  return { status: 'mesh', value: { settings, ref, what: `${kind} ${ref.name}` } };
}

/** Kubernetes kinds that make pods: skipped with a warning that says what gives their pods addresses. */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob']);

/**
 * Where a document's apiVersion/kind puts it (api-kinds.ts): 'read' (a schema follows),
 * 'skipped' (warned about), or 'invalid' (an issue was pushed).
 */
function sortKind(
  ref: DocumentRef,
  apiVersion: string,
  group: string,
  version: string,
  kind: string,
  issues: ConfigIssue[],
  warnings: string[],
): 'read' | 'kube' | 'skipped' | 'invalid' {
  const istio = ISTIO_GROUPS[group];
  if (istio !== undefined) {
    if (!istio.versions.includes(version)) {
      issues.push(issueAt(ref, 'unknown_api_version', ['apiVersion'], `${apiVersion} is not a ${group} version current Istio serves (${istio.versions.join(', ')})`));
      return 'invalid';
    }
    const status = istio.kinds[kind];
    if (status === 'read') return 'read';
    if (status === 'not served') {
      // Their effect is open-ended (an EnvoyFilter or WasmPlugin may well authenticate): say it is not applied.
      warnings.push(warningAt(ref, [], `${apiVersion} ${kind} is not served yet; skipped: nothing it configures is applied`));
      return 'skipped';
    }
    const home = istioGroupOf(kind);
    const reason = home !== null
      ? `${kind} is a ${home} kind, not ${group}: write apiVersion: ${istioApiVersionOf(kind)}`
      : `unknown kind "${kind}": ${group} defines ${Object.keys(istio.kinds).join(', ')}${kindSuggestion(kind, group)}`;
    issues.push(issueAt(ref, 'unknown_kind', ['kind'], reason));
    return 'invalid';
  }
  if (group === 'istio.io' || group.endsWith('.istio.io')) {
    const removed = REMOVED_ISTIO_GROUPS[group];
    const reason = removed !== undefined
      ? `${apiVersion} ${kind}: ${group} was ${removed}; current Istio does not accept it`
      : `${group} is not an Istio API group (known: ${Object.keys(ISTIO_GROUPS).join(', ')})${groupSuggestion(group)}`;
    issues.push(issueAt(ref, 'unknown_api_version', ['apiVersion'], reason));
    return 'invalid';
  }
  // Services and their endpoints (EndpointSlice, Endpoints, Pods with an address) are a service
  // registry in file mode, as ServiceEntry and WorkloadEntry are (translate/kube-registry.ts).
  if (Object.hasOwn(KUBE_KIND_GROUPS, kind) && KUBE_KIND_GROUPS[kind as KubeKind] === group && version === 'v1') return 'kube';
  const groups = KUBERNETES_KINDS[kind];
  const istioApiVersion = istioApiVersionOf(kind);
  if (groups !== undefined && (groups.includes(group) || istioApiVersion === null)) {
    // Kubernetes objects (Deployment, ConfigMap) sit beside Istio YAML in most tutorials; without
    // Kubernetes they have no meaning here, so they are skipped rather than rejected.
    warnings.push(
      warningAt(ref, [], group === GATEWAY_API_GROUP
        ? `${apiVersion} ${kind} skipped: the Kubernetes Gateway API is not served yet (write Istio's Gateway and VirtualService)`
        : WORKLOAD_KINDS.has(kind)
          ? `${apiVersion} ${kind} skipped: wasmesh runs without Kubernetes, so the pods it would make have no addresses; to route to them give the Service that selects them an EndpointSlice (discovery.k8s.io/v1, labelled kubernetes.io/service-name) or Endpoints with the instances' addresses, or add each Pod with status.podIP`
          : `${apiVersion} ${kind} skipped: wasmesh runs without Kubernetes (services come from Service with EndpointSlice or Endpoints, or ServiceEntry and WorkloadEntry)`),
    );
    return 'skipped';
  }
  // An Istio kind under another group would otherwise be skipped as a Kubernetes object, silently unserved.
  const reason = istioApiVersion !== null
    ? `${kind} is an Istio kind: write apiVersion: ${istioApiVersion} (got ${apiVersion})`
    : `unknown kind "${kind}" (apiVersion ${apiVersion}): neither an Istio resource nor a Kubernetes kind wasmesh knows to skip${kindSuggestion(kind, group)}`;
  issues.push(issueAt(ref, 'unknown_kind', ['kind'], reason));
  return 'invalid';
}
