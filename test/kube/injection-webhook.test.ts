// The injection webhook's AdmissionReview handling (host/kube/injection-webhook.ts): the patch it
// returns, applied as RFC 6902 says (test/helpers/json-patch-apply.ts), gives the same pod as
// `kube-inject` of that pod; pods not to be injected pass unchanged; refusals and unreadable
// reviews are denials with the reason and the uid echoed.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reviewAdmission, workloadOf } from '../../host/kube/injection-webhook.js';
import { kubeInject } from '../../host/kube/kube-inject.js';
import { createJsonPatch } from '../../host/kube/json-patch.js';
import { defaultInjectDefaults } from '../../host/kube/injection-settings.js';
import { applyJsonPatch } from '../helpers/json-patch-apply.js';

const D = defaultInjectDefaults('wasmesh/proxy:test');

type Obj = Record<string, any>;

function review(pod: Obj, extra: Obj = {}): Obj {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'e911857d-c318-11e8-bbad-025000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object: pod,
      ...extra,
    },
  };
}

function patched(pod: Obj, extra: Obj = {}): { out: Obj; ops: Obj[] } {
  const { review: r } = reviewAdmission(review(pod, extra), D);
  expect(r.response.allowed).toBe(true);
  expect(r.response.patchType).toBe('JSONPatch');
  const ops = JSON.parse(Buffer.from(r.response.patch!, 'base64').toString('utf8')) as Obj[];
  return { out: applyJsonPatch(pod, ops as never) as Obj, ops };
}

const POD: Obj = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    labels: { app: 'web', version: 'v1' },
    annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432', 'example.com/a~b': 'x' },
  },
  spec: {
    serviceAccountName: 'web',
    initContainers: [{ name: 'migrate', image: 'busybox' }],
    containers: [{
      name: 'web', image: 'nginx', ports: [{ containerPort: 8080, name: 'http' }],
      readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
      livenessProbe: { tcpSocket: { port: 'http' } },
    }],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
};

describe('injection webhook: the patch is kube-inject\'s pod', () => {
  it('a Pod: patched equals kube-inject of the same Pod (containers, init, volumes, annotations, labels, probes)', () => {
    const { out } = patched(POD);
    const expected = parse(kubeInject(JSON.stringify(POD), 'pod.json', D).yaml) as Obj;
    expect(out).toEqual(expected);
    expect(out.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'migrate']);
    expect(out.spec.containers.map((c: Obj) => c.name)).toEqual(['web', 'istio-proxy']);
    expect(out.metadata.annotations['sidecar.istio.io/status']).toBeDefined();
    // The app's probes point at the sidecar's prober.
    expect(out.spec.containers[0].readinessProbe.httpGet.port).toBe(15020);
  });

  it('holdApplicationUntilProxyStarts and TPROXY: still kube-inject\'s pod (proxy first)', () => {
    const pod = structuredClone(POD);
    pod.metadata.annotations['proxy.istio.io/config'] = '{"holdApplicationUntilProxyStarts": true}';
    pod.metadata.annotations['sidecar.istio.io/interceptionMode'] = 'TPROXY';
    const { out } = patched(pod);
    expect(out).toEqual(parse(kubeInject(JSON.stringify(pod), 'pod.json', D).yaml));
    expect(out.spec.containers[0].name).toBe('istio-proxy');
  });

  it('native sidecars (the webhook\'s ENABLE_NATIVE_SIDECARS on): the patch gives kube-inject\'s native pod, istio-proxy a restartable init container', () => {
    const pod = structuredClone(POD);
    const native = { ...D, nativeSidecars: true };
    const { review: r } = reviewAdmission(review(pod), native);
    const ops = JSON.parse(Buffer.from(r.response.patch!, 'base64').toString('utf8')) as Obj[];
    const out = applyJsonPatch(pod, ops as never) as Obj;
    expect(out).toEqual(parse(kubeInject(JSON.stringify(pod), 'pod.json', native).yaml));
    expect(out.spec.initContainers.map((c: Obj) => [c.name, c.restartPolicy])).toEqual([['istio-init', undefined], ['istio-proxy', 'Always'], ['migrate', undefined]]);
    expect(out.spec.containers.every((c: Obj) => c.name !== 'istio-proxy')).toBe(true);
  });

  it('a grace period the drain does not fit in: injected, with the warning in the response (kubectl prints it)', () => {
    const pod = structuredClone(POD);
    pod.spec.terminationGracePeriodSeconds = 2;
    const { review: r } = reviewAdmission(review(pod), D);
    expect(r.response.allowed).toBe(true);
    expect(r.response.patchType).toBe('JSONPatch');
    expect(r.response.warnings).toHaveLength(1);
    expect(r.response.warnings![0]).toMatch(/^wasmesh sidecar injection: Pod shop\/\S+ spec\.terminationGracePeriodSeconds \(2 s\) is not above terminationDrainDuration \(5 s\)/);
    expect(reviewAdmission(review(structuredClone(POD)), D).review.response.warnings).toBeUndefined();
  });

  it('a pod with no labels, annotations, init containers or volumes: the members are added', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 9000 }] }] } };
    const { out, ops } = patched(pod);
    // kube-inject reads the namespace from the object; the webhook from the request.
    const expected = parse(kubeInject(JSON.stringify({ ...pod, metadata: { name: 'bare', namespace: 'shop' } }), 'p', D).yaml) as Obj;
    delete expected.metadata.namespace;
    expect(out).toEqual(expected);
    expect(ops.some((o) => o.op === 'add' && o.path === '/metadata/annotations')).toBe(true);
  });

  it('a Deployment\'s pod (generateName, a ReplicaSet owner): the Deployment is the workload, the spec equals kube-inject of the Deployment', () => {
    const template = { metadata: { labels: { app: 'reviews', 'pod-template-hash': '5d8f7b9c4' } }, spec: structuredClone(POD.spec) };
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        generateName: 'reviews-v1-5d8f7b9c4-', namespace: 'shop', labels: template.metadata.labels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v1-5d8f7b9c4', uid: 'u', controller: true }],
      },
      spec: template.spec,
    };
    const { out } = patched(pod);
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reviews-v1', namespace: 'shop' }, spec: { template } };
    const injected = parse(kubeInject(JSON.stringify(deploy), 'd', D).yaml) as Obj;
    expect(out.spec).toEqual(injected.spec.template.spec);
    expect(out.metadata.labels).toEqual(injected.spec.template.metadata.labels);
    const env = Object.fromEntries(out.spec.containers.find((c: Obj) => c.name === 'istio-proxy').env.map((e: Obj) => [e.name, e.value]));
    expect(env.ISTIO_META_WORKLOAD_NAME).toBe('reviews-v1');
    expect(env.ISTIO_META_OWNER).toBe('kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v1');
  });

  it('the uid is echoed and the namespace comes from the request when the pod has none', () => {
    const pod = structuredClone(POD);
    delete pod.metadata.namespace;
    const { review: r } = reviewAdmission(review(pod), D);
    expect(r.response.uid).toBe('e911857d-c318-11e8-bbad-025000000001');
    const ops = JSON.parse(Buffer.from(r.response.patch!, 'base64').toString()) as Obj[];
    const out = applyJsonPatch(pod, ops as never) as Obj;
    const env = Object.fromEntries(out.spec.containers.find((c: Obj) => c.name === 'istio-proxy').env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    expect(env.ISTIO_META_OWNER).toContain('/namespaces/shop/');
  });
});

describe('injection webhook: pods left alone are allowed without a patch', () => {
  const unchanged = (pod: Obj, extra: Obj = {}) => {
    const { review: r, outcome } = reviewAdmission(review(pod, extra), D);
    expect(r.response).toEqual({ uid: 'e911857d-c318-11e8-bbad-025000000001', allowed: true });
    expect(outcome.kind).toBe('skipped');
    return outcome;
  };
  it('sidecar.istio.io/inject: "false" (annotation or label)', () => {
    expect(unchanged({ ...POD, metadata: { ...POD.metadata, annotations: { 'sidecar.istio.io/inject': 'false' } } })).toMatchObject({ reason: expect.stringContaining('inject') });
    unchanged({ ...POD, metadata: { ...POD.metadata, labels: { 'sidecar.istio.io/inject': 'false' } } });
  });
  it('already injected: the webhook\'s own output sent again', () => {
    const { out } = patched(POD);
    expect(unchanged(out)).toMatchObject({ reason: expect.stringContaining('already injected') });
  });
  it('hostNetwork', () => {
    unchanged({ ...POD, spec: { ...POD.spec, hostNetwork: true } });
  });
  it('kube-system, and a request that is not a Pod CREATE', () => {
    unchanged(POD, { namespace: 'kube-system' });
    unchanged(POD, { operation: 'UPDATE' });
    unchanged(POD, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } });
  });
});

describe('injection webhook: refusals are denials with the reason (istiod: toAdmissionResponse)', () => {
  it('a bad annotation: denied, naming the pod and the annotation', () => {
    const pod = structuredClone(POD);
    pod.metadata.annotations['traffic.sidecar.istio.io/excludeOutboundIPRanges'] = '10.0.0.0/33';
    const { review: r, outcome } = reviewAdmission(review(pod), D);
    expect(r.response.allowed).toBe(false);
    expect(r.response.uid).toBe('e911857d-c318-11e8-bbad-025000000001');
    expect(r.response.patch).toBeUndefined();
    expect(r.response.status!.message).toMatch(/Pod shop\/web-1 metadata\.annotations\["traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges"\]: .*10\.0\.0\.0\/33/);
    expect(outcome.kind).toBe('denied');
  });
  it('a pod without TCP ports: denied with the way out', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } };
    expect(reviewAdmission(review(pod), D).review.response.status!.message).toMatch(/no TCP containerPort.*inject: "false"/);
  });
  it('a pod without containers: denied at spec.containers', () => {
    expect(reviewAdmission(review({ metadata: { name: 'p' }, spec: {} }), D).review.response.status!.message).toMatch(/spec\.containers: a pod needs at least one container/);
  });
  it('unreadable reviews: not an object, v1beta1, no request, no uid, no object', () => {
    expect(reviewAdmission('x', D).review.response).toMatchObject({ uid: '', allowed: false, status: { message: expect.stringContaining('not an AdmissionReview') } });
    const beta = { ...review(POD), apiVersion: 'admission.k8s.io/v1beta1' };
    expect(reviewAdmission(beta, D).review.response).toMatchObject({ uid: 'e911857d-c318-11e8-bbad-025000000001', allowed: false, status: { message: expect.stringContaining('admissionReviewVersions: [v1]') } });
    expect(reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, D).review.response.status!.message).toContain('no request');
    const noUid = review(POD);
    delete noUid.request.uid;
    expect(reviewAdmission(noUid, D).review.response.status!.message).toContain('request.uid');
    expect(reviewAdmission(review(null as never), D).review.response).toMatchObject({ allowed: false, status: { message: expect.stringContaining('request.object') } });
  });
});

describe('workloadOf (istiod GetDeployMetaFromPod)', () => {
  it('a ReplicaSet without the hash label, a StatefulSet, no owner', () => {
    expect(workloadOf({ ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', apiVersion: 'apps/v1', controller: true }] }, '', 'n')).toEqual({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', namespace: 'n' });
    expect(workloadOf({ ownerReferences: [{ kind: 'StatefulSet', name: 'db', apiVersion: 'apps/v1', controller: true }] }, 'db-0', 'n')).toMatchObject({ kind: 'StatefulSet', name: 'db' });
    expect(workloadOf({ name: 'p' }, 'p', 'n')).toEqual({ apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'n' });
  });
});

describe('createJsonPatch', () => {
  it('escapes ~ and / in keys, removes, adds, replaces lists whole', () => {
    const from = { a: { 'x/y': 1, 'p~q': 2, gone: true }, list: [1, 2], same: [1] };
    const to = { a: { 'x/y': 3, 'p~q': 2, 'new/k': 'v' }, list: [1, 2, 3], same: [1] };
    const ops = createJsonPatch(from, to);
    expect(ops).toEqual([
      { op: 'remove', path: '/a/gone' },
      { op: 'replace', path: '/a/x~1y', value: 3 },
      { op: 'add', path: '/a/new~1k', value: 'v' },
      { op: 'replace', path: '/list', value: [1, 2, 3] },
    ]);
    expect(applyJsonPatch(from, ops as never)).toEqual(to);
    expect(createJsonPatch(to, to)).toEqual([]);
  });
});
