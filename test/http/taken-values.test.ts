// The thread's pool of arrays for the values streams take out of their response heads: an array
// comes back sized and emptied whatever it held, and the pool keeps at most TAKEN_POOL_MAX.
import { describe, expect, it } from 'vitest';
import { releaseTakenValues, takenPoolSize, takenValues, TAKEN_POOL_MAX } from '../../host/http/taken-values.js';

describe('taken values', () => {
  it('a released array is reused, sized to the request and holding nulls only', () => {
    const a = takenValues(3);
    expect(a).toEqual([null, null, null]);
    a[0] = 'peer';
    a[2] = 'application/grpc';
    releaseTakenValues(a);
    // The pool keeps no value alive.
    expect(a).toEqual([null, null, null]);
    const b = takenValues(1);
    expect(b).toBe(a);
    expect(b).toEqual([null]);
    b[0] = 'x';
    releaseTakenValues(b);
    const c = takenValues(2);
    expect(c).toBe(a);
    expect(c).toEqual([null, null]);
    releaseTakenValues(c);
  });

  it('keeps at most TAKEN_POOL_MAX arrays (a burst of streams does not pin its arrays)', () => {
    const held = Array.from({ length: TAKEN_POOL_MAX + 10 }, () => takenValues(2));
    for (const a of held) releaseTakenValues(a);
    expect(takenPoolSize()).toBe(TAKEN_POOL_MAX);
    for (let i = 0; i < TAKEN_POOL_MAX; i++) takenValues(1);
    expect(takenPoolSize()).toBe(0);
  });
});
