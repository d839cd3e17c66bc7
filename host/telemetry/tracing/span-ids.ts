// Random trace and span ids, drawn from the proxy's seedable PRNG (host/common/random.ts): ids
// only need to be unique, not secret (Envoy draws them from its non-cryptographic random
// generator too), and a fixed seed makes a test's ids repeatable.
import { Random } from '../../common/random.js';

/** Makes ids; one per tracer. */
export class SpanIds {
  readonly #rng: Random;

  constructor(seed?: number) {
    this.#rng = new Random(seed);
  }

  /** 8 random hex digits (32 bits); the native conversion, not a string built digit by digit (ids are made per request). */
  #word(): string {
    return (Math.floor(this.#rng.next() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
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
