// meshConfig discoverySelectors for `control-plane --kube`, as istiod applies them: only the
// namespaces whose labels match one of the selectors are part of the mesh; Services,
// EndpointSlices, Pods and Istio config objects from the API server in any other namespace are
// ignored (Istio's "enhanced resource scoping", on by default since 1.22, filters config too).
// The control plane's own namespace and the mesh's root namespace are always kept (the mesh
// config and mesh-wide policies live there). The -f files are never filtered: they were given
// explicitly. Namespace labels come from the Namespace watch; a namespace not (yet) seen has no
// labels. The mesh config giving the selectors may itself come from the API server (the `istio`
// ConfigMap) or a file, so the objects are read, the selectors found, and, when they leave
// something out, the read is repeated without it (the files come from the ReadCache, unchanged).
// readWithKube is `control-plane --kube`'s read: this, plus the AuthorizationPolicy identities
// checked against the ServiceAccounts (service-account-check.ts).
import { readConfig, type ReadCache, type ReadConfig } from '../config/index.js';
import type { ReadResult } from '../config/read-resource.js';
import { meshSettingsOf } from '../config/translate/mesh-settings.js';
import { anySelectorMatches, type LabelSelector } from '../model/label-selector.js';
import { unknownServiceAccountWarnings } from './service-account-check.js';

/** What of KubeResourceSource this needs (a fake in unit tests). */
export interface KubeConfigObjects {
  readonly istioNamespace: string;
  results(): { results: ReadResult[]; warnings: string[] };
  namespaceLabels(): Map<string, Record<string, string>>;
  /** `ns/name` of every ServiceAccount (AuthorizationPolicy identities are checked against them). */
  serviceAccounts(): string[];
}

/** Whether objects of `namespace` are taken: a selector matches its labels, or it is always kept. */
export function namespaceDiscovered(
  selectors: readonly LabelSelector[] | undefined,
  labels: ReadonlyMap<string, Record<string, string>>,
  alwaysKept: readonly string[],
): (namespace: string) => boolean {
  return (namespace) => alwaysKept.includes(namespace) || anySelectorMatches(selectors, labels.get(namespace) ?? {});
}

function namespaceOf(r: ReadResult): string | null {
  switch (r.status) {
    case 'ok': return r.value.resource.namespace;
    case 'kube': return r.value.namespace;
    case 'invalid': return r.namespace;
    default: return null;
  }
}

export interface KubeRead extends ReadConfig {
  /** Objects left out by discoverySelectors (0 without selectors). */
  undiscovered: number;
  /** Whether a namespace is part of the mesh under these selectors (the root-cert publisher asks). */
  discovered: (namespace: string) => boolean;
}

/** The -f files and the API server's objects read together, discoverySelectors applied to the latter. */
export function readWithKube(files: readonly string[], cache: ReadCache, kube: KubeConfigObjects): KubeRead {
  const read = readDiscovered(files, cache, kube);
  const labels = kube.namespaceLabels();
  const accounts = unknownServiceAccountWarnings(read.effective, new Set(kube.serviceAccounts()), new Set(labels.keys()));
  return accounts.length === 0 ? read : { ...read, warnings: [...read.warnings, ...accounts] };
}

function readDiscovered(files: readonly string[], cache: ReadCache, kube: KubeConfigObjects): KubeRead {
  const fromKube = kube.results();
  const read = readConfig(files, undefined, cache, fromKube.results);
  const settings = meshSettingsOf(read.meshSources, []);
  const selectors = settings.discoverySelectors;
  if (selectors === undefined || selectors.length === 0) return { ...read, warnings: [...read.warnings, ...fromKube.warnings], undiscovered: 0, discovered: () => true };
  const keep = namespaceDiscovered(selectors, kube.namespaceLabels(), [kube.istioNamespace, settings.rootNamespace]);
  const kept = fromKube.results.filter((r) => {
    const ns = namespaceOf(r);
    return ns === null || keep(ns);
  });
  const undiscovered = fromKube.results.length - kept.length;
  if (undiscovered === 0) return { ...read, warnings: [...read.warnings, ...fromKube.warnings], undiscovered, discovered: keep };
  const again = readConfig(files, undefined, cache, kept);
  return { ...again, warnings: [...again.warnings, ...fromKube.warnings], undiscovered, discovered: keep };
}
