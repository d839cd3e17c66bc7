// Certificate files watched: a rewrite (in place, or Kubernetes' symlink swap) is reported once
// the writes settle; nothing after close().
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WatchedCredential } from '../../host/tls/watched-credential.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await settle(10);
}

describe('WatchedCredential', () => {
  it('two files rewritten together are one change; none after close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-watch-'));
    writeFileSync(join(dir, 'tls.crt'), 'a');
    writeFileSync(join(dir, 'tls.key'), 'a');
    let changes = 0;
    const w = new WatchedCredential([join(dir, 'tls.crt'), join(dir, 'tls.key')], () => changes++, 50);
    writeFileSync(join(dir, 'tls.crt'), 'b');
    writeFileSync(join(dir, 'tls.key'), 'b');
    await until(() => changes > 0);
    await settle(150);
    expect(changes).toBe(1);
    w.close();
    writeFileSync(join(dir, 'tls.crt'), 'c');
    await settle(200);
    expect(changes).toBe(1);
  });

  it("sees Kubernetes' ..data symlink swap", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-watch-'));
    mkdirSync(join(dir, 'v1'));
    writeFileSync(join(dir, 'v1', 'tls.crt'), 'a');
    symlinkSync('v1', join(dir, '..data'));
    symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
    let changes = 0;
    const w = new WatchedCredential([join(dir, 'tls.crt')], () => changes++, 50);
    mkdirSync(join(dir, 'v2'));
    writeFileSync(join(dir, 'v2', 'tls.crt'), 'b');
    symlinkSync('v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => changes > 0);
    expect(changes).toBe(1);
    w.close();
  });

  it('a directory that does not exist cannot be watched', () => {
    expect(() => new WatchedCredential(['/nonexistent/dir/tls.crt'], () => {})).toThrow();
  });
});
