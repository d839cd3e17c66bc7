// Istio duration parsing and Envoy duration printing.
import { describe, expect, it } from 'vitest';
import { envoyDuration, parseDurationMs } from '../../host/envoy/duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['2s', 2000], ['500ms', 500], ['1.5s', 1500], ['1m30s', 90_000], ['1h', 3_600_000], ['250us', 0.25], ['.5s', 500], ['0s', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text, 'x')).toBe(ms);
  });

  it.each(['', '2', 's', '-1s', '2 s', '2sec', '1.5.5s'])('rejects %j with a typed error naming the place', (text) => {
    expect(() => parseDurationMs(text, 'VirtualService default/web http[0].timeout')).toThrowError(/^VirtualService default\/web http\[0\]\.timeout: .*\[envoy_config_bad_duration\]$/);
  });

  it('rejects non-strings', () => {
    expect(() => parseDurationMs(5, 'w')).toThrowError(/expected a duration/);
  });
});

describe('envoyDuration', () => {
  it.each([[0, '0s'], [-5, '0s'], [2000, '2s'], [1500, '1.5s'], [250, '0.25s'], [0.3, '0.0003s'], [100.1, '0.1001s'], [10_000, '10s']])('%d ms → %s', (ms, text) => {
    expect(envoyDuration(ms)).toBe(text);
  });
});
