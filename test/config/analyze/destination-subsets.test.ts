import { describe, expect, it } from 'vitest';
import { destinationSubsetMessages } from '../../../host/config/analyze/destination-subsets.js';
import { fixture } from './analyze-fixture.js';

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
    - destination:
        host: reviews.default.svc.cluster.local
        subset: v3
    mirror:
      host: reviews
      subset: v9
`;
const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v3
    labels: {version: v3}
`;

describe('virtualservice.DestinationRuleAnalyzer', () => {
  it('a subset no DestinationRule defines is IST0101 "host+subset in destinationrule" (Istio has no IST0111 for it)', () => {
    const f = fixture({ 'vs.yaml': VS });
    expect(f.log(destinationSubsetMessages(f.input))).toEqual([
      'Error [IST0101] (VirtualService default/reviews vs.yaml:10) Referenced host+subset in destinationrule not found: "reviews+v1"',
      'Error [IST0101] (VirtualService default/reviews vs.yaml:13) Referenced host+subset in destinationrule not found: "reviews.default.svc.cluster.local+v3"',
      'Error [IST0101] (VirtualService default/reviews vs.yaml:16) Referenced mirror+subset in destinationrule not found: "reviews+v9"',
    ]);
  });

  it('finds subsets by host whether written short or as the FQDN, and reports only the one missing', () => {
    const f = fixture({ 'vs.yaml': VS, 'dr.yaml': DR });
    expect(f.log(destinationSubsetMessages(f.input))).toEqual([
      'Error [IST0101] (VirtualService default/reviews vs.yaml:16) Referenced mirror+subset in destinationrule not found: "reviews+v9"',
    ]);
  });

  it('a DestinationRule of another namespace defines the subsets of that namespace\'s host only', () => {
    const f = fixture({ 'vs.yaml': VS.replace(/    mirror:[\s\S]*$/, ''), 'dr.yaml': DR.replace('name: reviews\n', 'name: reviews\n  namespace: other\n') });
    expect(destinationSubsetMessages(f.input)).toHaveLength(2);
  });
});
