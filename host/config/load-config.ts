// loadConfig: Istio YAML files and folders → LoadedConfig, all or nothing. Every problem of
// the load is collected and thrown as one ConfigError, so a bad edit never half-applies and
// the operator sees every mistake at once.
import { ConfigError, type ConfigIssue } from './config-error.js';
import { warningAt } from './issue-location.js';
import { DEFAULT_NAMESPACE, type LoadedConfig, type LoadOptions } from './loaded-config.js';
import { readResource, type SourcedResource } from './read-resource.js';
import { resolveMesh } from './translate/resolve-mesh.js';
import { listSourceFiles, readYamlFile } from './yaml-source.js';

function issueOrder(a: ConfigIssue, b: ConfigIssue, files: readonly string[]): number {
  const fa = a.file === null ? -1 : files.indexOf(a.file);
  const fb = b.file === null ? -1 : files.indexOf(b.file);
  return fa - fb || (a.doc ?? 0) - (b.doc ?? 0) || (a.line ?? 0) - (b.line ?? 0);
}

/**
 * Reads `sources` (files, or folders whose *.yaml/*.yml files are read in lexical order) and
 * resolves the mesh for one proxy: the Gateway `options.gateway` (`name` or `ns/name`), or the
 * mesh's sidecar when absent. Throws ConfigError (code 'invalid_config') listing every issue.
 */
export function loadConfig(sources: readonly string[], options: LoadOptions = {}): LoadedConfig {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const files = listSourceFiles(sources, issues);
  const loaded: SourcedResource[] = [];
  const invalid = new Set<string>();
  for (const file of files) {
    for (const doc of readYamlFile(file, issues)) {
      const result = readResource(doc, namespace, issues, warnings);
      if (result.status === 'ok') loaded.push(result.value);
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
  const effective = [...byKey.values()];
  const mesh = resolveMesh({ resources: effective, options, issues, warnings, invalid });
  if (issues.length > 0) throw new ConfigError(issues.sort((a, b) => issueOrder(a, b, files)));
  return { resources: effective.map((r) => r.resource), mesh, warnings, files };
}
