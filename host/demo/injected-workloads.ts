// What Istio's sidecar injector and a Deployment's pod spec add to a workload, written into the
// demo's WorkloadEntries when every app runs behind its own sidecar (`wasmesh demo istio101
// --mtls`): the pod's service account (`spec.serviceAccount`, the SPIFFE ID the caller's sidecar
// expects of the endpoint) and the label `security.istio.io/tlsMode: istio`, which tells callers
// the endpoint takes Istio's mTLS (auto mTLS). The example's YAML keeps neither, as a Deployment's
// YAML does not: they belong to the pod the mesh runs, not to the app's configuration.
import { parseAllDocuments, isMap, type Document } from 'yaml';

/** Istio's label on an injected workload: its sidecar terminates Istio's mTLS. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** Service accounts per WorkloadEntry name (`middleware-canary` → `middleware`). */
export type WorkloadAccounts = Record<string, string>;

/**
 * Returns the YAML text with every WorkloadEntry named in `accounts` given that service account
 * and the tlsMode label, comments and layout kept, and the names it changed. A named entry that
 * already names another service account is an error: the demo would issue a certificate the mesh
 * does not expect. Names not found are left to the caller (a scenario's entries span files).
 */
export function withInjectedSidecars(text: string, accounts: WorkloadAccounts, file: string): { text: string; injected: string[] } {
  const injected: string[] = [];
  const out: string[] = [];
  for (const doc of parseAllDocuments(text) as Document[]) {
    if (doc.errors.length > 0) throw new Error(`demo config: ${file}: YAML error: ${doc.errors[0].message}`);
    const name = doc.getIn(['metadata', 'name']);
    if (doc.get('kind') === 'WorkloadEntry' && typeof name === 'string' && accounts[name] !== undefined) {
      const sa = accounts[name];
      const own = doc.getIn(['spec', 'serviceAccount']);
      if (own !== undefined && own !== sa) {
        throw new Error(`demo config: ${file}: WorkloadEntry ${name} names serviceAccount ${String(own)}, but the demo runs it as ${sa}`);
      }
      if (!isMap(doc.getIn(['spec', 'labels'], true))) doc.setIn(['spec', 'labels'], doc.createNode({}));
      doc.setIn(['spec', 'labels', TLS_MODE_LABEL], 'istio');
      doc.setIn(['spec', 'serviceAccount'], sa);
      injected.push(name);
    }
    out.push(doc.toString().replace(/^---\n/, ''));
  }
  return { text: out.join('---\n'), injected };
}
