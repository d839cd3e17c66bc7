import { describe, expect, it } from 'vitest';
import { schemaValidationMessages } from '../../../host/config/analyze/schema-validation.js';
import { fixture } from './analyze-fixture.js';

describe('schema.ValidationAnalyzer', () => {
  it('every problem the loader finds in a resource is IST0106 at the offending field\'s line, with its path', () => {
    const f = fixture({
      'vs.yaml': `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
  namespace: shop
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
      weight: -1
    timeout: soon
`,
    });
    const lines = f.log(schemaValidationMessages(f.input, 'default'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Error \[IST0106\] \(VirtualService shop\/web vs\.yaml:11\) Schema validation error: spec\.http\[0\]\.route\[0\]\.weight: /);
    expect(lines[1]).toMatch(/^Error \[IST0106\] \(VirtualService shop\/web vs\.yaml:12\) Schema validation error: spec\.http\[0\]\.timeout: /);
  });

  it('a misspelt Istio kind is IST0106 with the loader\'s suggestion; a valid resource gives nothing', () => {
    const f = fixture({ 'a.yaml': 'apiVersion: networking.istio.io/v1\nkind: VirtualSevice\nmetadata:\n  name: x\nspec: {}\n' });
    const lines = f.log(schemaValidationMessages(f.input, 'default'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Error \[IST0106\] \(VirtualSevice default\/x a\.yaml:2\) Schema validation error: kind: .*did you mean VirtualService/);
    const ok = fixture({ 'a.yaml': 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: x\nspec:\n  hosts: [x]\n' });
    expect(schemaValidationMessages(ok.input, 'default')).toEqual([]);
  });
});
