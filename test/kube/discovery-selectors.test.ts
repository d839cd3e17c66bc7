// meshConfig discoverySelectors with `control-plane --kube`, over an in-memory API server:
// the mesh config read from the `istio` ConfigMap of the control plane's namespace (key `mesh`),
// Namespace labels from the Namespace watch, objects in undiscovered namespaces left out (the
// control plane's and the root namespace always kept, -f files never filtered), a relabelled
// namespace followed; the ServiceAccounts known.
import { afterEach, describe, expect, it } from 'vitest';
import { ReadCache } from '../../host/config/index.js';
import { meshSettingsOf } from '../../host/config/translate/mesh-settings.js';
import { namespaceDiscovered, readWithKube } from '../../host/kube/discovery-selectors.js';
import { KubeResourceSource } from '../../host/kube/kube-resource-source.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { tempYaml } from '../helpers/temp-yaml.js';

let fake: FakeKubeApi | null = null;
let source: KubeResourceSource | null = null;
afterEach(async () => {
  source?.close();
  await fake?.stop();
  fake = null;
});

const svc = (ns: string): Record<string, unknown> => ({ metadata: { name: 'web', namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } });
const vs = (ns: string): Record<string, unknown> => ({ metadata: { name: 'web', namespace: ns }, spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] } });
const meshConfigMap = (mesh: string, ns = 'istio-system'): Record<string, unknown> => ({ metadata: { name: 'istio', namespace: ns }, data: { mesh } });

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(istioNamespace?: string): Promise<KubeResourceSource> {
  fake = await new FakeKubeApi().start();
  fake.put('v1/namespaces', { metadata: { name: 'shop', labels: { 'istio-discovery': 'enabled' } } });
  fake.put('v1/namespaces', { metadata: { name: 'other' } });
  fake.put('v1/namespaces', { metadata: { name: 'istio-system' } });
  for (const ns of ['shop', 'other', 'istio-system']) {
    fake.put('v1/services', svc(ns));
    fake.put('networking.istio.io/v1/virtualservices', vs(ns));
    fake.put('v1/serviceaccounts', { metadata: { name: 'default', namespace: ns } });
  }
  source = new KubeResourceSource({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' }, { log: () => {}, reflector: { backoff: { initialMs: 5_000, maxMs: 5_000 } }, ...(istioNamespace ? { istioNamespace } : {}) });
  await source.start();
  return source;
}

const names = (r: ReturnType<typeof readWithKube>): string[] => [
  ...r.effective.map((e) => `${e.resource.kind} ${e.resource.namespace}/${e.resource.name}`),
  ...r.kubeObjects.map((k) => `${k.kind} ${k.namespace}/${k.name}`),
].sort();

describe('discoverySelectors with --kube', () => {
  it('without selectors every namespace is taken; Namespaces and ServiceAccounts are not read as config', async () => {
    const s = await setup();
    const r = readWithKube([], new ReadCache(), s);
    expect(names(r)).toEqual(['Service istio-system/web', 'Service other/web', 'Service shop/web', 'VirtualService istio-system/web', 'VirtualService other/web', 'VirtualService shop/web']);
    expect(r.undiscovered).toBe(0);
    expect(r.warnings.join('\n')).not.toMatch(/Namespace|ServiceAccount/);
    expect(s.serviceAccounts()).toEqual(['istio-system/default', 'other/default', 'shop/default']);
    expect(s.namespaceLabels().get('shop')).toEqual({ 'istio-discovery': 'enabled' });
    // The ServiceAccounts back AuthorizationPolicy identities: a missing one is warned.
    fake!.put('security.istio.io/v1/authorizationpolicies', { metadata: { name: 'allow', namespace: 'shop' }, spec: { rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/default', 'cluster.local/ns/shop/sa/cart'] } }] }] } });
    await until(() => readWithKube([], new ReadCache(), s).effective.some((e) => e.resource.kind === 'AuthorizationPolicy'), 'the policy');
    const warned = readWithKube([], new ReadCache(), s).warnings.filter((w) => /names service account/.test(w));
    expect(warned).toEqual([expect.stringMatching(/AuthorizationPolicy shop\/allow: spec\.rules\[0\]\.from\[0\]\.source\.principals\[1\]: names service account shop\/cart/)]);
  });

  it('the istio ConfigMap\'s selectors leave out undiscovered namespaces, keeping the control plane\'s; a relabel is followed', async () => {
    const s = await setup();
    fake!.put('v1/configmaps', meshConfigMap('discoverySelectors:\n- matchLabels:\n    istio-discovery: enabled\n'));
    await until(() => s.results().results.some((x) => x.status === 'mesh'), 'the mesh ConfigMap');
    const r = readWithKube([], new ReadCache(), s);
    expect(meshSettingsOf(r.meshSources, []).discoverySelectors).toEqual([{ matchLabels: { 'istio-discovery': 'enabled' } }]);
    expect(names(r)).toEqual(['Service istio-system/web', 'Service shop/web', 'VirtualService istio-system/web', 'VirtualService shop/web']);
    expect(r.undiscovered).toBe(2);
    expect(r.discovered('other')).toBe(false);
    fake!.put('v1/namespaces', { metadata: { name: 'other', labels: { 'istio-discovery': 'enabled' } } });
    await until(() => s.namespaceLabels().get('other')?.['istio-discovery'] === 'enabled', 'the relabel');
    expect(names(readWithKube([], new ReadCache(), s))).toContain('VirtualService other/web');
  });

  it('the mesh ConfigMap is read from --istio-namespace only; -f files are never filtered and may give the selectors', async () => {
    const s = await setup('mesh-ns');
    fake!.put('v1/configmaps', meshConfigMap('discoverySelectors: [{matchLabels: {x: y}}]'));
    const { path } = tempYaml({
      'mesh.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: mesh-ns}
data:
  mesh: |
    discoverySelectors:
    - matchLabels: {istio-discovery: enabled}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: from-file, namespace: other}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
`,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(s.results().results.some((x) => x.status === 'mesh')).toBe(false); // istio-system's is not ours
    const r = readWithKube([path('mesh.yaml')], new ReadCache(), s);
    // istio-system stays: it is the mesh's root namespace (meshConfig rootNamespace's default).
    expect(names(r)).toEqual(['Service istio-system/web', 'Service shop/web', 'VirtualService istio-system/web', 'VirtualService other/from-file', 'VirtualService shop/web']);
  });

  it('namespaceDiscovered: always-kept namespaces, unknown namespaces have no labels', () => {
    const keep = namespaceDiscovered([{ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }], new Map([['a', { team: 'x' }]]), ['istio-system']);
    expect(keep('a')).toBe(false);
    expect(keep('unknown')).toBe(true);
    expect(keep('istio-system')).toBe(true);
  });
});
