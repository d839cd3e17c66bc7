// Tests docker/slim-node-modules.mjs, the image build step that keeps only the uWebSockets.js
// binary this Node loads (the right one stays, the rest go, and a missing one fails the build)
// and drops the files the runtime never loads (TypeScript, source maps, uWebSockets.js' dist copies,
// other platforms' prebuilds, prose, the dashboard libraries' unserved files).
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

  it("drops other platforms' prebuilds, prose and docs folders, keeps licences and code named like docs", () => {
    const { root } = fakeModules([OWN]);
    const own = `${process.platform}-${process.arch}`;
    const files: Record<string, string> = {
      [`bufferutil/prebuilds/${own}/node.napi.node`]: 'ours',
      'bufferutil/prebuilds/win32-ia32/node.napi.node': 'windows',
      'bufferutil/prebuilds/darwin-x64+arm64/node.napi.node': 'mac',
      'bufferutil/index.js': 'code',
      'pkg/README.md': 'readme',
      'pkg/CHANGELOG.md': 'changes',
      'pkg/LICENSE.md': 'licence',
      'pkg/LICENSE': 'licence',
      'pkg/docs/guide.html': 'doc',
      'pkg/doc/API.html': 'doc',
      'pkg/report.pdf': 'pdf',
      'yaml/dist/doc/Document.js': 'code in a folder named doc',
      '@scope/pkg/docs/index.html': 'doc',
      '@scope/pkg/index.js': 'code',
    };
    for (const [path, body] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), body);
    }
    const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const gone = ['bufferutil/prebuilds/win32-ia32/node.napi.node', 'bufferutil/prebuilds/darwin-x64+arm64/node.napi.node',
      'pkg/README.md', 'pkg/CHANGELOG.md', 'pkg/docs/guide.html', 'pkg/doc/API.html', 'pkg/report.pdf', '@scope/pkg/docs/index.html'];
    for (const path of Object.keys(files)) expect(existsSync(join(root, path)), path).toBe(!gone.includes(path));
    expect(existsSync(join(root, 'pkg/docs'))).toBe(false);
    expect(r.stdout).toContain(`removed ${gone.length} files of prose and other platforms' prebuilds`);
  });

  it("keeps of the dashboard's libraries only package.json, the licence, the entry and the served files; fails when a served file is missing", () => {
    const { root } = fakeModules([OWN]);
    const files: Record<string, string> = {
      'cytoscape/package.json': JSON.stringify({ main: 'dist/cytoscape.cjs.js', exports: { '.': { import: './dist/cytoscape.esm.mjs', require: './dist/cytoscape.cjs.js' } } }),
      'cytoscape/LICENSE': 'licence',
      'cytoscape/dist/cytoscape.cjs.js': 'entry',
      'cytoscape/dist/cytoscape.min.js': 'served',
      'cytoscape/dist/cytoscape.umd.js': 'other bundle',
      'cytoscape/src/index.mjs': 'sources',
      'cytoscape/playwright-tests/a.spec.js': 'tests',
      'uplot/package.json': JSON.stringify({ main: './dist/uPlot.cjs.js' }),
      'uplot/dist/uPlot.cjs.js': 'entry',
      'uplot/dist/uPlot.iife.min.js': 'served',
      'uplot/dist/uPlot.min.css': 'served',
      'uplot/dist/uPlot.esm.js': 'other bundle',
    };
    for (const [path, body] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), body);
    }
    const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const gone = ['cytoscape/dist/cytoscape.umd.js', 'cytoscape/src/index.mjs', 'cytoscape/playwright-tests/a.spec.js', 'uplot/dist/uPlot.esm.js'];
    for (const path of Object.keys(files)) expect(existsSync(join(root, path)), path).toBe(!gone.includes(path));
    expect(existsSync(join(root, 'cytoscape/src'))).toBe(false);
    expect(r.stdout).toContain(`removed ${gone.length} files of the dashboard's browser libraries`);

    rmSync(join(root, 'uplot/dist/uPlot.min.css'));
    const missing = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/uplot\/dist\/uPlot\.min\.css is missing: the dashboard serves it/);
  });

  it('finds the binary the installed package would load', () => {
    const installed = fileURLToPath(new URL('../../node_modules/uWebSockets.js/binaries/', import.meta.url));
    expect(readdirSync(installed)).toContain(OWN);
  });
});
