// The listener's field-name table: a name's bytes in any ASCII case give the same kept entry
// (lower-case name, underscore flag), names that differ in a byte or in length are different
// entries, and the table is bounded (names past MAX_NAMES, or longer than MAX_NAME_LENGTH, are
// not kept: the caller decodes them itself).
import { describe, expect, it } from 'vitest';
import { FieldNames, MAX_NAMES, MAX_NAME_LENGTH, MAX_PROBES } from '../../host/common/field-names.js';

/** `text` written at `offset` of `mem`; its span. */
function at(mem: Buffer, text: string, offset: number): [number, number] {
  mem.write(text, offset, 'latin1');
  return [offset, offset + text.length];
}

describe('FieldNames', () => {
  it('keeps a name lower-case and gives the same entry for its bytes in any case, anywhere in memory', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(512);
    const first = names.lookup(mem, ...at(mem, 'X-B3-TraceId', 3))!;
    expect(first.name).toBe('x-b3-traceid');
    expect(first.underscore).toBe(false);
    expect(names.lookup(mem, ...at(mem, 'x-b3-traceid', 200))).toBe(first);
    expect(names.lookup(mem, ...at(mem, 'X-B3-TRACEID', 100))).toBe(first);
    expect(names.size).toBe(1);
  });

  it('tells names apart by every byte and by length', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(512);
    const a = names.lookup(mem, ...at(mem, 'x-b3-spanid', 0))!;
    const b = names.lookup(mem, ...at(mem, 'x-b3-spanie', 50))!;
    const c = names.lookup(mem, ...at(mem, 'x-b3-spani', 100))!;
    const d = names.lookup(mem, ...at(mem, 'x-b3-spanidd', 150))!;
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect([a.name, b.name, c.name, d.name]).toEqual(['x-b3-spanid', 'x-b3-spanie', 'x-b3-spani', 'x-b3-spanidd']);
    expect(names.lookup(mem, ...at(mem, 'X-B3-SPANIE', 300))).toBe(b);
  });

  it('flags a name with an underscore (the headers_with_underscores check reads it)', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    expect(names.lookup(mem, ...at(mem, 'Content_Length', 0))).toMatchObject({ name: 'content_length', underscore: true });
  });

  it('lower-cases only ASCII letters (a name is a token: digits and punctuation stay)', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    expect(names.lookup(mem, ...at(mem, 'X-Custom-1!#$%&\'*+.^`|~Z', 0))!.name).toBe('x-custom-1!#$%&\'*+.^`|~z');
    // '@' (0x40) and '[' (0x5b) sit either side of A–Z: not letters, not changed.
    expect(names.lookup(mem, ...at(mem, '@[', 40))!.name).toBe('@[');
  });

  it('keeps no empty name and no name longer than MAX_NAME_LENGTH', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(256);
    expect(names.lookup(mem, 5, 5)).toBeUndefined();
    expect(names.lookup(mem, ...at(mem, 'x'.repeat(MAX_NAME_LENGTH + 1), 0))).toBeUndefined();
    expect(names.lookup(mem, ...at(mem, 'y'.repeat(MAX_NAME_LENGTH), 0))!.name).toBe('y'.repeat(MAX_NAME_LENGTH));
    expect(names.size).toBe(1);
  });

  it('keeps at most MAX_NAMES names: a client inventing names cannot grow it, the kept ones still match', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    const kept = names.lookup(mem, ...at(mem, 'host', 0))!;
    // Made-up names that differ where the hash reads (8 bytes: indexes 4, 6 and 7 vary).
    const madeUp = (i: number): string => { const d = i.toString(36).padStart(3, '0'); return `nxyz${d[0]}w${d[1]}${d[2]}`; };
    for (let i = 1; i < MAX_NAMES; i++) expect(names.lookup(mem, ...at(mem, madeUp(i), 10))).toBeDefined();
    expect(names.size).toBe(MAX_NAMES);
    expect(names.lookup(mem, ...at(mem, 'x-one-more', 10))).toBeUndefined();
    expect(names.size).toBe(MAX_NAMES);
    expect(names.lookup(mem, ...at(mem, 'HOST', 30))).toBe(kept);
    expect(names.lookup(mem, ...at(mem, madeUp(77).toUpperCase(), 10))!.name).toBe(madeUp(77));
  });

  it('names made to collide (same length, same sampled bytes) cost at most MAX_PROBES compares: past that they are not kept', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    // Length 12: the hash reads indexes 0, 3, 6, 9, 10 and 11 (`x`, `a`, `b`, `c`, `y`, `z`): only the others differ.
    const colliding = Array.from({ length: MAX_PROBES + 4 }, (_, i) => { const d = String(i).padStart(5, '0'); return `x${d.slice(0, 2)}a${d.slice(2, 4)}b${d[4]}-cyz`; });
    const kept = colliding.map((n) => names.lookup(mem, ...at(mem, n, 0)));
    expect(kept.slice(0, MAX_PROBES).every((e, i) => e?.name === colliding[i])).toBe(true);
    expect(kept.slice(MAX_PROBES)).toEqual(new Array(4).fill(undefined));
    expect(names.size).toBe(MAX_PROBES);
    // The kept ones are still found.
    expect(names.lookup(mem, ...at(mem, colliding[3]!.toUpperCase(), 20))).toBe(kept[3]);
  });
});
