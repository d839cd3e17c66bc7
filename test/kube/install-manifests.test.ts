// install-manifests.ts: what a full install is made of — the order (CRDs and the namespace before
// what lives in them), Istio's names and ports for istiod, the ClusterRole (control-plane-rbac.ts's
// rules: every watched kind list+watch and no more, writes only where a feature writes, no
// secrets), the Deployment's control-plane mode and hardening, the CA from an emptyDir or the
// plug-in Secret, the caBundle present only with a CA, and idempotence (same options, same objects).
import { describe, expect, it } from 'vitest';
import { installManifests, CA_SECRET_FILES, CONTROL_PLANE_PORTS } from '../../host/kube/install-manifests.js';
import { buildMeshConfig } from '../../host/kube/mesh-config.js';
import { istioCrds } from '../../host/kube/istio-crds.js';
import { objectPath } from '../../host/kube/kube-apply.js';
import type { KubeObject } from '../../host/kube/kube-object.js';
import { jsonAt } from '../helpers/envoy-json.js';
import { rbacRules } from '../../host/kube/control-plane-rbac.js';

interface PolicyRule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }

const IMAGE = 'registry.example/wasmesh/proxy:1.2.3';
const mesh = buildMeshConfig({}, IMAGE);
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const caFiles = Object.fromEntries(CA_SECRET_FILES.map((f) => [f, f === 'root-cert.pem' ? PEM : `${f} text\n`]));

const find = (objs: KubeObject[], kind: string, name?: string): KubeObject => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o;
};
/** May `rules` do `verb` on `group`/`resource` (optionally the object `name`)? As RBAC reads rules. */
const allows = (rules: PolicyRule[], group: string, resource: string, verb: string, name?: string): boolean =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb) &&
    (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))));

describe('installManifests', () => {
  const objs = installManifests({ image: IMAGE, mesh });

  it('every object in apply order: CRDs, the namespace, then what lives in it, the webhook last', () => {
    const kinds = objs.map((o) => o.kind);
    const crdCount = istioCrds().length;
    expect(kinds.slice(0, crdCount)).toEqual(Array(crdCount).fill('CustomResourceDefinition'));
    expect(kinds.slice(crdCount)).toEqual(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service', 'MutatingWebhookConfiguration']);
    for (const o of objs.slice(crdCount + 1)) if (o.metadata.namespace !== undefined) expect(o.metadata.namespace).toBe('istio-system');
    // Every object has a path install can apply it at (a kind it does not know would throw).
    expect(objs.map(objectPath)).toContain('/apis/apps/v1/namespaces/istio-system/deployments/istiod');
    expect(objectPath(find(objs, 'Namespace'))).toBe('/api/v1/namespaces/istio-system');
  });

  it('is idempotent: the same options give the same objects, byte for byte', () => {
    expect(JSON.stringify(installManifests({ image: IMAGE, mesh }))).toBe(JSON.stringify(objs));
    const withCa = (): string => JSON.stringify(installManifests({ image: IMAGE, mesh, caFiles }));
    expect(withCa()).toBe(withCa());
  });

  it('Service istiod with Istio\'s port names and numbers, 443 to the webhook\'s 15017, selecting the Deployment\'s pods', () => {
    const svc = find(objs, 'Service', 'istiod');
    const spec = svc.spec as { selector: Record<string, string>; ports: unknown[] };
    expect(spec.ports).toEqual([
      { name: 'grpc-xds', port: 15010, targetPort: 15010, protocol: 'TCP' },
      { name: 'https-dns', port: 15012, targetPort: 15012, protocol: 'TCP' },
      { name: 'https-webhook', port: 443, targetPort: 15017, protocol: 'TCP' },
      { name: 'http-monitoring', port: 15014, targetPort: 15014, protocol: 'TCP' },
    ]);
    const dep = find(objs, 'Deployment', 'istiod');
    const tpl = (dep.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
    for (const [k, v] of Object.entries(spec.selector)) expect(tpl.metadata.labels[k]).toBe(v);
    expect((dep.spec as { selector: { matchLabels: unknown } }).selector.matchLabels).toEqual(spec.selector);
  });

  it('the Deployment runs the image\'s control-plane mode on Istio\'s ports, with the CA, tokens, webhook and mesh config', () => {
    const dep = find(objs, 'Deployment', 'istiod');
    const pod = (dep.spec as { template: { spec: Record<string, any> } }).template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.args).toEqual([
      'control-plane', '--kube', '--xds-listen', '0.0.0.0:15010', '--monitoring', '0.0.0.0:15014',
      '--ca-dir', '/var/run/wasmesh/ca', '--secure-listen', '0.0.0.0:15012', '--trust-domain', 'cluster.local',
      '--kube-tokens', '--webhook-listen', '0.0.0.0:15017', '--webhook-image', IMAGE,
      '--webhook-mesh-config', '/etc/istio/config/mesh', '--webhook-config-name', 'istio-sidecar-injector',
    ]);
    // Every Service targetPort is a port the container declares.
    const declared = c.ports.map((p: { containerPort: number }) => p.containerPort);
    for (const p of CONTROL_PLANE_PORTS) expect(declared).toContain(p.targetPort);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 15014 });
    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(c.resources.limits.memory).toBe('1Gi');
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.serviceAccountName).toBe('istiod');
    // The control plane is never injected itself.
    expect((dep.spec as any).template.metadata.annotations['sidecar.istio.io/inject']).toBe('false');
    // No CA directory given: an emptyDir, mounted writable (the root is generated at start).
    expect(pod.volumes.find((v: { name: string }) => v.name === 'cacerts')).toEqual({ name: 'cacerts', emptyDir: {} });
    expect(c.volumeMounts.find((m: { name: string }) => m.name === 'cacerts')).toEqual({ name: 'cacerts', mountPath: '/var/run/wasmesh/ca' });
    expect(pod.volumes.find((v: { name: string }) => v.name === 'config-volume')).toEqual({ name: 'config-volume', configMap: { name: 'istio' } });
  });

  it('the mesh config ConfigMap istio holds the mesh under key `mesh`; its trust domain is the control plane\'s', () => {
    const m = buildMeshConfig({ sets: ['meshConfig.trustDomain=example.org'] }, IMAGE);
    const o = installManifests({ image: IMAGE, mesh: m });
    expect((find(o, 'ConfigMap', 'istio').data as { mesh: string }).mesh).toBe(m.text);
    expect(m.text).toContain('trustDomain: example.org');
    const args = (find(o, 'Deployment').spec as any).template.spec.containers[0].args as string[];
    expect(args[args.indexOf('--trust-domain') + 1]).toBe('example.org');
  });

  it('without a CA directory the webhook has no caBundle field (the control plane patches it); with one, the root and Secret cacerts, mounted read-only', () => {
    const hook = find(objs, 'MutatingWebhookConfiguration', 'istio-sidecar-injector');
    for (const w of hook.webhooks as Array<{ clientConfig: Record<string, unknown> }>) {
      expect(w.clientConfig).toEqual({ service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 } });
    }
    expect(objs.some((o) => o.kind === 'Secret')).toBe(false);

    const o = installManifests({ image: IMAGE, mesh, caFiles, failurePolicy: 'Ignore' });
    const hook2 = find(o, 'MutatingWebhookConfiguration');
    for (const w of hook2.webhooks as Array<{ clientConfig: { caBundle: string }; failurePolicy: string }>) {
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(PEM);
      expect(w.failurePolicy).toBe('Ignore');
    }
    const secret = find(o, 'Secret', 'cacerts');
    expect(Object.keys(secret.data as object).sort()).toEqual([...CA_SECRET_FILES].sort());
    expect(Buffer.from((secret.data as Record<string, string>)['ca-key.pem']!, 'base64').toString()).toBe('ca-key.pem text\n');
    // The Secret before the Deployment that mounts it.
    expect(o.indexOf(secret)).toBeLessThan(o.indexOf(find(o, 'Deployment')));
    const pod = (find(o, 'Deployment').spec as any).template.spec;
    expect(pod.volumes.find((v: { name: string }) => v.name === 'cacerts')).toEqual({ name: 'cacerts', secret: { secretName: 'cacerts', defaultMode: 0o440 } });
    expect(pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'cacerts').readOnly).toBe(true);
  });
});

describe('the control plane\'s ClusterRole', () => {
  const objs = installManifests({ image: IMAGE, mesh });
  const role = find(objs, 'ClusterRole', 'istiod-clusterrole-istio-system');
  const rules = role.rules as PolicyRule[];

  it('is bound to ServiceAccount istio-system/istiod', () => {
    const b = find(objs, 'ClusterRoleBinding');
    expect(b.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'istiod-clusterrole-istio-system' });
    expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'istiod', namespace: 'istio-system' }]);
    expect(find(objs, 'ServiceAccount').metadata).toMatchObject({ name: 'istiod', namespace: 'istio-system' });
  });

  it('lists and watches every kind the control plane watches: the registry kinds, namespaces, service accounts and each CRD kind', () => {
    const watched: Array<[string, string]> = [['', 'services'], ['', 'pods'], ['', 'namespaces'], ['', 'serviceaccounts'], ['discovery.k8s.io', 'endpointslices']];
    for (const g of istioCrds()) watched.push([g.crd.spec.group, g.crd.spec.names.plural]);
    expect(watched).toContainEqual(['networking.istio.io', 'virtualservices']);
    expect(watched).toContainEqual(['policy.wasmesh.io', 'ratelimitpolicies']);
    for (const [group, resource] of watched) {
      expect(allows(rules, group, resource, 'list'), `${resource}.${group} list`).toBe(true);
      expect(allows(rules, group, resource, 'watch'), `${resource}.${group} watch`).toBe(true);
      // Read-only: the control plane writes no Istio status and no registry object.
      for (const verb of ['create', 'update', 'patch', 'delete']) expect(allows(rules, group, resource, verb), `${resource}.${group} ${verb}`).toBe(false);
    }
  });

  it('is control-plane-rbac.ts\'s rules, as they are (the ones the control plane\'s own API server test runs under)', () => {
    expect(rules).toEqual(rbacRules());
  });

  it('writes only what its features write: tokenreviews, istio-ca-root-cert ConfigMaps, events, the webhook\'s caBundle', () => {
    expect(allows(rules, 'authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
    for (const verb of ['list', 'watch', 'create', 'update']) expect(allows(rules, '', 'configmaps', verb)).toBe(true);
    expect(allows(rules, '', 'configmaps', 'delete')).toBe(false);
    expect(allows(rules, '', 'events', 'create')).toBe(true);
    expect(allows(rules, '', 'events', 'list')).toBe(false);
    const hooks = 'mutatingwebhookconfigurations';
    // The injector's own configuration, by name (the one the manifests create and --webhook-config-name gives).
    for (const verb of ['list', 'watch', 'patch']) {
      expect(allows(rules, 'admissionregistration.k8s.io', hooks, verb, 'istio-sidecar-injector')).toBe(true);
      expect(allows(rules, 'admissionregistration.k8s.io', hooks, verb, 'other')).toBe(false);
      expect(allows(rules, 'admissionregistration.k8s.io', hooks, verb)).toBe(false);
    }
    const hook = find(objs, 'MutatingWebhookConfiguration');
    expect(rules.find((r) => r.resources.includes(hooks))!.resourceNames).toEqual([hook.metadata.name]);
    expect(allows(rules, 'admissionregistration.k8s.io', hooks, 'create')).toBe(false);
    expect(allows(rules, 'admissionregistration.k8s.io', hooks, 'delete')).toBe(false);
    expect(allows(rules, 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'patch')).toBe(false);
  });

  it('reaches no secret, no wildcard, and nothing else', () => {
    for (const verb of ['get', 'list', 'watch']) expect(allows(rules, '', 'secrets', verb)).toBe(false);
    for (const r of rules) {
      expect(r.apiGroups).not.toContain('*');
      expect(r.resources).not.toContain('*');
      expect(r.verbs).not.toContain('*');
    }
    const resources = rules.flatMap((r) => r.resources).sort();
    const crdPlurals = istioCrds().map((g) => g.crd.spec.names.plural);
    const other = resources.filter((r) => !crdPlurals.includes(r));
    expect(other).toEqual(['configmaps', 'endpointslices', 'events', 'mutatingwebhookconfigurations', 'namespaces', 'pods', 'serviceaccounts', 'services', 'tokenreviews']);
    // No namespaced Role: nothing the control plane does is confined to istio-system.
    expect(objs.some((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toBe(false);
  });
});

describe('installManifests on an IPv6 or dual-stack cluster (ipFamilies)', () => {
  const args = (objs: KubeObject[]): string[] => {
    const a = jsonAt(find(objs, 'Deployment', 'istiod'), 'spec.template.spec.containers.0.args');
    if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) throw new Error(`istiod's args are not a list of strings: ${JSON.stringify(a)}`);
    return a as string[];
  };
  const listens = (a: string[]): string[] => ['--xds-listen', '--monitoring', '--secure-listen', '--webhook-listen'].map((f) => a[a.indexOf(f) + 1]!);
  it('IPv4 (the default): 0.0.0.0 and no ipFamilies on Service istiod', () => {
    const objs = installManifests({ image: IMAGE, mesh });
    expect(listens(args(objs))).toEqual(['0.0.0.0:15010', '0.0.0.0:15014', '0.0.0.0:15012', '0.0.0.0:15017']);
    expect(find(objs, 'Service', 'istiod').spec).not.toHaveProperty('ipFamilies');
    expect(installManifests({ image: IMAGE, mesh, ipFamilies: ['IPv4'] })).toEqual(objs);
  });
  it('IPv6 or dual-stack: [::] (dual-stack sockets), the Service asking for the families in order', () => {
    for (const [families, policy] of [[['IPv6'], 'SingleStack'], [['IPv6', 'IPv4'], 'RequireDualStack'], [['IPv4', 'IPv6'], 'RequireDualStack']] as const) {
      const objs = installManifests({ image: IMAGE, mesh, ipFamilies: families });
      expect(listens(args(objs))).toEqual(['[::]:15010', '[::]:15014', '[::]:15012', '[::]:15017']);
      expect(find(objs, 'Service', 'istiod').spec).toMatchObject({ ipFamilyPolicy: policy, ipFamilies: [...families] });
    }
  });
});
