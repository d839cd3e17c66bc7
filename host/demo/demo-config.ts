// Rewrites the demo's WorkloadEntries to the ports the demo apps actually got, so that the
// demos (and their tests) can run the apps on other ports than the examples' fixed ones
// (15101/15102 for seed 000, 152xx for seed 002, 153xx for seed 003).
import { parseAllDocuments, isMap, isScalar, type Document } from 'yaml';

/** Ports per `version` label value (`v1`, `v2`). */
export type AppPorts = Record<string, number>;

/**
 * Returns the YAML text with every WorkloadEntry whose `version` label has a port here pointed
 * at that port (every entry of its `ports` map), keeping comments and layout. A WorkloadEntry
 * without a `ports` map cannot be redirected and is an error: the proxy would silently use the
 * ServiceEntry's port instead of the app's.
 */
export function withAppPorts(text: string, ports: AppPorts): string {
  const docs = parseAllDocuments(text);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const doc of docs as Document[]) {
    if (doc.errors.length > 0) throw new Error(`demo config: YAML error: ${doc.errors[0].message}`);
    if (doc.get('kind') === 'WorkloadEntry') {
      const version = doc.getIn(['spec', 'labels', 'version']);
      if (typeof version === 'string' && ports[version] !== undefined) {
        const map = doc.getIn(['spec', 'ports'], true);
        if (!isMap(map) || map.items.length === 0) {
          throw new Error(`demo config: WorkloadEntry ${String(doc.getIn(['metadata', 'name']))} has no spec.ports to rewrite`);
        }
        for (const pair of map.items) {
          if (isScalar(pair.value)) pair.value.value = ports[version];
        }
        seen.add(version);
      }
    }
    // Separators are written back uniformly below, so a document's own `---` is dropped here.
    out.push(doc.toString().replace(/^---\n/, ''));
  }
  for (const version of Object.keys(ports)) {
    if (!seen.has(version)) throw new Error(`demo config: no WorkloadEntry with label version: ${version}`);
  }
  // Document.toString() ends each with a newline; `---` separates them as in the source.
  return out.join('---\n');
}

/** Ports per WorkloadEntry name (`reviews-v2`, `middleware-canary`). */
export type WorkloadPorts = Record<string, number>;

/**
 * Returns the YAML text with every WorkloadEntry named in `ports` pointed at its port (every
 * entry of its `ports` map), keeping comments and layout, and the names it rewrote. Other
 * documents are kept as they are. A named WorkloadEntry without a `ports` map is an error, as
 * in withAppPorts. Unlike withAppPorts, names not found are left to the caller, since one
 * scenario's WorkloadEntries may be spread over several files.
 */
export function withWorkloadPorts(text: string, ports: WorkloadPorts): { text: string; rewritten: string[] } {
  const docs = parseAllDocuments(text);
  const rewritten: string[] = [];
  const out: string[] = [];
  for (const doc of docs as Document[]) {
    if (doc.errors.length > 0) throw new Error(`demo config: YAML error: ${doc.errors[0].message}`);
    const name = doc.getIn(['metadata', 'name']);
    if (doc.get('kind') === 'WorkloadEntry' && typeof name === 'string' && ports[name] !== undefined) {
      const map = doc.getIn(['spec', 'ports'], true);
      if (!isMap(map) || map.items.length === 0) throw new Error(`demo config: WorkloadEntry ${name} has no spec.ports to rewrite`);
      for (const pair of map.items) {
        if (isScalar(pair.value)) pair.value.value = ports[name];
      }
      rewritten.push(name);
    }
    out.push(doc.toString().replace(/^---\n/, ''));
  }
  return { text: out.join('---\n'), rewritten };
}
