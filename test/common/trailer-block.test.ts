// Trailers as bytes: a block made by the HPACK decoder from a decoded trailer list (names and
// values copied once, no string), grpc-status read from the bytes as parseGrpcStatus reads the
// string, the strings made on demand, and the encoder's encodeTrailersInPlace producing a block
// that decodes to the same fields as the strings' encode.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../host/core/h2/hpack.js';
import { TrailerBlock, grpcStatusOf, trailerStrings } from '../../host/common/trailer-block.js';
import { parseGrpcStatus } from '../../host/common/grpc-status.js';

const core = new Core();
const block = (fields: ReadonlyArray<readonly [string, string]>): TrailerBlock => {
  const bytes = Buffer.from(fields.map(([n, v]) => n + v).join(''), 'latin1');
  const ends: number[] = [];
  let at = 0;
  for (const [n, v] of fields) ends.push((at += n.length), (at += v.length));
  return new TrailerBlock(bytes, ends);
};

describe('TrailerBlock', () => {
  it('spans, strings (made once), names compared case-insensitively', () => {
    const t = block([['grpc-status', '0'], ['grpc-message', ''], ['X-Bin', 'v']]);
    expect(t.count).toBe(3);
    expect([t.nameStart(1), t.nameEnd(1), t.valueEnd(1)]).toEqual([12, 24, 24]);
    expect(t.strings()).toEqual(['grpc-status', '0', 'grpc-message', '', 'X-Bin', 'v']);
    expect(t.strings()).toBe(t.strings());
    expect(trailerStrings(t)).toBe(t.strings());
    const flat = ['a', 'b'];
    expect(trailerStrings(flat)).toBe(flat);
    expect(trailerStrings(undefined)).toBeUndefined();
    expect(t.nameIs(2, 'x-bin')).toBe(true);
    expect(t.nameIs(2, 'x-bim')).toBe(false);
    expect(t.nameIs(0, 'grpc-statu')).toBe(false);
  });

  it('rejects spans that are not a name and a value end per field within the bytes', () => {
    expect(() => new TrailerBlock(Buffer.from('ab'), [1])).toThrow(/a name and a value end per field/);
    expect(() => new TrailerBlock(Buffer.from('ab'), [1, 3])).toThrow(/within the bytes/);
  });

  it('grpcStatus from the bytes is parseGrpcStatus of the value string (any name case; -1 when absent or not a non-negative integer)', () => {
    fc.assert(fc.property(fc.oneof(fc.stringMatching(/^[0-9]{0,10}$/), fc.string({ maxLength: 6 })), fc.constantFrom('grpc-status', 'Grpc-Status', 'GRPC-STATUS'), (value, name) => {
      const latin1 = Buffer.from(value, 'latin1').toString('latin1');
      const t = block([['grpc-message', 'x'], [name, latin1]]);
      expect(t.grpcStatus()).toBe(parseGrpcStatus(latin1));
      expect(grpcStatusOf(t)).toBe(grpcStatusOf([name, latin1]));
    }));
    expect(block([['grpc-message', '5']]).grpcStatus()).toBe(-1);
    expect(grpcStatusOf(undefined)).toBe(-1);
  });
});

describe('HpackDecoder.trailerBlock and HpackEncoder.encodeTrailersInPlace', () => {
  const field = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'latin1').toString('latin1').replace(/[\r\n\0]/g, '')));

  it('a decoded list becomes a block of the same fields; re-encoded from its spans it decodes to them again, as the strings encode', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core);
    const enc2 = new HpackEncoder(core);
    const dec2 = new HpackDecoder(core);
    fc.assert(fc.property(fc.array(field, { minLength: 1, maxLength: 8 }), (fields) => {
      const wire = enc.encode(fields as HeaderField[]);
      dec.decode(wire);
      const t = dec.trailerBlock()!;
      expect(t.strings()).toEqual(fields.flat());
      const n = enc2.encodeTrailersInPlace(t);
      const again = Buffer.from(enc2.memory.subarray(enc2.blockStart, enc2.blockStart + n));
      dec2.decode(again);
      expect(dec2.headers()).toEqual(fields.map(([a, b]) => [a, b]));
    }));
  });

  it('upper-case names are lower-cased on the way out', () => {
    const t = block([['Grpc-Status', '0']]);
    const enc = new HpackEncoder(core);
    const n = enc.encodeTrailersInPlace(t);
    const dec = new HpackDecoder(core);
    dec.decode(Buffer.from(enc.memory.subarray(enc.blockStart, enc.blockStart + n)));
    expect(dec.headers()).toEqual([['grpc-status', '0']]);
  });

  it('a pseudo-header in the list: null (trailers carry none)', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core);
    dec.decode(enc.encode([['grpc-status', '0'], [':status', '200']]));
    expect(dec.trailerBlock()).toBeNull();
  });
});
