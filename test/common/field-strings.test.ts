// The field-string tables. The listener's names (FieldNames): a name's bytes in any ASCII case give the same kept entry
// (lower-case name, underscore flag), names that differ in a byte or in length are different
// entries, and the table is bounded (names past MAX_NAMES, or longer than FIELD_STRING_MAX_LENGTH, are
// not kept: the caller decodes them itself).
// HPACK's names and values (fieldString): a repeated short span is handed out as the same string, a
// different span (same length, same slot or not) never gets another's string, long spans are read
// as they are, and bytes past 0x7f stay one character each (latin1, as the HTTP layer reads heads).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FieldNames, fieldString, FIELD_STRING_MAX_LENGTH, MAX_NAMES, MAX_PROBES } from '../../host/common/field-strings.js';
import { propagationSlot } from '../../host/common/propagation-bytes.js';

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

  it('gives a trace context field its propagation slot (the listener hands those over as bytes), any other name -1', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    expect(names.lookup(mem, ...at(mem, 'X-B3-TraceId', 0))).toMatchObject({ name: 'x-b3-traceid', propagation: propagationSlot('x-b3-traceid') });
    expect(names.lookup(mem, ...at(mem, 'traceparent', 0))!.propagation).toBe(propagationSlot('traceparent'));
    expect(propagationSlot('traceparent')).toBeGreaterThanOrEqual(0);
    expect(names.lookup(mem, ...at(mem, 'x-client-trace-id', 0))!.propagation).toBe(-1);
    expect(names.lookup(mem, ...at(mem, 'host', 0))!.propagation).toBe(-1);
  });

  it('lower-cases only ASCII letters (a name is a token: digits and punctuation stay)', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(64);
    expect(names.lookup(mem, ...at(mem, 'X-Custom-1!#$%&\'*+.^`|~Z', 0))!.name).toBe('x-custom-1!#$%&\'*+.^`|~z');
    // '@' (0x40) and '[' (0x5b) sit either side of A–Z: not letters, not changed.
    expect(names.lookup(mem, ...at(mem, '@[', 40))!.name).toBe('@[');
  });

  it('keeps no empty name and no name longer than FIELD_STRING_MAX_LENGTH', () => {
    const names = new FieldNames();
    const mem = Buffer.alloc(256);
    expect(names.lookup(mem, 5, 5)).toBeUndefined();
    expect(names.lookup(mem, ...at(mem, 'x'.repeat(FIELD_STRING_MAX_LENGTH + 1), 0))).toBeUndefined();
    expect(names.lookup(mem, ...at(mem, 'y'.repeat(FIELD_STRING_MAX_LENGTH), 0))!.name).toBe('y'.repeat(FIELD_STRING_MAX_LENGTH));
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

const mem = Buffer.alloc(4096);
const put = (at: number, bytes: Uint8Array | string): number => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  mem.set(b, at);
  return b.length;
};
const read = (at: number, len: number): string => fieldString(mem, mem, at, len);

describe('fieldString', () => {
  it('the same bytes twice (anywhere in memory) read as the same string', () => {
    const a = read(0, put(0, 'application/grpc'));
    const b = read(100, put(100, 'application/grpc'));
    expect(a).toBe('application/grpc');
    expect(b).toBe(a);
  });

  it('different bytes of the same length never get the cached string', () => {
    expect(read(0, put(0, 'grpc-status'))).toBe('grpc-status');
    expect(read(0, put(0, 'grpc-statux'))).toBe('grpc-statux');
    expect(read(0, put(0, 'grpc-status'))).toBe('grpc-status');
  });

  it('empty, the longest interned and a longer span', () => {
    expect(read(0, 0)).toBe('');
    const max = 'a'.repeat(FIELD_STRING_MAX_LENGTH);
    expect(read(0, put(0, max))).toBe(max);
    const long = 'b'.repeat(FIELD_STRING_MAX_LENGTH + 1) + 'c';
    expect(read(200, put(200, long))).toBe(long);
  });

  it('bytes past 0x7f are one latin1 character each', () => {
    const bytes = Uint8Array.from([0x61, 0xe9, 0xff, 0x80]);
    expect(read(0, put(0, bytes))).toBe('a\u00e9\u00ff\u0080');
  });

  it('any sequence of spans reads back its own bytes (collisions included)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ min: 0x61, max: 0x62, maxLength: 3 })), { minLength: 1, maxLength: 200 }), (spans) => {
        for (const s of spans) {
          put(1000, s);
          expect(read(1000, s.length)).toBe(Buffer.from(s).toString('latin1'));
        }
      }),
    );
  });
});
