// Smooth weighted round robin through the Wasm core: exact shares in every window of
// total-weight consecutive picks (any positive total, not only 100), zero weights never
// picked, a lone destination always.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { load, mesh, vhost, route, cluster } from '../../helpers/route-table-builder.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

/** A table with one route whose destinations carry `weights`, cluster i per destination i. */
function weighted(weights: number[]) {
  const clusters = weights.map((_, i) => cluster(`c${i}`));
  return load(mesh([vhost('v', ['v'], [route('ns/v/0', [], weights.map((w, i) => [`c${i}`, w]))])], clusters));
}

/** Picks `n` times and asserts every window of `period` consecutive picks has exactly `weights`. */
function expectExactWindows(weights: number[], n: number) {
  const t = weighted(weights);
  const period = weights.reduce((a, b) => a + b, 0);
  const picks = Array.from({ length: n }, () => t.pickCluster(0));
  const counts = new Array<number>(weights.length).fill(0);
  for (let i = 0; i < picks.length; i++) {
    counts[picks[i]!]!++;
    if (i >= period) counts[picks[i - period]!]!--;
    if (i >= period - 1) expect(counts).toEqual(weights);
  }
  t.release();
  return picks;
}

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const exactWindows = wasmProperty(import.meta.url, 'weights summing to 100 are exact', () => {
  const weightsTo100 = fc
    .array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 })
    .filter((ws) => ws.reduce((a, b) => a + b, 0) > 0)
    .map((ws) => {
      // Scale to sum exactly 100 (largest remainder), keeping zeros zero.
      const sum = ws.reduce((a, b) => a + b, 0);
      const out = ws.map((w) => Math.floor((w * 100) / sum));
      let rest = 100 - out.reduce((a, b) => a + b, 0);
      for (let i = 0; rest > 0; i = (i + 1) % ws.length) if (ws[i]! > 0) { out[i]!++; rest--; }
      return out;
    });
  return [weightsTo100, (ws: number[]) => { expectExactWindows(ws, 300); }];
}, { numRuns: 150 });

const anyTotal = wasmProperty(import.meta.url, 'weights with any positive total are exact', () => {
  const weights = fc
    .array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 })
    .filter((ws) => ws.reduce((a, b) => a + b, 0) > 0);
  return [weights, (ws: number[]) => { expectExactWindows(ws, 2 * ws.reduce((a, b) => a + b, 0) + 1); }];
}, { numRuns: 150 });

describe('pickCluster (smooth WRR)', () => {
  test('80/20 is exactly 80/20 in every window of 100 consecutive picks', () => {
    const picks = expectExactWindows([80, 20], 1000);
    // Interleaved, not bursts: never more than 4 v1 picks in a row for 80/20.
    let run = 0;
    let maxRun = 0;
    for (const p of picks) {
      run = p === 0 ? run + 1 : 0;
      maxRun = Math.max(maxRun, run);
    }
    expect(maxRun).toBeLessThanOrEqual(4);
  });

  test('5/95, 33/33/34, 20/20 and a lone destination', () => {
    expectExactWindows([5, 95], 700);
    expectExactWindows([33, 33, 34], 700);
    expectExactWindows([20, 20], 200);
    const lone = weighted([100]);
    for (let i = 0; i < 50; i++) expect(lone.pickCluster(0)).toBe(0);
  });

  test('any positive total is exact over itself: 1/3 is 25/75 over 400 picks, 50/50/50 thirds', () => {
    const picks = expectExactWindows([1, 3], 400);
    expect(picks.filter((p) => p === 0).length).toBe(100);
    expectExactWindows([50, 50, 50], 600);
    expectExactWindows([7, 0, 5], 240);
  });

  test('zero weights are never picked', () => {
    const picks = expectExactWindows([0, 100, 0], 300);
    expect(picks.every((p) => p === 1)).toBe(true);
    expectExactWindows([50, 0, 50], 300);
  });

  test('pickDestination shares the state and gives positions', () => {
    const t = weighted([50, 50]);
    expect([t.pickDestination(0), t.pickCluster(0), t.pickDestination(0), t.pickCluster(0)]).toEqual([0, 1, 0, 1]);
  });

  test('a route without destinations picks -1; a bad route index throws bad_index', () => {
    const t = load(mesh([vhost('v', ['v'], [route('ns/v/0', [], [])])]));
    expect(t.pickCluster(0)).toBe(-1);
    expect(() => t.pickCluster(1)).toThrow(expect.objectContaining({ code: 'bad_index', message: expect.stringMatching(/: route 1: /) }));
    expect(() => t.pickDestination(1)).toThrow(expect.objectContaining({ code: 'bad_index', message: expect.stringMatching(/: route 1: /) }));
  });

  test('two destinations on the same cluster: the pick maps to the cluster', () => {
    const t = load(mesh([vhost('v', ['v'], [route('ns/v/0', [], [['c1', 50], ['c1', 50]])])], [cluster('c0'), cluster('c1')]));
    for (let i = 0; i < 10; i++) expect(t.pickCluster(0)).toBe(1);
  });

  test('property: weights summing to 100 are exact in every window of 100', () => exactWindows.check());

  test('property: weights with any positive total are exact in every window of that total', () => anyTotal.check());
});
