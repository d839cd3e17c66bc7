// The istio-ca-root-cert ConfigMap in every namespace (istiod's namespace controller) against an
// in-memory API server: created where missing, with Istio's key and label; put back when edited
// or deleted; a new namespace gets one; Kubernetes' own, terminating and undiscovered namespaces
// do not; a 403 is retried with backoff and logged once; a 409 (created meanwhile) is not an error.
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../host/kube/kube-api.js';
import { Reflector } from '../../host/kube/reflector.js';
import { RootCertPublisher, ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY } from '../../host/kube/root-cert-publisher.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';

const ROOT = '-----BEGIN CERTIFICATE-----\nMIIroot\n-----END CERTIFICATE-----\n';
const NS = 'v1/namespaces';
const CM = 'v1/configmaps';

let fake: FakeKubeApi;
let api: KubeApi;
let namespaces: Reflector;
let publisher: RootCertPublisher;
afterEach(async () => {
  publisher?.close();
  namespaces?.close();
  api?.close();
  await fake?.stop();
});

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(opts: { discovered?: (ns: string) => boolean; before?: (f: FakeKubeApi) => void } = {}): Promise<string[]> {
  fake = await new FakeKubeApi().start();
  for (const n of ['default', 'shop', 'kube-system', 'kube-public']) fake.put(NS, { metadata: { name: n } });
  fake.put(NS, { metadata: { name: 'leaving', deletionTimestamp: '2026-12-06T00:00:00Z' }, status: { phase: 'Terminating' } });
  opts.before?.(fake);
  api = new KubeApi({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' });
  const logs: string[] = [];
  const log = (level: string, m: string): void => void logs.push(`${level} ${m}`);
  namespaces = new Reflector(api, { path: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace', onChange: () => publisher?.poke(), log });
  await namespaces.start();
  publisher = new RootCertPublisher({ api, rootPem: () => ROOT, namespaces: () => namespaces.objects, log, backoff: { initialMs: 20, maxMs: 40 }, ...(opts.discovered ? { discovered: opts.discovered } : {}) });
  await publisher.start();
  return logs;
}

const rootIn = (ns: string): string | undefined => fake.get(CM, ns, ROOT_CERT_CONFIGMAP)?.data?.[ROOT_CERT_KEY];

describe('RootCertPublisher', () => {
  it('creates the ConfigMap in each namespace with the root and Istio\'s label; not in kube-* or terminating ones', async () => {
    await setup();
    await until(() => rootIn('default') !== undefined && rootIn('shop') !== undefined, 'the ConfigMaps');
    await publisher.idle();
    expect(fake.list(CM).map((c) => c.metadata.namespace).sort()).toEqual(['default', 'shop']);
    expect(fake.get(CM, 'shop', ROOT_CERT_CONFIGMAP)).toMatchObject({ metadata: { labels: { 'istio.io/config': 'true' } }, data: { [ROOT_CERT_KEY]: ROOT } });
    expect(publisher.stats.created).toBe(2);
  });

  it('a new namespace gets one; a deleted one comes back; an edited one is restored, its other keys kept', async () => {
    await setup();
    await until(() => rootIn('shop') === ROOT, 'the first ConfigMap');
    fake.put(NS, { metadata: { name: 'late' } });
    await until(() => rootIn('late') === ROOT, 'the new namespace\'s ConfigMap');
    fake.delete(CM, 'shop', ROOT_CERT_CONFIGMAP);
    await until(() => rootIn('shop') === ROOT, 'the deleted ConfigMap back');
    const cm = fake.get(CM, 'default', ROOT_CERT_CONFIGMAP)!;
    fake.put(CM, { ...cm, data: { [ROOT_CERT_KEY]: 'tampered', extra: 'kept' } });
    await until(() => rootIn('default') === ROOT, 'the edited ConfigMap restored');
    expect(fake.get(CM, 'default', ROOT_CERT_CONFIGMAP)!.data.extra).toBe('kept');
    // Counted once the PUT's answer is read, after the fake stored the object.
    await until(() => publisher.stats.updated === 1, 'the restore counted');
    // Restoring one is a PUT of the object read, with its resourceVersion (a concurrent edit gets 409).
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.url).toBe(`/api/v1/namespaces/default/configmaps/${ROOT_CERT_CONFIGMAP}`);
    expect((put.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toMatch(/^\d+$/);
  });

  it('leaves out namespaces that are not discovered', async () => {
    await setup({ discovered: (ns) => ns === 'shop' });
    await until(() => rootIn('shop') === ROOT, 'shop\'s ConfigMap');
    await publisher.idle();
    expect(rootIn('default')).toBeUndefined();
  });

  it('a 403 is logged once and retried with backoff; an existing one (409 on create) is left to the watch', async () => {
    const logs = await setup({ before: (f) => f.fail('POST', /namespaces\/shop\/configmaps/, 403, 3) });
    await until(() => rootIn('shop') === ROOT, 'shop\'s ConfigMap after the 403s', 5_000);
    const warned = logs.filter((l) => l.startsWith('warn') && l.includes('403'));
    expect(warned.length).toBe(1);
    expect(warned[0]).toMatch(/istio-ca-root-cert ConfigMaps: 1 namespace\(s\) not written: shop: POST \/api\/v1\/namespaces\/shop\/configmaps: 403/);
    // The recovery is logged once the write's answer is read, after the fake stored the object.
    await until(() => logs.some((l) => /working again/.test(l)), 'the recovery logged', 5_000);
  });
});
