// `wasmesh install`: --crds-only prints the generated CRDs as YAML documents (no anchors, one per
// kind) or one JSON List; --webhook-only the injection webhook's configuration with the caBundle
// of a CA directory or PEM file; with neither it refuses, since nothing else is built yet.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../../host/cli/args.js';
import { installCommand } from '../../host/cli/install-command.js';
import { istioCrds } from '../../host/kube/istio-crds.js';
import { fakeIo } from '../helpers/fake-io.js';

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

  it('refuses without --crds-only or --webhook-only (nothing else is built) and refuses an unknown format', async () => {
    await expect(installCommand([], fakeIo())).rejects.toThrow(UsageError);
    await expect(installCommand([], fakeIo())).rejects.toThrow(/only --crds-only and --webhook-only are implemented/);
    await expect(installCommand(['--crds-only', '--webhook-only'], fakeIo())).rejects.toThrow(/choose one/);
    await expect(installCommand(['--crds-only', '--ca-dir', '/x'], fakeIo())).rejects.toThrow(/--ca-dir goes with --webhook-only/);
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
