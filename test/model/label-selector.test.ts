// Kubernetes LabelSelector matching (metav1.LabelSelector semantics) and discoverySelectors' OR.
import { describe, expect, it } from 'vitest';
import { anySelectorMatches, selectorMatches } from '../../host/model/label-selector.js';

describe('selectorMatches', () => {
  const labels = { env: 'prod', region: 'us-east1', app: 'cassandra' };
  it('matchLabels: every pair must hold', () => {
    expect(selectorMatches({ matchLabels: { env: 'prod', region: 'us-east1' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { env: 'prod', region: 'eu' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: 'x' } }, labels)).toBe(false);
  });
  it('In, NotIn, Exists, DoesNotExist; NotIn matches a missing label', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['cassandra', 'spark'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['spark'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'missing', operator: 'In', values: [''] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['spark'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['cassandra'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels)).toBe(false);
  });
  it('matchLabels and matchExpressions together are ANDed; an empty selector matches everything', () => {
    expect(selectorMatches({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({}, {})).toBe(true);
  });
  it('discoverySelectors: any selector (OR); none given: every namespace', () => {
    const selectors = [{ matchLabels: { env: 'prod', region: 'us-east1' } }, { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['spark'] }] }];
    expect(anySelectorMatches(selectors, { env: 'prod', region: 'us-east1' })).toBe(true);
    expect(anySelectorMatches(selectors, { app: 'spark' })).toBe(true);
    expect(anySelectorMatches(selectors, { env: 'prod' })).toBe(false);
    expect(anySelectorMatches(undefined, {})).toBe(true);
    expect(anySelectorMatches([], {})).toBe(true);
  });
});
