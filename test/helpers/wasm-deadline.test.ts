// The deadline helper itself: a case spinning inside Wasm is stopped and reported with its
// seed, path and value; a failing property reports fast-check's verdict; the worker of a file
// is reused after an answer and replaced after a hang.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { wasmProperty } from './wasm-deadline.js';

// (module (func (export "spin") (loop (br 0)))): never returns.
const SPIN = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x08, 0x01, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00,
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
]);

const spinsAt3 = wasmProperty(import.meta.url, 'spins in Wasm on 3', () => {
  const spin = new WebAssembly.Instance(new WebAssembly.Module(SPIN)).exports.spin as () => void;
  return [fc.nat(10), (n: number) => {
    if (n === 3) spin();
  }];
}, { numRuns: 200, caseDeadlineMs: 500 });
const passes = wasmProperty(import.meta.url, 'passes', () => [fc.nat(10), (n: number) => n >= 0], { numRuns: 20 });
const failsFrom8 = wasmProperty(import.meta.url, 'fails from 8', () => [fc.nat(10), (n: number) => {
  expect(n).toBeLessThan(8);
}], { numRuns: 200 });

describe('wasmProperty', () => {
  test('a case that never returns from Wasm fails the test, naming seed, path and value', async () => {
    const err = await spinsAt3.check({ seed: 5 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/spins in Wasm on 3 \(test\/helpers\/wasm-deadline\.test\.ts\): a case ran past the 500 ms deadline/);
    expect((err as Error).message).toMatch(/seed 5, path "\d+"\. Replay: \.check\(\{ seed: 5, path: "\d+", numRuns: 1 \}\)\n {2}case: 3$/);
    // The replay it names reproduces the case.
    const path = /path "(\d+)"/.exec((err as Error).message)![1]!;
    await expect(spinsAt3.check({ seed: 5, path, numRuns: 1 })).rejects.toThrow(/case: 3/);
  });

  test('after a hang the next property runs in a fresh worker', () => passes.check());

  test("a failing property reports fast-check's counterexample and the predicate's error", async () => {
    await expect(failsFrom8.check({ seed: 9 })).rejects.toThrow(/Counterexample: \[8\][\s\S]*Got error: AssertionError: expected 8 to be less than 8/);
    await passes.check();
  });
});
