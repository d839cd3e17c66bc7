// Native sidecars at injection (host/kube/sidecar-injection.ts with host/kube/native-sidecars.ts):
// istio-proxy as an init container with `restartPolicy: Always` right after istio-init, its
// startupProbe holding the app back, chosen as istiod does (ENABLE_NATIVE_SIDECARS true/false/auto
// by the Kubernetes version, the `sidecar.istio.io/nativeSidecar` annotation per pod), and the
// ProxyConfig terminationDrainDuration handed to the sidecar.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { kubeInject, KubeInjectError } from '../../host/kube/kube-inject.js';
import { defaultInjectDefaults, meshConfigDefaults, InjectSettingError } from '../../host/kube/injection-settings.js';
import { kubeVersionOf, nativeSidecarMode, nativeSidecarsFor } from '../../host/kube/native-sidecars.js';

const IMAGE = 'wasmesh/proxy:test';
type Obj = Record<string, any>;

const JOB = (annotations: Obj = {}, initContainers?: Obj[]): Obj => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop' },
  spec: { template: { metadata: { labels: { app: 'migrate' }, annotations }, spec: {
    restartPolicy: 'Never',
    ...(initContainers ? { initContainers } : {}),
    containers: [{ name: 'migrate', image: 'busybox', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/ready', port: 8080 } } }],
  } } },
});

function inject(o: Obj, defaults = defaultInjectDefaults(IMAGE)): Obj {
  const r = kubeInject(stringify(o), 'in.yaml', defaults);
  expect(r.injected).toBe(1);
  return (parseAllDocuments(r.yaml)[0]!.toJS() as Obj).spec.template;
}
const NATIVE = { ...defaultInjectDefaults(IMAGE), nativeSidecars: true };
const envOf = (c: Obj): Record<string, unknown> => Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));

describe('native sidecar injection', () => {
  it('puts istio-proxy among the init containers, after istio-init and before the pod\'s own, with restartPolicy Always and a startupProbe', () => {
    const t = inject(JOB({}, [{ name: 'fetch-schema', image: 'curl' }]), NATIVE);
    expect(t.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'istio-proxy', 'fetch-schema']);
    expect(t.spec.containers.map((c: Obj) => c.name)).toEqual(['migrate']);
    const proxy = t.spec.initContainers[1];
    expect(proxy.restartPolicy).toBe('Always');
    expect(proxy.startupProbe).toEqual({ failureThreshold: 600, httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 1, timeoutSeconds: 3 });
    expect(proxy.readinessProbe.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
    expect(proxy.lifecycle).toBeUndefined();
    expect(t.spec.initContainers[0].restartPolicy).toBeUndefined();
    expect(JSON.parse(t.metadata.annotations['sidecar.istio.io/status'])).toMatchObject({ initContainers: ['istio-init', 'istio-proxy'], containers: [] });
    // The app's probe still goes through the sidecar's prober, whose env names the app container.
    expect(t.spec.containers[0].readinessProbe.httpGet).toEqual({ path: '/app-health/migrate/readyz', port: 15020, scheme: 'HTTP' });
    expect(envOf(proxy).ISTIO_META_APP_CONTAINERS).toBe('migrate');
  });

  it('holdApplicationUntilProxyStarts with native sidecars: no postStart hook (the startupProbe holds the app), the app stays in containers', () => {
    const t = inject(JOB({ 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true' }), NATIVE);
    const proxy = t.spec.initContainers.find((c: Obj) => c.name === 'istio-proxy');
    expect(proxy.lifecycle).toBeUndefined();
    expect(t.spec.containers.map((c: Obj) => c.name)).toEqual(['migrate']);
  });

  it('the annotation overrides the injector either way; a bad value is an error at the annotation', () => {
    const off = inject(JOB({ 'sidecar.istio.io/nativeSidecar': 'false' }), NATIVE);
    expect(off.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init']);
    expect(off.spec.containers.map((c: Obj) => c.name)).toEqual(['migrate', 'istio-proxy']);
    const on = inject(JOB({ 'sidecar.istio.io/nativeSidecar': 'true' }));
    expect(on.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    let err: unknown;
    try {
      kubeInject(stringify(JOB({ 'sidecar.istio.io/nativeSidecar': 'yes' })), 'in.yaml', NATIVE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KubeInjectError);
    expect((err as Error).message).toMatch(/spec\.template\.metadata\.annotations\["sidecar\.istio\.io\/nativeSidecar"\]: must be "true" or "false", got "yes"/);
  });

  it('a native-injected pod is not injected twice', () => {
    const once = kubeInject(stringify(JOB()), 'in.yaml', NATIVE).yaml;
    const twice = kubeInject(once, 'in.yaml', NATIVE);
    expect(twice.injected).toBe(0);
    expect(twice.notes[0]).toMatch(/already injected/);
  });
});

describe('ENABLE_NATIVE_SIDECARS: true, false, auto by the Kubernetes version', () => {
  it('auto is on from Kubernetes 1.33 (Istio 1.27+), off below and when the version is unknown', () => {
    expect(nativeSidecarsFor('auto', { major: 1, minor: 33 })).toBe(true);
    expect(nativeSidecarsFor('auto', kubeVersionOf({ major: '1', minor: '34+' }))).toBe(true);
    expect(nativeSidecarsFor('auto', kubeVersionOf('v1.32.5'))).toBe(false);
    expect(nativeSidecarsFor('auto', kubeVersionOf('1.29'))).toBe(false);
    expect(nativeSidecarsFor('auto', null)).toBe(false);
    expect(nativeSidecarsFor('true', null)).toBe(true);
    expect(nativeSidecarsFor('false', { major: 1, minor: 34 })).toBe(false);
    expect(kubeVersionOf('latest')).toBeNull();
  });

  it('a mode other than true/false/auto is refused, naming where it came from', () => {
    expect(nativeSidecarMode('AUTO', '--native-sidecars')).toBe('auto');
    expect(() => nativeSidecarMode('maybe', '--native-sidecars')).toThrow('--native-sidecars must be true, false or auto, got "maybe"');
  });
});

describe('terminationDrainDuration → TERMINATION_DRAIN_DURATION_SECONDS', () => {
  const drainOf = (t: Obj): unknown => envOf([...t.spec.containers, ...(t.spec.initContainers ?? [])].find((c: Obj) => c.name === 'istio-proxy')).TERMINATION_DRAIN_DURATION_SECONDS;

  it('Istio\'s 5 s by default; the mesh config\'s defaultConfig; the pod\'s proxy.istio.io/config over both (rounded up to seconds)', () => {
    expect(drainOf(inject(JOB()))).toBe('5');
    const mesh = meshConfigDefaults('defaultConfig:\n  terminationDrainDuration: 20s\n', defaultInjectDefaults(IMAGE));
    expect(drainOf(inject(JOB(), mesh))).toBe('20');
    expect(drainOf(inject(JOB({ 'proxy.istio.io/config': 'terminationDrainDuration: 1m30s' }), mesh))).toBe('90');
    expect(drainOf(inject(JOB({ 'proxy.istio.io/config': '{"terminationDrainDuration": "1500ms"}' })))).toBe('2');
  });

  it('a value that is not a duration is an error at the annotation or at the mesh config field', () => {
    expect(() => kubeInject(stringify(JOB({ 'proxy.istio.io/config': 'terminationDrainDuration: 5' })), 'in.yaml', defaultInjectDefaults(IMAGE)))
      .toThrow(/proxy\.istio\.io\/config"\] terminationDrainDuration: must be a duration such as "5s" or "1m30s", got 5/);
    expect(() => meshConfigDefaults('defaultConfig:\n  terminationDrainDuration: soon\n', defaultInjectDefaults(IMAGE)))
      .toThrow(InjectSettingError);
  });
});

describe('terminationGracePeriodSeconds vs the drain: a warning, not a refusal', () => {
  const withGrace = (grace: number | undefined, annotations: Obj = {}): Obj => {
    const job = JOB(annotations);
    if (grace !== undefined) job.spec.template.spec.terminationGracePeriodSeconds = grace;
    return job;
  };
  const notesOf = (o: Obj, defaults = defaultInjectDefaults(IMAGE)) => kubeInject(stringify(o), 'in.yaml', defaults);

  it('none while the grace period (default 30 s) is above the drain; one, located, when it is not', () => {
    expect(notesOf(withGrace(undefined)).notes).toEqual([]);
    expect(notesOf(withGrace(6)).notes).toEqual([]);
    const r = notesOf(withGrace(5));
    expect(r.injected).toBe(1);
    expect(r.notes).toEqual([
      'in.yaml: document 1 Job shop/migrate: warning: spec.template.spec.terminationGracePeriodSeconds (5 s) is not above terminationDrainDuration (5 s): ' +
        'the kubelet kills istio-proxy before its drain ends; raise it, or lower terminationDrainDuration in proxy.istio.io/config',
    ]);
    const native = notesOf(withGrace(undefined, { 'proxy.istio.io/config': 'terminationDrainDuration: 45s' }), NATIVE).notes;
    expect(native).toHaveLength(1);
    expect(native[0]).toMatch(/terminationGracePeriodSeconds \(30 s, the default\) is not above terminationDrainDuration \(45 s\): the kubelet kills istio-proxy before its drain ends \(and a native sidecar drains only after the app exited\)/);
  });
});
