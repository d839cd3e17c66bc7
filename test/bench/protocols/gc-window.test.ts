// bench/protocols/gc-window.ts: a proxy's collections over a measuring window, from the log
// scripts/gc-counter.cjs writes; and `--gc` on bench:protocols' options.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GC_COUNTER, gcBetween, gcLogOf, readGcLog, type GcEvent } from '../../../bench/protocols/gc-window.js';
import { parseOptions } from '../../../bench/protocols/run.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmesh-gc-window-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gcBetween', () => {
  const events: GcEvent[] = [
    ['scavenge', 1000, 0.5], // before the window
    ['scavenge', 2000, 0.75],
    ['mark-sweep', 2500, 4],
    ['incremental', 2600, 1],
    ['scavenge', 3000, 2.5], // on the window's end: counted
    ['scavenge', 3001, 9], // after it
  ];

  it('counts the collections that started inside [from, to], by kind, with the summed and the longest pause', () => {
    expect(gcBetween(events, 2000, 3000)).toEqual({ scavenges: 2, markSweeps: 1, pauseMs: 0.75 + 4 + 1 + 2.5, maxPauseMs: 4 });
  });

  it('an empty window: zeros', () => {
    expect(gcBetween(events, 4000, 5000)).toEqual({ scavenges: 0, markSweeps: 0, pauseMs: 0, maxPauseMs: 0 });
    expect(gcBetween([], 0, Infinity)).toEqual({ scavenges: 0, markSweeps: 0, pauseMs: 0, maxPauseMs: 0 });
  });
});

describe('readGcLog', () => {
  it("reads what gc-counter.cjs writes for a process that collected (the default file is /tmp/gc-<pid>.json)", () => {
    // Short-lived objects over several event-loop turns (the observer reports between turns).
    const garbage = "let n = 0; const t = setInterval(() => { let k; for (let i = 0; i < 50000; i++) k = { i, s: 'x' + i }; globalThis.k = k; if (++n === 20) clearInterval(t); }, 0);";
    const r = spawnSync(process.execPath, ['--max-semi-space-size=1', `--require=${GC_COUNTER()}`, '-e', `${garbage} console.log(process.pid)`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const file = gcLogOf(Number(r.stdout.trim()));
    try {
      const events = readGcLog(file);
      const g = gcBetween(events, 0, Infinity);
      expect(g.scavenges).toBeGreaterThan(0);
      expect(g.maxPauseMs).toBeGreaterThan(0);
      expect(g.pauseMs).toBeGreaterThanOrEqual(g.maxPauseMs);
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);

  it('a missing log: an error naming the file and the likely cause', () => {
    expect(() => readGcLog(join(dir, 'none.json'))).toThrow(/GC log .*none\.json: ENOENT.*was scripts\/gc-counter\.cjs preloaded/);
  });

  it('a file that is not the counter\'s log: an error saying what was expected', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([['scavenge', 1, 'slow']]));
    expect(() => readGcLog(bad)).toThrow(`GC log ${bad}: expected [kind, start epoch ms, pause ms] entries`);
    writeFileSync(bad, '{}');
    expect(() => readGcLog(bad)).toThrow('expected [kind, start epoch ms, pause ms] entries');
  });
});

describe('bench:protocols --gc', () => {
  it('is a switch (no value), off by default', () => {
    expect(parseOptions(['--gc', '--modes', 'ws'])).toMatchObject({ gc: true, modes: ['ws'] });
    expect(parseOptions(['--syscalls', '--gc'])).toMatchObject({ gc: true, syscalls: true });
    expect(parseOptions([]).gc).toBeUndefined();
  });
});
