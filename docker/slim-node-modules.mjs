// Build-stage step of the image: deletes from node_modules what the runtime never loads, so the
// image carries less (docs/image.md, Size):
//   - the uWebSockets.js native binaries built for other platforms, arches and Node ABIs (about
//     85 MB of the package), keeping the one this Node loads; and the package's stray copies of
//     Linux binaries in its dist/ (20 MB), which nothing requires (its loader, src/uws.js, loads
//     from binaries/; dist/ is the pure-JS fallback);
//   - TypeScript sources and declarations (*.ts, *.mts, *.cts) and source maps (*.map): Node 20
//     cannot load the first, and nothing in the image runs with --enable-source-maps on
//     dependencies (about 20 MB). The project's own dist/ is not touched;
//   - native addons' prebuilds/ for other platforms (node-gyp-build loads only its own);
//   - prose: Markdown (READMEs, changelogs), PDFs, a package's top-level doc/ or docs/ folder
//     (licence texts stay);
//   - of the dashboard's browser libraries (cytoscape, uPlot), all but package.json, the licence,
//     the package entry and the files the dashboard serves: the list is the compiled
//     host/dashboard/dashboard-libraries.ts (dist/, so this runs after `npm run build`).
// Fails the build if the uWebSockets.js binary this Node needs, or a file the dashboard serves, is
// missing, so an image that cannot start its listeners or its dashboard is never made.
import { readdirSync, rmSync, existsSync, statSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { DASHBOARD_LIBRARY_FILES } from '../dist/host/dashboard/dashboard-libraries.js';

const root = process.argv[2] ?? 'node_modules';
const uws = join(root, 'uWebSockets.js');
const dir = join(uws, 'binaries');
// The same name the package's loader (src/uws.js) requires.
const keep = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

if (!existsSync(join(dir, keep))) {
  console.error(`slim-node-modules: ${join(dir, keep)} is missing: uWebSockets.js has no binary for this Node`);
  process.exit(1);
}
let removed = 0;
for (const name of readdirSync(dir)) {
  if (name !== keep) { rmSync(join(dir, name), { force: true }); removed += 1; }
}
console.log(`slim-node-modules: kept ${keep}, removed ${removed} other binaries`);

let files = 0;
let bytes = 0;
const drop = (path) => { bytes += statSync(path).size; rmSync(path, { force: true }); files += 1; };

const uwsDist = join(uws, 'dist');
if (existsSync(uwsDist)) {
  for (const name of readdirSync(uwsDist)) if (name.endsWith('.node')) drop(join(uwsDist, name));
}

const unloadable = /\.(?:[mc]?ts|map)$/;
function walk(path) {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.isFile() && unloadable.test(entry.name)) drop(p);
  }
}
walk(root);
console.log(`slim-node-modules: removed ${files} files never loaded at run time (${(bytes / 1e6).toFixed(1)} MB: uWebSockets.js dist/*.node, *.ts, *.map)`);

// Native addons built with node-gyp-build (bufferutil, utf-8-validate) ship prebuilds/<platform>-
// <arch>[+<arch>…]/ for every platform; the loader only opens this platform's and arch's.
const foreign = (name) => {
  const [platform, archs = ''] = name.split('-');
  return platform !== process.platform || !archs.split('+').includes(process.arch);
};
// Prose and documentation nothing requires: README/CHANGELOG and other Markdown, PDFs, and a
// package's own top-level doc/ or docs/ folder. Licence texts stay, whatever their extension.
const licence = /^(?:licen[cs]e|copying|notice|authors)(?:-[a-z0-9]+)?(?:\.(?:md|txt|markdown))?$/i;
const prose = /\.(?:md|markdown|pdf)$/i;
const topLevelDocs = (path) => /^(?:@[^/]+\/)?[^/@][^/]*\/docs?$/.test(path);

function rmDir(path) {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) rmDir(p);
    else if (entry.isFile() || entry.isSymbolicLink()) drop(p);
  }
  rmSync(path, { recursive: true, force: true });
}

function walkMore(path, rel) {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (topLevelDocs(r) || (basename(path) === 'prebuilds' && foreign(entry.name))) rmDir(p);
      else walkMore(p, r);
    } else if (entry.isFile() && prose.test(entry.name) && !licence.test(entry.name)) drop(p);
  }
}

files = 0;
bytes = 0;
walkMore(root, '');
console.log(`slim-node-modules: removed ${files} files of prose and other platforms' prebuilds (${(bytes / 1e6).toFixed(1)} MB: *.md, *.pdf, doc/, docs/, prebuilds/)`);

// The package's entry as require.resolve(pkg) finds it: exports["."] (require, default), else main.
function entry(pkgDir) {
  const json = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  let target = json.exports;
  if (target && typeof target === 'object' && '.' in target) target = target['.'];
  if (target && typeof target === 'object') target = target.require ?? target.node ?? target.default;
  if (typeof target !== 'string') target = json.main ?? 'index.js';
  const file = join(pkgDir, target);
  return existsSync(file) ? file : `${file}.js`;
}

files = 0;
bytes = 0;
for (const pkg of new Set(DASHBOARD_LIBRARY_FILES.map((f) => f.pkg))) {
  const pkgDir = join(root, pkg);
  if (!existsSync(join(pkgDir, 'package.json'))) continue;
  const main = entry(pkgDir);
  const keep = new Set([join(pkgDir, 'package.json'), main,
    ...DASHBOARD_LIBRARY_FILES.filter((f) => f.pkg === pkg).map((f) => join(dirname(main), f.file))]);
  for (const file of keep) {
    if (!existsSync(file)) {
      console.error(`slim-node-modules: ${file} is missing: the dashboard serves it (host/dashboard/dashboard-libraries.ts)`);
      process.exit(1);
    }
  }
  const prune = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { prune(p); if (readdirSync(p).length === 0) rmSync(p, { recursive: true }); }
      else if (!keep.has(p) && !(dir === pkgDir && licence.test(e.name))) drop(p);
    }
  };
  prune(pkgDir);
  console.log(`slim-node-modules: ${pkg}: kept ${[...keep].map((f) => relative(pkgDir, f)).join(', ')}`);
}
console.log(`slim-node-modules: removed ${files} files of the dashboard's browser libraries nothing in Node loads (${(bytes / 1e6).toFixed(1)} MB)`);
