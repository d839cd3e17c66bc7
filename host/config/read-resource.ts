// One YAML document to one validated Istio resource: sorts documents into kinds read, Istio
// kinds not served yet and Kubernetes objects (both skipped with a warning, so seed files load
// as they are) and unknown kinds (errors, with the nearest known kind), and turns every schema
// violation into a located ConfigIssue.
import type { z } from 'zod';
import type { ConfigIssue, ConfigIssueCode } from './config-error.js';
import { durationHint } from '../common/duration.js';
import { GATEWAY_API_GROUP, groupSuggestion, istioApiVersionOf, istioGroupOf, ISTIO_GROUPS, kindSuggestion, KUBERNETES_KINDS, READ_SCHEMAS, REMOVED_ISTIO_GROUPS, type ReadKind } from './api-kinds.js';
import { envelope } from './istio-schemas.js';
import { SECURITY_SPEC_SCHEMAS } from './security-schemas.js';
import { issueAt, warningAt, type DocumentRef } from './issue-location.js';
import type { LoadedResource } from './loaded-config.js';
import type { PathSegment, YamlDocument } from './yaml-source.js';

export interface SourcedResource {
  resource: LoadedResource;
  ref: DocumentRef;
}

export type ReadResult =
  | { status: 'ok'; value: SourcedResource }
  | { status: 'skipped' }
  /** Invalid: identity kept when known, so later checks don't pile errors onto its absence. */
  | { status: 'invalid'; kind: string | null; namespace: string | null; name: string | null };

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

/** Zod's issues, one ConfigIssue each, paths prefixed (e.g. with 'spec'). */
export function zodIssues(error: z.ZodError, prefix: readonly PathSegment[], ref: DocumentRef): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    const last = path[path.length - 1];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push(issueAt(ref, 'unknown_field', [...path, key], `unknown field "${key}": not part of the Istio ${ref.kind ?? ''} API`.replace('  ', ' ')));
        }
        break;
      case 'invalid_type':
        if (issue.input === undefined) {
          out.push(issueAt(ref, 'missing_field', path, `required field is missing (expected ${expectedName(issue.expected)})`));
        } else {
          out.push(issueAt(ref, 'invalid_type', path, `expected ${expectedName(issue.expected)}, got ${describe(issue.input)}`));
        }
        break;
      case 'invalid_value':
        out.push(issueAt(ref, 'invalid_value', path, `must be one of ${issue.values.map(String).join(', ')}, got ${describe(issue.input)}`));
        break;
      case 'too_small':
      case 'too_big': {
        const code: ConfigIssueCode = last === 'weight' ? 'invalid_weight' : 'invalid_value';
        out.push(issueAt(ref, code, path, `${issue.message}, got ${describe(issue.input)}`));
        break;
      }
      case 'custom': {
        const params = issue.params as { code?: ConfigIssueCode; expected?: string } | undefined;
        if (params?.expected === 'duration') {
          if (issue.input === undefined) out.push(issueAt(ref, 'missing_field', path, 'required field is missing (expected a duration string such as "2s")'));
          else out.push(issueAt(ref, 'invalid_type', path, `expected a string, got ${describe(issue.input)}${durationHint(issue.input)}`));
          break;
        }
        const code = params?.code ?? 'invalid_value';
        out.push(issueAt(ref, code, path, issue.message));
        break;
      }
      default:
        out.push(issueAt(ref, 'invalid_value', path, issue.message));
    }
  }
  return out;
}

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

  const sorted = sortKind(ref, apiVersion, group, version, kind, issues, warnings);
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
): 'read' | 'skipped' | 'invalid' {
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
  const groups = KUBERNETES_KINDS[kind];
  const istioApiVersion = istioApiVersionOf(kind);
  if (groups !== undefined && (groups.includes(group) || istioApiVersion === null)) {
    // Kubernetes objects (Service, Deployment) sit beside Istio YAML in most tutorials; without
    // Kubernetes they have no meaning here, so they are skipped rather than rejected.
    warnings.push(
      warningAt(ref, [], group === GATEWAY_API_GROUP
        ? `${apiVersion} ${kind} skipped: the Kubernetes Gateway API is not served yet (write Istio's Gateway and VirtualService)`
        : `${apiVersion} ${kind} skipped: wasmesh runs without Kubernetes (describe services with ServiceEntry and WorkloadEntry)`),
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
