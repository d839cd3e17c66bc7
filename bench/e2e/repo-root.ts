// The repository root, found from this module's own location (bench/e2e/ in source,
// dist/bench/e2e/ when built), so the harness finds bin/, the YAML and the Go source either way.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'wasmesh.js'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}
