// `wasmesh install`: --crds-only prints the generated CRDs as YAML documents (no anchors, one per
// kind) or one JSON List; --webhook-only the injection webhook's configuration with the caBundle
// of a CA directory or PEM file; --dry-run prints the full install (install-manifests.ts) and
// bad flags are usage errors. Applying to a cluster: test/kube/install-apiserver.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../../host/cli/args.js';
import { installCommand } from '../../host/cli/install-command.js';
import { istioCrds } from '../../host/kube/istio-crds.js';
import { fakeIo } from '../helpers/fake-io.js';
import { CA_SECRET_FILES, installManifests } from '../../host/kube/install-manifests.js';
import { buildMeshConfig } from '../../host/kube/mesh-config.js';

describe('wasmesh install', () => {
  it('--crds-only prints every CRD as a YAML document, each version\'s schema written out (no aliases)', async () => {
    const io = fakeIo();
    expect(await installCommand(['--crds-only'], io)).toBe(0);
    const docs = parseAllDocuments(io.stdout);
    expect(docs.map((d) => d.errors)).toEqual(docs.map(() => []));
    const crds = docs.map((d) => d.toJS());
    expect(crds).toEqual(istioCrds().map((g) => g.crd));
    expect(io.stdout).not.toMatch(/[&*]a\d+\b/);
  });

  it('-o json prints one List', async () => {
    const io = fakeIo();
    expect(await installCommand(['--crds-only', '-o', 'json'], io)).toBe(0);
    const list = JSON.parse(io.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toContain('virtualservices.networking.istio.io');
  });

  it('refuses mixed or unknown modes and formats', async () => {
    await expect(installCommand(['--crds-only', '--webhook-only'], fakeIo())).rejects.toThrow(/choose one/);
    await expect(installCommand(['--crds-only', '--ca-dir', '/x'], fakeIo())).rejects.toThrow(/--ca-dir goes with --webhook-only or a full install/);
    await expect(installCommand(['--crds-only', '--dry-run'], fakeIo())).rejects.toThrow(/--dry-run goes with a full install, not --crds-only \(which only prints\)/);
    await expect(installCommand(['--webhook-only', '--set', 'meshConfig.a=b'], fakeIo())).rejects.toThrow(/--set goes with a full install, not --webhook-only/);
    await expect(installCommand(['--crds-only', '--wait'], fakeIo())).rejects.toThrow(/--wait goes with a full install, not --crds-only/);
    await expect(installCommand(['--crds-only', '-o', 'xml'], fakeIo())).rejects.toThrow(/-o must be yaml or json, got "xml"/);
  });
});

describe('wasmesh install --webhook-only', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-install-'));
  writeFileSync(join(dir, 'root-cert.pem'), PEM);
  writeFileSync(join(dir, 'bundle.pem'), PEM);
  writeFileSync(join(dir, 'junk.pem'), 'junk');

  it('istio-sidecar-injector: the namespace and object webhooks, Service clientConfig by default, caBundle from --ca-dir', async () => {
    const io = fakeIo();
    expect(await installCommand(['--webhook-only', '--ca-dir', dir], io)).toBe(0);
    const cfg = parse(io.stdout);
    expect(cfg).toMatchObject({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'istio-sidecar-injector' } });
    expect(cfg.webhooks.map((w: { name: string }) => w.name)).toEqual(['namespace.sidecar-injector.istio.io', 'object.sidecar-injector.istio.io']);
    const ns = cfg.webhooks[0];
    expect(ns).toMatchObject({
      clientConfig: { service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 }, caBundle: Buffer.from(PEM).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      sideEffects: 'None', admissionReviewVersions: ['v1'], failurePolicy: 'Fail',
      namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
      objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
    });
  });

  it('--webhook-url, --ca-bundle, --failure-policy Ignore, -o json', async () => {
    const io = fakeIo();
    expect(await installCommand(['--webhook-only', '--ca-bundle', join(dir, 'bundle.pem'), '--webhook-url', 'https://127.0.0.1:15017/inject', '--failure-policy', 'Ignore', '-o', 'json'], io)).toBe(0);
    const cfg = JSON.parse(io.stdout);
    expect(cfg.webhooks[1].clientConfig).toEqual({ url: 'https://127.0.0.1:15017/inject', caBundle: Buffer.from(PEM).toString('base64') });
    expect(cfg.webhooks.map((w: { failurePolicy: string }) => w.failurePolicy)).toEqual(['Ignore', 'Ignore']);
  });

  it('bad input: no bundle, both, an unreadable or non-PEM bundle, an http or bad URL, a bad policy', async () => {
    const run = (args: string[]) => installCommand(['--webhook-only', ...args], fakeIo());
    await expect(run([])).rejects.toThrow(/needs the caBundle: --ca-dir .* or --ca-bundle/);
    await expect(run(['--ca-dir', dir, '--ca-bundle', join(dir, 'bundle.pem')])).rejects.toThrow(/needs the caBundle/);
    await expect(run(['--ca-dir', join(dir, 'none')])).rejects.toThrow(/cannot read the CA bundle .*none\/root-cert\.pem: ENOENT \(start `wasmesh control-plane --ca-dir` once/);
    await expect(run(['--ca-bundle', join(dir, 'junk.pem')])).rejects.toThrow(/junk\.pem: no PEM certificate/);
    await expect(run(['--ca-dir', dir, '--webhook-url', 'http://x/inject'])).rejects.toThrow(/--webhook-url must be https:/);
    await expect(run(['--ca-dir', dir, '--webhook-url', 'nope'])).rejects.toThrow(/not a URL/);
    await expect(run(['--ca-dir', dir, '--failure-policy', 'fail'])).rejects.toThrow(/--failure-policy must be Fail or Ignore, got "fail"/);
  });
});

describe('wasmesh install (full)', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-install-full-'));
  const ca = join(dir, 'ca');
  mkdirSync(ca);
  for (const f of CA_SECRET_FILES) writeFileSync(join(ca, f), f === 'root-cert.pem' ? PEM : `${f}\n`);
  const partial = join(dir, 'partial');
  mkdirSync(partial);
  for (const f of CA_SECRET_FILES.filter((x) => x !== 'token-key.pem')) writeFileSync(join(partial, f), PEM);
  writeFileSync(join(dir, 'mesh.yaml'), 'trustDomain: file.example\n');

  it('--dry-run prints every object of the install as YAML documents, the same each time', async () => {
    const io = fakeIo();
    expect(await installCommand(['--dry-run', '--image', 'x/proxy:1'], io)).toBe(0);
    const docs = parseAllDocuments(io.stdout).map((d) => d.toJS());
    const mesh = buildMeshConfig({}, 'x/proxy:1');
    expect(docs).toEqual(installManifests({ image: 'x/proxy:1', mesh }));
    const again = fakeIo();
    await installCommand(['--dry-run', '--image', 'x/proxy:1'], again);
    expect(again.stdout).toBe(io.stdout);
    expect(io.stderr).toBe('');
  });

  it('--ca-dir of an empty directory: a root generated there (and token-key.pem), said on stderr, reused by the next install', async () => {
    const fresh = join(dir, 'fresh-ca');
    const io = fakeIo();
    expect(await installCommand(['--dry-run', '-o', 'json', '--ca-dir', fresh, '--set', 'meshConfig.trustDomain=corp.example'], io)).toBe(0);
    expect(io.stderr).toMatch(/--ca-dir .*fresh-ca: generated a new self-signed root \(trust domain corp\.example\)/);
    expect(io.stderr).toMatch(/wrote token-key\.pem/);
    const secret = JSON.parse(io.stdout).items.find((o: { kind: string }) => o.kind === 'Secret');
    for (const f of CA_SECRET_FILES) expect(Buffer.from(secret.data[f], 'base64').toString()).toBe(readFileSync(join(fresh, f), 'utf8'));
    const again = fakeIo();
    expect(await installCommand(['--dry-run', '-o', 'json', '--ca-dir', fresh, '--set', 'meshConfig.trustDomain=corp.example'], again)).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(io.stdout);
  });

  it('--dry-run -o json: one List; --mesh-config, --set, --ca-dir, --failure-policy reach the objects', async () => {
    const io = fakeIo();
    const realCa = join(dir, 'real-ca');
    await installCommand(['--dry-run', '--ca-dir', realCa], fakeIo());
    const PEM = readFileSync(join(realCa, 'root-cert.pem'), 'utf8');
    expect(await installCommand(['--dry-run', '-o', 'json', '--mesh-config', join(dir, 'mesh.yaml'), '--set', 'meshConfig.defaultConfig.proxyMetadata.A=b', '--ca-dir', realCa, '--failure-policy', 'Ignore'], io)).toBe(0);
    const list = JSON.parse(io.stdout);
    expect(list.kind).toBe('List');
    const byKind = (k: string) => list.items.find((o: { kind: string }) => o.kind === k);
    expect(parse(byKind('ConfigMap').data.mesh)).toMatchObject({ trustDomain: 'file.example', defaultConfig: { proxyMetadata: { A: 'b' } } });
    expect(byKind('Secret').metadata.name).toBe('cacerts');
    expect(byKind('MutatingWebhookConfiguration').webhooks[0].failurePolicy).toBe('Ignore');
    expect(byKind('MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle).toBe(Buffer.from(PEM).toString('base64'));
    expect(byKind('Deployment').spec.template.spec.containers[0].image).toMatch(/^wasmesh\/proxy:/);
  });

  it('--ip-families IPv6,IPv4 reaches the Deployment\'s listen addresses and Service istiod; a bad list or one with --crds-only is a usage error', async () => {
    const io = fakeIo();
    expect(await installCommand(['--dry-run', '--image', 'x/proxy:1', '--ip-families', 'IPv6,IPv4'], io)).toBe(0);
    const docs = parseAllDocuments(io.stdout).map((d) => d.toJS());
    expect(docs).toEqual(installManifests({ image: 'x/proxy:1', mesh: buildMeshConfig({}, 'x/proxy:1'), ipFamilies: ['IPv6', 'IPv4'] }));
    expect(io.stdout).toContain('[::]:15010');
    for (const bad of ['IPv5', 'IPv4,IPv4', 'IPv4,IPv6,IPv4', 'ipv6']) {
      await expect(installCommand(['--dry-run', '--ip-families', bad], fakeIo())).rejects.toThrow(/--ip-families: expected IPv4, IPv6, IPv4,IPv6 or IPv6,IPv4/);
    }
    await expect(installCommand(['--crds-only', '--ip-families', 'IPv6'], fakeIo())).rejects.toThrow(/--ip-families goes with a full install/);
  });

  it('bad input: a CA directory missing a file, an unreadable mesh config, a bad --set, flags of --webhook-only, -o without --dry-run', async () => {
    const run = (args: string[]) => installCommand(args, fakeIo());
    // Four files that are no certificates: refused by the CA's own checks, naming the directory.
    await expect(run(['--dry-run', '--ca-dir', partial])).rejects.toThrow(/--ca-dir .*partial: /);
    await expect(run(['--dry-run', '--ca-dir', ca])).rejects.toThrow(/--ca-dir .*ca: /);
    await expect(run(['--dry-run', '--mesh-config', join(dir, 'none.yaml')])).rejects.toThrow(/--mesh-config: cannot read .*none\.yaml: ENOENT/);
    await expect(run(['--dry-run', '--set', 'values.x=1'])).rejects.toThrow(/--set values\.x=1: only meshConfig/);
    await expect(run(['--dry-run', '--webhook-url', 'https://x/inject'])).rejects.toThrow(/--webhook-url goes with --webhook-only/);
    await expect(run(['--dry-run', '--ca-bundle', join(ca, 'root-cert.pem')])).rejects.toThrow(/--ca-bundle goes with --webhook-only/);
    await expect(run(['-o', 'json'])).rejects.toThrow(/-o goes with --dry-run/);
    await expect(run(['--dry-run', '--server-dry-run'])).rejects.toThrow(/choose one/);
    await expect(run(['--dry-run', '--wait'])).rejects.toThrow(/--wait waits for what was applied: not with --dry-run or --server-dry-run/);
    await expect(run(['--readiness-timeout', '1m'])).rejects.toThrow(/--readiness-timeout goes with --wait/);
    await expect(run(['--wait', '--readiness-timeout', 'soon'])).rejects.toThrow(/--readiness-timeout: /);
    await expect(run(['--dry-run', '--failure-policy', 'Never'])).rejects.toThrow(/--failure-policy must be Fail or Ignore/);
    await expect(run(['--dry-run', '--set', 'x'])).rejects.toThrow(UsageError);
  });

  it('without --dry-run and without a cluster: exit 1, saying so and what prints instead', async () => {
    const io = fakeIo();
    const saved = { ...process.env };
    try {
      process.env.KUBECONFIG = join(dir, 'no-kubeconfig');
      process.env.HOME = dir;
      delete process.env.KUBERNETES_SERVICE_HOST;
      expect(await installCommand([], io)).toBe(1);
    } finally {
      process.env.KUBECONFIG = saved.KUBECONFIG;
      process.env.HOME = saved.HOME;
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
      if (saved.KUBERNETES_SERVICE_HOST !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.KUBERNETES_SERVICE_HOST;
    }
    expect(io.stderr).toMatch(/--dry-run prints the manifests without a cluster/);
    expect(io.stdout).toBe('');
    expect(await installCommand(['--kubeconfig', join(dir, 'none')], fakeIo())).toBe(1);
  });
});
