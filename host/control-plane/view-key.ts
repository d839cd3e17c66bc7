// Which connected proxies are given the same view, so that it is computed once per change and not
// once per proxy: a sidecar's labels matter only where the config selects on them (a
// VirtualService match's sourceLabels; any selector), so sidecars differing only in other labels
// — every pod's `app`, `pod-template-hash` … — share one view. With 100 sidecars of 100 apps and
// no sourceLabels this is one view instead of 100 (istiod likewise caches what does not depend
// on the proxy).
import type { ReadConfig } from '../config/index.js';
import { wantsIstioStats } from './envoy-istio-stats.js';
import type { LoadOptions } from '../config/loaded-config.js';
import type { XdsNode } from '../xds/xds-node.js';

/** Properties whose object value maps label keys to values the config selects on. */
const SELECTOR_PROPERTIES = new Set(['sourceLabels', 'selector', 'matchLabels', 'labels']);
/** Only `labels` inside these (a workloadSelector's); a WorkloadEntry's own `labels` select nothing of a proxy. */
const LABELS_PARENTS = new Set(['workloadSelector']);

/**
 * The label keys each spec selects on, by spec object: the read cache (host/config/read-cache.ts)
 * keeps the specs of unchanged files, so a change walks only the specs it replaced.
 */
const specKeys = new WeakMap<object, readonly string[]>();

/** The label keys one spec's selectors and matches name. */
function keysOf(spec: unknown): readonly string[] {
  if (spec === null || typeof spec !== 'object') return [];
  const cached = specKeys.get(spec);
  if (cached) return cached;
  const keys = new Set<string>();
  const walk = (v: unknown, parent: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, parent);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const selects = SELECTOR_PROPERTIES.has(k) && (k !== 'labels' || LABELS_PARENTS.has(parent));
      if (selects && x !== null && typeof x === 'object' && !Array.isArray(x)) for (const key of Object.keys(x)) keys.add(key);
      walk(x, k);
    }
  };
  walk(spec, '');
  const out = [...keys];
  specKeys.set(spec, out);
  return out;
}

/** Every label key that any resource's selector or match names. */
export function selectorLabelKeys(read: ReadConfig): Set<string> {
  const keys = new Set<string>();
  for (const r of read.effective) for (const k of keysOf(r.resource.spec)) keys.add(k);
  return keys;
}

/**
 * The key of the view `node` is given. Gateways keep all their labels (their warnings name them,
 * and there are few); sidecars and gRPC clients keep only the labels in `selected`.
 */
export function viewKey(node: XdsNode, selected: ReadonlySet<string>): string {
  const labels = node.type === 'router'
    ? node.labels
    : Object.fromEntries(Object.entries(node.labels).filter(([k]) => selected.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  // WASMESH_FILTERS changes an Envoy's listener (routing by wasmesh's proxy-wasm filters),
  // WASMESH_LISTEN its address, WASMESH_APP_PORTS and WASMESH_INBOUND its inbound listener:
  // Envoys alike but for these must not get each other's listeners.
  const at = (hp: { host: string; port: number } | null): string | null => (hp === null ? null : `${hp.host}:${hp.port}`);
  // An Envoy with the wasmesh_stats filter carries its own workload's metadata in its listener: a view of its own.
  const own = wantsIstioStats(node) ? [node.id] : [];
  return JSON.stringify([node.kind, node.type, node.namespace, labels, node.gateway, at(node.listen), node.metadata.WASMESH_FILTERS !== undefined, node.appPorts, at(node.inbound), ...own]);
}

/** `labels` restricted to the keys in `selected`, sorted. */
function selectedLabels(labels: Record<string, string>, selected: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => selected.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The key of a mesh resolution (resolveConfig) for `options`: what resolving reads of them — the
 * namespace, the Gateway, the security switch, and the labels the config selects on. Views of
 * different kinds of client (wasmesh, Envoy, gRPC) with the same key resolve the same mesh.
 */
export function resolutionKey(options: LoadOptions, selected: ReadonlySet<string>): string {
  return JSON.stringify([options.namespace ?? null, options.gateway ?? null, options.allowUnenforcedSecurity ?? false, selectedLabels(options.labels ?? {}, selected)]);
}
