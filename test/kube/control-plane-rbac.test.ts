// The control plane's ClusterRole rules (host/kube/control-plane-rbac.ts): least privilege where
// Kubernetes RBAC allows it. The webhook configuration is named (resourceNames) for every verb the
// control plane uses on it — list and watch too, which the API server authorizes by name when the
// request has fieldSelector=metadata.name=<name>, as the caBundle patcher's reflector sends — and
// nothing else is named (the watches of `--kube` span every object of their kinds).
import { describe, expect, it } from 'vitest';
import { controlPlaneRules, rbacRules } from '../../host/kube/control-plane-rbac.js';

const hookRules = (rules: ReturnType<typeof rbacRules>) => rules.filter((r) => r.resources.includes('mutatingwebhookconfigurations'));

describe('control plane RBAC rules', () => {
  it('mutatingwebhookconfigurations: list, watch and patch of istio-sidecar-injector only; no get, create or delete', () => {
    const hooks = hookRules(rbacRules());
    expect(hooks).toEqual([{ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['istio-sidecar-injector'], verbs: ['list', 'watch', 'patch'] }]);
  });

  it('--webhook-config-name: the rule names that configuration instead', () => {
    expect(hookRules(rbacRules({ webhookConfigName: 'my-injector' }))[0]!.resourceNames).toEqual(['my-injector']);
  });

  it('no other rule is narrowed to names, no rule grants get, delete, or a wildcard; every rule says why', () => {
    for (const r of controlPlaneRules()) {
      if (!r.resources.includes('mutatingwebhookconfigurations')) expect(r.resourceNames, r.resources.join()).toBeUndefined();
      for (const v of ['get', 'delete', 'deletecollection', '*']) expect(r.verbs, r.resources.join()).not.toContain(v);
      expect(r.resources).not.toContain('*');
      expect(r.apiGroups).not.toContain('*');
      expect(r.why.length).toBeGreaterThan(0);
    }
    for (const r of rbacRules()) expect(r).not.toHaveProperty('why');
  });
});
