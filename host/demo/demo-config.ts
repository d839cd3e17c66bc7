// The demos' run-folder config: the WorkloadEntries rewritten to the ports the demo apps
// actually got, so that the demos (and their tests) can run the apps on other ports than the
// examples' fixed ones (15101/15102 for seed 000, 152xx for seed 002, 153xx for seed 003), and
// seed 000's files chosen so that the demo's own config loads without a warning.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Seed 000's example files the demo reads (examples/000-web-demo). */
export const SEED000_EXAMPLE = {
  services: '00-web-services.yaml',
  gateway: '02-web-demo-service-gateway.yaml',
  split80: '03-web-demo-80-20.yaml',
  split5: '04-web-demo-5-95.yaml',
} as const;

/** Names in the seed 000 demo's run folder; switching the split is one `cp` over `split`. */
export const SEED000_RUN = {
  services: '00-web-services.yaml',
  gateway: '02-web-gateway.yaml',
  split: '03-split.yaml',
} as const;

/**
 * The seed 000 demo's run folder, as [name, text] in load order: the services (WorkloadEntries
 * at `ports`), the Gateway of 02-web-demo-service-gateway.yaml, and the 80/20 split. 02 also
 * holds the tutorial's first VirtualService `web` (everything to `web`, no subsets), which its
 * step 03 replaces; with both in the folder the demo's first printed line was a "replaces the
 * VirtualService" warning about its own files. The demo serves the split, so 02's Gateway alone
 * goes in, the rest of the file kept as written.
 */
export function seed000RunFiles(exampleDir: string, ports: AppPorts): Array<[string, string]> {
  const read = (name: string) => readFileSync(join(exampleDir, name), 'utf8');
  const defaults = ports.v1 === 15101 && ports.v2 === 15102;
  const gateway =
    `# The Gateway of ${SEED000_EXAMPLE.gateway}, written by \`wasmesh demo\`: that file's VirtualService\n` +
    `# is the tutorial's first step, replaced here by the split in ${SEED000_RUN.split}.\n` +
    documentsOfKind(read(SEED000_EXAMPLE.gateway), 'Gateway', SEED000_EXAMPLE.gateway);
  return [
    [SEED000_RUN.services, defaults ? read(SEED000_EXAMPLE.services) : withAppPorts(read(SEED000_EXAMPLE.services), ports)],
    [SEED000_RUN.gateway, gateway],
    [SEED000_RUN.split, read(SEED000_EXAMPLE.split80)],
  ];
}

/** The documents of `kind` in a YAML text, comments and layout kept; none is an error naming `file`. */
export function documentsOfKind(text: string, kind: string, file: string): string {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text) as Document[]) {
    if (doc.errors.length > 0) throw new Error(`demo config: ${file}: YAML error: ${doc.errors[0].message}`);
    if (doc.get('kind') === kind) out.push(doc.toString().replace(/^---\n/, ''));
  }
  if (out.length === 0) throw new Error(`demo config: ${file} has no ${kind}`);
  return out.join('---\n');
}
