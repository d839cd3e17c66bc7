import { describe, expect, it } from 'vitest';
import { destinationRuleHostMessages } from '../../../host/config/analyze/destination-rule-hosts.js';
import { fixture, serviceEntry } from './analyze-fixture.js';

const dr = (host: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: r
spec:
  host: ${host}
`;

describe('destinationrule.PodNotSelectedAnalyzer (host part)', () => {
  it('a host no ServiceEntry or Service defines: IST0174', () => {
    const f = fixture({ 'dr.yaml': dr('ratings') });
    expect(f.log(destinationRuleHostMessages(f.input))).toEqual([
      'Warning [IST0174] (DestinationRule default/r dr.yaml:1) The host ratings defined in the DestinationRule does not match any services in the mesh.',
    ]);
  });

  it('a known host (ServiceEntry, Kubernetes Service, FQDN form) is fine', () => {
    expect(destinationRuleHostMessages(fixture({ 'dr.yaml': dr('ratings'), 'se.yaml': serviceEntry('ratings', ['ratings'], [9080]) }).input)).toEqual([]);
    const svc = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  ports: [{port: 9080}]\n';
    expect(destinationRuleHostMessages(fixture({ 'dr.yaml': dr('ratings.default.svc.cluster.local'), 'svc.yaml': svc }).input)).toEqual([]);
  });
});
