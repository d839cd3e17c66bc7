// Random trace and span ids, drawn from the proxy's seedable PRNG (host/common/random.ts): ids
// only need to be unique, not secret (Envoy draws them from its non-cryptographic random
// generator too), and a fixed seed makes a test's ids repeatable.
import { Random } from '../../common/random.js';

const HEX = '0123456789abcdef';

/** Makes ids; one per tracer. */
export class SpanIds {
  readonly #rng: Random;

  constructor(seed?: number) {
    this.#rng = new Random(seed);
  }

  /** 8 random hex digits (32 bits). */
  #word(): string {
    let n = Math.floor(this.#rng.next() * 0x100000000) >>> 0;
    let s = '';
    for (let i = 0; i < 8; i++) {
      s = HEX[n & 15]! + s;
      n >>>= 4;
    }
    return s;
  }

  /** A 64-bit span id, 16 hex digits, never all zeros. */
  spanId(): string {
    for (;;) {
      const id = this.#word() + this.#word();
      if (id !== '0000000000000000') return id;
    }
  }

  /** A 128-bit trace id, 32 hex digits (Istio sets Envoy's trace_id_128bit). */
  traceId(): string {
    return this.spanId() + this.spanId();
  }

  /** A uniform draw in [0, 1) for the sampling decision. */
  draw(): number {
    return this.#rng.next();
  }
}
