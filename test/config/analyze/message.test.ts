import { describe, expect, it } from 'vitest';
import { atOrAbove, formatLog, MESSAGES, message, parseLevel, reference, render } from '../../../host/config/analyze/message.js';

const origin = { kind: 'VirtualService', namespace: 'default', name: 'reviews', file: 'vs.yaml', line: 3 };

describe('analysis messages', () => {
  it('carry Istio\'s codes and levels (messages.yaml)', () => {
    expect(Object.values(MESSAGES).map((t) => `${t.code} ${t.level} ${t.name}`)).toEqual([
      'IST0101 Error ReferencedResourceNotFound',
      'IST0106 Error SchemaValidationError',
      'IST0109 Error ConflictingMeshGatewayVirtualServiceHosts',
      'IST0111 Error MultipleSidecarsWithoutWorkloadSelectors',
      'IST0112 Error VirtualServiceDestinationPortSelectorRequired',
      'IST0128 Warning NoServerCertificateVerificationDestinationLevel',
      'IST0129 Warning NoServerCertificateVerificationPortLevel',
      'IST0130 Warning VirtualServiceUnreachableRule',
      'IST0131 Info VirtualServiceIneffectiveMatch',
      'IST0132 Warning VirtualServiceHostNotFoundInGateway',
      'IST0140 Warning IngressRouteRulesNotAffected',
      'IST0145 Error ConflictingGateways',
      'IST0149 Error JwtClaimBasedRoutingWithoutRequestAuthN',
      'IST0161 Error InvalidGatewayCredential',
      'IST0162 Warning GatewayPortNotDefinedOnService',
      'IST0174 Warning UnknownDestinationRuleHost',
    ]);
  });

  it('render Go\'s verbs: %q quotes, %v of a list is [a b], %d a number', () => {
    expect(render(message(MESSAGES.ReferencedResourceNotFound, null, null, 'host', 'a"b'))).toBe('Referenced host not found: "a\\"b"');
    expect(render(message(MESSAGES.VirtualServiceDestinationPortSelectorRequired, null, null, 'h', [80, 443]))).toMatch(/"h" that exposes multiple ports \[80 443\]\./);
  });

  it('print as istioctl: level, [code], (origin file:line) text; the field\'s line replaces the document\'s', () => {
    const m = message(MESSAGES.ReferencedResourceNotFound, origin, 12, 'host', 'foo');
    expect(formatLog(m)).toBe('Error [IST0101] (VirtualService default/reviews vs.yaml:12) Referenced host not found: "foo"');
    expect(reference(message(MESSAGES.ReferencedResourceNotFound, origin, null, 'host', 'foo'))).toBe('vs.yaml:3');
    expect(reference(message(MESSAGES.ReferencedResourceNotFound, { ...origin, file: 'vs.json' }, 12, 'host', 'foo'))).toBe('vs.json');
    expect(formatLog(message(MESSAGES.ReferencedResourceNotFound, null, null, 'host', 'foo'))).toBe('Error [IST0101] Referenced host not found: "foo"');
  });

  it('levels: thresholds in any case, Error worse than Warning worse than Info', () => {
    expect(parseLevel('warning')).toBe('Warning');
    expect(parseLevel('fatal')).toBeNull();
    expect(atOrAbove('Error', 'Warning')).toBe(true);
    expect(atOrAbove('Info', 'Warning')).toBe(false);
    expect(atOrAbove('Warning', 'Warning')).toBe(true);
  });
});
