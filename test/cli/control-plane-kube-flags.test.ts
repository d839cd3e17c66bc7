// `wasmesh control-plane`'s --kube flags: -f or --kube is required, --kubeconfig needs --kube,
// and a kubeconfig that cannot be used ends the command with exit 1 and the reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlPlaneCommand } from '../../host/cli/control-plane-command.js';
import { UsageError } from '../../host/cli/args.js';
import { fakeIo } from '../helpers/fake-io.js';

describe('control-plane --kube flags', () => {
  it('needs -f or --kube; --kubeconfig needs --kube', async () => {
    await expect(controlPlaneCommand([], fakeIo())).rejects.toThrow(/at least one -f <file\|dir> \(or --kube\) is required/);
    await expect(controlPlaneCommand(['-f', 'x.yaml', '--kubeconfig', 'k'], fakeIo())).rejects.toThrow(UsageError);
  });

  it('--istio-namespace needs --kube; --webhook-config-name needs --webhook-listen and a CA-issued certificate', async () => {
    await expect(controlPlaneCommand(['-f', 'x.yaml', '--istio-namespace', 'mesh'], fakeIo())).rejects.toThrow(/--istio-namespace needs --kube/);
    await expect(controlPlaneCommand(['-f', 'x.yaml', '--webhook-config-name', 'x'], fakeIo())).rejects.toThrow(/--webhook-config-name goes with --webhook-listen/);
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cpkube-'));
    try {
      writeFileSync(join(dir, 'c.pem'), 'x');
      await expect(controlPlaneCommand(['-f', 'x.yaml', '--webhook-listen', '127.0.0.1:0', '--webhook-cert', join(dir, 'c.pem'), '--webhook-key', join(dir, 'c.pem'), '--webhook-config-name', 'x'], fakeIo()))
        .rejects.toThrow(/--webhook-config-name: the caBundle is kept only for a certificate from --ca-dir/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a kubeconfig that cannot be used: exit 1 with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cpkube-'));
    try {
      writeFileSync(join(dir, 'config'), 'apiVersion: v1\nkind: Config\ncurrent-context: gone\n');
      const io = fakeIo();
      expect(await controlPlaneCommand(['--kube', '--kubeconfig', join(dir, 'config')], io)).toBe(1);
      expect(io.stderr).toMatch(/current-context "gone" is not among its contexts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
