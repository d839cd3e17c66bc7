#!/usr/bin/env node
// Removes compiled files under dist/ whose TypeScript source is gone (a moved or deleted
// module), so that nothing can import a stale copy. Runs after tsc: dist/ is never emptied while
// tests or a running proxy may be reading it.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dist = join(root, 'dist');

function sourceOf(file) {
  const rel = relative(dist, file);
  const base = rel.replace(/\.d\.ts\.map$|\.d\.ts$|\.js\.map$|\.js$/, '');
  return join(root, `${base}.ts`);
}

function prune(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      prune(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    } else if (/\.(js|js\.map|d\.ts|d\.ts\.map)$/.test(name) && !existsSync(sourceOf(p))) {
      rmSync(p);
    }
  }
}

prune(dist);
