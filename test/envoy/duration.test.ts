// Envoy duration printing (Istio durations are parsed by host/common/duration.ts: test/common).
import { describe, expect, it } from 'vitest';
import { envoyDuration } from '../../host/envoy/duration.js';

describe('envoyDuration', () => {
  it.each([[0, '0s'], [-5, '0s'], [2000, '2s'], [1500, '1.5s'], [250, '0.25s'], [0.3, '0.0003s'], [100.1, '0.1001s'], [10_000, '10s']])('%d ms → %s', (ms, text) => {
    expect(envoyDuration(ms)).toBe(text);
  });
});
