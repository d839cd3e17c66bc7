// Decoded field strings: a repeated short span is handed out as the same string, a different
// span (same length, same slot or not) never gets another's string, long spans are read as they
// are, and bytes past 0x7f stay one character each (latin1, as the HTTP layer reads heads).
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { fieldString, INTERN_MAX_LENGTH } from '../../../host/core/h2/field-strings.js';

const mem = Buffer.alloc(4096);
const put = (at: number, bytes: Uint8Array | string): number => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  mem.set(b, at);
  return b.length;
};
const read = (at: number, len: number): string => fieldString(mem, mem, at, len);

describe('fieldString', () => {
  test('the same bytes twice (anywhere in memory) read as the same string', () => {
    const a = read(0, put(0, 'application/grpc'));
    const b = read(100, put(100, 'application/grpc'));
    expect(a).toBe('application/grpc');
    expect(b).toBe(a);
  });

  test('different bytes of the same length never get the cached string', () => {
    expect(read(0, put(0, 'grpc-status'))).toBe('grpc-status');
    expect(read(0, put(0, 'grpc-statux'))).toBe('grpc-statux');
    expect(read(0, put(0, 'grpc-status'))).toBe('grpc-status');
  });

  test('empty, the longest interned and a longer span', () => {
    expect(read(0, 0)).toBe('');
    const max = 'a'.repeat(INTERN_MAX_LENGTH);
    expect(read(0, put(0, max))).toBe(max);
    const long = 'b'.repeat(INTERN_MAX_LENGTH + 1) + 'c';
    expect(read(200, put(200, long))).toBe(long);
  });

  test('bytes past 0x7f are one latin1 character each', () => {
    const bytes = Uint8Array.from([0x61, 0xe9, 0xff, 0x80]);
    expect(read(0, put(0, bytes))).toBe('a\u00e9\u00ff\u0080');
  });

  test('any sequence of spans reads back its own bytes (collisions included)', () => {
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
