// Every way wasmesh is started runs node with the same V8 settings (host/cli/node-flags.ts).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WASMESH_NODE_FLAGS } from '../../host/cli/node-flags.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('node flags', () => {
  it("bin/wasmesh.js's shebang passes them (env -S splits the line into arguments)", () => {
    const first = readFileSync(join(ROOT, 'bin', 'wasmesh.js'), 'utf8').split('\n')[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${WASMESH_NODE_FLAGS.join(' ')}`);
  });

  it("docker/entrypoint.sh's default is the same list", () => {
    const text = readFileSync(join(ROOT, 'docker', 'entrypoint.sh'), 'utf8');
    expect(text).toContain(`"\${WASMESH_NODE_FLAGS-${WASMESH_NODE_FLAGS.join(' ')}}"`);
  });

  it('running the bin directly (as npx and the image do) applies them: the young generation stays small', () => {
    const r = spawnSync(join(ROOT, 'bin', 'wasmesh.js'), ['--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    // The same shebang line run by env: objects that survive make the young generation grow, up
    // to 16 MiB semi-spaces by default (32 MiB here), to 2 MiB with the flag.
    const grow = "const keep = []; for (let i = 0; i < 1e6; i++) keep.push({ i }); " +
      "console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
    const probe = spawnSync('/usr/bin/env', ['-S', `node ${WASMESH_NODE_FLAGS.join(' ')}`, '-e', grow], { encoding: 'utf8', timeout: 20_000 });
    expect(probe.status, probe.stderr).toBe(0);
    expect(Number(probe.stdout)).toBeLessThanOrEqual(2 * 1024 * 1024);
    const unflagged = spawnSync(process.execPath, ['-e', grow], { encoding: 'utf8', timeout: 20_000 });
    expect(Number(unflagged.stdout)).toBeGreaterThan(2 * 1024 * 1024);
  });

  it("the data-path worker threads (host/server/worker-pool.ts, no resourceLimits) get the same young generation: the flag is process-wide", () => {
    // A worker without resourceLimits.maxYoungGenerationSizeMb takes V8's semi-space flag, so
    // --workers N threads are bounded as the main thread is (and node's default, unflagged).
    const grow = "const keep = []; for (let i = 0; i < 1e6; i++) keep.push({ i }); " +
      "require('worker_threads').parentPort.postMessage(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
    const inWorker = `new (require('worker_threads').Worker)(${JSON.stringify(grow)}, { eval: true }).on('message', (n) => console.log(n))`;
    const flagged = spawnSync(process.execPath, [...WASMESH_NODE_FLAGS, '-e', inWorker], { encoding: 'utf8', timeout: 20_000 });
    expect(flagged.status, flagged.stderr).toBe(0);
    expect(Number(flagged.stdout)).toBeGreaterThan(0);
    expect(Number(flagged.stdout)).toBeLessThanOrEqual(2 * 1024 * 1024);
    const unflagged = spawnSync(process.execPath, ['-e', inWorker], { encoding: 'utf8', timeout: 20_000 });
    expect(Number(unflagged.stdout)).toBeGreaterThan(2 * 1024 * 1024);
  });
});
