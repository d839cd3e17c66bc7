// Seed 003's (Istio101) service: one code for frontend, middleware and backend. It answers its
// name and timing, first calling the next service in the chain (through its sidecar) with the
// headers it received, and — the seed's "hidden function" — answers 500 with the probability
// the `fail` header gives (0..1). Since `fail` is forwarded, every hop draws: the error cascades.
// Behind a sidecar that terminates mTLS (`wasmesh demo istio101 --mtls`) each line also names the
// caller's SPIFFE ID its sidecar verified, so one curl shows every hop's peer.
import type { IncomingMessage } from 'node:http';
import { Random } from '../../common/random.js';
import { OutboundClient } from './outbound-call.js';
import { callerIdentity } from './caller-identity.js';
import { ISTIO101_HEADERS, propagatedHeaders } from './propagated-headers.js';
import { ServiceApp, type AppAnswer, type ServiceAppOptions } from './service-app.js';

export interface ChainAppOptions extends ServiceAppOptions {
  /** The next service's host as the app calls it (`middleware`); absent for the last hop. */
  next?: string;
  /** Seeds the failure draws, so a test's sequence repeats (absent: random). */
  seed?: number;
}

/** The `fail` header as a probability: a number in [0, 1], anything else means 0 (as the seed's `Number(x) || 0`). */
export function failProbability(value: string | string[] | undefined): number {
  const n = Number(Array.isArray(value) ? value[0] : value);
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.min(n, 1);
}

export class ChainApp extends ServiceApp {
  readonly next: string | null;
  readonly outbound = new OutboundClient();
  readonly #rng: Random;

  constructor(options: ChainAppOptions) {
    super(options);
    this.next = options.next ?? null;
    this.#rng = new Random(options.seed);
  }

  protected override async answer(req: IncomingMessage): Promise<AppAnswer> {
    const started = Date.now();
    // Drawn first, before any call: the seed's createIssues() runs at the top of the handler.
    const p = failProbability(req.headers.fail);
    if (p > 0 && this.#rng.next() < p) {
      return { status: 500, body: `${this.name} - failed (fail: ${p})\n` };
    }
    const caller = callerIdentity(req.headers['x-forwarded-client-cert']);
    const own = () => `${this.name} - ${((Date.now() - started) / 1000).toFixed(3)}secs${caller === null ? '' : ` (mTLS from ${caller})`}`;
    if (this.next === null) return { status: 200, body: `${own()}\n` };
    const up = await this.outbound.get(this.next, '/', propagatedHeaders(req.headers, ISTIO101_HEADERS));
    const line = `http://${this.next}/ -> `;
    if (up.status !== 200) {
      // The seed's cascading error: a failed downstream call fails this service too.
      return { status: 500, body: `${own()}\n${line}${up.status === 0 ? up.body : `StatusCodeError: ${up.status}`}\n` };
    }
    return { status: 200, body: `${own()}\n${line}${up.body}` };
  }

  override async close(): Promise<void> {
    this.outbound.close();
    await super.close();
  }
}
