// scripts/gc-counter.cjs (the GC counts of bench/protocols/grpc-alloc.ts --cpu): a process
// preloaded with it writes every collection, kind and epoch start, on exit; the counts follow
// the young generation's size (a larger --max-semi-space-size: fewer scavenges for the same garbage).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
// ~200 MB of short-lived objects over 40 event-loop turns (the observer reports between turns).
const GARBAGE = "let n = 0; const keep = []; const t = setInterval(() => { for (let i = 0; i < 50000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100) keep.length = 0; } if (++n === 40) clearInterval(t); }, 0);";

function run(semi: number): Array<[string, number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-gc-counter-'));
  try {
    const out = join(dir, 'gc.json');
    const from = Date.now();
    const r = spawnSync(process.execPath, [`--max-semi-space-size=${semi}`, `--require=${join(ROOT, 'scripts', 'gc-counter.cjs')}`, '-e', GARBAGE], { env: { ...process.env, GC_COUNT_OUT: out }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const events = JSON.parse(readFileSync(out, 'utf8')) as Array<[string, number, number]>;
    for (const [kind, at, ms] of events) {
      expect(['scavenge', 'mark-sweep', 'incremental', 'weak-callbacks']).toContain(kind);
      expect(at).toBeGreaterThanOrEqual(from - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    return events;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/gc-counter.cjs', () => {
  it('records each collection with its kind, epoch start and pause; fewer scavenges with a larger young generation', () => {
    const small = run(1).filter(([k]) => k === 'scavenge').length;
    const large = run(16).filter(([k]) => k === 'scavenge').length;
    expect(small).toBeGreaterThan(20);
    expect(large).toBeLessThan(small / 2);
  });
});
