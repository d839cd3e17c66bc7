import { describe, expect, it } from 'vitest';
import { destinationRuleTlsMessages } from '../../../host/config/analyze/destination-rule-tls.js';
import { fixture } from './analyze-fixture.js';

const dr = (tls: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ext
spec:
  host: api.example.com
${extra}  trafficPolicy:
    tls:
${tls}
    portLevelSettings:
    - port: {number: 8443}
      tls:
        mode: MUTUAL
        caCertificates: /etc/ca.pem
    - port: {number: 9443}
      tls:
        mode: SIMPLE
`;

describe('destinationrule.CaCertificateAnalyzer', () => {
  it('SIMPLE or MUTUAL without caCertificates: IST0128 at the rule, IST0129 per port', () => {
    const f = fixture({ 'dr.yaml': dr('      mode: SIMPLE') });
    expect(f.log(destinationRuleTlsMessages(f.input))).toEqual([
      'Warning [IST0128] (DestinationRule default/ext dr.yaml:1) DestinationRule default/ext in namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: api.example.com',
      'Warning [IST0129] (DestinationRule default/ext dr.yaml:1) DestinationRule default/ext in namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: api.example.com at port number:9443',
    ]);
  });

  it('caCertificates set, ISTIO_MUTUAL, or a credentialName with a workloadSelector: nothing at the rule level', () => {
    const level = (tls: string, extra = '') => destinationRuleTlsMessages(fixture({ 'dr.yaml': dr(tls, extra) }).input).map((m) => m.type.code);
    expect(level('      mode: MUTUAL\n      caCertificates: /etc/ca.pem')).toEqual(['IST0129']);
    expect(level('      mode: ISTIO_MUTUAL')).toEqual(['IST0129']);
    expect(level('      mode: SIMPLE\n      credentialName: ext-cred', '  workloadSelector:\n    matchLabels: {app: egress}\n')).toEqual(['IST0129']);
    expect(level('      mode: SIMPLE\n      credentialName: ext-cred')).toEqual(['IST0128', 'IST0129']);
  });
});
