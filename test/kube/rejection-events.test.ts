// A refused Istio object reported ON the object: the Event's shape (involvedObject, reason,
// type, the located message under IST0106, a long message cut), sent in order in the background,
// a failure (403: no RBAC for events) logged once and the rest still sent; and KubeResourceSource
// calling it once per object and resourceVersion.
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../host/kube/kube-api.js';
import { KubeResourceSource, type RejectedObject } from '../../host/kube/kube-resource-source.js';
import { rejectionEvent, RejectionEvents } from '../../host/kube/rejection-events.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';

let fake: FakeKubeApi | null = null;
let api: KubeApi | null = null;
let source: KubeResourceSource | null = null;
afterEach(async () => {
  source?.close();
  api?.close();
  await fake?.stop();
  fake = null;
});

const rejected = (name: string, issue = 'kube-apiserver VirtualService shop/x: spec.http[0].timeout: invalid duration "soon"'): RejectedObject => ({
  apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'shop', name, uid: `uid-${name}`, resourceVersion: '42', issues: [issue],
});

describe('rejectionEvent', () => {
  it('is a Warning Event named after the object, on it, with the located reason', () => {
    const e = rejectionEvent(rejected('broken'), new Date('2026-12-06T23:00:00.123Z'), 'cp-0') as Record<string, any>;
    expect(e).toMatchObject({
      apiVersion: 'v1', kind: 'Event',
      metadata: { namespace: 'shop' },
      involvedObject: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'shop', name: 'broken', uid: 'uid-broken', resourceVersion: '42' },
      reason: 'Rejected', type: 'Warning', source: { component: 'wasmesh-control-plane' }, reportingComponent: 'wasmesh-control-plane', reportingInstance: 'cp-0',
      firstTimestamp: '2026-12-06T23:00:00Z', lastTimestamp: '2026-12-06T23:00:00Z', count: 1,
    });
    expect(e.metadata.name).toMatch(/^broken\.[0-9a-f]+$/);
    expect(e.message).toBe('IST0106 (SchemaValidationError) VirtualService shop/broken is not served by the mesh: spec.http[0].timeout: invalid duration "soon"');
  });

  it('cuts a long message at 1,024 characters', () => {
    const e = rejectionEvent(rejected('long', `kube-apiserver VirtualService shop/long: ${'x'.repeat(3000)}`), new Date(), 'i') as { message: string };
    expect(e.message.length).toBe(1024);
    expect(e.message.endsWith('…')).toBe(true);
  });
});

describe('RejectionEvents', () => {
  it('posts each Event to the object\'s namespace; a 403 is logged once and the next still sent', async () => {
    fake = await new FakeKubeApi().start();
    fake.fail('POST', /events/, 403, 2);
    api = new KubeApi({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' });
    const logs: string[] = [];
    const events = new RejectionEvents(api, (l, m) => void logs.push(`${l} ${m}`), { instance: 'cp-0' });
    events.report(rejected('a'));
    events.report(rejected('b'));
    events.report(rejected('c'));
    await events.idle();
    expect(events.stats).toEqual({ sent: 1, failed: 2, dropped: 0 });
    expect(logs.filter((l) => /could not record the Event/.test(l)).length).toBe(1);
    expect(fake.list('v1/events').map((e) => e.involvedObject.name)).toEqual(['c']);
  });

  it('keeps at most maxQueued waiting, dropping the oldest', async () => {
    fake = await new FakeKubeApi().start();
    api = new KubeApi({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' });
    const events = new RejectionEvents(api, () => {}, { maxQueued: 2 });
    for (const n of ['a', 'b', 'c', 'd']) events.report(rejected(n));
    await events.idle();
    // 'a' was taken by the sender at once; of b, c, d the oldest (b) was dropped.
    expect(events.stats).toEqual({ sent: 3, failed: 0, dropped: 1 });
    expect(fake.list('v1/events').map((e) => e.involvedObject.name)).toEqual(['a', 'c', 'd']);
  });

  it('KubeResourceSource reports a refused object once per resourceVersion, again when it changes', async () => {
    fake = await new FakeKubeApi().start();
    const vs = (timeout: string): Record<string, unknown> => ({
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'broken', namespace: 'shop' },
      spec: { hosts: ['web'], http: [{ timeout, route: [{ destination: { host: 'web' } }] }] },
    });
    fake.put('networking.istio.io/v1/virtualservices', vs('soon'));
    const reported: RejectedObject[] = [];
    source = new KubeResourceSource({ server: fake.url, insecureSkipTlsVerify: false, origin: 'fake' }, { log: () => {}, onRejected: (r) => void reported.push(r), reflector: { backoff: { initialMs: 5_000, maxMs: 5_000 } } });
    await source.start();
    source.results();
    source.results();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'shop', name: 'broken', uid: 'uid-broken' });
    expect(reported[0]!.issues[0]).toMatch(/spec\.http\[0\]\.timeout/);
    fake.put('networking.istio.io/v1/virtualservices', vs('later'));
    const end = Date.now() + 5_000;
    while (reported.length < 2 && Date.now() < end) {
      source.results();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(reported).toHaveLength(2);
  });
});
