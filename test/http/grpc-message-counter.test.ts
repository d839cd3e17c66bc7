// The gRPC frame counter behind istio_request/response_messages_total: messages counted from the
// 5-byte prefixes whatever the chunking (any split equals the one-shot count: a fast-check
// property), zero-length messages counted, grpc-web's trailers frame (flag 0x80) not.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GrpcMessageCounter } from '../../host/http/grpc-message-counter.js';

function frame(length: number, flag = 0): Uint8Array {
  const f = new Uint8Array(5 + length);
  f[0] = flag;
  new DataView(f.buffer).setUint32(1, length);
  for (let i = 0; i < length; i++) f[5 + i] = (i * 7) & 0xff;
  return f;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

const count = (chunks: readonly Uint8Array[]): number => {
  const c = new GrpcMessageCounter();
  for (const ch of chunks) c.push(ch);
  return c.messages;
};

describe('GrpcMessageCounter', () => {
  it('counts each frame once, empty and compressed-flag frames included, the trailers frame not', () => {
    expect(count([concat([frame(3), frame(0), frame(10, 1), frame(4, 0x80)])])).toBe(3);
  });

  it('one byte at a time gives the same count, and a large message is skipped by its length', () => {
    const body = concat([frame(70_000), frame(1), frame(0)]);
    expect(count([body])).toBe(3);
    expect(count([...body].map((b) => Uint8Array.of(b)))).toBe(3);
  });

  it('a prefix not yet whole is not counted until its last byte', () => {
    const c = new GrpcMessageCounter();
    c.push(frame(2).subarray(0, 4));
    expect(c.messages).toBe(0);
    c.push(frame(2).subarray(4));
    expect(c.messages).toBe(1);
  });

  it('property: any split of any frame sequence counts the frames whose flag has no high bit', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ length: fc.integer({ min: 0, max: 300 }), flag: fc.constantFrom(0, 1, 0x80) }), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 }),
      (frames, cuts) => {
        const body = concat(frames.map((f) => frame(f.length, f.flag)));
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const c of cuts) {
          if (at >= body.length) break;
          chunks.push(body.subarray(at, Math.min(body.length, at + c)));
          at += c;
        }
        if (at < body.length) chunks.push(body.subarray(at));
        expect(count(chunks)).toBe(frames.filter((f) => (f.flag & 0x80) === 0).length);
      },
    ));
  });
});
