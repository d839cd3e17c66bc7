import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import { jwksProblem } from '../../../host/config/translate/request-authentication.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../../helpers/seed-000-yaml.js';

const RA = 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\n';
const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const JWKS = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] });

function load(yaml: string, options: Parameters<typeof loadConfig>[1] = {}) {
  const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': yaml });
  return loadConfig([t.dir], options);
}

function issuesOf(yaml: string): ConfigIssue[] {
  try {
    load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}
const located = (issues: ConfigIssue[]) => issues.map((i) => [i.code, i.line, `${i.kind} ${i.name}`, i.path]);

describe('RequestAuthentication → jwtRules', () => {
  test("a rule resolved with Istio's defaults (Authorization: Bearer, access_token, forward false, 5 s)", () => {
    const mesh = load(`${RA}metadata: {name: jwt, namespace: default}\nspec:\n  jwtRules:\n  - issuer: iss-a\n    jwksUri: https://keys.example/jwks\n`).mesh;
    expect(mesh.jwtRules).toEqual([
      {
        source: 'default/jwt', issuer: 'iss-a', audiences: [], jwksUri: 'https://keys.example/jwks', jwks: null,
        fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }], fromParams: ['access_token'], fromCookies: [],
        outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 5000,
      },
    ]);
  });

  test('explicit locations replace the defaults; outputs, forward and timeout are kept', () => {
    const mesh = load(`${RA}metadata: {name: jwt}
spec:
  jwtRules:
  - issuer: iss-b
    audiences: [a1, a2]
    jwks: '${JWKS}'
    fromHeaders: [{name: X-Jwt, prefix: "Token "}]
    fromCookies: [session]
    outputPayloadToHeader: X-Payload
    outputClaimToHeaders: [{header: X-Sub, claim: sub}]
    forwardOriginalToken: true
    timeout: 2s
`).mesh;
    const r = mesh.jwtRules![0]!;
    expect(r).toMatchObject({ audiences: ['a1', 'a2'], jwks: JWKS, jwksUri: null, fromHeaders: [{ name: 'x-jwt', prefix: 'Token ' }], fromParams: [], fromCookies: ['session'], outputPayloadToHeader: 'x-payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], forwardOriginalToken: true, timeoutMs: 2000 });
  });

  test('scope: root namespace mesh-wide, own namespace, selector by labels, targetRefs for the gateway', () => {
    const yaml = `${RA}metadata: {name: root, namespace: istio-system}\nspec: {jwtRules: [{issuer: root, jwksUri: "http://k/j"}]}
---
${RA}metadata: {name: ns, namespace: default}\nspec: {jwtRules: [{issuer: ns, jwksUri: "http://k/j"}]}
---
${RA}metadata: {name: other, namespace: other}\nspec: {jwtRules: [{issuer: other, jwksUri: "http://k/j"}]}
---
${RA}metadata: {name: sel, namespace: default}\nspec: {selector: {matchLabels: {app: web}}, jwtRules: [{issuer: sel, jwksUri: "http://k/j"}]}
---
${RA}metadata: {name: gw, namespace: default}\nspec: {targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: public}], jwtRules: [{issuer: gw, jwksUri: "http://k/j"}]}
`;
    const issuers = (opts: Parameters<typeof loadConfig>[1]) => load(yaml, opts).mesh.jwtRules?.map((r) => r.issuer);
    expect(issuers({})).toEqual(['root', 'ns']);
    expect(issuers({ labels: { app: 'web' } })).toEqual(['root', 'ns', 'sel']);
    expect(issuers({ namespace: 'other', labels: { app: 'web' } })).toEqual(['root', 'other']);
  });

  test('errors are located: no issuer, bad URI, bad JWKS, no key source, bad header, bad timeout, selector with targetRefs', () => {
    const issues = issuesOf(`${RA}metadata: {name: bad}
spec:
  jwtRules:
  - jwksUri: ftp://keys.example/jwks
  - issuer: b
    jwks: '{"keys": [{"kty": "RSA", "n": "AQAB"}]}'
  - issuer: c
  - issuer: d
    jwksUri: "http://k/j"
    fromHeaders: [{name: "bad header"}]
    timeout: 0s
---
${RA}metadata: {name: both}
spec:
  selector: {matchLabels: {app: web}}
  targetRefs: [{kind: Gateway, name: gw}]
  jwtRules: [{issuer: e, jwksUri: "http://k/j"}]
`);
    expect(located(issues)).toEqual([
      ['missing_field', 6, 'RequestAuthentication default/bad', 'spec.jwtRules[0].issuer'],
      ['invalid_value', 6, 'RequestAuthentication default/bad', 'spec.jwtRules[0].jwksUri'],
      ['invalid_value', 8, 'RequestAuthentication default/bad', 'spec.jwtRules[1].jwks'],
      ['missing_field', 9, 'RequestAuthentication default/bad', 'spec.jwtRules[2]'],
      ['invalid_value', 12, 'RequestAuthentication default/bad', 'spec.jwtRules[3].fromHeaders[0].name'],
      ['invalid_value', 13, 'RequestAuthentication default/bad', 'spec.jwtRules[3].timeout'],
      ['invalid_value', 20, 'RequestAuthentication default/both', 'spec.targetRefs'],
    ]);
    expect(issues[2]!.reason).toMatch(/bad JWKS: keys\[0\] \(kty RSA\) does not import/);
  });

  test('jwksProblem: JSON, keys array, private keys and oct keys', () => {
    expect(jwksProblem(JWKS)).toBeNull();
    expect(jwksProblem('nope')).toMatch(/not JSON/);
    expect(jwksProblem('{}')).toBe('no "keys" array');
    expect(jwksProblem('{"keys": []}')).toBe('"keys" is empty');
    expect(jwksProblem(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), d: 'x' }] }))).toMatch(/private key/);
    expect(jwksProblem('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')).toBeNull();
    expect(jwksProblem('{"keys": [{"kty": "oct"}]}')).toMatch(/has no "k"/);
  });
});
