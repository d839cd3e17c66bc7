import { describe, expect, it } from 'vitest';
import { ingressSubsetMessages } from '../../../host/config/analyze/ingress-subsets.js';
import { fixture } from './analyze-fixture.js';

const mesh = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: v2}}]
`;
const ingress = (dest: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: edge
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route: [{destination: ${dest}}]
`;

describe('IST0140 IngressRouteRulesNotAffected', () => {
  it('a gateway route without subset to a host another VirtualService routes by subset', () => {
    const f = fixture({ 'mesh.yaml': mesh, 'edge.yaml': ingress('{host: reviews}') });
    expect(f.log(ingressSubsetMessages(f.input))).toEqual([
      'Warning [IST0140] (VirtualService default/edge edge.yaml:1) Subset in virtual service default/reviews has no effect on ingress gateway default/edge requests',
    ]);
  });

  it('not when the gateway route names a subset, goes elsewhere, or the other VirtualService has no subsets', () => {
    expect(ingressSubsetMessages(fixture({ 'mesh.yaml': mesh, 'edge.yaml': ingress('{host: reviews, subset: v1}') }).input)).toEqual([]);
    expect(ingressSubsetMessages(fixture({ 'mesh.yaml': mesh, 'edge.yaml': ingress('{host: ratings}') }).input)).toEqual([]);
    expect(ingressSubsetMessages(fixture({ 'mesh.yaml': mesh.replace(', subset: v2', ''), 'edge.yaml': ingress('{host: reviews}') }).input)).toEqual([]);
  });
});
