import { describe, expect, it } from 'vitest';
import { gatewayPortMessages } from '../../../host/config/analyze/gateway-ports.js';
import { fixture } from './analyze-fixture.js';

const gw = (selector: string, ports: number[]): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  selector:
${selector}
  servers:
${ports.map((p) => `  - port: {number: ${p}, name: p${p}, protocol: HTTP}\n    hosts: ["*"]`).join('\n')}
`;

describe('gateway.IngressGatewayPortAnalyzer', () => {
  it('istio: ingressgateway selects istioctl\'s default ingress Pod; ports 80 and 443 are on its Service, 8080 is IST0162', () => {
    const f = fixture({ 'gw.yaml': gw('    istio: ingressgateway', [80, 443, 8080]) });
    expect(f.log(gatewayPortMessages(f.input))).toEqual([
      'Warning [IST0162] (Gateway default/gw gw.yaml:7) The gateway is listening on a target port (port 8080) that is not defined in the Service associated with its workload instances (Pod selector istio=ingressgateway). If you need to access the gateway port through the gateway Service, it will not be available.',
    ]);
  });

  it('a selector no Pod matches is IST0101 "selector", at the selector\'s first key', () => {
    const f = fixture({ 'gw.yaml': gw('    app: my-gateway\n    tier: edge', [80]) });
    expect(f.log(gatewayPortMessages(f.input))).toEqual([
      'Error [IST0101] (Gateway default/gw gw.yaml:7) Referenced selector not found: "app=my-gateway,tier=edge"',
    ]);
  });

  it('Pods and Services of the files count: a Service\'s targetPort (or port) in the Pod\'s namespace', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata:
  name: my-gw
  labels: {app: my-gateway}
spec: {}
`;
    const svc = (ns: string) => `apiVersion: v1
kind: Service
metadata:
  name: my-gw
  namespace: ${ns}
spec:
  selector: {app: my-gateway}
  ports:
  - port: 80
    targetPort: 8080
  - port: 9000
`;
    const f = fixture({ 'gw.yaml': gw('    app: my-gateway', [8080, 80, 9000, 9001]), 'pod.yaml': pod, 'svc.yaml': svc('default') });
    expect(gatewayPortMessages(f.input).map((m) => m.args[0])).toEqual([9001]);
    const elsewhere = fixture({ 'gw.yaml': gw('    app: my-gateway', [80]), 'pod.yaml': pod, 'svc.yaml': svc('other') });
    expect(gatewayPortMessages(elsewhere.input).map((m) => m.type.code)).toEqual(['IST0162']);
  });
});
