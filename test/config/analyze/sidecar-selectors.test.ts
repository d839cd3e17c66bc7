import { describe, expect, it } from 'vitest';
import { sidecarSelectorMessages } from '../../../host/config/analyze/sidecar-selectors.js';
import { fixture } from './analyze-fixture.js';

const sidecar = (name: string, ns: string, selector = ''): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${selector}  egress:
  - hosts: ["./*"]
`;

describe('sidecar.SelectorAnalyzer (namespace part)', () => {
  it('two Sidecars without a workloadSelector in one namespace: IST0111 on each', () => {
    const f = fixture({ 'a.yaml': sidecar('b-default', 'shop'), 'b.yaml': sidecar('a-default', 'shop'), 'c.yaml': sidecar('only', 'other') });
    expect(f.log(sidecarSelectorMessages(f.input))).toEqual([
      'Error [IST0111] (Sidecar shop/b-default a.yaml:1) The Sidecars [a-default b-default] in namespace "shop" have no workload selector, which can lead to undefined behavior.',
      'Error [IST0111] (Sidecar shop/a-default b.yaml:1) The Sidecars [a-default b-default] in namespace "shop" have no workload selector, which can lead to undefined behavior.',
    ]);
  });

  it('a Sidecar with a workloadSelector is not namespace-wide', () => {
    const f = fixture({ 'a.yaml': sidecar('all', 'shop'), 'b.yaml': sidecar('web', 'shop', '  workloadSelector:\n    labels: {app: web}\n') });
    expect(sidecarSelectorMessages(f.input)).toEqual([]);
  });
});
