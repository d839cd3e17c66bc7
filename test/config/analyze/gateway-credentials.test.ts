import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewayCredentialMessages } from '../../../host/config/analyze/gateway-credentials.js';
import { leaf } from '../../helpers/test-certs.js';
import { fixture } from './analyze-fixture.js';

const GW = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: web-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls:
      mode: SIMPLE
      credentialName: web-cert
`;
const secret = (name: string, ns: string, crt: Buffer | string, key = 'a2V5'): string => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: ${ns}
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(crt).toString('base64')}
  tls.key: ${key}
`;

describe('gateway.SecretAnalyzer', () => {
  it('a credentialName with no Secret in the gateway workload\'s namespace: IST0101 "credentialName" at its line', () => {
    const f = fixture({ 'gw.yaml': GW, 'wrong-ns.yaml': secret('web-cert', 'default', leaf().certPem) });
    expect(f.log(gatewayCredentialMessages(f.input))).toEqual([
      'Error [IST0101] (Gateway default/web-gateway gw.yaml:13) Referenced credentialName not found: "web-cert"',
    ]);
  });

  it('a Secret in istio-system (the default ingress Pod\'s namespace) with a valid certificate is found; expired or garbage is IST0161', () => {
    expect(gatewayCredentialMessages(fixture({ 'gw.yaml': GW, 's.yaml': secret('web-cert', 'istio-system', leaf().certPem) }).input)).toEqual([]);
    const expired = fixture({ 'gw.yaml': GW, 's.yaml': secret('web-cert', 'istio-system', leaf({ expired: true }).certPem) });
    expect(expired.log(gatewayCredentialMessages(expired.input))).toEqual([
      'Error [IST0161] (Gateway default/web-gateway gw.yaml:13) The credential referenced by the Gateway web-gateway in namespace istio-system is invalid, which can cause the traffic not to work as expected.',
    ]);
    expect(gatewayCredentialMessages(fixture({ 'gw.yaml': GW, 's.yaml': secret('web-cert', 'istio-system', 'not a pem') }).input).map((m) => m.type.code)).toEqual(['IST0161']);
    expect(gatewayCredentialMessages(fixture({ 'gw.yaml': GW, 's.yaml': secret('web-cert', 'istio-system', leaf().certPem, '""') }).input).map((m) => m.type.code)).toEqual(['IST0161']);
  });

  it('with --credentials-dir, <dir>/<name>/tls.crt and tls.key are the secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-creds-'));
    const f = fixture({ 'gw.yaml': GW });
    expect(gatewayCredentialMessages(f.input, { credentialsDir: dir }).map((m) => m.type.code)).toEqual(['IST0101']);
    mkdirSync(join(dir, 'web-cert'));
    writeFileSync(join(dir, 'web-cert', 'tls.crt'), leaf().certPem);
    writeFileSync(join(dir, 'web-cert', 'tls.key'), leaf().keyPem);
    expect(gatewayCredentialMessages(f.input, { credentialsDir: dir })).toEqual([]);
    expect(gatewayCredentialMessages(f.input, { credentialsDir: dir, now: new Date(Date.now() + 10 * 86_400_000) }).map((m) => m.type.code)).toEqual(['IST0161']);
  });

  it('a selector that selects no Pod: IST0101 "selector", and no credential check', () => {
    const f = fixture({ 'gw.yaml': GW.replace('istio: ingressgateway', 'app: edge') });
    expect(f.log(gatewayCredentialMessages(f.input))).toEqual(['Error [IST0101] (Gateway default/web-gateway gw.yaml:7) Referenced selector not found: "app=edge"']);
  });
});
