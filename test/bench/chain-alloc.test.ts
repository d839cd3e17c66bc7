// Smoke test of the filter chain's allocation benchmark (npm run bench:alloc): it runs a few
// thousand requests through the real stream and prints bytes per request by host/http/ site for
// both routes. No figure is compared with a threshold: allocation is measured in bench/.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../host/core/wasm.js';

describe('bench:alloc', () => {
  it('profiles both routes and attributes bytes to host/http/ functions', () => {
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist/bench/chain-alloc.js'), '--requests', '3000'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^route \/off: [\d.]+ B\/request in host\/http\/$/m);
    expect(r.stdout).toMatch(/^route \/cors: [\d.]+ B\/request in host\/http\/$/m);
    expect(r.stdout).toMatch(/^ +[\d.]+ B  \S+ host\/http\/\S+\.js:\d+$/m);
  });
});
