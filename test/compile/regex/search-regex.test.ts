// compileSearch: RE2 partial match (Envoy's /stats?filter=) on the route-regex compiler.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileSearch } from '../../../host/compile/regex/search-regex.js';
import { RegexCompileError } from '../../../host/compile/regex/regex-compile-error.js';

describe('compileSearch', () => {
  it('matches anywhere; ^ and $ anchor to the ends', () => {
    const rq5 = compileSearch('rq_5');
    expect([rq5('cluster.x.upstream_rq_503'), rq5('rq_4xx'), rq5('')]).toEqual([true, false, false]);
    const server = compileSearch('^server\\.');
    expect([server('server.config_version'), server('x.server.y')]).toEqual([true, false]);
    const total = compileSearch('_total$');
    expect([total('upstream_rq_total'), total('upstream_rq_total_x')]).toEqual([true, false]);
    expect(compileSearch('')('anything')).toBe(true);
    expect(compileSearch('^$')('')).toBe(true);
  });

  it('refuses what is not RE2, or not run by this engine, with the code and position', () => {
    expect(() => compileSearch('rq_(5')).toThrow(RegexCompileError);
    expect(() => compileSearch('(?=x)')).toThrow(/unsupported_regex/);
  });

  it('runs in time linear in the subject, where a backtracking engine does not', () => {
    const t0 = performance.now();
    expect(compileSearch('(a+)+$')(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('property: agrees with JS RegExp search on patterns both dialects read alike', () => {
    const atom = fc.constantFrom('a', 'b', '_', '.', '\\.', '[ab]', '[^a]', 'a*', 'b+', '(a|b)', 'a?', '\\d');
    const pattern = fc.tuple(fc.boolean(), fc.array(atom, { minLength: 1, maxLength: 5 }), fc.boolean()).map(([b, atoms, e]) => `${b ? '^' : ''}${atoms.join('')}${e ? '$' : ''}`);
    const subject = fc.stringMatching(/^[ab_.0-9]{0,12}$/);
    fc.assert(
      fc.property(pattern, fc.array(subject, { minLength: 1, maxLength: 8 }), (p, subjects) => {
        const search = compileSearch(p);
        const js = new RegExp(p);
        for (const s of subjects) expect(search(s), `${p} on ${JSON.stringify(s)}`).toBe(js.test(s));
      }),
      { numRuns: 300 },
    );
  });
});
