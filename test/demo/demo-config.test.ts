// The demo's WorkloadEntry port rewrite keeps everything else and fails loudly when it cannot apply.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { withAppPorts } from '../../host/demo/demo-config.js';

const SERVICES = `# the demo services
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: web
spec:
  hosts: [web]
  ports:
  - number: 5005
    name: http
    protocol: HTTP
  resolution: STATIC
  workloadSelector:
    labels:
      app: web
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: web-v1
spec:
  address: 127.0.0.1
  ports:
    http: 15101 # v1
  labels:
    app: web
    version: v1
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: web-v2
spec:
  address: 127.0.0.1
  ports:
    http: 15102
  labels:
    app: web
    version: v2
`;

describe('withAppPorts', () => {
  it('points each version at its port and leaves the rest alone', () => {
    const out = withAppPorts(SERVICES, { v1: 40001, v2: 40002 });
    const docs = parseAllDocuments(out).map((d) => d.toJS());
    expect(docs).toHaveLength(3);
    expect(docs[0].spec.ports[0].number).toBe(5005);
    expect(docs[1].spec.ports.http).toBe(40001);
    expect(docs[2].spec.ports.http).toBe(40002);
    expect(out).toContain('# the demo services');
    expect(out).toContain('# v1');
  });

  it('fails when a version has no WorkloadEntry or an entry has no ports', () => {
    expect(() => withAppPorts(SERVICES, { v3: 1 })).toThrow(/no WorkloadEntry with label version: v3/);
    const noPorts = SERVICES.replace('  ports:\n    http: 15102\n', '');
    expect(() => withAppPorts(noPorts, { v2: 1 })).toThrow(/web-v2 has no spec.ports/);
  });
});
