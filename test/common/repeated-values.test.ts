// The kept values of repeating fields (Istio's peer metadata): the same bytes give the same string
// object, different bytes (same length or not) a fresh decode that replaces the kept one, and a
// field not listed has no slot.
import { describe, expect, it } from 'vitest';
import { RepeatedValues } from '../../host/common/repeated-values.js';

function at(mem: Buffer, text: string, offset: number): [number, number] {
  mem.write(text, offset, 'latin1');
  return [offset, offset + text.length];
}

describe('RepeatedValues', () => {
  const fields = new RepeatedValues(['x-envoy-peer-metadata']);

  it('has slots only for the listed names', () => {
    expect(fields.slotOf('x-envoy-peer-metadata')).toBeDefined();
    expect(fields.slotOf('x-other')).toBeUndefined();
  });

  it('returns the kept string for the same bytes, anywhere in memory, and decodes anew when they differ', () => {
    const slot = fields.slotOf('x-envoy-peer-metadata')!;
    const mem = Buffer.alloc(256);
    const first = RepeatedValues.value(slot, mem, ...at(mem, 'ChgKBU5BTUUSDxoNcGVlci1hYmM=', 10));
    expect(first).toBe('ChgKBU5BTUUSDxoNcGVlci1hYmM=');
    const again = RepeatedValues.value(slot, mem, ...at(mem, 'ChgKBU5BTUUSDxoNcGVlci1hYmM=', 100));
    expect(again).toBe(first);
    // Same length, one byte different: not the kept value.
    const other = RepeatedValues.value(slot, mem, ...at(mem, 'ChgKBU5BTUUSDxoNcGVlci1hYmX=', 50));
    expect(other).toBe('ChgKBU5BTUUSDxoNcGVlci1hYmX=');
    // A shorter value, then the empty value.
    expect(RepeatedValues.value(slot, mem, ...at(mem, 'abc', 0))).toBe('abc');
    expect(RepeatedValues.value(slot, mem, 5, 5)).toBe('');
    expect(RepeatedValues.value(slot, mem, ...at(mem, 'abd', 200))).toBe('abd');
  });

  it('slotFor makes a slot on first use; a plain Uint8Array (not a Buffer) works too', () => {
    const values = new RepeatedValues();
    expect(values.slotOf('x-a')).toBeUndefined();
    const slot = values.slotFor('x-a')!;
    expect(values.slotFor('x-a')).toBe(slot);
    const mem = new Uint8Array(Buffer.from('..hello..'));
    const a = RepeatedValues.value(slot, mem, 2, 7);
    expect(a).toBe('hello');
    expect(RepeatedValues.value(slot, mem, 2, 7)).toBe(a);
    expect(RepeatedValues.value(slot, mem, 2, 6)).toBe('hell');
  });

  it('latin1 bytes above 0x7f come back as the listener decodes them', () => {
    const slot = new RepeatedValues(['x']).slotOf('x')!;
    const mem = Buffer.from([0x41, 0xe9, 0xff, 0x42]);
    expect(RepeatedValues.value(slot, mem, 0, 4)).toBe(mem.toString('latin1'));
    expect(RepeatedValues.value(slot, mem, 0, 4)).toBe(mem.toString('latin1'));
  });
});
