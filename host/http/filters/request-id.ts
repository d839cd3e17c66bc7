// x-request-id values: random (version 4) UUIDs, as Envoy generates them.
//
// Not crypto.randomUUID(): Node builds its string from 20 concatenations (a cons-string tree of
// ~600 bytes per call, then flattened), the largest allocation per request in the proxy's heap
// profile. Here the bytes come from the same kind of source (crypto.randomFillSync, in batches
// of 256 ids) and the text is written into a reused buffer and read out as one flat string.
import { randomFillSync } from 'node:crypto';

const BATCH = 256;
const pool = Buffer.allocUnsafe(16 * BATCH);
let next = BATCH; // the first call fills the pool
const text = Buffer.allocUnsafe(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** A random RFC 9562 version 4 UUID in lower-case hex, e.g. `9b2c…-…-4…-[89ab]…-…`. */
export function randomRequestId(): string {
  if (next === BATCH) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next++ * 16;
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[j++] = 0x2d; // '-'
    let b = pool[at + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    text[j++] = HEX[b >> 4]!;
    text[j++] = HEX[b & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
