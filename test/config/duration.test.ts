import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../host/config/duration.js';

describe('parseDuration', () => {
  test.each([
    ['2s', 2000],
    ['100ms', 100],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['3600s', 3_600_000],
    ['0.001s', 1],
    ['1.001s', 1001],
    ['1500000us', 1500],
    ['2000000ns', 2],
    ['0s', 0],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  test.each(['', '2', 's', '-1s', '2 s', '1d', '1.5', 'abc', '1s2'])('%j is rejected', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(JSON.stringify(text));
  });

  test('sub-millisecond precision is rejected, as Istio does', () => {
    const r = parseDuration('1.0005s');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/millisecond precision/);
  });
});
