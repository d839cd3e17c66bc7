// Build-stage step of the image: deletes the uWebSockets.js native binaries built for other
// platforms, arches and Node ABIs (about 85 MB of the package), keeping the one this Node loads.
// Fails the build if that one is missing, so an image that cannot start its listeners is never made.
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? 'node_modules';
const dir = join(root, 'uWebSockets.js', 'binaries');
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
