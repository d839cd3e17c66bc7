// Smoke test of the authorization micro-benchmark: its policy sets compile and load, each request
// gets the decision it is named for (the suite checks this before timing), and a tiny run gives
// finite figures for 1, 100 and 1,000 policies. Not a timed test.
import { describe, expect, it } from 'vitest';
import { authzSuite, generatePolicies, POLICY_COUNTS, RULES_PER_POLICY } from '../../bench/authz-suite.js';
import { runSuite } from '../../bench/runner.js';

describe('authorization benchmark', () => {
  it('generates the policy sets it says: one DENY then ALLOW policies, 10 rules each', () => {
    const p = generatePolicies(100);
    expect(p.length).toBe(100);
    expect(p[0]!.action).toBe('DENY');
    expect(p.slice(1).every((x) => x.action === 'ALLOW' && x.rules.length === RULES_PER_POLICY)).toBe(true);
    expect(generatePolicies(1)[0]!.action).toBe('ALLOW');
  });

  it('runs every group briefly with sane figures', () => {
    const suite = authzSuite();
    expect(suite.groups.length).toBe(POLICY_COUNTS.length);
    const { cases } = runSuite(suite, { maxTime: 0.005, minSamples: 1 });
    expect(cases.length).toBe(2 + 3 + 3);
    for (const c of cases) expect(Number.isFinite(c.hz) && c.hz > 0, `${c.group} / ${c.name}`).toBe(true);
  }, 120_000);
});
