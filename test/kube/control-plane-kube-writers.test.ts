// What `wasmesh control-plane --kube` writes to a real kube-apiserver (test/helpers/kube-cluster.ts),
// run as a ServiceAccount bound to exactly the ClusterRole rules docs/kubernetes.md lists
// (host/kube/control-plane-rbac.ts), not system:masters — so a verb missing from that list
// fails here:
// - `istio-ca-root-cert` (key root-cert.pem = the CA root) in every namespace but kube-system's
//   kind, put back after a delete and an edit; not in a namespace discoverySelectors leave out;
// - the MutatingWebhookConfiguration applied with another CA's bundle is patched to the control
//   plane's root, after which the API server (which verifies the webhook with that bundle)
//   injects a pod;
// - an Istio object the loader refuses gets a Warning Event (reason Rejected) on it, the rest served;
// - the mesh config from the `istio` ConfigMap of istio-system (discoverySelectors) leaves the
//   objects of unlabelled namespaces out; the Namespace and ServiceAccount watches are listed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCommand } from '../../host/cli/install-command.js';
import { freePort } from '../../host/common/free-port.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { rbacRules } from '../../host/kube/control-plane-rbac.js';
import { fakeIo } from '../helpers/fake-io.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';

const BIN = fileURLToPath(new URL('../../bin/wasmesh.js', import.meta.url));
const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`control-plane --kube writer tests skipped: ${unavailable}`);

type Obj = Record<string, any>;

async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(unavailable !== null)('control-plane --kube writing to a real API server, with only its documented RBAC', () => {
  let kube: KubeCluster;
  let dir: string;
  let cp: WasmeshProcess;
  let root: string;
  const kubectl = (args: string[], input?: string): string => {
    const r = kube.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const tryGet = (args: string[]): Obj | null => {
    const r = kube.kubectl([...args, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as Obj) : null;
  };
  const rootIn = (ns: string): string | undefined => tryGet(['get', 'configmap', 'istio-ca-root-cert', '-n', ns])?.data?.['root-cert.pem'];
  const configz = async (): Promise<Obj> => {
    const port = Number(/monitoring on http:\/\/127\.0\.0\.1:(\d+)/.exec(cp.stderr)![1]);
    return (await fetch(`http://127.0.0.1:${port}/debug/configz`)).json() as Promise<Obj>;
  };
  const served = async (): Promise<string[]> => ((await configz()).resources as Obj[]).map((r) => `${r.kind} ${r.namespace}/${r.name}`).sort();
  const vs = (ns: string, name: string, timeout = '2s'): string => JSON.stringify({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: ns },
    spec: { hosts: [`web.${ns}.svc.cluster.local`], http: [{ timeout, route: [{ destination: { host: `web.${ns}.svc.cluster.local` } }] }] },
  });

  beforeAll(async () => {
    await ensureBuilt();
    kube = await startKubeCluster();
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-kube-writers-'));
    const crds = spawnSync(process.execPath, [BIN, 'install', '--crds-only'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (crds.status !== 0) throw new Error(`install --crds-only: ${crds.stderr}`);
    kubectl(['apply', '--server-side', '-f', '-'], crds.stdout);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    for (const ns of ['istio-system', 'shop', 'other', 'inj']) kubectl(['create', 'namespace', ns]);
    kubectl(['label', 'namespace', 'shop', 'istio-discovery=enabled']);
    kubectl(['label', 'namespace', 'inj', 'istio-injection=enabled', 'istio-discovery=enabled']);
    // No controller manager: the default ServiceAccount a pod's admission looks up is made by hand.
    kubectl(['create', 'serviceaccount', 'default', '-n', 'inj']);
    // The control plane's identity: a ServiceAccount bound to exactly the documented rules.
    kubectl(['create', 'serviceaccount', 'wasmesh-control-plane', '-n', 'istio-system']);
    kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'wasmesh-control-plane' }, rules: rbacRules() },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'wasmesh-control-plane' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'wasmesh-control-plane' },
          subjects: [{ kind: 'ServiceAccount', name: 'wasmesh-control-plane', namespace: 'istio-system' }] },
      ],
    }));
    const token = kubectl(['create', 'token', 'wasmesh-control-plane', '-n', 'istio-system', '--duration', '1h']).trim();
    const kubeconfig = join(dir, 'cp.kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: c', '  cluster:', `    server: ${kube.server}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: u', '  user:', `    token: ${token}`,
      'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', '',
    ].join('\n'));
    // The webhook configuration as a stale install left it: the bundle of another CA.
    await CertificateAuthority.open({ dir: join(dir, 'old-ca'), trustDomain: 'cluster.local' });
    const ca = await CertificateAuthority.open({ dir: join(dir, 'ca'), trustDomain: 'cluster.local' });
    root = readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    expect(ca.rootsPem.join('')).toBe(root);
    const webhookPort = await freePort('127.0.0.1');
    const io = fakeIo();
    expect(await installCommand(['--webhook-only', '--ca-bundle', join(dir, 'old-ca', 'root-cert.pem'), '--webhook-url', `https://127.0.0.1:${webhookPort}/inject`], io), io.stderr).toBe(0);
    kubectl(['apply', '-f', '-'], io.stdout);
    // A refused object present before the control plane starts, and a valid one in each namespace.
    kubectl(['apply', '-f', '-'], vs('shop', 'broken', 'soon'));
    kubectl(['apply', '-f', '-'], vs('shop', 'web'));
    kubectl(['apply', '-f', '-'], vs('other', 'web'));
    cp = new WasmeshProcess([
      'control-plane', '--kube', '--kubeconfig', kubeconfig, '--xds-listen', '127.0.0.1:0', '--monitoring', '127.0.0.1:0',
      '--ca-dir', join(dir, 'ca'), '--secure-listen', '127.0.0.1:0', '--webhook-listen', `127.0.0.1:${webhookPort}`, '--webhook-image', 'wasmesh/proxy:test',
    ]);
    await cp.waitFor(/sidecar injection webhook on https:\/\/127\.0\.0\.1:\d+\/inject/, 'stderr', 60_000);
  }, 300_000);

  afterAll(async () => {
    await cp?.stop();
    await kube?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes istio-ca-root-cert with the CA root in every namespace but Kubernetes\' own, and puts it back after a delete and an edit', async () => {
    await waitFor(() => ['default', 'shop', 'other', 'inj', 'istio-system'].every((ns) => rootIn(ns) === root), 'the ConfigMaps');
    const cm = tryGet(['get', 'configmap', 'istio-ca-root-cert', '-n', 'shop'])!;
    expect(cm.metadata.labels).toEqual({ 'istio.io/config': 'true' });
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) expect(rootIn(ns)).toBeUndefined();
    kubectl(['delete', 'configmap', 'istio-ca-root-cert', '-n', 'shop']);
    await waitFor(() => rootIn('shop') === root, 'the deleted ConfigMap back');
    kubectl(['patch', 'configmap', 'istio-ca-root-cert', '-n', 'other', '--type', 'merge', '-p', JSON.stringify({ data: { 'root-cert.pem': 'edited' } })]);
    await waitFor(() => rootIn('other') === root, 'the edited ConfigMap restored');
    kubectl(['create', 'namespace', 'late']);
    await waitFor(() => rootIn('late') === root, 'the new namespace\'s ConfigMap');
    // (The log is read after kubectl, which is synchronous: waitFor lets its lines arrive.)
    await cp.waitFor(/kube: restored ConfigMap other\/istio-ca-root-cert/);
  });

  it('patches the webhook configuration\'s caBundle to the CA root; the API server then trusts the webhook and a pod is injected', async () => {
    const bundle = Buffer.from(root).toString('base64');
    await waitFor(() => (tryGet(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector'])?.webhooks as Obj[] ?? []).every((w) => w.clientConfig.caBundle === bundle), 'the caBundle patched');
    await cp.waitFor(/patched the caBundle of MutatingWebhookConfiguration istio-sidecar-injector \(namespace\.sidecar-injector\.istio\.io, object\.sidecar-injector\.istio\.io\)/);
    kubectl(['create', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'inj', labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080 }] }] },
    }));
    const pod = tryGet(['get', 'pod', 'web', '-n', 'inj'])!;
    // Injected (Kubernetes 1.34 with ENABLE_NATIVE_SIDECARS=auto: istio-proxy is a native sidecar).
    expect(pod.spec.initContainers.map((c: Obj) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    expect(pod.spec.containers.map((c: Obj) => c.name)).toEqual(['app']);
  });

  it('reports a refused VirtualService as a Warning Event on it, and serves the rest', async () => {
    const uid = tryGet(['get', 'virtualservice', 'broken', '-n', 'shop'])!.metadata.uid as string;
    let events: Obj[] = [];
    await waitFor(() => {
      events = (tryGet(['get', 'events', '-n', 'shop', '--field-selector', 'involvedObject.name=broken'])?.items ?? []) as Obj[];
      return events.length > 0;
    }, 'the Event');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'Warning', reason: 'Rejected',
      involvedObject: { kind: 'VirtualService', namespace: 'shop', name: 'broken', uid, apiVersion: 'networking.istio.io/v1' },
      source: { component: 'wasmesh-control-plane' },
    });
    expect(events[0]!.message).toMatch(/^IST0106 \(SchemaValidationError\) VirtualService shop\/broken is not served by the mesh: spec\.http\[0\]\.timeout: /);
    expect(await served()).toEqual(expect.arrayContaining(['VirtualService shop/web', 'VirtualService other/web']));
    // `kubectl describe` shows it under the object.
    expect(kubectl(['describe', 'virtualservice', 'broken', '-n', 'shop'])).toMatch(/Warning\s+Rejected\s+.*wasmesh-control-plane\s+IST0106/);
  });

  it('the istio ConfigMap\'s discoverySelectors leave unlabelled namespaces out (their objects and their root-cert ConfigMap)', async () => {
    kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' },
      data: { mesh: 'discoverySelectors:\n- matchLabels:\n    istio-discovery: enabled\n' },
    }));
    await waitFor(async () => !(await served()).includes('VirtualService other/web'), 'other/web left out');
    expect(await served()).toContain('VirtualService shop/web');
    kubectl(['create', 'namespace', 'outside']);
    kubectl(['create', 'namespace', 'inside']);
    kubectl(['label', 'namespace', 'inside', 'istio-discovery=enabled']);
    await waitFor(() => rootIn('inside') === root, 'inside\'s ConfigMap');
    await new Promise((r) => setTimeout(r, 500));
    expect(rootIn('outside')).toBeUndefined();
    // Labelled later: taken in.
    kubectl(['label', 'namespace', 'other', 'istio-discovery=enabled']);
    await waitFor(async () => (await served()).includes('VirtualService other/web'), 'other/web back');
    // The watches are listed on /metrics; nothing was forbidden with the documented RBAC.
    const port = Number(/monitoring on http:\/\/127\.0\.0\.1:(\d+)/.exec(cp.stderr)![1]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/wasmesh_kube_watches_healthy 1/);
    // What it wrote: one Event, the root in default, shop, other, inj, istio-system, late, inside
    // plus the re-creation and the restore (9), one caBundle patch; no writer failing.
    expect(metrics).toMatch(/^wasmesh_kube_rejection_events_total 1$/m);
    expect(metrics).toMatch(/^wasmesh_kube_rejection_events_failed_total 0$/m);
    expect(metrics).toMatch(/^wasmesh_kube_root_cert_writes_total 9$/m);
    expect(metrics).toMatch(/^wasmesh_kube_ca_bundle_patches_total 1$/m);
    expect(metrics).toMatch(/^wasmesh_kube_writers_failing 0$/m);
    expect(cp.stderr).not.toMatch(/\b403\b|forbidden/i);
  });
});
