// Tests docker/slim-node-modules.mjs, the image build step that keeps only the uWebSockets.js
// binary this Node loads (the right one stays, the rest go, and a missing one fails the build)
// and drops the files the runtime never loads (TypeScript, source maps, uWebSockets.js' dist copies).
import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../docker/slim-node-modules.mjs', import.meta.url));
const OWN = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function fakeModules(binaries: string[]): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'wasmesh-slim-'));
  dirs.push(root);
  const bin = join(root, 'uWebSockets.js', 'binaries');
  mkdirSync(bin, { recursive: true });
  for (const b of binaries) writeFileSync(join(bin, b), 'x');
  return { root, bin };
}

describe('slim-node-modules', () => {
  it("keeps only this Node's uWebSockets.js binary", () => {
    const { root, bin } = fakeModules([OWN, 'uws_darwin_arm64_115.node', 'uws_win32_x64_108.node', 'uws_linux_x64_93.node']);
    const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`kept ${OWN}, removed 3`);
    expect(readdirSync(bin)).toEqual([OWN]);
  });

  it('fails, deleting nothing, when no binary fits this Node', () => {
    const { root, bin } = fakeModules(['uws_darwin_arm64_115.node']);
    const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has no binary for this Node/);
    expect(readdirSync(bin)).toEqual(['uws_darwin_arm64_115.node']);
  });

  it('drops what the runtime never loads: uWebSockets.js dist/*.node, *.ts, *.d.ts, *.map; keeps the JS', () => {
    const { root } = fakeModules([OWN]);
    const files: Record<string, string> = {
      'uWebSockets.js/dist/uws_linux_x64_108.node': 'binary copy',
      'uWebSockets.js/dist/index.js': 'fallback',
      'uWebSockets.js/src/uws.js': 'loader',
      'pkg/build/index.js': 'code',
      'pkg/build/index.js.map': 'map',
      'pkg/build/index.d.ts': 'types',
      'pkg/src/index.ts': 'source',
      'pkg/src/esm.mts': 'source',
      'pkg/package.json': '{}',
      'pkg/data.tsv': 'not TypeScript',
    };
    for (const [path, body] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), body);
    }
    const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const gone = ['uWebSockets.js/dist/uws_linux_x64_108.node', 'pkg/build/index.js.map', 'pkg/build/index.d.ts', 'pkg/src/index.ts', 'pkg/src/esm.mts'];
    for (const path of Object.keys(files)) expect(existsSync(join(root, path)), path).toBe(!gone.includes(path));
    const bytes = gone.reduce((n, p) => n + Buffer.byteLength(files[p]), 0);
    expect(r.stdout).toContain(`removed ${gone.length} files never loaded at run time (${(bytes / 1e6).toFixed(1)} MB`);
    expect(existsSync(join(root, 'uWebSockets.js', 'binaries', OWN))).toBe(true);
  });

  it('finds the binary the installed package would load', () => {
    const installed = fileURLToPath(new URL('../../node_modules/uWebSockets.js/binaries/', import.meta.url));
    expect(readdirSync(installed)).toContain(OWN);
  });
});
