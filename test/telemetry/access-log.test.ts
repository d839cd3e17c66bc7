// AccessLogBuffer: whole lines in few writes, flushed by size, by time and on demand.
import { describe, expect, it, vi, afterEach } from 'vitest';
import { AccessLogBuffer } from '../../host/telemetry/access-log.js';

afterEach(() => vi.useRealTimers());

describe('AccessLogBuffer', () => {
  it('batches lines until flushMs passes, then writes them in one chunk', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const b = new AccessLogBuffer((t) => out.push(t), { flushMs: 100 });
    b.push('a');
    b.push('b');
    expect(out).toEqual([]);
    vi.advanceTimersByTime(99);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['a\nb\n']);
    vi.advanceTimersByTime(1000);
    expect(out).toHaveLength(1);
  });

  it('writes at once when maxBytes accumulate', () => {
    const out: string[] = [];
    const b = new AccessLogBuffer((t) => out.push(t), { maxBytes: 10, flushMs: 60_000 });
    b.push('12345');
    expect(out).toEqual([]);
    b.push('6789');
    expect(out).toEqual(['12345\n6789\n']);
    b.flush();
    expect(out).toHaveLength(1);
  });

  it('flush() writes what is pending and nothing when empty', () => {
    const out: string[] = [];
    const b = new AccessLogBuffer((t) => out.push(t));
    b.flush();
    expect(out).toEqual([]);
    b.push('x');
    b.flush();
    expect(out).toEqual(['x\n']);
  });
});
