// `wasmesh install` run for real: the install applied to a real API server, the control plane
// Deployment's pod (made by the real controllers) run as a pod through the image's entrypoint in
// its control-plane mode, with its Secret, ConfigMap and ServiceAccount token mounted at their
// paths and in-cluster config; the Service `istiod` routed to it; its webhook (called by the API
// server through the Service) injecting an app's pods, whose sidecars take config and certificates
// from it and talk mTLS. Then scaling and deletion as the sidecars see them.
//
// Real: etcd, kube-apiserver, kubectl, kube-controller-manager (as in mesh-e2e-apiserver.test.ts);
// `wasmesh install --ca-dir … --wait` (the command, in-process) with everything it applies; the
// control plane is `docker/entrypoint.sh control-plane <the Deployment's args>` (uid 1337), which
// finds the API server by KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA.
// Stand-ins (test/helpers/kube-pod.ts): the scheduler, the kubelet (the pod's volumes bind-mounted
// at their mountPaths in the container's own mount namespace), kube-proxy (DNAT of each Service
// ClusterIP in the node's namespace) and the API server's route into the cluster network (its
// EgressSelectorConfiguration: HTTP CONNECT over a unix socket into the node's namespace).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCommand } from '../../host/cli/install-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { controllerManagerUnavailableReason, startControllerManager, type ControllerManager } from '../helpers/kube-controller-manager.js';
import { IMAGE_ENTRYPOINT, KubeNode, NODE_IP, type HttpResult, type RunningPod } from '../helpers/kube-pod.js';
import { netnsUnavailableReason, run } from '../helpers/netns.js';
import { ensureBuilt, ROOT } from '../helpers/wasmesh-process.js';

type Obj = Record<string, any>;

const reasons = [kubeUnavailableReason(), controllerManagerUnavailableReason(), netnsUnavailableReason()];
const unavailable = reasons.find((r) => r !== null) ?? null;
if (unavailable !== null) console.warn(`Kubernetes install end-to-end test skipped: ${unavailable}`);

const FIXTURES = fileURLToPath(new URL('./fixtures/mesh-e2e/', import.meta.url));
const GATEWAY = fileURLToPath(new URL('./fixtures/install-e2e/ingressgateway.yaml', import.meta.url));
const APP = fileURLToPath(new URL('./fixtures/istio101-app.mjs', import.meta.url));
const SEED = join(ROOT, 'examples', '003-istio101');
/** The app pods run here (middleware-canary is created by its Deployment but never scheduled). */
const DEPLOYMENTS = ['frontend-prod', 'middleware-prod', 'backend-prod'] as const;
/** The node's port relaying to the API server on the machine's loopback (the `kubernetes` Service's target). */
const APISERVER_NODE_PORT = 6443;

interface AppAnswer { service: string; pod: string | null; xfcc: string | null; upstream?: { status?: number; body?: AppAnswer | string; error?: string } }

describe.skipIf(unavailable !== null)('wasmesh install in a real API server: the control plane\'s own pod runs, serves the webhook and the sidecars', () => {
  let kube: KubeCluster;
  let kcm: ControllerManager;
  let node: KubeNode;
  let dir: string;
  let istiod: RunningPod;
  let installOut = '';
  const pods = new Map<string, RunningPod>(); // by pod name
  const ipOf = new Map<string, string>(); // Service "ns/name" → ClusterIP

  const kubectl = (args: string[], input?: string): string => {
    const r = kube.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const getJson = (args: string[]): Obj => JSON.parse(kubectl([...args, '-o', 'json'])) as Obj;
  const diagnostics = (): string => [
    ...(istiod ? [node.logs(istiod)] : []),
    ...[...pods.values()].map((p) => node.logs(p)),
    `--- install ---\n${installOut.slice(-3_000)}`,
    `--- kube-controller-manager ---\n${kcm?.log().slice(-3_000)}`,
  ].join('\n');
  const waitFor = async <T>(what: string, fn: () => T | undefined | null | false, ms = 60_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v !== undefined && v !== null && v !== false) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${diagnostics()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const podOf = (deployment: string): RunningPod => [...pods.values()].find((p) => p.name.startsWith(`${deployment}-`))!;
  const answer = (r: HttpResult): AppAnswer => {
    if (r.status !== 200) throw new Error(`expected 200, got ${JSON.stringify(r)}\n${diagnostics()}`);
    return JSON.parse(r.body!) as AppAnswer;
  };
  const call = (from: string, service: string): HttpResult => node.get(podOf(from).netns, service, 80, '/');

  /** kube-proxy's part for one Service: its ports DNAT'ed to the ready endpoints of its EndpointSlices. */
  const proxyService = (namespace: string, name: string): number => {
    const svc = getJson(['get', 'service', '-n', namespace, name]);
    ipOf.set(`${namespace}/${name}`, svc.spec.clusterIP);
    const slices = (getJson(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`]).items as Obj[]);
    let count = 0;
    for (const p of svc.spec.ports as Obj[]) {
      const eps: string[] = [];
      for (const sl of slices) {
        const port = ((sl.ports ?? []) as Obj[]).find((x) => x.name === (p.name ?? ''))?.port as number | undefined;
        if (port === undefined) continue;
        for (const e of (sl.endpoints ?? []) as Obj[]) if (e.conditions?.ready === true) eps.push(`${e.addresses[0]}:${port}`);
      }
      node.serviceRules(svc.spec.clusterIP, p.port, eps.sort());
      count = eps.length;
    }
    return count;
  };
  const readyEndpoints = (namespace: string, name: string): string[] =>
    ((getJson(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`]).items as Obj[]))
      .flatMap((sl) => ((sl.endpoints ?? []) as Obj[]).filter((e) => e.conditions?.ready === true).map((e) => e.addresses[0] as string)).sort();

  const startAppPod = async (name: string, hosts: string): Promise<RunningPod> => {
    await node.bind('default', name);
    const p = await node.start('default', name, { app: () => [process.execPath, APP], hosts });
    pods.set(name, p);
    return p;
  };
  const hostsFile = (): string => [
    `${ipOf.get('istio-system/istiod')} istiod.istio-system.svc istiod.istio-system.svc.cluster.local`,
    ...['frontend', 'middleware', 'backend'].map((n) => `${ipOf.get(`default/${n}`)} ${n} ${n}.default ${n}.default.svc ${n}.default.svc.cluster.local`),
  ].join('\n') + '\n';

  beforeAll(async () => {
    const started = Date.now();
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-install-e2e-'));
    chmodSync(dir, 0o755); // the pods' volumes below it are read by uid 1337
    const egress = join(dir, 'egress.sock');
    kube = await startKubeCluster({ clusterEgressUds: egress });

    // ---- the node: its network, kube-proxy's rules for `kubernetes`, the API server's egress -------
    node = new KubeNode(kube, dir);
    node.create();
    await node.relay(APISERVER_NODE_PORT, kube.server.replace(/^https:\/\//, ''));
    await node.connectProxy(egress);
    const kubernetesIp = getJson(['get', 'service', 'kubernetes', '-n', 'default']).spec.clusterIP as string;
    node.serviceRules(kubernetesIp, 443, [`${NODE_IP}:${APISERVER_NODE_PORT}`]);
    kcm = startControllerManager(kube);

    // ---- wasmesh install --wait, while the kubelet stand-in runs the pod it waits for ---------------
    const io = fakeIo();
    const installing = installCommand(['--kubeconfig', kube.kubeconfig, '--ca-dir', join(dir, 'ca'), '--image', 'wasmesh/proxy:e2e', '--wait', '--readiness-timeout', '120s'], io);
    const istiodName = await waitFor('the istiod Deployment\'s pod', () => {
      const r = kube.kubectl(['get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'json']);
      return r.status === 0 ? ((JSON.parse(r.stdout) as Obj).items as Obj[])[0]?.metadata.name as string | undefined : undefined;
    }, 90_000);
    await node.bind('istio-system', istiodName);
    istiod = await node.start('istio-system', istiodName, { app: () => IMAGE_ENTRYPOINT, hosts: '' });
    const installed = await installing;
    installOut = `${io.stdout}${io.stderr}`;
    expect(installed, installOut).toBe(0);
    await waitFor('istiod\'s ready endpoint', () => proxyService('istio-system', 'istiod') === 1, 30_000);
    console.log(`install-e2e: install applied and the control plane's pod Ready after ${Date.now() - started} ms`);

    // ---- the webhook's caBundle removed: the control plane in the pod patches it back ---------------
    const hook = getJson(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector']);
    kubectl(['patch', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '--type=json', '-p',
      JSON.stringify((hook.webhooks as Obj[]).map((_, i) => ({ op: 'remove', path: `/webhooks/${i}/clientConfig/caBundle` })))]);
    await waitFor('the control plane to patch the caBundle back', () =>
      ((getJson(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector']).webhooks as Obj[])).every((w) => typeof w.clientConfig.caBundle === 'string' && w.clientConfig.caBundle !== ''), 30_000);

    // ---- seed 003's apps in a labelled namespace, injected by the pod's webhook -------------------
    kubectl(['label', 'namespace', 'default', 'istio-injection=enabled']);
    // Published by the control plane in the pod (the pods' istiod-ca-cert volume).
    await waitFor('istio-ca-root-cert in default', () => kube.kubectl(['get', 'configmap', 'istio-ca-root-cert', '-n', 'default']).status === 0, 30_000);
    await waitFor('the default ServiceAccount', () => kube.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).status === 0);
    kubectl(['apply', '-f', join(FIXTURES, '00-istio101-workloads.yaml')]);
    kubectl(['apply', '-f', join(SEED, '01-destinationrules.yaml'), '-f', join(SEED, '02-routing-3.yaml'), '-f', join(SEED, 'mtls', '10-peer-authentication-strict.yaml')]);
    for (const s of ['frontend', 'middleware', 'backend']) proxyService('default', s);
    for (const d of DEPLOYMENTS) {
      const [app, version] = d.split('-');
      const name = await waitFor(`the pod of Deployment ${d}`, () => {
        const list = getJson(['get', 'pods', '-n', 'default', '-l', `app=${app},version=${version}`]);
        return (list.items as Obj[])[0]?.metadata.name as string | undefined;
      });
      await startAppPod(name, hostsFile());
    }
    console.log(`install-e2e: ${pods.size} injected app pods running after ${Date.now() - started} ms`);
  }, 300_000);

  afterAll(async () => {
    node?.destroy();
    await kcm?.stop();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the control plane ran from the Deployment\'s pod: its args through the entrypoint, in-cluster config, the mounted Secret and mesh config', () => {
    const spec = istiod.spec;
    expect(spec.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    const c = (spec.spec.containers as Obj[])[0]!;
    expect(c.args[0]).toBe('control-plane');
    const log = istiod.logs[c.name]!;
    // In-cluster: the kubernetes Service's ClusterIP (routed by the node to the API server) and the mounted token.
    const kubernetesIp = getJson(['get', 'service', 'kubernetes', '-n', 'default']).spec.clusterIP as string;
    expect(log).toContain(`in-cluster service account (${kubernetesIp}:443)`);
    expect(log).not.toMatch(/\b403\b|forbidden/i);
    // The CA is the Secret cacerts: the root the install put in it, served to the sidecars below.
    const secret = getJson(['get', 'secret', 'cacerts', '-n', 'istio-system']);
    expect(Buffer.from(secret.data['root-cert.pem'], 'base64').toString()).toBe(readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'));
    // The pod's status as the kubelet stand-in wrote it after /ready passed; the Deployment rolled out (install --wait returned 0).
    expect(getJson(['get', 'pod', '-n', 'istio-system', istiod.name]).status).toMatchObject({ phase: 'Running', podIP: istiod.ip });
    expect(installOut).toMatch(/istiod/);
    expect(getJson(['get', 'deployment', '-n', 'istio-system', 'istiod']).status).toMatchObject({ readyReplicas: 1 });
  }, 60_000);

  it('the API server called the webhook through Service istiod (its caBundle, removed, patched back by the pod) and the pods were injected', async () => {
    const hook = getJson(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector']);
    const root = readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    for (const w of hook.webhooks as Obj[]) {
      expect(w.clientConfig.service).toMatchObject({ name: 'istiod', namespace: 'istio-system' });
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(root);
    }
    for (const p of pods.values()) {
      const stored = getJson(['get', 'pod', '-n', 'default', p.name]);
      // Kubernetes 1.34 with the install's default ENABLE_NATIVE_SIDECARS=auto: a native sidecar.
      expect((stored.spec.containers as Obj[]).map((c) => c.name)).not.toContain('istio-proxy');
      expect((stored.spec.initContainers as Obj[]).map((c) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    }
    // Counted by the control plane in the pod: its monitoring port, read from the node at the pod's IP.
    const metrics = node.get(node.netns, istiod.ip, 15014, '/metrics');
    expect(metrics.body).toMatch(/sidecar_injection_success_total [3-9]\b/);
    expect(metrics.body).toMatch(/wasmesh_kube_ca_bundle_patches_total [1-9]/);
    expect(istiod.logs.discovery).toContain('kube: patched the caBundle of MutatingWebhookConfiguration istio-sidecar-injector');
  }, 60_000);

  it('the sidecars took config and certificates from the pod through the Service; frontend → middleware → backend with mTLS', async () => {
    for (const d of DEPLOYMENTS) {
      const logs = (): string => podOf(d).logs['istio-proxy']!;
      await waitFor(`${d}'s certificate`, () => new RegExp(`certificate for spiffe://cluster\\.local/ns/default/sa/${d.split('-')[0]} serial`).test(logs()), 20_000);
      expect(logs()).toContain('taking it from the control plane at istiod.istio-system.svc:15012');
    }
    // Through the node's rules for istiod's ClusterIP:15012 (kube-proxy's part): connections counted there.
    const chain = `WMSVC-${ipOf.get('istio-system/istiod')!.replace(/\./g, '-')}-15012`;
    const counted = run('ip', ['netns', 'exec', node.netns, 'iptables', '-w', '-t', 'nat', '-L', chain, '-v', '-x', '-n']).stdout;
    const packets = Number(/^\s*(\d+)\s+\d+\s+DNAT/m.exec(counted)?.[1] ?? 0);
    expect(packets, counted).toBeGreaterThanOrEqual(DEPLOYMENTS.length);
    const a = answer(call('frontend-prod', 'middleware'));
    expect(a.service).toBe('middleware-prod');
    expect(a.xfcc).toContain('URI=spiffe://cluster.local/ns/default/sa/frontend');
    const b = a.upstream!.body as AppAnswer;
    expect(b.service, JSON.stringify(a.upstream)).toBe('backend-prod');
    expect(b.xfcc).toContain('URI=spiffe://cluster.local/ns/default/sa/middleware');
  }, 60_000);

  it('seed 003\'s ingress gateway as a pod (the image\'s proxy mode, config from the control plane): a request through its Service reaches frontend → middleware → backend', async () => {
    kubectl(['apply', '-f', GATEWAY]);
    const name = await waitFor('the ingress gateway\'s pod', () =>
      ((getJson(['get', 'pods', '-n', 'istio-system', '-l', 'istio=ingressgateway']).items as Obj[])[0]?.metadata.name as string | undefined));
    await node.bind('istio-system', name);
    const gw = await node.start('istio-system', name, { app: () => { throw new Error('the gateway pod has only istio-proxy'); }, hosts: hostsFile() });
    pods.set(name, gw);
    await waitFor('the gateway\'s ready endpoint', () => proxyService('istio-system', 'istio-ingressgateway') === 1, 30_000);
    const gwIp = ipOf.get('istio-system/istio-ingressgateway')!;
    // From the node (outside the mesh) to the gateway Service's ClusterIP:80, as a load balancer would send it.
    const r = await waitFor('a 200 through the gateway', () => {
      const x = node.get(node.netns, gwIp, 80, '/');
      return x.status === 200 ? x : undefined;
    }, 30_000);
    const f = JSON.parse(r.body!) as AppAnswer;
    expect(f.service).toBe('frontend-prod');
    // The gateway's own workload certificate, from the control plane, for its ServiceAccount (mTLS to frontend, STRICT).
    expect(f.xfcc).toContain('URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway');
    expect((f.upstream!.body as AppAnswer).service).toBe('middleware-prod');
    expect(((f.upstream!.body as AppAnswer).upstream!.body as AppAnswer).service).toBe('backend-prod');
    expect(gw.logs['istio-proxy']).toContain('taking it from the control plane at istiod.istio-system.svc:15012');
  }, 90_000);

  it('middleware-prod scaled to 2: the new pod is injected and both endpoints answer; one deleted leaves the sidecars\' view', async () => {
    kubectl(['scale', 'deployment', 'middleware-prod', '--replicas=2']);
    const first = podOf('middleware-prod').name;
    const second = await waitFor('the second middleware-prod pod', () =>
      (getJson(['get', 'pods', '-n', 'default', '-l', 'app=middleware,version=prod']).items as Obj[]).map((p) => p.metadata.name as string).find((n) => n !== first));
    await startAppPod(second, hostsFile());
    await waitFor('both middleware-prod endpoints ready', () => readyEndpoints('default', 'middleware').length === 2, 30_000);
    const seen = new Set<string>();
    await waitFor('both middleware-prod pods to answer', () => {
      const r = call('frontend-prod', 'middleware');
      if (r.status === 200) seen.add((JSON.parse(r.body!) as AppAnswer).pod!);
      return seen.size === 2;
    }, 30_000);
    expect([...seen].sort()).toEqual([first, second].sort());

    // Deleted: the API server and controllers drop it (there is no kubelet to hold it in Terminating
    // with a grace period here: --grace-period=0 --force), then its endpoint leaves frontend's view.
    kubectl(['scale', 'deployment', 'middleware-prod', '--replicas=1']);
    const gone = await waitFor('the ReplicaSet to pick a pod to delete', () => {
      const names = (getJson(['get', 'pods', '-n', 'default', '-l', 'app=middleware,version=prod']).items as Obj[])
        .filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => p.metadata.name as string);
      return names.length === 1 ? [first, second].find((n) => !names.includes(n)) : undefined;
    }, 30_000);
    kube.kubectl(['delete', 'pod', '-n', 'default', gone, '--grace-period=0', '--force']);
    const kept = gone === first ? second : first;
    await waitFor('the deleted pod\'s endpoint to leave the EndpointSlice', () => readyEndpoints('default', 'middleware').join() === pods.get(kept)!.ip, 30_000);
    // Its sidecar would still answer (the process is not stopped yet): the calls show what frontend's sidecar routes to.
    await waitFor('frontend\'s sidecar to route only to the kept pod', () => {
      for (let i = 0; i < 8; i++) {
        const r = call('frontend-prod', 'middleware');
        if (r.status !== 200 || (JSON.parse(r.body!) as AppAnswer).pod !== kept) return false;
      }
      return true;
    }, 30_000);
  }, 120_000);
});
