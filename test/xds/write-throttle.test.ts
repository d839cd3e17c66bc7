// WriteThrottle: writes start while their bytes fit the bound (one always goes when nothing is
// out), in order; the rest wait until earlier ones are released, are cancelled, or stall.
import { describe, expect, it } from 'vitest';
import { WriteThrottle, type ThrottledWrite } from '../../host/xds/write-throttle.js';

describe('WriteThrottle', () => {
  it('starts writes in order within the bound and the next ones as bytes are released', () => {
    const t = new WriteThrottle(10, 60_000);
    const started: string[] = [];
    const handles = new Map<string, ThrottledWrite>();
    const submit = (name: string, bytes: number) => t.submit(bytes, (w) => { started.push(name); handles.set(name, w); });
    submit('a', 6);
    submit('b', 4);
    submit('c', 3);
    submit('d', 1); // fits, but waits behind c: order is kept
    expect(started).toEqual(['a', 'b']);
    expect(t.inFlight).toBe(10);
    expect(t.waiting).toBe(2);
    handles.get('a')!.done();
    handles.get('a')!.done(); // once only
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(t.inFlight).toBe(8);
    // Larger than the bound: goes alone once nothing else is out.
    submit('big', 50);
    expect(started).toHaveLength(4);
    for (const n of ['b', 'c', 'd']) handles.get(n)!.done();
    expect(started.at(-1)).toBe('big');
    expect(t.inFlight).toBe(50);
  });

  it('skips cancelled writes, and releases a write synchronously done while starting', () => {
    const t = new WriteThrottle(10, 60_000);
    const started: string[] = [];
    let a: ThrottledWrite | null = null;
    t.submit(10, (w) => { a = w; started.push('a'); });
    const cancelB = t.submit(5, () => started.push('b'));
    t.submit(5, (w) => { started.push('c'); w.done(); });
    t.submit(5, (w) => { started.push('d'); w.done(); });
    cancelB();
    a!.done();
    expect(started).toEqual(['a', 'c', 'd']);
    expect(t.inFlight).toBe(0);
    expect(t.waiting).toBe(0);
  });

  it('releases a write that stalls (a proxy that does not read) after stallMs', async () => {
    const t = new WriteThrottle(10, 30);
    const started: string[] = [];
    t.submit(10, () => started.push('stuck'));
    t.submit(10, () => started.push('next'));
    expect(started).toEqual(['stuck']);
    await new Promise((r) => setTimeout(r, 80));
    expect(started).toEqual(['stuck', 'next']);
  });
});
