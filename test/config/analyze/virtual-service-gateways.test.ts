import { describe, expect, it } from 'vitest';
import { virtualServiceGatewayMessages } from '../../../host/config/analyze/virtual-service-gateways.js';
import { fixture } from './analyze-fixture.js';

const GW = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: web-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com", "other/admin.example.com", "./local.example.com"]
`;
const vs = (hosts: string[], gateways: string[]): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]
  gateways: [${gateways.map((g) => JSON.stringify(g)).join(', ')}]
  http:
  - route:
    - destination: {host: web}
`;

describe('virtualservice.GatewayAnalyzer', () => {
  it('a gateway that does not exist is IST0101 "gateway", and its hosts being none, IST0132 too (as Istio); mesh is skipped', () => {
    const f = fixture({ 'vs.yaml': vs(['shop.example.com'], ['mesh', 'missing']) });
    expect(f.log(virtualServiceGatewayMessages(f.input))).toEqual([
      'Error [IST0101] (VirtualService default/web vs.yaml:7) Referenced gateway not found: "missing"',
      'Warning [IST0132] (VirtualService default/web vs.yaml:7) one or more host [shop.example.com] defined in VirtualService default/web not found in Gateway default/missing.',
    ]);
  });

  it('hosts match the Gateway\'s server hosts, wildcards included; ns/host binds only that namespace, ./host the Gateway\'s', () => {
    const ok = fixture({ 'gw.yaml': GW, 'vs.yaml': vs(['shop.example.com'], ['web-gateway']) });
    expect(virtualServiceGatewayMessages(ok.input)).toEqual([]);
    const local = fixture({ 'gw.yaml': GW, 'vs.yaml': vs(['local.example.com'], ['default/web-gateway']) });
    expect(virtualServiceGatewayMessages(local.input)).toEqual([]);
    const otherNs = fixture({ 'gw.yaml': GW, 'vs.yaml': vs(['admin.example.com', 'x.example.com'], ['web-gateway']) });
    expect(otherNs.log(virtualServiceGatewayMessages(otherNs.input))).toEqual([
      'Warning [IST0132] (VirtualService default/web vs.yaml:7) one or more host [admin.example.com x.example.com] defined in VirtualService default/web not found in Gateway default/web-gateway.',
    ]);
    const wild = fixture({ 'gw.yaml': GW.replace('"shop.example.com"', '"*.example.com"'), 'vs.yaml': vs(['x.example.com'], ['web-gateway']) });
    expect(virtualServiceGatewayMessages(wild.input)).toEqual([]);
  });
});
