// The load tools the bench smoke tests run (bench:e2e: wrk, fortio, Go for the upstream;
// bench:protocols: h2load): null when all are there, else why not. With WASMESH_REQUIRE_LOADGEN=1 (set by .ci/run) their absence throws,
// so CI fails instead of skipping the suite.
import { spawnSync } from 'node:child_process';
import { findLoadTools } from '../../bench/e2e/load-tools.js';
import { findH2load } from '../../bench/protocols/h2load.js';

export function loadToolsMissingForTests(suite: string): string | null {
  const tools = findLoadTools();
  const missing = [
    tools.wrk ? null : 'wrk',
    tools.fortio ? null : 'fortio',
    spawnSync(process.env.GO_BIN || 'go', ['version']).status === 0 ? null : 'go',
  ].filter((x) => x !== null);
  if (missing.length === 0) return null;
  const why = `${missing.join(', ')} not found (run scripts/install-loadgen.sh; Go for the upstream)`;
  if (process.env.WASMESH_REQUIRE_LOADGEN === '1') throw new Error(`${suite}: WASMESH_REQUIRE_LOADGEN=1 but ${why}`);
  console.warn(`${suite} skipped: ${why}`);
  return why;
}

export function h2loadMissingForTests(suite: string): string | null {
  if (findH2load() !== null) return null;
  const why = 'h2load not found (apt-get install nghttp2-client; scripts/install-loadgen.sh)';
  if (process.env.WASMESH_REQUIRE_LOADGEN === '1') throw new Error(`${suite}: WASMESH_REQUIRE_LOADGEN=1 but ${why}`);
  console.warn(`${suite} skipped: ${why}`);
  return why;
}
