// The whole tree type-checks: host/, bench/ and test/ under tsconfig.test.json (strict, as the
// build is). vitest strips types without checking them, so a test that calls a helper with a
// stale signature, or builds a value missing a field the source added, would run on as long as
// the missing part is not read; here it fails, with tsc's diagnostics as the message.
// Incremental (build/tsc-test.tsbuildinfo): a warm rerun checks only what changed; a fresh
// checkout (CI) checks everything, about 30 s of CPU (docs/testing.md).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/wasmesh-process.js';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('type check', () => {
  it('tsc --noEmit -p tsconfig.test.json reports nothing', async () => {
    const args = [tsc, '--noEmit', '-p', 'tsconfig.test.json', '--incremental', '--tsBuildInfoFile', 'build/tsc-test.tsbuildinfo', '--pretty', 'false'];
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
        resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : -1, out: `${stdout}${stderr}`.trim() });
      });
    });
    // The diagnostics are the message: file(line,col): error TSxxxx: what.
    expect(r.out, r.out).toBe('');
    expect(r.code).toBe(0);
    // 30-40 s of CPU cold; 3.5 min of wall time seen with load 20 on two cores, hence the 10 min.
  }, 600_000);
});
