// The injection webhook configuration's caBundle kept equal to the CA root (istiod's webhook
// controller) against an in-memory API server: patched when applied without one, put back after
// an edit, only the `*.sidecar-injector.istio.io` webhooks touched, the patch guarded by the
// resourceVersion; a missing configuration is said once and patched when it appears.
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../host/kube/kube-api.js';
import { injectionWebhookConfiguration } from '../../host/kube/injection-webhook-config.js';
import { WebhookCaBundlePatcher } from '../../host/kube/webhook-ca-bundle.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';

const ROOT = '-----BEGIN CERTIFICATE-----\nMIIroot\n-----END CERTIFICATE-----\n';
const B64 = Buffer.from(ROOT).toString('base64');
const MWC = 'admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

let fake: FakeKubeApi;
let api: KubeApi;
let patcher: WebhookCaBundlePatcher;
afterEach(async () => {
  patcher?.close();
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

function config(name = 'istio-sidecar-injector', caBundlePem = 'stale'): Record<string, any> {
  const c = injectionWebhookConfiguration({ url: 'https://127.0.0.1:15017/inject', caBundlePem }) as Record<string, any>;
  c.metadata.name = name;
  c.webhooks.push({ ...structuredClone(c.webhooks[0]), name: 'other.example.com', clientConfig: { url: 'https://x/other', caBundle: 'b3RoZXI=' } });
  return c;
}

async function start(name?: string): Promise<string[]> {
  api = new KubeApi({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' });
  const logs: string[] = [];
  patcher = new WebhookCaBundlePatcher({ api, rootPem: () => ROOT, log: (l, m) => void logs.push(`${l} ${m}`), backoff: { initialMs: 20, maxMs: 40 }, ...(name ? { name } : {}) });
  await patcher.start();
  return logs;
}

const bundles = (name = 'istio-sidecar-injector'): string[] => (fake.get(MWC, null, name)?.webhooks ?? []).map((w: any) => w.clientConfig.caBundle);

describe('WebhookCaBundlePatcher', () => {
  it('patches the sidecar-injector webhooks to the root, leaves other webhooks alone, and puts it back after an edit', async () => {
    fake = await new FakeKubeApi().start();
    fake.put(MWC, config());
    await start();
    await until(() => bundles()[0] === B64 && bundles()[1] === B64, 'the caBundle patched');
    expect(bundles()[2]).toBe('b3RoZXI=');
    const patch = fake.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.url).toBe(`/apis/${MWC}/istio-sidecar-injector`);
    expect((patch.body as Array<{ op: string; path: string }>)[0]).toMatchObject({ op: 'test', path: '/metadata/resourceVersion' });
    // An edit (a re-apply with an old bundle) is patched back.
    const edited = fake.get(MWC, null, 'istio-sidecar-injector')!;
    edited.webhooks[0].clientConfig.caBundle = 'c3RhbGU=';
    fake.put(MWC, edited);
    await until(() => bundles()[0] === B64, 'the edited caBundle put back');
    await patcher.idle();
    expect(patcher.stats.patches).toBe(2);
    // Nothing to do when it is right: no further patch.
    const before = fake.requests.filter((r) => r.method === 'PATCH').length;
    patcher.poke();
    await patcher.idle();
    expect(fake.requests.filter((r) => r.method === 'PATCH').length).toBe(before);
  });

  it('a missing configuration is said once, then patched when it is applied; another name with --webhook-config-name', async () => {
    fake = await new FakeKubeApi().start();
    const logs = await start('my-injector');
    await patcher.idle();
    expect(logs.filter((l) => /MutatingWebhookConfiguration my-injector does not exist/.test(l)).length).toBe(1);
    fake.put(MWC, config('istio-sidecar-injector'));
    fake.put(MWC, config('my-injector'));
    await until(() => bundles('my-injector')[0] === B64, 'my-injector patched');
    expect(bundles('istio-sidecar-injector')[0]).not.toBe(B64);
  });

  it('a configuration without a sidecar-injector webhook is an error, retried', async () => {
    fake = await new FakeKubeApi().start();
    const c = config();
    c.webhooks = [c.webhooks[2]];
    fake.put(MWC, c);
    const logs = await start();
    await until(() => patcher.lastError !== null, 'the error');
    expect(logs.join('\n')).toMatch(/has no webhook named \*\.sidecar-injector\.istio\.io to patch; retrying/);
  });
});
