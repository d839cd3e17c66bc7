// Differential property test against RE2 itself (re2-wasm: Google's RE2 compiled to Wasm, the
// engine Envoy's safe_regex runs): compiled programs run by the Wasm core agree with RE2's full
// match on generated patterns and subjects. RE2 runs in linear time, so unlike the JavaScript
// reference (regex-differential.test.ts, fixed seed) this runs on a fresh seed every time.
import { createRequire } from 'node:module';
import { test, expect } from 'vitest';
import fc from 'fast-check';
import { compileRegex } from '../../../host/compile/regex/compile-regex.js';
import { RegexCompileError } from '../../../host/compile/regex/regex-compile-error.js';
import { RegexCore } from './regex-core.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';
import { flags, node, print, subjectsFor, type Gen } from './pattern-gen.js';

interface Re2 { test(s: string): boolean }
const { RE2 } = createRequire(import.meta.url)('re2-wasm') as { RE2: new (pattern: string, flags: string) => Re2 };

const differential = wasmProperty(import.meta.url, 'Wasm regex_match ≡ RE2', () => {
  const core = new RegexCore();
  let compared = 0;
  let matched = 0;
  return {
    args: [fc.tuple(node, flags).chain(([g, f]) => fc.tuple(fc.constant(g), fc.constant(f), subjectsFor(g))), ([g, f, subjects]: [Gen, { i: boolean; s: boolean }, string[]]) => {
      const re2 = (f.i ? '(?i)' : '') + (f.s ? '(?s)' : '') + print(g, false, f.s);
      let program: Uint8Array;
      try {
        program = compileRegex(re2).program;
      } catch (e) {
        if (e instanceof RegexCompileError && e.code === 'regex_too_large') return;
        throw e;
      }
      const reference = new RE2(`^(?:${re2})$`, 'u');
      const got = core.matchAll(program, subjects);
      subjects.forEach((s, k) => {
        const want = reference.test(s) ? 1 : 0;
        expect(got[k], `${re2} on ${JSON.stringify(s)}`).toBe(want);
        compared++;
        matched += want;
      });
    }],
    after: () => {
      expect(compared).toBeGreaterThan(2000);
      expect(matched).toBeGreaterThan(compared / 10);
    },
  };
}, { numRuns: 600 });

test('Wasm regex_match ≡ RE2 (re2-wasm) on generated patterns and subjects, fresh seed', () => differential.check(), 120_000);
