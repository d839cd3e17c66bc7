// Flow-control windows (RFC 9113 §6.9): the send side's overflow bound, the receive side's
// refusal past the window and its WINDOW_UPDATE once half the window was consumed.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RecvWindow, SendWindow } from '../../../host/core/h2/flow-window.js';

describe('SendWindow', () => {
  it('grows up to 2^31-1 and refuses past it; may go negative after a smaller SETTINGS', () => {
    const w = new SendWindow(65_535);
    expect(w.grow(0x7fffffff - 65_535)).toBe(true);
    expect(w.available).toBe(0x7fffffff);
    expect(w.grow(1)).toBe(false);
    const v = new SendWindow(100);
    v.take(100);
    expect(v.grow(-65_535)).toBe(true);
    expect(v.available).toBe(-65_535);
  });
});

describe('RecvWindow', () => {
  it('refuses a frame larger than what is left', () => {
    const w = new RecvWindow(1000);
    expect(w.receive(600)).toBe(true);
    expect(w.receive(401)).toBe(false);
    expect(w.receive(400)).toBe(true);
    expect(w.available).toBe(0);
  });

  it('gives window back in one increment once half of it was consumed, or at once when nothing is left', () => {
    const w = new RecvWindow(1000);
    w.receive(300);
    expect(w.consume(300)).toBe(0);
    w.receive(300);
    expect(w.consume(300)).toBe(600);
    expect(w.available).toBe(1000);
    const z = new RecvWindow(1000);
    z.receive(1000);
    expect(z.consume(10)).toBe(10);
  });

  it('never lets the client send more than the window, and never starves it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 200 }), (frames) => {
        const size = 4096;
        const w = new RecvWindow(size);
        let inFlight = 0;
        for (const f of frames) {
          const n = Math.min(f, w.available);
          if (n === 0) return false; // starved: the client could send nothing
          expect(w.receive(n)).toBe(true);
          inFlight += n;
          expect(inFlight).toBeLessThanOrEqual(size);
          w.consume(n);
          inFlight = size - w.available;
        }
        return true;
      }),
    );
  });
});
