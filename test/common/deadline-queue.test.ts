// DeadlineQueue: owners' deadlines behind one Node timer (fake timers and clock): each fires
// once, at its time, in order of time; a removed one never fires; an earlier deadline re-arms
// the timer, a removed head does not (one timer however many deadlines come and go); a delay
// beyond a Node timer's range is not cut to 1 ms; bad arguments are refused with what and why;
// clear() drops everything. A property test checks the order and the removals on random
// schedules.
import { describe, it, expect, afterEach, beforeEach, vi } from 'vitest';
import fc from 'fast-check';
import { DeadlineQueue, type Deadline } from '../../host/common/deadline-queue.js';

class Owner implements Deadline {
  deadlineSlot = -1;
  deadlineAt = 0;
  constructor(readonly name: string, readonly fired: string[], readonly onFire?: () => void) {}
  onDeadline(): void {
    this.fired.push(this.name);
    this.onFire?.();
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue', () => {
  it('fires each deadline once, at its time, earliest first, whatever the order they were added in', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    q.add(new Owner('c', fired), 300);
    q.add(new Owner('a', fired), 100);
    q.add(new Owner('b', fired), 200);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('a removed deadline never fires; its owner can be added again', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const a = new Owner('a', fired);
    q.add(a, 100);
    q.add(new Owner('b', fired), 150);
    q.remove(a);
    expect(a.deadlineSlot).toBe(-1);
    q.remove(a); // not queued: nothing
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['b']);
    q.add(a, 50);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(['b', 'a']);
  });

  it('one Node timer however many deadlines are added and removed (no timer per deadline)', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const keep = new Owner('kept', fired);
    q.add(keep, 15_000);
    for (let i = 0; i < 1000; i++) {
      const o = new Owner(`o${i}`, fired);
      q.add(o, 15_000);
      q.remove(o);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(15_000);
    expect(fired).toEqual(['kept']);
  });

  it('a removed head leaves the timer armed; its firing re-arms for the next deadline', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const first = new Owner('first', fired);
    q.add(first, 100);
    q.add(new Owner('second', fired), 500);
    q.remove(first);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100); // fires for nothing, re-arms for 'second'
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(399);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['second']);
  });

  it('a deadline earlier than the armed timer re-arms it (a short gRPC deadline after a long route timeout)', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    q.add(new Owner('route', fired), 15_000);
    q.add(new Owner('grpc', fired), 20);
    vi.advanceTimersByTime(20);
    expect(fired).toEqual(['grpc']);
    vi.advanceTimersByTime(15_000);
    expect(fired).toEqual(['grpc', 'route']);
  });

  it('a callback may add and remove deadlines: what it adds fires at its own time', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const later = new Owner('later', fired);
    const again = new Owner('again', fired);
    q.add(new Owner('first', fired, () => {
      q.remove(later);
      q.add(again, 30);
    }), 10);
    q.add(later, 20);
    q.add(new Owner('last', fired), 100);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['first']);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual(['first', 'again']);
    vi.advanceTimersByTime(60);
    expect(fired).toEqual(['first', 'again', 'last']);
  });

  it('a delay beyond 2^31 - 1 ms is not fired early (Node cuts such a setTimeout to 1 ms)', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const far = 99_999_999 * 3_600_000; // grpc-timeout 99999999H
    q.add(new Owner('far', fired), far);
    vi.advanceTimersByTime(0x7fffffff);
    expect(fired).toEqual([]);
    expect(q.size).toBe(1);
    q.add(new Owner('near', fired), 5);
    vi.advanceTimersByTime(5);
    expect(fired).toEqual(['near']);
  });

  it('refuses a deadline already queued, a delay that is not a finite number > 0, and a removal from another queue', () => {
    const q = new DeadlineQueue();
    const other = new DeadlineQueue();
    const a = new Owner('a', []);
    q.add(a, 10);
    expect(() => q.add(a, 10)).toThrow(/already queued/);
    expect(() => other.add(a, 10)).toThrow(/already queued/);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => q.add(new Owner('b', []), bad)).toThrow(/finite number of ms > 0/);
    const b = new Owner('b', []);
    other.add(new Owner('x', []), 10);
    other.add(b, 10);
    q.remove(a);
    q.add(new Owner('y', []), 10);
    q.add(new Owner('z', []), 10);
    expect(() => q.remove(b)).toThrow(/queued elsewhere/);
  });

  it('clear() drops every deadline unfired and the timer', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const a = new Owner('a', fired);
    q.add(a, 10);
    q.add(new Owner('b', fired), 20);
    q.clear();
    expect(q.size).toBe(0);
    expect(a.deadlineSlot).toBe(-1);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
  });

  it('property: on random schedules of adds and removes, exactly the deadlines not removed fire, in order of time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ms: fc.integer({ min: 1, max: 5000 }), removeAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), gap: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 60 }),
        (plan) => {
          vi.useRealTimers();
          vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
          const q = new DeadlineQueue();
          const fired: string[] = [];
          const firedAt = new Map<string, number>();
          const owners: Array<{ o: Owner; at: number; removed: boolean }> = [];
          plan.forEach((step, i) => {
            vi.advanceTimersByTime(step.gap);
            const o = new Owner(String(i), fired, () => firedAt.set(String(i), performance.now()));
            q.add(o, step.ms);
            owners.push({ o, at: performance.now() + step.ms, removed: false });
            if (step.removeAfter !== undefined && step.removeAfter < i) {
              const victim = owners[i - 1 - step.removeAfter];
              if (victim && victim.o.deadlineSlot >= 0) {
                q.remove(victim.o);
                victim.removed = true;
              }
            }
          });
          vi.advanceTimersByTime(10_000);
          // Every owner not removed fired, none removed did, and none before its time.
          const alive = owners.filter((x) => !x.removed).map((x) => x.o.name);
          expect([...fired].sort()).toEqual([...alive].sort());
          for (const x of owners.filter((y) => !y.removed)) expect(firedAt.get(x.o.name)!).toBeGreaterThanOrEqual(x.at - 1);
          const times = fired.map((n) => owners[Number(n)]!.at);
          for (let k = 1; k < times.length; k++) expect(times[k]! >= times[k - 1]! - 1).toBe(true);
          expect(q.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

