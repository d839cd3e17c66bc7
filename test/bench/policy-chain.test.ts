// Smoke test of the in-process policy benchmark (npm run bench:policy): the benchmark YAML with
// the policy YAML loads through the real loader, every request of the three chains is answered
// 200 (the JWT filter verified the token once, then answered from its cache; the ten policies
// allowed it), and the figures and allocation sites are printed. No figure is compared with a
// threshold: timing is measured in bench/.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../host/core/wasm.js';

describe('bench:policy', () => {
  it('runs the chains without and with the policies, all requests allowed, and prints ns and bytes per request', () => {
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist/bench/policy-chain.js'), '--requests', '2000', '--rounds', '1'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}without policies +\d+ +\(\d+\) ns\/request$/m);
    expect(r.stdout).toMatch(/^ {2}with policies \(token header removed\) +\d+ +\(\d+\) ns\/request +\([+−]\d+ ns, [\d.]+×\)$/m);
    expect(r.stdout).toMatch(/^ {2}with policies, forwardOriginalToken +\d+ +\(\d+\) ns\/request/m);
    expect(r.stdout).toMatch(/^with policies: [\d.]+ B\/request allocated by host\/ code$/m);
  });
});
