import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherFiles, ofKind, readAnalysisInput } from '../../../host/config/analyze/analysis-input.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { fixture } from './analyze-fixture.js';

describe('analysis input', () => {
  it('walks folders recursively in lexical order, reading .yaml, .yml and .json and skipping the rest', () => {
    const { dir } = tempYaml({ 'b.yaml': '', 'a.yml': '', 'notes.txt': '' });
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'c.json'), '');
    const g = gatherFiles([dir, join(dir, 'missing.yaml')]);
    expect(g.files.map((f) => f.slice(dir.length + 1))).toEqual(['a.yml', 'b.yaml', 'sub/c.json']);
    expect(g.skipped.map((f) => f.slice(dir.length + 1))).toEqual(['notes.txt']);
    expect(g.missing).toEqual([join(dir, 'missing.yaml')]);
  });

  it('keeps Istio resources (validated), Kubernetes Services and Pods, and istioctl\'s default ingress Pod and Service', () => {
    const f = fixture({
      'a.yaml': `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec: {}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: web
  namespace: shop
spec:
  host: web
`,
    });
    expect(f.input.resources.map((r) => `${r.kind} ${r.namespace}/${r.name}`)).toEqual([
      'Pod istio-system/istio-ingressgateway-dummypod',
      'Service istio-system/istio-ingressgateway',
      'Service default/web',
      'DestinationRule shop/web',
    ]);
    const web = ofKind(f.input, 'Service')[1]!;
    expect(web.annotations).toEqual({ 'networking.istio.io/exportTo': '.' });
    expect(web.fieldLine(['spec', 'ports'])).toBe(7);
    expect(web.fieldLine(['spec', 'selector'])).toBeNull(); // not written: Istio reports the document's line
  });

  it('a later definition of a resource replaces the earlier; YAML syntax errors and kind-less documents are parse errors, schema problems not', () => {
    const dr = (host: string) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: web\nspec:\n  host: ${host}\n`;
    const f = fixture({ 'a.yaml': dr('one'), 'b.yaml': dr('two'), 'c.yaml': 'a: [unclosed\n', 'd.yaml': 'metadata: {name: x}\n', 'e.yaml': dr('"three"\n  bogus: 1') });
    expect(ofKind(f.input, 'DestinationRule').map((r) => (r.spec as { host: string }).host)).toEqual(['two']);
    expect(f.input.parseErrors.map((i) => `${i.file!.slice(f.dir.length + 1)} ${i.code}`)).toEqual(['c.yaml yaml_syntax', 'd.yaml missing_field', 'd.yaml missing_field']);
    expect(f.input.schemaIssues.map((i) => `${i.file!.slice(f.dir.length + 1)} ${i.code} ${i.path}`)).toEqual(['e.yaml unknown_field spec.bogus']);
  });

  it('reports progress per file', () => {
    const { dir } = tempYaml({ 'a.yaml': '', 'b.yaml': '' });
    const seen: string[] = [];
    readAnalysisInput(gatherFiles([dir]).files, { namespace: 'default', onFile: (done, total) => seen.push(`${done}/${total}`) });
    expect(seen).toEqual(['1/2', '2/2']);
  });
});
