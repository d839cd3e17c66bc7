#!/usr/bin/env node
// Builds the Wasm core and the TypeScript host when any source is newer than the last build,
// so that `npm start`, `npm test` and `npm run bench` work on a fresh checkout with no extra step.
import { statSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const sources = ['assembly', 'host', 'bench', 'filters', 'asconfig.json', 'tsconfig.json', 'package.json'];
const outputs = ['build/core.wasm', 'build/filters/wasmesh-filters.wasm', 'build/filters/wasmesh-stats.wasm', 'dist/host/index.js'];

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const src = Math.max(...sources.map((s) => newest(join(root, s))));
const out = Math.min(...outputs.map((o) => (existsSync(join(root, o)) ? statSync(join(root, o)).mtimeMs : 0)));
if (out === 0 || src > out) {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
