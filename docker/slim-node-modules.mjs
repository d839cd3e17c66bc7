// Build-stage step of the image: deletes from node_modules what the runtime never loads, so the
// image carries less (docs/image.md, Size):
//   - the uWebSockets.js native binaries built for other platforms, arches and Node ABIs (about
//     85 MB of the package), keeping the one this Node loads; and the package's stray copies of
//     Linux binaries in its dist/ (20 MB), which nothing requires (its loader, src/uws.js, loads
//     from binaries/; dist/ is the pure-JS fallback);
//   - TypeScript sources and declarations (*.ts, *.mts, *.cts) and source maps (*.map): Node 20
//     cannot load the first, and nothing in the image runs with --enable-source-maps on
//     dependencies (about 20 MB). The project's own dist/ is not touched.
// Fails the build if the uWebSockets.js binary this Node needs is missing, so an image that
// cannot start its listeners is never made.
import { readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
