// loadConfig: Istio YAML files and folders → LoadedConfig, all or nothing. Every problem of
// the load is collected and thrown as one ConfigError, so a bad edit never half-applies and
// the operator sees every mistake at once.
import { ConfigError, type ConfigIssue } from './config-error.js';
import { warningAt } from './issue-location.js';
import { DEFAULT_NAMESPACE, type LoadedConfig, type LoadOptions } from './loaded-config.js';
import { readResource, type KubeSourced, type ReadResult, type SourcedResource } from './read-resource.js';
import { resolveMesh } from './translate/resolve-mesh.js';
import { meshSettingsOf, type MeshSettingsSource } from './translate/mesh-settings.js';
import type { ReadCache, FileRead } from './read-cache.js';
import { listSourceFiles, parseYamlText, readSourceText } from './yaml-source.js';

function issueOrder(a: ConfigIssue, b: ConfigIssue, files: readonly string[]): number {
  const fa = a.file === null ? -1 : files.indexOf(a.file);
  const fb = b.file === null ? -1 : files.indexOf(b.file);
  return fa - fb || (a.doc ?? 0) - (b.doc ?? 0) || (a.line ?? 0) - (b.line ?? 0);
}

/** Sources read and validated once, before any proxy's mesh is resolved from them. */
export interface ReadConfig {
  /** The resources in effect (a later definition of kind/namespace/name replaced the earlier). */
  effective: SourcedResource[];
  warnings: string[];
  files: string[];
  /** Resources refused as invalid (kind namespace/name): references to them are not reported twice. */
  invalid: Set<string>;
  /** meshConfig documents (the `istio` ConfigMap, IstioOperator spec.meshConfig), in load order. */
  meshSources: MeshSettingsSource[];
  /** Kubernetes Services, EndpointSlices, Endpoints and Pods in effect (the service registry of file mode). */
  kubeObjects: KubeSourced[];
}

/**
 * Reads `sources` (files, or folders whose *.yaml/*.yml files are read in lexical order) into
 * resources, without resolving any proxy's view. Throws ConfigError listing every issue.
 * `extra`: resources read elsewhere with readResource (the API server's objects, `--kube`),
 * merged after the files as a later `kubectl apply` would be (a name clash is warned the same way).
 */
export function readConfig(sources: readonly string[], namespace = DEFAULT_NAMESPACE, cache?: ReadCache, extra: readonly ReadResult[] = []): ReadConfig {
  const issues: ConfigIssue[] = [];
  const read = readInto(sources, namespace, issues, cache, extra);
  if (issues.length > 0) throw new ConfigError(issues.sort((a, b) => issueOrder(a, b, read.files)));
  return read;
}

/** One file's documents read into resources (from `cache` when the file's text is unchanged). */
function readFile(file: string, namespace: string, cache: ReadCache | undefined): FileRead {
  const fileIssues: ConfigIssue[] = [];
  const text = readSourceText(file, fileIssues);
  if (text === null) return { results: [], issues: fileIssues, warnings: [] };
  const cached = cache?.get(file, text, namespace);
  if (cached !== undefined) return cached;
  const warnings: string[] = [];
  const results = parseYamlText(file, text, fileIssues).map((doc) => readResource(doc, namespace, fileIssues, warnings));
  const read = { results, issues: fileIssues, warnings };
  cache?.set(file, text, namespace, read);
  return read;
}

function readInto(sources: readonly string[], namespace: string, issues: ConfigIssue[], cache?: ReadCache, extra: readonly ReadResult[] = []): ReadConfig {
  const warnings: string[] = [];
  const files = listSourceFiles(sources, issues);
  cache?.retain(files);
  const loaded: SourcedResource[] = [];
  const invalid = new Set<string>();
  const meshSources: MeshSettingsSource[] = [];
  const kube: KubeSourced[] = [];
  const reads = files.map((file) => readFile(file, namespace, cache));
  // The API server's objects: a registry object among them is live (KubeSourced.live).
  reads.push({ results: extra.map((r) => (r.status === 'kube' ? { status: 'kube', value: { ...r.value, live: true } } : r)), issues: [], warnings: [] });
  for (const read of reads) {
    issues.push(...read.issues);
    warnings.push(...read.warnings);
    for (const result of read.results) {
      if (result.status === 'ok') loaded.push(result.value);
      else if (result.status === 'mesh') meshSources.push(result.value);
      else if (result.status === 'kube') kube.push(result.value);
      else if (result.status === 'invalid' && result.kind !== null && result.name !== null) {
        invalid.add(`${result.kind} ${result.namespace ?? namespace}/${result.name}`);
      }
    }
  }
  // Like successive `kubectl apply`: a later definition of the same object replaces it.
  const byKey = new Map<string, SourcedResource>();
  for (const r of loaded) {
    const key = `${r.resource.kind} ${r.resource.namespace}/${r.resource.name}`;
    const earlier = byKey.get(key);
    if (earlier !== undefined) {
      warnings.push(
        warningAt(r.ref, [], `replaces the ${r.resource.kind} of the same name defined at ${earlier.resource.file}:${earlier.resource.line} (document ${earlier.resource.doc}); the later definition wins`),
      );
      byKey.delete(key); // re-inserted below so the winner takes its own load position
    }
    byKey.set(key, r);
  }
  const kubeByKey = new Map<string, KubeSourced>();
  for (const k of kube) {
    const key = `${k.kind} ${k.namespace}/${k.name}`;
    const earlier = kubeByKey.get(key);
    if (earlier !== undefined) {
      warnings.push(warningAt(k.ref, [], `replaces the ${k.kind} of the same name defined at ${earlier.file}:${earlier.line}; the later definition wins`));
      kubeByKey.delete(key);
    }
    kubeByKey.set(key, k);
  }
  return { effective: [...byKey.values()], warnings, files, invalid, meshSources, kubeObjects: [...kubeByKey.values()] };
}

/**
 * One proxy's view of sources already read: the mesh for the Gateway `options.gateway` (`name`
 * or `ns/name`), or the mesh's sidecar when absent. Throws ConfigError listing every issue.
 */
export function resolveConfig(read: ReadConfig, options: LoadOptions = {}, issues: ConfigIssue[] = []): LoadedConfig {
  const warnings = [...read.warnings];
  // meshConfig: the `istio` ConfigMap or IstioOperator read, else Istio's defaults.
  const settings = meshSettingsOf(read.meshSources, warnings);
  const mesh = resolveMesh({ resources: read.effective, kube: read.kubeObjects, options, issues, warnings, invalid: read.invalid, settings });
  if (issues.length > 0) throw new ConfigError(issues.sort((a, b) => issueOrder(a, b, read.files)));
  return { resources: read.effective.map((r) => r.resource), mesh, warnings, files: read.files };
}

/**
 * Reads `sources` and resolves the mesh for one proxy (readConfig, then resolveConfig). Throws
 * ConfigError (code 'invalid_config') listing every issue of either step.
 */
export function loadConfig(sources: readonly string[], options: LoadOptions = {}): LoadedConfig {
  // One ConfigError for both steps: every mistake of the load at once.
  const issues: ConfigIssue[] = [];
  const read = readInto(sources, options.namespace ?? DEFAULT_NAMESPACE, issues);
  return resolveConfig(read, options, issues);
}
