// What the demo's --mtls mode writes into WorkloadEntries: the pod's service account and Istio's
// tlsMode label, everything else (comments, other documents) kept; the result loads as Istio YAML.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS_MODE_LABEL, withInjectedSidecars } from '../../host/demo/injected-workloads.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ISTIO101 = readFileSync(join(ROOT, 'examples/003-istio101/00-istio101-services.yaml'), 'utf8');

describe('withInjectedSidecars', () => {
  it('gives the named WorkloadEntries serviceAccount and the tlsMode label, keeping the rest', () => {
    const r = withInjectedSidecars(ISTIO101, { 'middleware-canary': 'middleware', 'backend-prod': 'backend' }, 'services.yaml');
    expect(r.injected).toEqual(['middleware-canary', 'backend-prod']);
    const docs = parseAllDocuments(r.text).map((d) => d.toJS());
    const entry = (name: string) => docs.find((d) => d.kind === 'WorkloadEntry' && d.metadata.name === name);
    expect(entry('middleware-canary').spec).toEqual({
      address: '127.0.0.1',
      labels: { app: 'middleware', version: 'canary', [TLS_MODE_LABEL]: 'istio' },
      ports: { http: 15312 },
      serviceAccount: 'middleware',
    });
    expect(entry('backend-prod').spec.serviceAccount).toBe('backend');
    // Not named: untouched.
    expect(entry('frontend-prod').spec).toEqual({ address: '127.0.0.1', labels: { app: 'frontend', version: 'prod' }, ports: { http: 15301 } });
    expect(docs.filter((d) => d.kind === 'ServiceEntry')).toHaveLength(3);
    expect(r.text).toContain('# Seed 003 (Istio101) without Kubernetes');
  });

  it('adds labels to an entry that has none, and names nothing it did not find', () => {
    const text = 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: a }\nspec: { address: 127.0.0.1 }\n';
    const r = withInjectedSidecars(text, { a: 'sa-a', b: 'sa-b' }, 'x.yaml');
    expect(r.injected).toEqual(['a']);
    expect(parseAllDocuments(r.text)[0]!.toJS().spec).toEqual({ address: '127.0.0.1', labels: { [TLS_MODE_LABEL]: 'istio' }, serviceAccount: 'sa-a' });
  });

  it('refuses an entry that names another service account, naming the file', () => {
    const text = 'kind: WorkloadEntry\nmetadata: { name: a }\nspec: { address: 127.0.0.1, serviceAccount: other }\n';
    expect(() => withInjectedSidecars(text, { a: 'mine' }, 'x.yaml')).toThrow('demo config: x.yaml: WorkloadEntry a names serviceAccount other, but the demo runs it as mine');
  });
});
