// The sidecar injection webhook against a real kube-apiserver (test/helpers/kube-cluster.ts):
// `wasmesh control-plane --ca-dir … --webhook-listen 127.0.0.1:<port>` run as the real binary (a
// child process: the helper's kubectl is synchronous and would stall an in-process server), its
// MutatingWebhookConfiguration from `wasmesh install --webhook-only --webhook-url … --ca-dir …`
// applied, then pods created with kubectl and read back: injected in a namespace labelled
// istio-injection=enabled, unchanged elsewhere and when opted out, refused with the reason when
// the injector refuses; with the webhook stopped, failurePolicy Fail refuses pods and Ignore
// admits them uninjected. No controller manager runs: a Deployment is stored but makes no pods.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCommand } from '../../host/cli/install-command.js';
import { freePort } from '../../host/common/free-port.js';
import { fakeIo } from '../helpers/fake-io.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`injection webhook API server tests skipped: ${unavailable}`);

type Obj = Record<string, any>;

const pod = (name: string, namespace: string, meta: Obj = {}): string => JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: name, ...(meta.labels ?? {}) }, annotations: meta.annotations ?? {} },
  spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080, name: 'http' }], readinessProbe: { httpGet: { path: '/ready', port: 8080 } } }] },
});

describe.skipIf(unavailable !== null)('injection webhook in a real API server', () => {
  let kube: KubeCluster;
  let dir: string;
  let webhookPort: number;
  let cp: WasmeshProcess;

  const get = (ns: string, name: string): Obj => {
    const r = kube.kubectl(['get', 'pod', '-n', ns, name, '-o', 'json']);
    if (r.status !== 0) throw new Error(`get pod ${ns}/${name}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Obj;
  };
  const create = (text: string) => kube.kubectl(['create', '-f', '-'], text);
  const names = (p: Obj) => ({ init: (p.spec.initContainers ?? []).map((c: Obj) => c.name), containers: p.spec.containers.map((c: Obj) => c.name) });
  const metrics = async (): Promise<string> => {
    const port = Number(/monitoring on http:\/\/127\.0\.0\.1:(\d+)/.exec(cp.stderr)![1]);
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  };
  const install = async (policy: 'Fail' | 'Ignore'): Promise<string> => {
    const io = fakeIo();
    const code = await installCommand(['--webhook-only', '--ca-dir', join(dir, 'ca'), '--webhook-url', `https://127.0.0.1:${webhookPort}/inject`, '--failure-policy', policy], io);
    expect(code, io.stderr).toBe(0);
    return io.stdout;
  };

  beforeAll(async () => {
    kube = await startKubeCluster();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-webhook-'));
    writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext, namespace: default}\nspec: {hosts: [ext.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n');
    webhookPort = await freePort('127.0.0.1');
    await ensureBuilt();
    cp = new WasmeshProcess([
      'control-plane', '-f', join(dir, 'mesh.yaml'), '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
      '--ca-dir', join(dir, 'ca'), '--secure-listen', '127.0.0.1:0',
      '--webhook-listen', `127.0.0.1:${webhookPort}`, '--webhook-image', 'wasmesh/proxy:test',
    ]);
    await cp.waitFor(/sidecar injection webhook on https:\/\/127\.0\.0\.1:\d+\/inject/);
    for (const ns of ['inj', 'plain']) {
      const r = kube.kubectl(['create', 'namespace', ns]);
      if (r.status !== 0) throw new Error(r.stderr);
      // No controller manager: nothing creates the default ServiceAccount a pod's admission looks up.
      const sa = kube.kubectl(['create', 'serviceaccount', 'default', '-n', ns]);
      if (sa.status !== 0 && !/already exists/.test(sa.stderr)) throw new Error(sa.stderr);
    }
    expect(kube.kubectl(['label', 'namespace', 'inj', 'istio-injection=enabled']).status).toBe(0);
    const applied = kube.kubectl(['apply', '-f', '-'], await install('Fail'));
    if (applied.status !== 0) throw new Error(`apply of the webhook configuration: ${applied.stderr}`);
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the configuration is stored as Istio\'s istio-sidecar-injector, with the CA bundle of the control plane\'s CA', () => {
    const r = kube.kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const cfg = JSON.parse(r.stdout) as Obj;
    const ns = cfg.webhooks.find((w: Obj) => w.name === 'namespace.sidecar-injector.istio.io');
    expect(ns).toMatchObject({
      failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'],
      namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      clientConfig: { url: `https://127.0.0.1:${webhookPort}/inject` },
    });
    expect(Buffer.from(ns.clientConfig.caBundle, 'base64').toString()).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('a pod in the labelled namespace comes back injected; in the unlabelled one unchanged', async () => {
    let r = create(pod('web', 'inj'));
    expect(r.status, r.stderr).toBe(0);
    const injected = get('inj', 'web');
    expect(names(injected)).toEqual({ init: ['istio-init'], containers: ['app', 'istio-proxy'] });
    expect(injected.metadata.annotations['sidecar.istio.io/status']).toContain('istio-proxy');
    const proxy = injected.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    expect(proxy.image).toBe('wasmesh/proxy:test');
    expect(proxy.env.find((e: Obj) => e.name === 'ISTIO_META_OWNER').value).toBe('kubernetes://apis/v1/namespaces/inj/pods/web');
    // The app's probe goes to the sidecar's prober, as kube-inject rewrites it.
    expect(injected.spec.containers[0].readinessProbe.httpGet.port).toBe(15020);

    r = create(pod('web', 'plain'));
    expect(r.status, r.stderr).toBe(0);
    expect(names(get('plain', 'web'))).toEqual({ init: [], containers: ['app'] });
    expect(await metrics()).toMatch(/sidecar_injection_success_total 1\b/);
  });

  it('sidecar.istio.io/nativeSidecar: "true": the stored pod has istio-proxy as a restartable init container after istio-init', () => {
    const r = create(pod('native', 'inj', { annotations: { 'sidecar.istio.io/nativeSidecar': 'true' } }));
    expect(r.status, r.stderr).toBe(0);
    const p = get('inj', 'native');
    expect(names(p)).toEqual({ init: ['istio-init', 'istio-proxy'], containers: ['app'] });
    const proxy = p.spec.initContainers[1];
    expect(proxy.restartPolicy).toBe('Always');
    expect(proxy.startupProbe.httpGet).toMatchObject({ path: '/healthz/ready', port: 15021 });
    expect(proxy.env.find((e: Obj) => e.name === 'TERMINATION_DRAIN_DURATION_SECONDS').value).toBe('5');
  });

  it('a pod whose grace period the drain does not fit in is created injected, and kubectl prints the webhook\'s warning', () => {
    const p = JSON.parse(pod('short-grace', 'inj'));
    p.spec.terminationGracePeriodSeconds = 3;
    const r = create(JSON.stringify(p));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Warning: wasmesh sidecar injection: Pod inj\/short-grace spec\.terminationGracePeriodSeconds \(3 s\) is not above terminationDrainDuration \(5 s\)/);
    expect(names(get('inj', 'short-grace')).containers).toEqual(['app', 'istio-proxy']);
  });

  it('--webhook-native-sidecars auto with --kube: on, read from this API server\'s version (1.34 >= 1.33)', async () => {
    const auto = new WasmeshProcess([
      'control-plane', '-f', join(dir, 'mesh.yaml'), '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
      '--ca-dir', join(dir, 'ca'), '--secure-listen', '127.0.0.1:0', '--kube', '--kubeconfig', kube.kubeconfig,
      '--webhook-listen', `127.0.0.1:${await freePort('127.0.0.1')}`, '--webhook-native-sidecars', 'auto',
    ]);
    try {
      await auto.waitFor(/injection webhook: native sidecars (on|off) \(auto, Kubernetes [^)]*\)/, 'stderr', 60_000);
      expect(auto.stderr).toMatch(/injection webhook: native sidecars on \(auto, Kubernetes 1\.34\)/);
    } finally {
      await auto.stop();
    }
  }, 90_000);

  it('opted out in the labelled namespace: by label (the objectSelector: never sent) and by annotation (sent, allowed unpatched)', async () => {
    let r = create(pod('out-label', 'inj', { labels: { 'sidecar.istio.io/inject': 'false' } }));
    expect(r.status, r.stderr).toBe(0);
    expect(names(get('inj', 'out-label'))).toEqual({ init: [], containers: ['app'] });
    const before = Number(/sidecar_injection_skip_total (\d+)/.exec(await metrics())![1]);
    r = create(pod('out-annotation', 'inj', { annotations: { 'sidecar.istio.io/inject': 'false' } }));
    expect(r.status, r.stderr).toBe(0);
    expect(names(get('inj', 'out-annotation'))).toEqual({ init: [], containers: ['app'] });
    expect(Number(/sidecar_injection_skip_total (\d+)/.exec(await metrics())![1])).toBe(before + 1);
  });

  it('a pod labelled sidecar.istio.io/inject=true in an unlabelled namespace is injected (object.sidecar-injector.istio.io)', () => {
    const r = create(pod('opt-in', 'plain', { labels: { 'sidecar.istio.io/inject': 'true' } }));
    expect(r.status, r.stderr).toBe(0);
    expect(names(get('plain', 'opt-in')).containers).toEqual(['app', 'istio-proxy']);
  });

  it('a pod the injector refuses (a bad annotation) is refused by the API server with the located reason', () => {
    const r = create(pod('bad', 'inj', { annotations: { 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/33' } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/admission webhook "namespace\.sidecar-injector\.istio\.io" denied the request: wasmesh sidecar injection: Pod inj\/bad metadata\.annotations\["traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges"\]/);
    expect(kube.kubectl(['get', 'pod', '-n', 'inj', 'bad']).status).not.toBe(0);
  });

  it('a Deployment is stored (its pods would be injected when a controller manager made them: none runs here)', () => {
    const r = kube.kubectl(['create', 'deployment', 'reviews', '-n', 'inj', '--image=busybox', '--port=9080']);
    expect(r.status, r.stderr).toBe(0);
    expect(kube.kubectl(['get', 'pods', '-n', 'inj', '-l', 'app=reviews', '-o', 'name']).stdout.trim()).toBe('');
  });

  it('with the webhook stopped: failurePolicy Fail refuses the pod, Ignore admits it uninjected', async () => {
    expect(await cp.stop()).toEqual({ code: 0, signal: null });
    let r = create(pod('while-down', 'inj'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/failed calling webhook "namespace\.sidecar-injector\.istio\.io"/);
    // The unlabelled namespace is not sent to the webhook at all.
    r = create(pod('while-down', 'plain'));
    expect(r.status, r.stderr).toBe(0);

    r = kube.kubectl(['apply', '-f', '-'], await install('Ignore'));
    expect(r.status, r.stderr).toBe(0);
    r = create(pod('while-down', 'inj'));
    expect(r.status, r.stderr).toBe(0);
    expect(names(get('inj', 'while-down'))).toEqual({ init: [], containers: ['app'] });
  }, 60_000);
});
