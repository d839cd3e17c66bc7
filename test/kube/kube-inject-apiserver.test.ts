// The injected manifests against a real kube-apiserver (test/helpers/kube-cluster.ts):
// `kubectl apply --dry-run=server --validate=strict` of the injected output of every example's
// workloads (seed 000's and seed 004's Deployments with their Services and Istio resources) and
// of each workload kind with the annotations that change the pod (TPROXY, holdApplication, the
// capture ranges) is accepted by the API server's own validation of the pod template.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { istioCrds } from '../../host/kube/istio-crds.js';
import { kubeInject } from '../../host/kube/kube-inject.js';
import { defaultInjectDefaults } from '../../host/kube/injection-settings.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`kube-inject API server tests skipped: ${unavailable}`);

const DEFAULTS = defaultInjectDefaults('wasmesh/proxy:0.1.0');

/** Every YAML file under examples/ holding a workload kube-inject injects. */
function workloadFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...workloadFiles(path));
    else if (/\.ya?ml$/.test(name) && /^kind:\s*(Deployment|StatefulSet|DaemonSet|Job|CronJob|Pod)\s*$/m.test(readFileSync(path, 'utf8'))) out.push(path);
  }
  return out;
}

/**
 * Seed 000 writes its Deployments as extensions/v1beta1 (served until Kubernetes 1.16): moved to
 * apps/v1 as `kubectl convert` does, the selector (required there) being the template's labels.
 * The injected pod template is not touched.
 */
function servedVersions(yaml: string): string {
  return parseAllDocuments(yaml).map((d) => {
    const o = d.toJS() as Record<string, any>;
    if (o.apiVersion === 'extensions/v1beta1' && o.kind === 'Deployment') {
      o.apiVersion = 'apps/v1';
      o.spec.selector ??= { matchLabels: Object.fromEntries(Object.entries(o.spec.template.metadata.labels).filter(([k]) => !k.includes('istio.io/'))) };
    }
    return stringify(o);
  }).join('---\n');
}

const POD = (annotations: Record<string, string>) => ({
  metadata: { labels: { app: 'w' }, annotations },
  spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080, name: 'http' }], readinessProbe: { httpGet: { path: '/', port: 8080 } } }] },
});

describe.skipIf(unavailable !== null)('kube-inject output in a real API server', () => {
  let kube: KubeCluster;
  beforeAll(async () => {
    kube = await startKubeCluster();
    // The examples carry Istio resources too: their CRDs, so the whole injected file applies.
    const crds = istioCrds().map((g) => g.crd);
    const r = kube.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }));
    if (r.status !== 0) throw new Error(`kubectl apply of the CRDs failed: ${r.stderr}`);
    // No controller manager runs, so nothing creates the namespace's default ServiceAccount,
    // which admission of a pod (and of nothing else here) looks up.
    const sa = kube.kubectl(['create', 'serviceaccount', 'default']);
    if (sa.status !== 0 && !/already exists/.test(sa.stderr)) throw new Error(`serviceaccount: ${sa.stderr}`);
    const wait = kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`)]);
    if (wait.status !== 0) throw new Error(`CRDs not Established: ${wait.stderr}`);
  }, 120_000);
  afterAll(async () => {
    await kube?.stop();
  });

  it('accepts the injected examples (seed 000 and 004 Deployments, with their Services and routes)', () => {
    const files = workloadFiles(join(__dirname, '../../examples'));
    expect(files.map((f) => f.replace(/.*examples\//, ''))).toEqual(expect.arrayContaining(['000-web-demo/01-web-demo-versions.yaml', '004-envoy-demo/envoy-demo-apps.yaml']));
    let total = 0;
    for (const file of files) {
      const result = kubeInject(readFileSync(file, 'utf8'), file, DEFAULTS);
      expect(result.injected, file).toBeGreaterThan(0);
      total += result.injected;
      const r = kube.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], servedVersions(result.yaml));
      expect(r.stderr, file).toBe('');
      expect(r.status, file).toBe(0);
      expect(r.stdout).toMatch(/deployment.apps\/\S+ created \(server dry run\)/);
    }
    expect(total).toBeGreaterThanOrEqual(4);
  });

  it('accepts every workload kind, with TPROXY, holdApplicationUntilProxyStarts and the capture annotations', () => {
    const tproxy = { 'sidecar.istio.io/interceptionMode': 'TPROXY', 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432' };
    const hold = { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true', 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/12' };
    const job = (a: Record<string, string>) => ({ ...POD(a), spec: { ...POD(a).spec, restartPolicy: 'Never' } });
    const sel = { matchLabels: { app: 'w' } };
    const objects = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: sel, template: POD(hold) } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { serviceName: 's', selector: sel, template: POD(tproxy) } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { selector: sel, template: POD({}) } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs' }, spec: { selector: sel, template: POD({}) } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: job({ 'traffic.sidecar.istio.io/includeInboundPorts': '*' }) } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: job(hold) } } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...POD(tproxy).metadata }, spec: POD(tproxy).spec },
      // Bookinfo-like: its own service account, pod security context, volumes and a named-port probe.
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reviews-v1', labels: { app: 'reviews', version: 'v1' } },
        spec: { selector: { matchLabels: { app: 'reviews', version: 'v1' } }, template: {
          metadata: { labels: { app: 'reviews', version: 'v1' } },
          spec: {
            serviceAccountName: 'bookinfo-reviews', securityContext: { runAsUser: 1000 },
            containers: [{ name: 'reviews', image: 'reviews:v1', imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 9080, name: 'http' }],
              env: [{ name: 'LOG_DIR', value: '/tmp/logs' }], volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              livenessProbe: { httpGet: { path: '/health', port: 'http' } } }],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        } },
      },
    ];
    const result = kubeInject(objects.map((o) => stringify(o)).join('---\n'), 'kinds.yaml', DEFAULTS);
    expect(result.injected).toBe(8);
    const r = kube.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], result.yaml);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(8);
    // The server's defaulted pod keeps what was injected (read back from the dry run).
    const back = kube.kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], stringify(parseAllDocuments(result.yaml)[6]!.toJS()));
    expect(back.status).toBe(0);
    const p = JSON.parse(back.stdout);
    expect(p.spec.initContainers[0].args.slice(0, 10)).toEqual(['init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'TPROXY', '-i']);
    expect(p.spec.containers[1].securityContext.capabilities.add).toEqual(['NET_ADMIN', 'SETUID', 'SETGID']);
  });

  it('the API server would refuse what the injector must not produce: a check that the dry run validates the pod', () => {
    // Two containers with the same name: the app already named istio-proxy is skipped by the
    // injector; forced here by hand to show the dry run refuses such a pod.
    const result = kubeInject(stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dup' }, spec: POD({}).spec }), 'dup.yaml', DEFAULTS);
    const doc = parseAllDocuments(result.yaml)[0]!.toJS();
    doc.spec.containers[0].name = 'istio-proxy';
    const r = kube.kubectl(['apply', '--dry-run=server', '-f', '-'], stringify(doc));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec.containers\[1\].name: Duplicate value: "istio-proxy"/);
  });

  it('native sidecars: a Job and a Deployment with istio-proxy as a restartable init container pass the API server\'s validation and keep that shape', () => {
    const native = { ...DEFAULTS, nativeSidecars: true };
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'native-job' }, spec: { template: { ...POD({ 'proxy.istio.io/config': 'terminationDrainDuration: 20s' }), spec: { ...POD({}).spec, restartPolicy: 'Never', initContainers: [{ name: 'fetch', image: 'busybox' }] } } } };
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'native-web' }, spec: { selector: { matchLabels: { app: 'w' } }, template: POD({ 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true' }) } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'native-pod', ...POD({}).metadata }, spec: POD({}).spec };
    const result = kubeInject([job, deploy, pod].map((o) => stringify(o)).join('---\n'), 'native.yaml', native);
    expect(result.injected).toBe(3);
    const items = parseAllDocuments(result.yaml).map((d) => {
      const r = kube.kubectl(['create', '--dry-run=server', '--validate=strict', '-o', 'json', '-f', '-'], stringify(d.toJS()));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as Record<string, any>;
    });
    const specs = [items[0]!.spec.template.spec, items[1]!.spec.template.spec, items[2]!.spec];
    for (const spec of specs) {
      const proxy = spec.initContainers.find((c: Record<string, any>) => c.name === 'istio-proxy');
      expect(spec.initContainers[0].name).toBe('istio-init');
      expect(spec.initContainers[1].name).toBe('istio-proxy');
      expect(proxy.restartPolicy).toBe('Always');
      expect(proxy.startupProbe.httpGet.port).toBe(15021);
      expect(spec.containers.map((c: Record<string, any>) => c.name)).toEqual(['app']);
    }
    expect(specs[0]!.initContainers.map((c: Record<string, any>) => c.name)).toEqual(['istio-init', 'istio-proxy', 'fetch']);
    // Without restartPolicy Always the same container is an ordinary init container, whose probes the API server refuses.
    const bad = JSON.parse(JSON.stringify(items[2]!));
    delete bad.metadata.uid; delete bad.metadata.creationTimestamp;
    delete bad.spec.initContainers[1].restartPolicy;
    const refused = kube.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(bad));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.initContainers\[1\]\.startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always/);
  });
});
