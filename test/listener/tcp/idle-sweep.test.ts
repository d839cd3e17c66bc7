// IdleSweep: one coarse timer for all sessions of one idle timeout. A candidate silent for the
// timeout is idled out once (between idleMs and idleMs + tick), one with recent activity is
// kept, a deleted one is never called, and the interval stops once nobody is registered.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { IDLE_SWEEP_MAX_TICK_MS, IdleSweep, idleSweepFor, type IdleCandidate } from '../../../host/listener/tcp/idle-sweep.js';

afterEach(() => {
  vi.useRealTimers();
});

function candidate(at: number): IdleCandidate & { idled: number; lastActivity: number } {
  return { lastActivity: at, idled: 0, idleOut() { this.idled++; } };
}

describe('IdleSweep', () => {
  test('tick: a sixteenth of the timeout, at most 1 s, at least 1 ms; a non-positive timeout is refused', () => {
    expect(new IdleSweep(160).tickMs).toBe(10);
    expect(new IdleSweep(3_600_000).tickMs).toBe(IDLE_SWEEP_MAX_TICK_MS);
    expect(new IdleSweep(5).tickMs).toBe(1);
    expect(() => new IdleSweep(0)).toThrow(/idle timeout must be positive \(got 0\)/);
  });

  test('silent for the timeout: idled out once, between idleMs and idleMs + tick; activity postpones it', () => {
    vi.useFakeTimers();
    const sweep = new IdleSweep(1600);
    const silent = candidate(Date.now());
    const busy = candidate(Date.now());
    sweep.add(silent);
    sweep.add(busy);
    vi.advanceTimersByTime(1500);
    busy.lastActivity = Date.now();
    vi.advanceTimersByTime(99);
    expect(silent.idled).toBe(0);
    vi.advanceTimersByTime(sweep.tickMs + 1);
    expect(silent.idled).toBe(1);
    expect(busy.idled).toBe(0);
    expect(sweep.size).toBe(1);
    vi.advanceTimersByTime(1500 + sweep.tickMs);
    expect(busy.idled).toBe(1);
    expect(silent.idled).toBe(1);
    expect(sweep.size).toBe(0);
  });

  test('a deleted candidate is never idled out; the interval stops when the sweep is empty', () => {
    vi.useFakeTimers();
    const sweep = new IdleSweep(100);
    const c = candidate(Date.now());
    sweep.add(c);
    expect(vi.getTimerCount()).toBe(1);
    sweep.delete(c);
    vi.advanceTimersByTime(1000);
    expect(c.idled).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Registering again restarts it.
    sweep.add(candidate(Date.now()));
    expect(vi.getTimerCount()).toBe(1);
  });

  test('idleSweepFor: one shared sweep per timeout value', () => {
    expect(idleSweepFor(12_345)).toBe(idleSweepFor(12_345));
    expect(idleSweepFor(12_345)).not.toBe(idleSweepFor(54_321));
  });
});
