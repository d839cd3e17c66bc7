// The turn clock's rule: the first read in an event-loop turn reads the clock, later reads in the
// same turn get that value, and no later turn (a timer, an I/O callback, a continuation after
// the turn's microtask checkpoint) ever sees it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { turnMonotonic, turnNow } from '../../host/common/turn-clock.js';

/** The clocks as the test sets them (read through spies: the module reads Date.now/performance.now at call time). */
let wall = 1_000;
let mono = 5.25;

function spyClocks(): { wallReads: () => number; monoReads: () => number } {
  const w = vi.spyOn(Date, 'now').mockImplementation(() => wall);
  const m = vi.spyOn(performance, 'now').mockImplementation(() => mono);
  return { wallReads: () => w.mock.calls.length, monoReads: () => m.mock.calls.length };
}

/** The next turn of the event loop (a macrotask: every microtask of this one has run before it). */
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('turnNow / turnMonotonic', () => {
  it('read each clock once per turn: later reads in the same turn return the first value', async () => {
    await nextTurn();
    const c = spyClocks();
    wall = 1_000;
    expect(turnNow()).toBe(1_000);
    wall = 1_007;
    expect(turnNow()).toBe(1_000);
    expect(turnNow()).toBe(1_000);
    expect(c.wallReads()).toBe(1);
    // The monotonic clock is its own: read once too, in the same turn.
    mono = 9.5;
    expect(turnMonotonic()).toBe(9.5);
    mono = 12;
    expect(turnMonotonic()).toBe(9.5);
    expect(c.monoReads()).toBe(1);
  });

  it('a later turn never sees the value of an earlier one (setImmediate, setTimeout, I/O-free continuation)', async () => {
    await nextTurn();
    spyClocks();
    wall = 2_000;
    mono = 1;
    expect(turnNow()).toBe(2_000);
    expect(turnMonotonic()).toBe(1);
    wall = 2_050;
    mono = 2;
    await nextTurn();
    expect(turnNow()).toBe(2_050);
    expect(turnMonotonic()).toBe(2);
    wall = 2_100;
    mono = 3;
    await new Promise((r) => setTimeout(r, 1));
    expect(turnNow()).toBe(2_100);
    expect(turnMonotonic()).toBe(3);
  });

  it('a continuation after the turn\'s microtask checkpoint reads the clock again', async () => {
    await nextTurn();
    spyClocks();
    wall = 3_000;
    expect(turnNow()).toBe(3_000);
    wall = 3_001;
    // The first read queued the turn's end before this await's continuation.
    await Promise.resolve();
    expect(turnNow()).toBe(3_001);
  });

  it('reading only one clock in a turn leaves the other fresh for the next turn', async () => {
    await nextTurn();
    const c = spyClocks();
    mono = 7;
    expect(turnMonotonic()).toBe(7);
    await nextTurn();
    wall = 4_000;
    expect(turnNow()).toBe(4_000);
    mono = 8;
    expect(turnMonotonic()).toBe(8);
    expect(c.monoReads()).toBe(2);
    expect(c.wallReads()).toBe(1);
  });

  it('the real clocks: within one turn the value does not move, across turns it follows Date.now', async () => {
    await nextTurn();
    const a = turnNow();
    const spin = Date.now() + 3;
    while (Date.now() < spin); // 3 ms inside one turn
    expect(turnNow()).toBe(a);
    await new Promise((r) => setTimeout(r, 5));
    const b = turnNow();
    expect(b).toBeGreaterThanOrEqual(a + 3);
    expect(Math.abs(b - Date.now())).toBeLessThanOrEqual(1);
  });
});
