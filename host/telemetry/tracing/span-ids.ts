// Random trace and span ids, drawn from the proxy's seedable PRNG (host/common/random.ts): ids
// only need to be unique, not secret (Envoy draws them from its non-cryptographic random
// generator too), and a fixed seed makes a test's ids repeatable. Ids are made for every traced
// request (sampled or not: the context propagates either way), so the hex is written into a
// reused buffer and read out as one flat string, as request-id.ts does for x-request-id, rather
// than built from per-word strings.
import { Random } from '../../common/random.js';

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Makes ids; one per tracer (or server). */
export class SpanIds {
  readonly #rng: Random;
  readonly #text = Buffer.allocUnsafe(32);

  constructor(seed?: number) {
    this.#rng = new Random(seed);
  }

  /** Writes `words` random 32-bit words as hex into the text buffer; true when any bit is set. */
  #fill(words: number): boolean {
    const text = this.#text;
    let any = 0;
    for (let w = 0; w < words; w++) {
      const n = (this.#rng.next() * 0x100000000) >>> 0;
      any |= n;
      for (let i = 7, at = w * 8; i >= 0; i--) text[at + 7 - i] = HEX[(n >>> (i * 4)) & 15]!;
    }
    return any !== 0;
  }

  /** A 64-bit span id, 16 hex digits, never all zeros. */
  spanId(): string {
    while (!this.#fill(2));
    return this.#text.toString('latin1', 0, 16);
  }

  /** A 128-bit trace id, 32 hex digits (Istio sets Envoy's trace_id_128bit), never all zeros. */
  traceId(): string {
    while (!this.#fill(4));
    return this.#text.toString('latin1', 0, 32);
  }

  /**
   * A random 24-bit chunk of a generated id: a stream keeps its ids as such chunks (small
   * integers, no allocation) and writes their hex only into the heads that carry them; the
   * strings are made only for a reported span (stream-trace.ts).
   */
  chunk(): number {
    // The same value as (next() * 0x1000000) >>> 0, with no double in between.
    return this.#rng.uint24();
  }

  /** A uniform draw in [0, 1) for the sampling decision. */
  draw(): number {
    return this.#rng.next();
  }
}
