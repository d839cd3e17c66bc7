// enqueueMicrotask runs its callback where queueMicrotask would: after the current synchronous
// code, at the microtask checkpoint, in order with other microtasks, before any timer or I/O.
import { describe, expect, it } from 'vitest';
import { enqueueMicrotask } from '../../host/common/microtask.js';

describe('enqueueMicrotask', () => {
  it('runs after the current code, in FIFO order with queueMicrotask, before setImmediate and timers', async () => {
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => setTimeout(resolve, 5));
    setImmediate(() => seen.push('immediate'));
    setTimeout(() => seen.push('timeout'), 0);
    enqueueMicrotask(() => seen.push('a'));
    queueMicrotask(() => seen.push('b'));
    enqueueMicrotask(() => seen.push('c'));
    seen.push('sync');
    expect(seen).toEqual(['sync']);
    await done;
    expect(seen.slice(0, 4)).toEqual(['sync', 'a', 'b', 'c']);
    expect(seen).toContain('immediate');
    expect(seen).toContain('timeout');
  });

  it('a callback scheduled from a microtask runs in the same checkpoint', async () => {
    const seen: string[] = [];
    const immediate = new Promise<void>((resolve) => setImmediate(() => { seen.push('immediate'); resolve(); }));
    enqueueMicrotask(() => {
      seen.push('first');
      enqueueMicrotask(() => seen.push('second'));
    });
    await immediate;
    expect(seen).toEqual(['first', 'second', 'immediate']);
  });
});
