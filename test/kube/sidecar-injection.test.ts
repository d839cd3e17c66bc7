// The injection of one pod (host/kube/sidecar-injection.ts) through kubeInject: per workload
// kind, per annotation, the exact init args, env and security contexts; the shape compared with
// Istio's own injected output (istio/istio pkg/kube/inject/testdata/inject/hello.yaml.injected).
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { kubeInject } from '../../host/kube/kube-inject.js';
import { defaultInjectDefaults, meshConfigDefaults } from '../../host/kube/injection-settings.js';

const IMAGE = 'wasmesh/proxy:test';
type Obj = Record<string, any>;

function pod(extra: { annotations?: Obj; labels?: Obj; containers?: Obj[]; spec?: Obj } = {}): Obj {
  return {
    metadata: { labels: { app: 'web', version: 'v1', ...(extra.labels ?? {}) }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      containers: extra.containers ?? [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9000 }, { containerPort: 5353, protocol: 'UDP' }] }],
      ...(extra.spec ?? {}),
    },
  };
}

function deployment(template: Obj, name = 'web'): Obj {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'web' } }, template } };
}

function inject(objs: Obj[], defaults = defaultInjectDefaults(IMAGE)) {
  const r = kubeInject(objs.map((o) => stringify(o)).join('---\n'), 'in.yaml', defaults);
  return { ...r, docs: parseAllDocuments(r.yaml).map((d) => d.toJS() as Obj) };
}

const templateOf = (d: Obj): Obj => d.spec.template;
const proxyOf = (t: Obj): Obj => t.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
const initOf = (t: Obj): Obj => t.spec.initContainers.find((c: Obj) => c.name === 'istio-init');
const envOf = (c: Obj): Record<string, unknown> => Object.fromEntries(c.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
/** istio-iptables flags as a map: `-b` → value. */
const flagsOf = (init: Obj): Record<string, string> => {
  const a = init.args.slice(1) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i += 2) out[a[i]!] = a[i + 1]!;
  return out;
};

describe('kube-inject: the injected pod', () => {
  it('a Deployment: istio-init first with the image\'s init mode and istio-iptables flags, istio-proxy last with the entrypoint\'s env', () => {
    const { docs, injected } = inject([deployment(pod())]);
    expect(injected).toBe(1);
    const t = templateOf(docs[0]!);
    expect(t.spec.containers.map((c: Obj) => c.name)).toEqual(['web', 'istio-proxy']);
    expect(t.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init']);
    const init = initOf(t);
    expect(init.image).toBe(IMAGE);
    expect(init.args).toEqual(['init', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '8080,9000', '-d', '15090,15021,15020']);
    expect(init.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] }, privileged: false,
      readOnlyRootFilesystem: false, runAsGroup: 0, runAsNonRoot: false, runAsUser: 0,
    });
    const proxy = proxyOf(t);
    expect(proxy.image).toBe(IMAGE);
    expect(proxy.args).toEqual(['sidecar']);
    expect(envOf(proxy)).toEqual({
      CA_ADDR: 'istiod.istio-system.svc:15012',
      POD_NAME: 'metadata.name',
      POD_NAMESPACE: 'metadata.namespace',
      INSTANCE_IP: 'status.podIP',
      INSTANCE_IPS: 'status.podIPs',
      SERVICE_ACCOUNT: 'spec.serviceAccountName',
      TERMINATION_DRAIN_DURATION_SECONDS: '5',
      HOST_IP: 'status.hostIP',
      PROXY_CONFIG: '{"discoveryAddress":"istiod.istio-system.svc:15012"}',
      ISTIO_META_POD_PORTS: '[{"containerPort":8080,"name":"http"},{"containerPort":9000},{"containerPort":5353,"protocol":"UDP"}]',
      ISTIO_META_APP_CONTAINERS: 'web',
      ISTIO_META_CLUSTER_ID: 'Kubernetes',
      ISTIO_META_NODE_NAME: 'spec.nodeName',
      ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
      ISTIO_META_WORKLOAD_NAME: 'web',
      ISTIO_META_OWNER: 'kubernetes://apis/apps/v1/namespaces/shop/deployments/web',
      ISTIO_META_MESH_ID: 'cluster.local',
      TRUST_DOMAIN: 'cluster.local',
      WASMESH_APP_PORTS: '8080,9000',
      WASMESH_LABELS: 'app=web,version=v1',
      WASMESH_INTERCEPTION_MODE: 'REDIRECT',
    });
    expect(proxy.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false,
      readOnlyRootFilesystem: true, runAsGroup: 1337, runAsNonRoot: true, runAsUser: 1337,
    });
    expect(proxy.readinessProbe.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
    expect(proxy.startupProbe.httpGet).toEqual({ path: '/healthz/ready', port: 15021 });
    expect(proxy.ports).toEqual([{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }]);
    expect(proxy.lifecycle).toBeUndefined();
    expect(t.spec.volumes.map((v: Obj) => v.name)).toEqual(['istio-envoy', 'podinfo', 'istio-token', 'istiod-ca-cert']);
    expect(t.spec.volumes[3].configMap).toEqual({ name: 'istio-ca-root-cert', optional: true });
    expect(t.metadata.labels).toEqual({
      app: 'web', version: 'v1', 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': 'web', 'service.istio.io/canonical-revision': 'v1',
    });
    expect(t.metadata.annotations['prometheus.io/port']).toBe('15020');
    expect(t.metadata.annotations['prometheus.io/path']).toBe('/stats/prometheus');
    expect(t.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(t.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('web');
    expect(JSON.parse(t.metadata.annotations['sidecar.istio.io/status'])).toEqual({
      initContainers: ['istio-init'], containers: ['istio-proxy'], volumes: ['istio-envoy', 'podinfo', 'istio-token', 'istiod-ca-cert'], imagePullSecrets: null, revision: 'default',
    });
    // The app container and the rest of the object are untouched.
    expect(t.spec.containers[0]).toEqual(pod().spec.containers[0]);
    expect(docs[0]!.spec.selector).toEqual({ matchLabels: { app: 'web' } });
  });

  it('has the shape of Istio\'s injected output (istio/istio hello.yaml.injected): names, flags, contexts, volumes, status keys', () => {
    const t = templateOf(inject([deployment(pod())]).docs[0]!);
    // Istio's injected pod: init `istio-init` with -p -z -u -m -i -x -b -d (in that order), proxy
    // `istio-proxy` with these downward-API env names, port 15090 `http-envoy-prom`, readiness on
    // /healthz/ready, uid/gid 1337 non-root with every capability dropped; volumes istio-envoy
    // (memory emptyDir), podinfo (labels, annotations), istio-token (audience istio-ca),
    // istiod-ca-cert (configMap istio-ca-root-cert); status lists them.
    const init = initOf(t);
    expect(init.args.filter((a: string) => a.startsWith('-'))).toEqual(['-p', '-z', '-u', '-m', '-i', '-x', '-b', '-d']);
    const proxy = proxyOf(t);
    const env = envOf(proxy);
    for (const [name, path] of [['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace'], ['INSTANCE_IP', 'status.podIP'], ['INSTANCE_IPS', 'status.podIPs'], ['SERVICE_ACCOUNT', 'spec.serviceAccountName'], ['HOST_IP', 'status.hostIP']]) {
      expect(env[name!]).toBe(path);
    }
    for (const name of ['CA_ADDR', 'ISTIO_META_POD_PORTS', 'ISTIO_META_CLUSTER_ID', 'ISTIO_META_INTERCEPTION_MODE', 'ISTIO_META_WORKLOAD_NAME', 'ISTIO_META_OWNER', 'ISTIO_META_MESH_ID']) {
      expect(env).toHaveProperty(name);
    }
    expect(t.spec.volumes[0]).toEqual({ emptyDir: { medium: 'Memory' }, name: 'istio-envoy' });
    expect(t.spec.volumes[1].downwardAPI.items.map((i: Obj) => [i.fieldRef.fieldPath, i.path])).toEqual([['metadata.labels', 'labels'], ['metadata.annotations', 'annotations']]);
    expect(t.spec.volumes[2].projected.sources[0].serviceAccountToken).toEqual({ audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' });
    expect(proxy.volumeMounts.map((m: Obj) => [m.mountPath, m.name])).toEqual([
      ['/var/run/secrets/istio', 'istiod-ca-cert'], ['/etc/istio/proxy', 'istio-envoy'], ['/var/run/secrets/tokens', 'istio-token'], ['/etc/istio/pod', 'podinfo'],
    ]);
    expect(Object.keys(JSON.parse(t.metadata.annotations['sidecar.istio.io/status']))).toEqual(expect.arrayContaining(['initContainers', 'containers', 'volumes', 'imagePullSecrets']));
    expect(t.metadata.annotations['sidecar.istio.io/interceptionMode']).toBe('REDIRECT');
    expect(t.metadata.labels['security.istio.io/tlsMode']).toBe('istio');
  });

  it.each([
    ['StatefulSet', 'apps/v1', (t: Obj) => ({ serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: t }), (d: Obj) => d.spec.template, 'statefulsets'],
    ['DaemonSet', 'apps/v1', (t: Obj) => ({ selector: { matchLabels: { app: 'web' } }, template: t }), (d: Obj) => d.spec.template, 'daemonsets'],
    ['ReplicaSet', 'apps/v1', (t: Obj) => ({ selector: { matchLabels: { app: 'web' } }, template: t }), (d: Obj) => d.spec.template, 'replicasets'],
    ['Job', 'batch/v1', (t: Obj) => ({ template: { ...t, spec: { ...t.spec, restartPolicy: 'Never' } } }), (d: Obj) => d.spec.template, 'jobs'],
    ['CronJob', 'batch/v1', (t: Obj) => ({ schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...t, spec: { ...t.spec, restartPolicy: 'Never' } } } } }), (d: Obj) => d.spec.jobTemplate.spec.template, 'cronjobs'],
  ])('a %s: its pod template is injected, the owner names its kind', (kind, apiVersion, spec, at, plural) => {
    const { docs, injected } = inject([{ apiVersion, kind, metadata: { name: 'w' }, spec: spec(pod()) }]);
    expect(injected).toBe(1);
    const t = at(docs[0]!);
    expect(t.spec.containers.map((c: Obj) => c.name)).toEqual(['web', 'istio-proxy']);
    expect(initOf(t).args[0]).toBe('init');
    expect(envOf(proxyOf(t)).ISTIO_META_OWNER).toBe(`kubernetes://apis/${apiVersion}/namespaces/default/${plural}/w`);
  });

  it('a Pod: its own metadata and spec are injected', () => {
    const p = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo', ...pod().metadata }, spec: pod().spec };
    const d = inject([p]).docs[0]!;
    expect(d.spec.containers.map((c: Obj) => c.name)).toEqual(['web', 'istio-proxy']);
    expect(d.metadata.labels['security.istio.io/tlsMode']).toBe('istio');
    expect(envOf(proxyOf(d)).ISTIO_META_OWNER).toBe('kubernetes://apis/v1/namespaces/default/pods/solo');
  });

  it('other kinds pass through unchanged, in order, multi-document in and out', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } };
    const vs = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' }, spec: { hosts: ['web'] } };
    const { docs } = inject([svc, deployment(pod()), vs]);
    expect(docs.map((d) => d.kind)).toEqual(['Service', 'Deployment', 'VirtualService']);
    expect(docs[0]).toEqual(svc);
    expect(docs[2]).toEqual(vs);
  });

  it('is idempotent: injecting the injected output changes nothing (the status annotation)', () => {
    const once = inject([deployment(pod())]);
    const twice = kubeInject(once.yaml, 'again.yaml', defaultInjectDefaults(IMAGE));
    expect(twice.injected).toBe(0);
    expect(parse(twice.yaml)).toEqual(once.docs[0]);
    expect(twice.notes).toEqual(['again.yaml: document 1 Deployment shop/web: not injected: already injected (sidecar.istio.io/status is set)']);
  });

  it('sidecar.istio.io/inject: "false" (annotation or label) skips the pod, saying so', () => {
    for (const p of [pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), pod({ labels: { 'sidecar.istio.io/inject': 'false' } })]) {
      const r = inject([deployment(p)]);
      expect(r.injected).toBe(0);
      expect(templateOf(r.docs[0]!)).toEqual(p);
      expect(r.notes[0]).toMatch(/not injected: sidecar.istio.io\/inject is "false"/);
    }
    expect(inject([deployment(pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }))]).injected).toBe(1);
  });

  it('a hostNetwork pod is not injected', () => {
    const r = inject([deployment(pod({ spec: { hostNetwork: true } }))]);
    expect(r.injected).toBe(0);
    expect(r.notes[0]).toMatch(/hostNetwork/);
  });

  it('traffic.sidecar.istio.io/* annotations become the init\'s -i -x -b -d -o', () => {
    const t = templateOf(inject([deployment(pod({ annotations: {
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/12, 10.0.0.0/8',
      'traffic.sidecar.istio.io/excludeOutboundIPRanges': '169.254.169.254/32',
      'traffic.sidecar.istio.io/includeInboundPorts': '8080',
      'traffic.sidecar.istio.io/excludeInboundPorts': '9000',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '5432,6379',
    } }))]).docs[0]!);
    expect(flagsOf(initOf(t))).toEqual({
      '-p': '15001', '-z': '15006', '-u': '1337', '-m': 'REDIRECT', '-i': '10.96.0.0/12,10.0.0.0/8', '-x': '169.254.169.254/32',
      '-b': '8080', '-d': '15090,15021,15020,9000', '-o': '5432,6379',
    });
    // The sidecar forwards inbound only to the captured ports.
    expect(envOf(proxyOf(t)).WASMESH_APP_PORTS).toBe('8080');
  });

  it('includeInboundPorts "*" captures every port (-b *); the app ports stay the TCP container ports', () => {
    const t = templateOf(inject([deployment(pod({ annotations: { 'traffic.sidecar.istio.io/includeInboundPorts': '*' } }))]).docs[0]!);
    expect(flagsOf(initOf(t))['-b']).toBe('*');
    expect(envOf(proxyOf(t)).WASMESH_APP_PORTS).toBe('8080,9000');
  });

  it('sidecar.istio.io/interceptionMode: TPROXY → -m TPROXY, WASMESH_INTERCEPTION_MODE, and the capabilities the listen helper needs', () => {
    const t = templateOf(inject([deployment(pod({ annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } }))]).docs[0]!);
    expect(flagsOf(initOf(t))['-m']).toBe('TPROXY');
    const proxy = proxyOf(t);
    expect(envOf(proxy).WASMESH_INTERCEPTION_MODE).toBe('TPROXY');
    expect(envOf(proxy).ISTIO_META_INTERCEPTION_MODE).toBe('TPROXY');
    expect(proxy.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN', 'SETUID', 'SETGID'], drop: ['ALL'] }, privileged: false,
      readOnlyRootFilesystem: true, runAsGroup: 1337, runAsNonRoot: false, runAsUser: 0,
    });
    expect(t.metadata.annotations['sidecar.istio.io/interceptionMode']).toBe('TPROXY');
  });

  it('proxy.istio.io/config holdApplicationUntilProxyStarts: the proxy first, with a postStart hook that waits for readiness', () => {
    const t = templateOf(inject([deployment(pod({ annotations: { 'proxy.istio.io/config': '{ "holdApplicationUntilProxyStarts": true }' } }))]).docs[0]!);
    expect(t.spec.containers.map((c: Obj) => c.name)).toEqual(['istio-proxy', 'web']);
    const cmd = proxyOf(t).lifecycle.postStart.exec.command as string[];
    expect(cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(cmd[2]).toContain('node /app/docker/healthcheck.mjs');
    expect(cmd[2]).toContain('-ge 120');
    // The default container stays the app's.
    expect(t.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('web');
  });

  it('proxy.istio.io/config (YAML) discoveryAddress, proxyMetadata and interceptionMode map; other fields ride in PROXY_CONFIG', () => {
    const t = templateOf(inject([deployment(pod({ annotations: { 'proxy.istio.io/config': 'discoveryAddress: cp.mesh.svc:15012\nproxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\nconcurrency: 2\ninterceptionMode: TPROXY\n' } }))]).docs[0]!);
    const env = envOf(proxyOf(t));
    expect(env.CA_ADDR).toBe('cp.mesh.svc:15012');
    expect(env.ISTIO_META_DNS_CAPTURE).toBe('true');
    expect(JSON.parse(env.PROXY_CONFIG as string)).toEqual({ discoveryAddress: 'cp.mesh.svc:15012', proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true' }, concurrency: 2, interceptionMode: 'TPROXY' });
    expect(flagsOf(initOf(t))['-m']).toBe('TPROXY');
  });

  it('the mesh config\'s defaultConfig and trustDomain are the defaults; a pod annotation wins', () => {
    const defaults = meshConfigDefaults('trustDomain: example.org\ndefaultConfig:\n  holdApplicationUntilProxyStarts: true\n  discoveryAddress: cp:15012\n', defaultInjectDefaults(IMAGE));
    const [a, b] = inject([deployment(pod(), 'a'), deployment(pod({ annotations: { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: false' } }), 'b')], defaults).docs;
    expect(templateOf(a!).spec.containers[0].name).toBe('istio-proxy');
    expect(templateOf(b!).spec.containers[0].name).toBe('web');
    expect(envOf(proxyOf(templateOf(a!))).ISTIO_META_MESH_ID).toBe('example.org');
    expect(envOf(proxyOf(templateOf(a!))).CA_ADDR).toBe('cp:15012');
  });

  it('keeps the pod\'s own init containers (after istio-init), volumes, labels and prometheus annotations', () => {
    const p = pod({ annotations: { 'prometheus.io/port': '9000' }, labels: { 'service.istio.io/canonical-name': 'shop-web' }, spec: { initContainers: [{ name: 'migrate', image: 'm' }], volumes: [{ name: 'data', emptyDir: {} }] } });
    const t = templateOf(inject([deployment(p)]).docs[0]!);
    expect(t.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'migrate']);
    expect(t.spec.volumes.map((v: Obj) => v.name)).toEqual(['data', 'istio-envoy', 'podinfo', 'istio-token', 'istiod-ca-cert']);
    expect(t.metadata.labels['service.istio.io/canonical-name']).toBe('shop-web');
    expect(t.metadata.annotations['prometheus.io/port']).toBe('9000');
    expect(t.metadata.annotations['prometheus.io/scrape']).toBeUndefined();
  });

  it('app probes are rewritten to the sidecar\'s 15020/app-health/<container>/<kind>, the originals in ISTIO_KUBE_APP_PROBERS', () => {
    const p = pod({ containers: [
      {
        name: 'web', image: 'nginx', ports: [{ containerPort: 8080, name: 'http' }],
        readinessProbe: { httpGet: { path: '/ready', port: 'http', httpHeaders: [{ name: 'X-A', value: 'b' }] }, periodSeconds: 5, timeoutSeconds: 2 },
        livenessProbe: { tcpSocket: { port: 8080 }, failureThreshold: 3 },
        startupProbe: { exec: { command: ['true'] } },
      },
      { name: 'side', image: 'x', ports: [{ containerPort: 9000 }], livenessProbe: { httpGet: { path: '/', port: 9000, host: 'example.com' } } },
    ] });
    const t = templateOf(inject([deployment(p)]).docs[0]!);
    const [web, side] = t.spec.containers;
    expect(web.readinessProbe).toEqual({ httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 2 });
    expect(web.livenessProbe).toEqual({ httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP' }, failureThreshold: 3 });
    expect(web.startupProbe).toEqual({ exec: { command: ['true'] } });
    // A probe of another host is not the app's: left alone.
    expect(side.livenessProbe).toEqual({ httpGet: { path: '/', port: 9000, host: 'example.com' } });
    expect(JSON.parse(envOf(proxyOf(t)).ISTIO_KUBE_APP_PROBERS as string)).toEqual({
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080, httpHeaders: [{ name: 'X-A', value: 'b' }] }, timeoutSeconds: 2 },
      '/app-health/web/livez': { tcpSocket: { port: 8080 } },
    });
  });

  it('sidecar.istio.io/rewriteAppHTTPProbers: "false" leaves probes alone; no probes, no ISTIO_KUBE_APP_PROBERS', () => {
    const probe = { httpGet: { path: '/ready', port: 8080 } };
    const p = pod({ annotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' }, containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }], readinessProbe: probe }] });
    const t = templateOf(inject([deployment(p)]).docs[0]!);
    expect(t.spec.containers[0].readinessProbe).toEqual(probe);
    expect(envOf(proxyOf(t))).not.toHaveProperty('ISTIO_KUBE_APP_PROBERS');
    expect(envOf(proxyOf(templateOf(inject([deployment(pod())]).docs[0]!)))).not.toHaveProperty('ISTIO_KUBE_APP_PROBERS');
  });

  it('--image / sidecar.istio.io/proxyImage name the image', () => {
    const t = templateOf(inject([deployment(pod({ annotations: { 'sidecar.istio.io/proxyImage': 'reg.local/wasmesh:dev' } }))]).docs[0]!);
    expect(proxyOf(t).image).toBe('reg.local/wasmesh:dev');
    expect(initOf(t).image).toBe('reg.local/wasmesh:dev');
  });
});
