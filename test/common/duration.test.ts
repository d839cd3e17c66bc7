import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../host/common/duration.js';

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
    // The cases of host/envoy's former parser, which this one replaced.
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['.5s', 500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  test.each(['', '2', 's', '-1s', '2 s', '1d', '1.5', 'abc', '1s2', '2sec', '1.5.5s'])('%j is rejected', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(JSON.stringify(text));
  });

  test.each(['1.0005s', '250us'])('sub-millisecond precision (%s) is rejected, as Istio does', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/millisecond precision/);
  });
});
