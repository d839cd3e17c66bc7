import { describe, expect, it } from 'vitest';
import { conflictingMeshGatewayHostMessages } from '../../../host/config/analyze/conflicting-mesh-gateway-hosts.js';
import { fixture } from './analyze-fixture.js';

const vs = (name: string, host: string, extra = ''): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
  hosts: [${host}]
${extra}  http:
  - route:
    - destination: {host: ${host}}
`;

describe('virtualservice.ConflictingMeshGatewayHostsAnalyzer', () => {
  it('two mesh VirtualServices for one host: IST0109 on each, at metadata.name, naming both', () => {
    const f = fixture({ 'a.yaml': vs('reviews-a', 'reviews'), 'b.yaml': vs('reviews-b', 'reviews.default.svc.cluster.local', '  gateways: [mesh, gw]\n') });
    const text = 'The VirtualServices default/reviews-a,default/reviews-b associated with mesh gateway define the same host */reviews.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.';
    expect(f.log(conflictingMeshGatewayHostMessages(f.input))).toEqual([
      `Error [IST0109] (VirtualService default/reviews-a a.yaml:4) ${text}`,
      `Error [IST0109] (VirtualService default/reviews-b b.yaml:4) ${text}`,
    ]);
  });

  it('no conflict when one is bound to a gateway only, or they are exported to different namespaces', () => {
    expect(conflictingMeshGatewayHostMessages(fixture({ 'a.yaml': vs('a', 'reviews'), 'b.yaml': vs('b', 'reviews', '  gateways: [gw]\n') }).input)).toEqual([]);
    expect(conflictingMeshGatewayHostMessages(fixture({ 'a.yaml': vs('a', 'reviews', '  exportTo: [x]\n'), 'b.yaml': vs('b', 'reviews', '  exportTo: [y]\n') }).input)).toEqual([]);
  });

  it('a host exported to one namespace conflicts with the same host exported to all', () => {
    const f = fixture({ 'a.yaml': vs('a', 'reviews', '  exportTo: ["."]\n'), 'b.yaml': vs('b', 'reviews') });
    expect(conflictingMeshGatewayHostMessages(f.input).map((m) => m.args)).toEqual([
      ['default/a,default/b', 'default/reviews.default.svc.cluster.local'],
      ['default/a,default/b', 'default/reviews.default.svc.cluster.local'],
    ]);
  });
});
