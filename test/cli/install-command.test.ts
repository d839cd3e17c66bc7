// `wasmesh install`: --crds-only prints the generated CRDs as YAML documents (no anchors, one per
// kind) or one JSON List; without --crds-only it refuses, since nothing else is built yet.
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

  it('refuses without --crds-only (nothing else is built) and refuses an unknown format', async () => {
    await expect(installCommand([], fakeIo())).rejects.toThrow(UsageError);
    await expect(installCommand([], fakeIo())).rejects.toThrow(/only --crds-only is implemented/);
    await expect(installCommand(['--crds-only', '-o', 'xml'], fakeIo())).rejects.toThrow(/-o must be yaml or json, got "xml"/);
  });
});
