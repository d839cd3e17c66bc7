// The two groups of authorization filters a listener takes: CUSTOM's pairs (before
// authentication) and the RBAC filters of AUDIT, DENY and ALLOW (after it).
import { describe, expect, it } from 'vitest';
import { envoyAuthorizationFilters } from '../../host/envoy/authorization-filters.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';

const policy = (name: string, action: AuthzPolicy['action'], provider: string | null = null): AuthzPolicy => ({ name, action, provider, dryRun: false, rules: [{ from: [], to: [], when: [] }] });

describe('envoyAuthorizationFilters', () => {
  it('none: nothing; CUSTOM goes to custom (here a bad-CUSTOM deny, no provider known), the rest to rbac in Istio\'s order', () => {
    expect(envoyAuthorizationFilters(undefined, { clusters: [], warnings: [] })).toEqual({ custom: [], rbac: [] });
    const warnings: string[] = [];
    const f = envoyAuthorizationFilters([policy('a/allow', 'ALLOW'), policy('a/ext', 'CUSTOM', 'opa'), policy('a/deny', 'DENY'), policy('a/audit', 'AUDIT')], { clusters: [], warnings });
    expect(f.custom.map((x) => Object.keys((x.typed_config as { rules: { policies: object } }).rules.policies))).toEqual([['istio-ext-authz-opa-ns[a]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action']]);
    expect(f.rbac.map((x) => (x.typed_config as { rules: { action: string } }).rules.action)).toEqual(['LOG', 'DENY', 'ALLOW']);
    expect(warnings).toEqual([expect.stringMatching(/provider opa: not among meshConfig extensionProviders/)]);
  });
});
