// The socket-activation helper (docker/wasmesh-listen.c) for tests: compiled with gcc by
// scripts/build-listen-helper.sh into a cache keyed by the source's hash. A machine without gcc
// cannot run the tests that need it: they fail (the helper is part of the product, not optional).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-listen-helper.sh', import.meta.url));

let built: string | null = null;

/** The helper binary's path; throws with the compiler's message when it cannot be built. */
export function listenHelper(): string {
  if (built !== null) return built;
  const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`wasmesh-listen could not be built (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  built = r.stdout.trim();
  return built;
}
