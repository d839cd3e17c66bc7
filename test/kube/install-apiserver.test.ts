// `wasmesh install` against a real kube-apiserver (test/helpers/kube-cluster.ts): `--server-dry-run`
// on an empty cluster checks what it can and stores nothing; the install applied and read back
// with kubectl, every object present as made; the printed manifests pass kubectl's strict
// server-side dry run; re-running changes nothing (every object `unchanged`, resourceVersions
// kept); adding a CA directory configures what it touches (Secret, Deployment, webhook caBundle)
// and nothing else; a caBundle the control plane patched in survives a re-run without one;
// the API server's authorizer allows system:serviceaccount:istio-system:istiod exactly the
// ClusterRole's verbs (control-plane-rbac.ts: no secrets, no get, no deletes), asked as
// SubjectAccessReviews and, for a sample, with `kubectl auth can-i --as` too; and the control
// plane, run with the Deployment's own arguments (addresses on loopback, the Secret and ConfigMap
// as the kubelet would mount them) and that ServiceAccount's token, lists, watches, turns ready
// and is refused nothing.
// No kubelet runs here: the Deployment is stored, never scheduled; the image is built elsewhere.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCommand } from '../../host/cli/install-command.js';
import { openCaFiles } from '../../host/identity/ca-files.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { installManifests } from '../../host/kube/install-manifests.js';
import { buildMeshConfig } from '../../host/kube/mesh-config.js';
import { fakeIo } from '../helpers/fake-io.js';
import { kubeUnavailableReason, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { freePort } from '../helpers/ports.js';
import { ensureBuilt, WasmeshProcess } from '../helpers/wasmesh-process.js';

const unavailable = kubeUnavailableReason();
if (unavailable !== null) console.warn(`install API server tests skipped: ${unavailable}`);

const SA = 'system:serviceaccount:istio-system:istiod';
let cluster: KubeCluster | null = null;
let dir = '';

function kubectl(args: string[], input?: string): string {
  const r = cluster!.kubectl(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function install(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const io = fakeIo();
  const code = await installCommand(['--kubeconfig', cluster!.kubeconfig, ...args], io);
  return { code, lines: io.stdout.trim().split('\n'), stderr: io.stderr };
}

/** `✔ <ref> <outcome>` lines by ref. */
function outcomes(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const r = /^✔ (\S+ \S+) (created|configured|unchanged)/.exec(l);
    if (r) m.set(r[1]!, r[2]!);
  }
  return m;
}

/** One `kubectl auth can-i <verb> <resource> [-A | -n <namespace>] --as=SA` question. */
type Question = readonly [verb: string, resource: string, ...scope: string[]];
const asked = (q: Question): string => q.join(' ');

/** The unqualified resources below that are not in the core group (kubectl finds them by discovery). */
const GROUP_OF: Readonly<Record<string, string>> = { mutatingwebhookconfigurations: 'admissionregistration.k8s.io', validatingwebhookconfigurations: 'admissionregistration.k8s.io' };

/**
 * What `kubectl auth can-i` asks, as one SubjectAccessReview: the service account with the
 * groups the API server's impersonation gives it, the resource as kubectl takes it
 * (`resource[.group][/name]`), in the kubeconfig's namespace (default) unless -A or -n says.
 * One HTTP request instead of a kubectl process (discovery, then the review) per question: the
 * ~100 questions took 48 s of serial kubectl runs on a loaded two-core machine.
 */
async function canI(q: Question): Promise<boolean> {
  const [verb, resource, ...scope] = q;
  const [typed, name] = resource.split('/') as [string, string | undefined];
  const dot = typed.indexOf('.');
  const plural = dot < 0 ? typed : typed.slice(0, dot);
  const group = dot < 0 ? (GROUP_OF[typed] ?? '') : typed.slice(dot + 1);
  const namespace = scope[0] === '-A' ? '' : scope[0] === '-n' ? scope[1]! : 'default';
  const r = await cluster!.api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: SA,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:istio-system', 'system:authenticated'],
      resourceAttributes: { verb, group, resource: plural, namespace, ...(name !== undefined ? { name } : {}) },
    },
  });
  if (r.status !== 201) throw new Error(`SubjectAccessReview for ${asked(q)}: ${r.status} ${r.body.slice(0, 500)}`);
  return (JSON.parse(r.body) as { status: { allowed?: boolean } }).status.allowed === true;
}

/** The same question put to kubectl itself: "yes" (exit 0) or "no" (exit 1); anything else is a broken question. */
function kubectlCanI(q: Question): boolean {
  const [verb, resource, ...scope] = q;
  const r = cluster!.kubectl(['auth', 'can-i', verb, resource, `--as=${SA}`, ...scope]);
  if (r.stdout.trim() !== 'yes' && r.stdout.trim() !== 'no') throw new Error(`kubectl auth can-i ${asked(q)}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

beforeAll(async () => {
  if (unavailable !== null) return;
  await ensureBuilt();
  cluster = await startKubeCluster();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-install-'));
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== null)('wasmesh install with a real API server', () => {
  const expected = (): ReturnType<typeof installManifests> => installManifests({ image: 'wasmesh/proxy:test', mesh: buildMeshConfig({}, 'wasmesh/proxy:test') });

  it('--server-dry-run on an empty cluster: the cluster-scoped objects and the namespace checked, the objects in it not (it does not exist yet), nothing stored', async () => {
    const r = await install(['--server-dry-run', '--image', 'wasmesh/proxy:test']);
    expect(r.stderr).toMatch(/server dry run against kubeconfig/);
    expect(r.code).toBe(0);
    const all = expected();
    const m = outcomes(r.lines);
    const clusterScoped = all.filter((o) => o.metadata.namespace === undefined);
    expect(m.size).toBe(clusterScoped.length);
    for (const o of clusterScoped) expect(m.get(`${o.kind} ${o.metadata.name}`)).toBe('created');
    expect(r.lines.filter((l) => l.startsWith('✔')).every((l) => l.endsWith('(server dry run)'))).toBe(true);
    const inNs = all.filter((o) => o.metadata.namespace !== undefined);
    expect(r.lines.filter((l) => l.startsWith('- '))).toEqual(inNs.map((o) => `- ${o.kind} istio-system/${o.metadata.name} not checked (server dry run: namespace istio-system does not exist yet)`));
    expect(r.lines).toContain(`server dry run: ${all.length} object(s): ${clusterScoped.length} created, 0 configured, 0 unchanged, ${inNs.length} not checked`);
    expect(cluster!.kubectl(['get', 'namespace', 'istio-system']).status).not.toBe(0);
    expect(cluster!.kubectl(['get', 'crd', 'virtualservices.networking.istio.io']).status).not.toBe(0);
    expect(cluster!.kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector']).status).not.toBe(0);
  }, 60_000);

  it('applied: every object created, reported one line each, and read back with kubectl as made', async () => {
    const r = await install(['--image', 'wasmesh/proxy:test']);
    expect(r.stderr).toMatch(/applying to kubeconfig/);
    expect(r.code).toBe(0);
    const all = expected();
    const m = outcomes(r.lines);
    expect(m.size).toBe(all.length);
    for (const o of all) expect(m.get(`${o.kind} ${o.metadata.namespace !== undefined ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`)).toBe('created');
    expect(r.lines).toContain(`${all.length} object(s): ${all.length} created, 0 configured, 0 unchanged`);

    // Read back: each object present, with what install set.
    for (const o of all) {
      const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
      const args = ['get', `${o.kind.toLowerCase()}${group}`, o.metadata.name, '-o', 'json'];
      if (o.metadata.namespace !== undefined) args.push('-n', o.metadata.namespace);
      const got = JSON.parse(kubectl(args));
      expect(got.metadata.name).toBe(o.metadata.name);
      expect(got.metadata.labels ?? {}).toMatchObject(o.metadata.labels ?? {});
    }
    const dep = JSON.parse(kubectl(['get', 'deployment', 'istiod', '-n', 'istio-system', '-o', 'json']));
    const c = dep.spec.template.spec.containers[0];
    expect(c.args.slice(0, 2)).toEqual(['control-plane', '--kube']);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1337, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(dep.spec.template.spec.serviceAccountName).toBe('istiod');
    const svc = JSON.parse(kubectl(['get', 'service', 'istiod', '-n', 'istio-system', '-o', 'json']));
    expect(svc.spec.ports.map((p: { port: number; targetPort: number }) => `${p.port}->${p.targetPort}`)).toEqual(['15010->15010', '15012->15012', '443->15017', '15014->15014']);
    expect(svc.spec.clusterIP).toMatch(/^10\.96\./);
    const mesh = kubectl(['get', 'configmap', 'istio', '-n', 'istio-system', '-o', 'jsonpath={.data.mesh}']);
    expect(mesh).toContain('discoveryAddress: istiod.istio-system.svc:15012');
    const hook = JSON.parse(kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '-o', 'json']));
    expect(hook.webhooks.map((w: { clientConfig: { caBundle?: string } }) => w.clientConfig.caBundle)).toEqual([undefined, undefined]);
    // The CRDs are served: the Istio kinds can be listed.
    expect(kubectl(['get', 'virtualservices', '-A'])).toBe('');
  }, 120_000);

  it('--dry-run\'s manifests pass kubectl apply --server-side --dry-run=server --validate=strict (over the install, so its namespace exists; as install\'s field manager)', async () => {
    const io = fakeIo();
    expect(await installCommand(['--dry-run', '--image', 'wasmesh/proxy:test'], io)).toBe(0);
    // install's own field manager: kubectl under its default one ("kubectl") would conflict on the
    // atomic lists install owns (a CRD's versions, a webhook's rules), as two appliers should.
    const r = cluster!.kubectl(['apply', '--server-side', '--field-manager=wasmesh-install', '--dry-run=server', '--validate=strict', '-f', '-'], io.stdout);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('deployment.apps/istiod serverside-applied (server dry run)');
    expect(r.stdout).toContain('mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector serverside-applied (server dry run)');
  }, 60_000);

  it('re-running is idempotent: every object unchanged, no resourceVersion moves', async () => {
    const before = kubectl(['get', 'deployment,service,configmap,serviceaccount', '-n', 'istio-system', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}']);
    const r = await install(['--image', 'wasmesh/proxy:test']);
    expect(r.code).toBe(0);
    const m = outcomes(r.lines);
    expect([...m.values()].every((v) => v === 'unchanged'), r.lines.filter((l) => !l.endsWith('unchanged')).join('\n')).toBe(true);
    expect(m.size).toBe(expected().length);
    const after = kubectl(['get', 'deployment,service,configmap,serviceaccount', '-n', 'istio-system', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}']);
    expect(after).toBe(before);
    // A server dry run of the same install says the same.
    const dry = await install(['--server-dry-run', '--image', 'wasmesh/proxy:test']);
    expect(dry.code).toBe(0);
    expect([...outcomes(dry.lines).values()].every((v) => v === 'unchanged')).toBe(true);
  }, 120_000);

  it('a caBundle the control plane patched in survives a re-run without --ca-dir (server-side apply leaves it to its manager)', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const b64 = Buffer.from(pem).toString('base64');
    // As the control plane would patch it, under its own field manager.
    const patch = JSON.stringify({ webhooks: [{ name: 'namespace.sidecar-injector.istio.io', clientConfig: { caBundle: b64 } }, { name: 'object.sidecar-injector.istio.io', clientConfig: { caBundle: b64 } }] });
    kubectl(['patch', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '--type=strategic', '--field-manager=wasmesh-control-plane', '-p', patch]);
    const r = await install(['--image', 'wasmesh/proxy:test']);
    expect(r.code).toBe(0);
    expect(outcomes(r.lines).get('MutatingWebhookConfiguration istio-sidecar-injector')).toBe('unchanged');
    const hook = JSON.parse(kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '-o', 'json']));
    expect(hook.webhooks.map((w: { clientConfig: { caBundle?: string } }) => w.clientConfig.caBundle)).toEqual([b64, b64]);
  }, 60_000);

  it('with --ca-dir: Secret cacerts created, the Deployment and webhook configured, the rest unchanged; then unchanged again', async () => {
    const ca = join(dir, 'ca');
    await openCaFiles({ dir: ca, keyAlgorithm: 'ecdsa-p256', trustDomain: 'cluster.local' });
    openTokenKey(ca);
    const r = await install(['--image', 'wasmesh/proxy:test', '--ca-dir', ca]);
    expect(r.code).toBe(0);
    const m = outcomes(r.lines);
    expect(m.get('Secret istio-system/cacerts')).toBe('created');
    expect(m.get('Deployment istio-system/istiod')).toBe('configured');
    expect(m.get('MutatingWebhookConfiguration istio-sidecar-injector')).toBe('configured');
    const changed = [...m].filter(([, v]) => v !== 'unchanged').map(([k]) => k).sort();
    expect(changed).toEqual(['Deployment istio-system/istiod', 'MutatingWebhookConfiguration istio-sidecar-injector', 'Secret istio-system/cacerts']);
    const root = (await import('node:fs')).readFileSync(join(ca, 'root-cert.pem'), 'utf8');
    const hook = JSON.parse(kubectl(['get', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '-o', 'json']));
    expect(hook.webhooks.map((w: { clientConfig: { caBundle: string } }) => Buffer.from(w.clientConfig.caBundle, 'base64').toString())).toEqual([root, root]);
    const vol = JSON.parse(kubectl(['get', 'deployment', 'istiod', '-n', 'istio-system', '-o', 'jsonpath={.spec.template.spec.volumes[0]}']));
    expect(vol).toEqual({ name: 'cacerts', secret: { secretName: 'cacerts', defaultMode: 0o440 } });
    const again = await install(['--image', 'wasmesh/proxy:test', '--ca-dir', ca]);
    expect([...outcomes(again.lines).values()].every((v) => v === 'unchanged')).toBe(true);
  }, 120_000);

  it('--wait: without a controller the rollout never starts, said after the timeout; once the status says rolled out, it is', async () => {
    const ca = join(dir, 'ca');
    const r = await install(['--image', 'wasmesh/proxy:test', '--ca-dir', ca, '--wait', '--readiness-timeout', '2s']);
    expect(r.code).toBe(1);
    expect([...outcomes(r.lines).values()].every((v) => v === 'unchanged')).toBe(true);
    expect(r.stderr).toMatch(/waiting up to 2 s for Deployment istio-system\/istiod to roll out/);
    expect(r.stderr).toMatch(/✘ Deployment istio-system\/istiod: not ready after 2 s: waiting for the deployment spec update to be observed \(its pods: kubectl -n istio-system describe pods -l app=istiod\)/);
    // What the deployment controller and kubelet would report for one ready pod.
    const generation = kubectl(['get', 'deployment', 'istiod', '-n', 'istio-system', '-o', 'jsonpath={.metadata.generation}']);
    kubectl(['patch', 'deployment', 'istiod', '-n', 'istio-system', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { observedGeneration: Number(generation), replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 } })]);
    const ok = await install(['--image', 'wasmesh/proxy:test', '--ca-dir', ca, '--wait', '--readiness-timeout', '10s']);
    expect(ok.stderr).not.toMatch(/✘/);
    expect(ok.code).toBe(0);
    expect(ok.lines).toContain('✔ Deployment istio-system/istiod rolled out');
  }, 60_000);

  it('can-i as istio-system/istiod: exactly what the control plane needs (SubjectAccessReviews; kubectl agrees on a sample)', async () => {
    const questions: Question[] = [];
    const expected = new Map<string, boolean>();
    const q = (answer: boolean, ...question: Question): void => {
      questions.push(question);
      expected.set(asked(question), answer);
    };
    // The watches, across all namespaces.
    for (const res of ['services', 'pods', 'namespaces', 'serviceaccounts', 'endpointslices.discovery.k8s.io',
      'virtualservices.networking.istio.io', 'destinationrules.networking.istio.io', 'gateways.networking.istio.io', 'serviceentries.networking.istio.io',
      'workloadentries.networking.istio.io', 'sidecars.networking.istio.io', 'authorizationpolicies.security.istio.io', 'peerauthentications.security.istio.io',
      'requestauthentications.security.istio.io', 'telemetries.telemetry.istio.io', 'ratelimitpolicies.policy.wasmesh.io']) {
      q(true, 'list', res, '-A');
      q(true, 'watch', res, '-A');
      q(false, 'create', res, '-n', 'default');
      q(false, 'delete', res, '-n', 'default');
    }
    q(true, 'create', 'tokenreviews.authentication.k8s.io');
    for (const verb of ['create', 'update', 'watch', 'list']) q(true, verb, 'configmaps', '-n', 'shop');
    q(false, 'delete', 'configmaps', '-n', 'shop');
    q(true, 'create', 'events', '-n', 'shop');
    q(false, 'delete', 'events', '-n', 'shop');
    // The injector's configuration only, by name (resourceNames): another admission webhook's is not the control plane's to touch.
    for (const verb of ['list', 'watch', 'patch']) {
      q(true, verb, 'mutatingwebhookconfigurations/istio-sidecar-injector');
      q(false, verb, 'mutatingwebhookconfigurations/other');
    }
    for (const verb of ['list', 'watch']) q(false, verb, 'mutatingwebhookconfigurations');
    q(false, 'get', 'mutatingwebhookconfigurations/istio-sidecar-injector');
    q(false, 'delete', 'mutatingwebhookconfigurations/istio-sidecar-injector');
    q(false, 'create', 'mutatingwebhookconfigurations');
    // Not needed, not granted.
    q(false, 'list', 'secrets', '-A');
    q(false, 'get', 'secrets', '-n', 'istio-system');
    q(false, 'get', 'services', '-n', 'default');
    q(false, 'get', 'configmaps', '-n', 'shop');
    q(false, 'create', 'pods', '-n', 'default');
    q(false, 'update', 'deployments.apps', '-n', 'istio-system');
    q(false, 'create', 'subjectaccessreviews.authorization.k8s.io');
    q(false, 'patch', 'validatingwebhookconfigurations/istio-validator');
    const answers = await Promise.all(questions.map(canI));
    expect(new Map(questions.map((question, i) => [asked(question), answers[i]!]))).toEqual(expected);

    // kubectl asks the same: a sample over each way a resource is named (core, group-qualified,
    // by name, all namespaces, the kubeconfig's namespace), yes and no.
    const sample: Question[] = [['list', 'services', '-A'], ['create', 'services', '-n', 'default'], ['watch', 'virtualservices.networking.istio.io', '-A'],
      ['patch', 'mutatingwebhookconfigurations/istio-sidecar-injector'], ['patch', 'mutatingwebhookconfigurations/other'], ['create', 'tokenreviews.authentication.k8s.io'],
      ['create', 'events', '-n', 'shop'], ['update', 'deployments.apps', '-n', 'istio-system']];
    expect(new Map(sample.map((s) => [asked(s), kubectlCanI(s)]))).toEqual(new Map(sample.map((s) => [asked(s), expected.get(asked(s))!])));

    // What the reflector does: a list narrowed by fieldSelector=metadata.name is authorized as that name; unnarrowed is refused.
    const named = cluster!.kubectl(['get', 'mutatingwebhookconfigurations', '--field-selector', 'metadata.name=istio-sidecar-injector', '-o', 'name', `--as=${SA}`]);
    expect(named.status, named.stderr).toBe(0);
    expect(named.stdout.trim()).toBe('mutatingwebhookconfiguration.admissionregistration.k8s.io/istio-sidecar-injector');
    const every = cluster!.kubectl(['get', 'mutatingwebhookconfigurations', '-o', 'name', `--as=${SA}`]);
    expect(every.status).not.toBe(0);
    expect(every.stderr).toMatch(/forbidden/i);
    // Ten kubectl runs: about 0.5 s each at load 20 on two cores (measured: 48 s for the ~100 this test used to run).
  }, 60_000);

  it('the control plane, run with the Deployment\'s arguments as ServiceAccount istiod, lists and watches everything and turns ready', async () => {
    const dep = JSON.parse(kubectl(['get', 'deployment', 'istiod', '-n', 'istio-system', '-o', 'json']));
    const args: string[] = dep.spec.template.spec.containers[0].args;
    expect(args[0]).toBe('control-plane');
    // The pod's mounts, as files here: the mesh config from the ConfigMap, the CA from the Secret.
    writeFileSync(join(dir, 'mesh'), kubectl(['get', 'configmap', 'istio', '-n', 'istio-system', '-o', 'jsonpath={.data.mesh}']));
    // The Secret as the kubelet mounts it: the files in a timestamped directory, `..data` linking
    // to it, each name a link through `..data`; mode 0440 (defaultMode); the directory read-only.
    const secret = JSON.parse(kubectl(['get', 'secret', 'cacerts', '-n', 'istio-system', '-o', 'json']));
    const mount = join(dir, 'cacerts-mount');
    const stamp = join(mount, '..2026_12_06_00_00_00.000000001');
    mkdirSync(stamp, { recursive: true });
    for (const [name, b64] of Object.entries(secret.data as Record<string, string>)) {
      writeFileSync(join(stamp, name), Buffer.from(b64, 'base64'), { mode: 0o440 });
      symlinkSync(join('..data', name), join(mount, name));
    }
    symlinkSync('..2026_12_06_00_00_00.000000001', join(mount, '..data'));
    chmodSync(stamp, 0o555);
    chmodSync(mount, 0o555);
    const token = kubectl(['create', 'token', 'istiod', '-n', 'istio-system']).trim();
    const kubeconfig = join(dir, 'istiod.kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      'clusters:', '- name: c', '  cluster:', `    server: ${cluster!.server}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: u', '  user:', `    token: ${token}`,
      'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', '',
    ].join('\n'));
    const ports = new Map<string, number>();
    const local = await Promise.all(args.map(async (a) => {
      const listen = /^0\.0\.0\.0:(\d+)$/.exec(a);
      if (listen) {
        const p = await freePort();
        ports.set(listen[1]!, p);
        return `127.0.0.1:${p}`;
      }
      if (a === '/var/run/wasmesh/ca') return mount;
      if (a === '/etc/istio/config/mesh') return join(dir, 'mesh');
      return a;
    }));
    const cp = new WasmeshProcess([...local, '--kubeconfig', kubeconfig]);
    try {
      await cp.waitFor(/sidecar injection webhook on https:/, 'stderr', 30_000);
      const mon = ports.get('15014')!;
      const end = Date.now() + 20_000;
      let ready = 0;
      while (Date.now() < end && ready !== 200) {
        ready = (await fetch(`http://127.0.0.1:${mon}/ready`).catch(() => null))?.status ?? 0;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, cp.stderr).toBe(200);
      // Nothing it watches was forbidden to it.
      expect(cp.stderr).not.toMatch(/forbidden|403/i);
      expect(cp.stderr).toMatch(/kube tokens: TokenReview against kubeconfig/);
      // The CA came from the mounted Secret and wrote nothing there.
      expect(readdirSync(mount).sort()).toEqual(['..2026_12_06_00_00_00.000000001', '..data', 'ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem', 'token-key.pem']);
    } finally {
      await cp.stop();
      // Writable again, for the temp directory's removal (root bypasses it, others do not).
      chmodSync(mount, 0o755);
    }
  }, 90_000);
});
