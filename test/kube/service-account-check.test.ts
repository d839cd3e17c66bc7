// AuthorizationPolicy identities checked against the API server's ServiceAccounts: an exact
// principal or serviceAccounts entry in a known namespace without its account is warned at the
// field; wildcards, unknown namespaces and existing accounts are not.
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { unknownServiceAccountWarnings } from '../../host/kube/service-account-check.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: shop}
spec:
  rules:
  - from:
    - source:
        principals:
        - cluster.local/ns/shop/sa/cart
        - cluster.local/ns/shop/sa/kart
        - cluster.local/ns/shop/sa/*
        - cluster.local/ns/elsewhere/sa/x
    - source:
        notPrincipals: [cluster.local/ns/shop/sa/gone]
`;

describe('unknownServiceAccountWarnings', () => {
  it('warns, at the field, for an exact identity in a known namespace whose ServiceAccount is missing', () => {
    const { path } = tempYaml({ 'p.yaml': POLICY });
    const read = readConfig([path('p.yaml')]);
    const warnings = unknownServiceAccountWarnings(read.effective, new Set(['shop/cart']), new Set(['shop']));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/p\.yaml:10 .*AuthorizationPolicy shop\/allow: spec\.rules\[0\]\.from\[0\]\.source\.principals\[1\]: names service account shop\/kart, which the API server does not have/);
    expect(warnings[1]).toMatch(/p\.yaml:14 .*spec\.rules\[0\]\.from\[1\]\.source\.notPrincipals\[0\]: names service account shop\/gone/);
    expect(unknownServiceAccountWarnings(read.effective, new Set(['shop/cart', 'shop/kart', 'shop/gone']), new Set(['shop']))).toEqual([]);
  });
});
