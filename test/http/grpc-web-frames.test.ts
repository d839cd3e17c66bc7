// gRPC-Web's wire pieces: the trailer frame (0x80, length, `name:value\r\n` lines) and the text
// mode's streaming base64 — chunks split anywhere (not on 4-character or 3-byte groups), padded
// pieces one after another, bad input refused — with fast-check round trips against Node's base64.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Base64StreamDecoder, Base64StreamEncoder, TRAILER_FRAME_FLAG, trailerFrame } from '../../host/http/grpc-web-frames.js';

/** `bytes` cut at the given positions (sorted, deduplicated, within range). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function decodeAll(chunks: Uint8Array[]): Uint8Array | null {
  const d = new Base64StreamDecoder();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const out = d.decode(chunks[i]!, i === chunks.length - 1);
    if (out === null) return null;
    parts.push(out);
  }
  return Buffer.concat(parts);
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('trailerFrame', () => {
  it('is 0x80, a big-endian length, then lower-cased name:value CRLF lines, pseudo-headers left out', () => {
    const f = trailerFrame(['Grpc-Status', '0', 'grpc-message', 'ok', ':status', '200', 'x-md', 'a b']);
    const body = 'grpc-status:0\r\ngrpc-message:ok\r\nx-md:a b\r\n';
    expect(f[0]).toBe(TRAILER_FRAME_FLAG);
    expect(Buffer.from(f.subarray(1, 5)).readUInt32BE(0)).toBe(body.length);
    expect(Buffer.from(f.subarray(5)).toString('latin1')).toBe(body);
    expect([...trailerFrame([])]).toEqual([0x80, 0, 0, 0, 0]);
  });
});

describe('Base64StreamDecoder', () => {
  it('decodes a body split inside groups, and padded pieces sent one after another', () => {
    expect(Buffer.from(decodeAll([ascii('aGVs'), ascii('bG8'), ascii('gd29y'), ascii('bGQ=')])!).toString()).toBe('hello world');
    // Two messages, each encoded (and padded) on its own.
    const two = Buffer.from('AAAAAAE=', 'latin1');
    expect([...decodeAll([two.subarray(0, 3), Buffer.concat([two.subarray(3), ascii('AAAAAAJhYg==')])])!]).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0x61, 0x62]);
  });

  it('refuses characters outside the alphabet, misplaced padding, and a group cut off at the end', () => {
    expect(decodeAll([ascii('aGVs*G8=')])).toBeNull();
    expect(decodeAll([ascii('a===')])).toBeNull();
    expect(decodeAll([ascii('aG=s')])).toBeNull();
    expect(decodeAll([ascii('aGVsb')])).toBeNull();
    expect(decodeAll([ascii('aGVs'), ascii('bA')])).toBeNull();
    expect([...decodeAll([ascii('')])!]).toEqual([]);
  });

  it('round trip: any bytes, base64-encoded as one or several padded pieces, split anywhere, decode back', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
      const text = ascii(pieces.map((p) => Buffer.from(p).toString('base64')).join(''));
      const out = decodeAll(split(text, cuts));
      expect(out).not.toBeNull();
      expect(Buffer.from(out!).equals(Buffer.concat(pieces))).toBe(true);
    }), { numRuns: 500 });
  });
});

describe('Base64StreamEncoder', () => {
  it('round trip: chunks of any length encode to the base64 of their concatenation (unpadded until flush)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const e = new Base64StreamEncoder();
      const parts = split(bytes, cuts).map((c) => e.encode(c));
      for (const p of parts) expect(Buffer.from(p).toString('latin1')).not.toContain('=');
      parts.push(e.flush());
      expect(Buffer.concat(parts).toString('latin1')).toBe(Buffer.from(bytes).toString('base64'));
    }), { numRuns: 500 });
  });

  it('holds up to 2 bytes back; flush of nothing is empty', () => {
    const e = new Base64StreamEncoder();
    expect(e.encode(Uint8Array.of(1, 2)).length).toBe(0);
    expect(Buffer.from(e.encode(Uint8Array.of(3, 4))).toString()).toBe('AQID');
    expect(Buffer.from(e.flush()).toString()).toBe('BA==');
    expect(e.flush().length).toBe(0);
  });
});
