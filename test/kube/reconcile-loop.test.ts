// The writers' reconcile loop: pokes within the quiet period run one pass; pokes during a pass
// run exactly one more after it; a failing pass is retried with doubling backoff up to the
// maximum, its error logged once until a pass succeeds; close() stops the retries.
import { describe, expect, it } from 'vitest';
import { ReconcileLoop } from '../../host/kube/reconcile-loop.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ReconcileLoop', () => {
  it('coalesces pokes: a burst is one pass; pokes during a pass are one more pass', async () => {
    let passes = 0;
    let release: (() => void) | null = null;
    const loop = new ReconcileLoop({ name: 't', log: () => {}, quietMs: 10, pass: async () => {
      passes++;
      if (passes === 1) await new Promise<void>((r) => (release = r));
    } });
    for (let i = 0; i < 5; i++) loop.poke();
    await sleep(40);
    expect(passes).toBe(1);
    for (let i = 0; i < 5; i++) loop.poke(); // during the pass
    release!();
    await loop.idle();
    expect(passes).toBe(2);
    loop.close();
  });

  it('retries a failing pass with doubling backoff capped at maxMs, logs the error once, then "working again"', async () => {
    const at: number[] = [];
    const logs: string[] = [];
    const t0 = Date.now();
    const loop = new ReconcileLoop({ name: 'writer', log: (l, m) => void logs.push(`${l} ${m}`), quietMs: 0, backoff: { initialMs: 50, maxMs: 100 }, pass: async () => {
      at.push(Date.now() - t0);
      if (at.length < 5) throw new Error('403 forbidden');
    } });
    loop.poke();
    const end = Date.now() + 3_000;
    while (at.length < 5 && Date.now() < end) await sleep(5);
    await loop.idle();
    expect(at.length).toBe(5);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 50, 100, then capped at 100 (uncapped: 200, 400) — timers fire no earlier than asked.
    expect(gaps[0]).toBeGreaterThanOrEqual(49);
    expect(gaps[1]).toBeGreaterThanOrEqual(99);
    expect(gaps[2]).toBeGreaterThanOrEqual(99);
    expect(gaps[3]).toBeGreaterThanOrEqual(99);
    expect(gaps[3]).toBeLessThan(400);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual(['warn writer: 403 forbidden; retrying']);
    expect(logs).toContain('info writer: working again');
    expect(loop.errors).toBe(4);
    expect(loop.lastError).toBeNull();
    loop.close();
  });

  it('close() stops a pending retry', async () => {
    let passes = 0;
    const loop = new ReconcileLoop({ name: 't', log: () => {}, quietMs: 0, backoff: { initialMs: 30, maxMs: 30 }, pass: async () => {
      passes++;
      throw new Error('down');
    } });
    loop.poke();
    await sleep(10);
    loop.close();
    await sleep(100);
    expect(passes).toBe(1);
    loop.poke();
    await sleep(20);
    expect(passes).toBe(1);
  });
});
