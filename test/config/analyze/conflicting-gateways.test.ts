import { describe, expect, it } from 'vitest';
import { conflictingGatewayMessages } from '../../../host/config/analyze/conflicting-gateways.js';
import { fixture } from './analyze-fixture.js';

const gw = (name: string, selector: string, port: number, hosts: string[], bind = ''): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
spec:
  selector: {${selector}}
  servers:
  - port: {number: ${port}, name: http, protocol: HTTP}
    hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]
${bind !== '' ? `    bind: ${bind}\n` : ''}`;

describe('gateway.ConflictingGatewayAnalyzer', () => {
  it('same selector, port and a common host: IST0145 on each', () => {
    const f = fixture({
      'a.yaml': gw('alpha', 'istio: ingressgateway', 80, ['shop.example.com', 'a.example.com']),
      'b.yaml': gw('beta', 'istio: ingressgateway', 80, ['shop.example.com']),
      'c.yaml': gw('gamma', 'istio: ingressgateway', 8080, ['shop.example.com']),
    });
    expect(f.log(conflictingGatewayMessages(f.input))).toEqual([
      'Error [IST0145] (Gateway default/alpha a.yaml:1) Conflict with gateways default/beta (workload selector istio=ingressgateway, port 80, hosts shop.example.com,a.example.com).',
      'Error [IST0145] (Gateway default/beta b.yaml:1) Conflict with gateways default/alpha (workload selector istio=ingressgateway, port 80, hosts shop.example.com).',
    ]);
  });

  it('no conflict across binds, other hosts or other workloads', () => {
    const run = (files: Record<string, string>) => conflictingGatewayMessages(fixture(files).input);
    expect(run({ 'a.yaml': gw('a', 'istio: ingressgateway', 80, ['x'], '10.0.0.1'), 'b.yaml': gw('b', 'istio: ingressgateway', 80, ['x'], '10.0.0.2') })).toEqual([]);
    expect(run({ 'a.yaml': gw('a', 'istio: ingressgateway', 80, ['x']), 'b.yaml': gw('b', 'istio: ingressgateway', 80, ['y']) })).toEqual([]);
    expect(run({ 'a.yaml': gw('a', 'istio: ingressgateway', 80, ['x']), 'b.yaml': gw('b', 'app: edge', 80, ['x']) })).toEqual([]);
  });

  it('selectors one inside the other conflict only when a Pod has both', () => {
    const a = gw('a', 'istio: ingressgateway', 80, ['x']);
    const b = gw('b', 'istio: ingressgateway, zone: eu', 80, ['x']);
    expect(conflictingGatewayMessages(fixture({ 'a.yaml': a, 'b.yaml': b }).input)).toEqual([]);
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: gw-eu\n  namespace: istio-system\n  labels: {istio: ingressgateway, zone: eu}\nspec: {}\n';
    expect(conflictingGatewayMessages(fixture({ 'a.yaml': a, 'b.yaml': b, 'pod.yaml': pod }).input).map((m) => m.origin!.name)).toEqual(['a', 'b']);
  });
});
