import { describe, expect, it } from 'vitest';
import { isClaimKey, jwtClaimRouteMessages } from '../../../host/config/analyze/jwt-claim-routes.js';
import { fixture } from './analyze-fixture.js';

const GW = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;
const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: claims
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match:
    - headers:
        "@request.auth.claims.groups": {exact: admin}
    route: [{destination: {host: admin}}]
  - route: [{destination: {host: web}}]
`;
const ra = (ns: string, selector = ''): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt
  namespace: ${ns}
spec:
${selector}  jwtRules:
  - issuer: https://issuer.example.com
`;

describe('virtualservice.JWTClaimRouteAnalyzer', () => {
  it('routing on a claim at a gateway whose Pod no RequestAuthentication selects: IST0149 per Pod', () => {
    const f = fixture({ 'gw.yaml': GW, 'vs.yaml': VS });
    expect(f.log(jwtClaimRouteMessages(f.input))).toEqual([
      'Error [IST0149] (VirtualService default/claims vs.yaml:1) The virtual service uses the JWT claim based routing (key: @request.auth.claims.groups) but found no request authentication for the gateway (default/gw) pod (istio-ingressgateway-dummypod). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing.',
    ]);
  });

  it('a RequestAuthentication in istio-system selecting the Pod (or selecting all) satisfies it; one elsewhere or for other Pods does not', () => {
    const codes = (files: Record<string, string>) => jwtClaimRouteMessages(fixture({ 'gw.yaml': GW, 'vs.yaml': VS, ...files }).input).map((m) => m.type.code);
    expect(codes({ 'ra.yaml': ra('istio-system') })).toEqual([]);
    expect(codes({ 'ra.yaml': ra('istio-system', '  selector:\n    matchLabels: {istio: ingressgateway}\n') })).toEqual([]);
    expect(codes({ 'ra.yaml': ra('istio-system', '  selector:\n    matchLabels: {app: other}\n') })).toEqual(['IST0149']);
    expect(codes({ 'ra.yaml': ra('default') })).toEqual(['IST0149']);
  });

  it('claim keys as Istio reads them', () => {
    expect(['@request.auth.claims.sub', '@request.auth.claims[nested][key]', '@Request.Auth.Claims.x'].map(isClaimKey)).toEqual([true, true, true]);
    expect(['@request.auth.claims', '@request.auth.claims.', '@request.auth.claims[]', 'x-user'].map(isClaimKey)).toEqual([false, false, false, false]);
  });
});
