// HPACK in the core: RFC 7541 Appendix C vectors for the decoder and the encoder (same bytes
// as the RFC's encoder with the same policy), every decoder failure path, the limits, the
// table size update rules, and a fast-check round trip (encode → decode == the fields) over
// a series of blocks on one connection.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../host/core/h2/hpack.js';
import { h2StatusEntry, H2_OK } from '../../../host/core/h2/h2-status.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';
import { C2, SERIES } from './rfc7541-vectors.js';

let core: Core | undefined;
const testCore = (): Core => (core ??= new Core());
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const code = (status: number): string => h2StatusEntry(status).code;

/** The decoder's dynamic table, newest first, read by decoding indexed references to it. */
function dynamicEntries(d: HpackDecoder): Array<[string, string]> {
  const n = d.table.count;
  const block = Buffer.from(Array.from({ length: n }, (_, i) => 0x80 | (62 + i)));
  expect(code(d.decode(block))).toBe('ok');
  return d.headers();
}

describe('RFC 7541 Appendix C.2: single representations', () => {
  for (const v of C2) {
    test(`decode ${v.name}`, () => {
      const d = new HpackDecoder(testCore());
      expect(code(d.decode(hex(v.hex)))).toBe('ok');
      expect(d.headers()).toEqual([[v.field[0], v.field[1]]]);
      expect(d.neverIndexed(0)).toBe(v.field[2]);
      expect(d.table.size).toBe(v.tableSize);
    });
    test(`encode ${v.name}`, () => {
      const e = new HpackEncoder(testCore(), { indexing: v.indexing, huffman: 'never' });
      const field: HeaderField = v.field[2] ? [v.field[0], v.field[1], true] : [v.field[0], v.field[1]];
      expect(e.encode([field]).toString('hex')).toBe(v.hex);
      expect(e.table.size).toBe(v.tableSize);
    });
  }
});

describe('RFC 7541 Appendix C.3–C.6: header list series on one connection', () => {
  for (const [name, series] of Object.entries(SERIES)) {
    test(`decode ${name}`, () => {
      const d = new HpackDecoder(testCore(), { tableSize: series.tableSize });
      for (const step of series.steps) {
        expect(code(d.decode(hex(step.hex)))).toBe('ok');
        expect(d.headers()).toEqual(step.headers);
        expect(d.table.size).toBe(step.size);
        expect(dynamicEntries(d)).toEqual(step.table);
      }
    });
    test(`encode ${name} (incremental indexing, Huffman ${series.huffman ? 'always' : 'never'})`, () => {
      const e = new HpackEncoder(testCore(), { tableSize: series.tableSize, huffman: series.huffman ? 'always' : 'never' });
      for (const step of series.steps) {
        expect(e.encode(step.headers).toString('hex')).toBe(step.hex);
        expect(e.table.size).toBe(step.size);
        expect(e.table.count).toBe(step.table.length);
      }
    });
  }
});

describe('Huffman coding', () => {
  test('every byte value round-trips (Huffman always), alone and all together', () => {
    const e = new HpackEncoder(testCore(), { indexing: false, huffman: 'always' });
    const d = new HpackDecoder(testCore());
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const fields: HeaderField[] = [['x-all', all], ...Array.from({ length: 256 }, (_, i) => ['x', String.fromCharCode(i)] as const)];
    expect(code(d.decode(e.encode(fields.slice(0, 100))))).toBe('ok');
    expect(d.headers()).toEqual(fields.slice(0, 100).map((f) => [f[0], f[1]]));
    expect(code(d.decode(e.encode(fields.slice(100, 200))))).toBe('ok');
    expect(d.headers()).toEqual(fields.slice(100, 200).map((f) => [f[0], f[1]]));
  });

  test('EOS inside the data is a compression error', () => {
    // A 4-byte Huffman string of 32 one-bits: EOS (30 ones) is decoded.
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(hex('0001788' + '4ffffffff').subarray(0)))).toBe('bad_huffman');
  });

  test('padding longer than 7 bits is a compression error', () => {
    // 'a' is 00011 (5 bits): 0x1f = 00011111 is 'a' + 3 bits of padding (valid);
    // 0x1f 0xff is 'a' + 11 bits of padding (invalid).
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(hex('0001788' + '11f')))).toBe('ok');
    expect(d.headers()).toEqual([['x', 'a']]);
    expect(code(d.decode(hex('0001788' + '21fff')))).toBe('bad_huffman');
  });

  test('padding that is not all ones is a compression error', () => {
    // 0x18 = 00011 000: 'a' followed by zero padding.
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(hex('0001788' + '118')))).toBe('bad_huffman');
  });
});

describe('decoder failures', () => {
  const cases: Array<[string, string, string]> = [
    ['index 0', '80', 'bad_index'],
    ['an index past the static table with an empty dynamic table', 'be', 'bad_index'],
    ['a literal name index past the tables', '7f00', 'bad_index'],
    ['an integer longer than 2^32-1', 'ffffffffffff0f', 'bad_integer'],
    ['an integer cut short', 'ff80', 'bad_integer'],
    ['a string longer than the block', '000a6162', 'truncated_string'],
    ['a name with no value', '000161', 'truncated_string'],
    ['a size update above SETTINGS_HEADER_TABLE_SIZE', '3fe21f', 'table_size_too_large'],
    ['a size update after a field', '8220', 'late_table_size_update'],
  ];
  for (const [what, block, want] of cases) {
    test(`${what}: ${want}, a connection COMPRESSION_ERROR`, () => {
      const d = new HpackDecoder(testCore());
      const st = d.decode(hex(block));
      expect(code(st)).toBe(want);
      expect(h2StatusEntry(st).errorCode).toBe(0x9);
      expect(h2StatusEntry(st).scope).toBe('connection');
    });
  }

  test('the error offset names the representation that failed', () => {
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(hex('828680')))).toBe('bad_index');
    expect(d.errorOffset).toBe(2);
  });

  test('size updates at the start evict, and a smaller then larger update is accepted', () => {
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(hex(SERIES['C.3'].steps[0].hex)))).toBe('ok');
    expect(d.table.count).toBe(1);
    expect(code(d.decode(hex('203f e11f 82'.replace(/ /g, ''))))).toBe('ok'); // 0, then 4096
    expect(d.table).toEqual({ count: 0, size: 0, limit: 4096 });
    expect(d.headers()).toEqual([[':method', 'GET']]);
  });

  test('an entry larger than the table empties it (§4.4), not an error', () => {
    const d = new HpackDecoder(testCore(), { tableSize: 64 });
    const e = new HpackEncoder(testCore(), { tableSize: 64, huffman: 'never' });
    expect(code(d.decode(e.encode([['a', 'b']])))).toBe('ok');
    expect(d.table.count).toBe(1);
    expect(code(d.decode(e.encode([['x-long', 'v'.repeat(100)]])))).toBe('ok');
    expect(d.table).toEqual({ count: 0, size: 0, limit: 64 });
  });
});

describe('encoder across memory growth', () => {
  test('fields written after the core\'s memory grew encode as before (the encoder\'s Buffer over memory is remade)', () => {
    const c = new Core();
    const e = new HpackEncoder(c, { huffman: 'never' });
    const d = new HpackDecoder(c);
    expect(code(d.decode(e.encode([['x-a', 'first']])))).toBe('ok');
    const before = c.u8.buffer;
    c.exports.memory.grow(1);
    expect(c.u8.buffer).not.toBe(before);
    expect(code(d.decode(e.encode([['x-b', 'after'], ['x-c', 'growth']])))).toBe('ok');
    expect([d.name(0), d.value(0), d.name(1), d.value(1)]).toEqual(['x-b', 'after', 'x-c', 'growth']);
  });
});

describe('decoder limits', () => {
  test('too many fields: a stream error, and the table still follows the encoder', () => {
    const d = new HpackDecoder(testCore(), { maxHeaders: 3 });
    const e = new HpackEncoder(testCore());
    const fields: HeaderField[] = Array.from({ length: 6 }, (_, i) => [`x-h${i}`, `v${i}`]);
    const st = d.decode(e.encode(fields));
    expect(code(st)).toBe('too_many_headers');
    expect(h2StatusEntry(st).scope).toBe('stream');
    expect(d.count).toBe(3);
    expect(d.table.count).toBe(6); // every literal was indexed, kept or not
    // The next block refers to entries added after the limit: both tables must agree.
    expect(code(d.decode(e.encode(fields.slice(0, 3))))).toBe('ok');
    expect(d.headers()).toEqual(fields.slice(0, 3));
  });

  test('a header list over SETTINGS_MAX_HEADER_LIST_SIZE: a stream error (431)', () => {
    const d = new HpackDecoder(testCore(), { maxListSize: 200 });
    const e = new HpackEncoder(testCore());
    const st = d.decode(e.encode([['x-a', 'a'.repeat(100)], ['x-b', 'b'.repeat(100)]]));
    expect(code(st)).toBe('header_list_too_large');
    expect(h2StatusEntry(st).scope).toBe('stream');
    expect(d.count).toBe(1);
    expect(d.listSize).toBe(2 * (3 + 100 + 32));
  });

  test('a count limit outside 1..256 is refused at construction', () => {
    expect(() => new HpackDecoder(testCore(), { maxHeaders: 0 })).toThrow(/maxHeaders/);
    expect(() => new HpackDecoder(testCore(), { maxHeaders: 257 })).toThrow(/maxHeaders/);
  });
});

describe('encoder', () => {
  test('a lowered table limit starts the next block with size updates (min, then the limit)', () => {
    const e = new HpackEncoder(testCore());
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(e.encode([['x-a', '1']])))).toBe('ok');
    e.setTableLimit(0);
    e.setTableLimit(100);
    const block = e.encode([['x-a', '1']]);
    expect(block.subarray(0, 3).toString('hex')).toBe('203f45'); // 0, then 100
    expect(code(d.decode(block))).toBe('ok');
    expect(d.headers()).toEqual([['x-a', '1']]);
    expect(d.table.limit).toBe(100);
  });

  test('a table limit above the capacity is refused', () => {
    expect(() => new HpackEncoder(testCore(), { tableSize: 256 }).setTableLimit(257)).toThrow(/capacity/);
  });

  test('a never-indexed field is sent as never indexed even when the table holds it', () => {
    const e = new HpackEncoder(testCore());
    const d = new HpackDecoder(testCore());
    d.decode(e.encode([['authorization', 'secret']]));
    const block = e.encode([['authorization', 'secret', true]]);
    expect(block[0] & 0xf0).toBe(0x10);
    expect(code(d.decode(block))).toBe('ok');
    expect(d.neverIndexed(0)).toBe(true);
    expect(d.headers()).toEqual([['authorization', 'secret']]);
  });

  // The table search rejects entries by a hash of the name (FNV-1a): two names of one length
  // with the same hash must still be told apart by their bytes.
  test('names with the same hash and length are not taken for each other (declinate / macallums)', () => {
    const fnv = (s: string): number => {
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
      return h;
    };
    expect(fnv('declinate')).toBe(fnv('macallums'));
    const e = new HpackEncoder(testCore(), { huffman: 'never' });
    const d = new HpackDecoder(testCore());
    expect(code(d.decode(e.encode([['declinate', 'v']])))).toBe('ok');
    // Not the entry's index (0xbe, a whole match) nor its name (0x7e): a new name, literal.
    const block = e.encode([['macallums', 'v']]);
    expect(block[0]).toBe(0x40);
    expect(block.subarray(2, 11).toString('latin1')).toBe('macallums');
    expect(code(d.decode(block))).toBe('ok');
    expect(d.headers()).toEqual([['macallums', 'v']]);
    // Both are in the table now, each found whole by its own bytes (newest first: 62, 63).
    const again = e.encode([['declinate', 'v'], ['macallums', 'v'], ['declinate', 'w']]);
    expect([...again.subarray(0, 3)]).toEqual([0x80 | 63, 0x80 | 62, 0x40 | 63]);
    expect(code(d.decode(again))).toBe('ok');
    expect(d.headers()).toEqual([['declinate', 'v'], ['macallums', 'v'], ['declinate', 'w']]);
  });
});

// ── Property: encode → decode is the identity over a connection's series of blocks ─────────
const lowerName = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 20 });
const commonName = fc.constantFrom(':method', ':path', ':authority', ':status', 'content-type', 'cookie', 'user-agent', 'accept');
const byteValue = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const field = fc.tuple(fc.oneof(lowerName, commonName), fc.oneof(byteValue, fc.constantFrom('GET', '/', '200', 'gzip, deflate')), fc.boolean())
  .map(([n, v, never]): HeaderField => (never ? [n, v, true] : [n, v]));

const roundTrip = wasmProperty(import.meta.url, 'encode then decode', () => [
  fc.array(fc.array(field, { maxLength: 30 }), { minLength: 1, maxLength: 8 }),
  fc.constantFrom(0, 64, 256, 4096),
  fc.constantFrom('shorter', 'always', 'never'),
  fc.boolean(),
  (blocks: HeaderField[][], tableSize: number, huffman: string, indexing: boolean) => {
    const c = new Core();
    const e = new HpackEncoder(c, { tableSize: tableSize || 1, huffman: huffman as 'shorter', indexing });
    const d = new HpackDecoder(c, { tableSize: tableSize || 1, maxHeaders: 256, maxListSize: 1 << 20 });
    for (const fields of blocks) {
      const st = d.decode(e.encode(fields));
      if (st !== H2_OK) throw new Error(`decode: ${h2StatusEntry(st).code}`);
      expect(d.headers()).toEqual(fields.map((f) => [f[0], f[1]]));
      fields.forEach((f, i) => expect(d.neverIndexed(i)).toBe(f[2] === true));
      expect(d.table).toEqual(e.table);
    }
  },
], { numRuns: 200 });

const anyBytes = wasmProperty(import.meta.url, 'any bytes decode without a trap', () => [
  fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 4 }),
  (blocks: Uint8Array[]) => {
    const c = new Core();
    const d = new HpackDecoder(c, { tableSize: 256 });
    for (const b of blocks) {
      const st = d.decode(b);
      expect(st === H2_OK || h2StatusEntry(st).errorCode !== 0).toBe(true);
    }
  },
], { numRuns: 500 });

describe('properties', () => {
  test('encode(fields) → decode == fields, over a series of blocks, any table size and policy', () => roundTrip.check());
  test('any bytes: no trap, Ok or a catalogued error', () => anyBytes.check());
});
