#!/usr/bin/env node
// Builds the Wasm core and the TypeScript host when any source is newer than the last build,
// so that `npm start`, `npm test` and `npm run bench` work on a fresh checkout with no extra step.
import { statSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
// Each step rebuilds only when its own sources are newer than its outputs: a host-only edit followed
// by `npm run build:ts` must not make the next test file rebuild the Wasm core and filters too.
const steps = [
  { script: 'build:wasm', sources: ['assembly', 'asconfig.json', 'package.json'], outputs: ['build/core.wasm'] },
  {
    script: 'build:filters',
    sources: ['filters', 'assembly', 'package.json'],
    outputs: ['build/filters/wasmesh-filters.wasm', 'build/filters/wasmesh-stats.wasm'],
  },
  { script: 'build:ts', sources: ['host', 'bench', 'tsconfig.json', 'package.json'], outputs: ['dist/host/index.js'] },
];

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

for (const step of steps) {
  const src = Math.max(...step.sources.map((s) => newest(join(root, s))));
  const out = Math.min(...step.outputs.map((o) => (existsSync(join(root, o)) ? statSync(join(root, o)).mtimeMs : 0)));
  if (out === 0 || src > out) execSync(`npm run ${step.script}`, { cwd: root, stdio: 'inherit' });
}
