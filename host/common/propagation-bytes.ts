// The trace context fields of one request as the HTTP/1 listener hands them over when the
// version traces: byte ranges copied out of the head into one buffer the connection reuses, not
// a string per field. Distributed tracing reads them (host/telemetry/tracing/extract-bytes.ts):
// the ids are checked and taken as numbers from the bytes, and a field becomes a string only
// when something needs one (a `b3` single header, tracestate, a context the proxy forwards as
// received). The listener keeps these fields out of the request's field list; the tracing filter
// writes the proxy's own lines instead, or puts them back (restoreInto) when it does not trace
// the request. Here, below both, so that the listener knows the names without knowing tracing.

/** The slots, one per field the proxy rewrites when it continues a trace (B3 both forms, W3C). */
export const P_B3 = 0;
export const P_TRACE_ID = 1;
export const P_SPAN_ID = 2;
export const P_PARENT_SPAN_ID = 3;
export const P_SAMPLED = 4;
export const P_FLAGS = 5;
export const P_TRACEPARENT = 6;
export const P_TRACESTATE = 7;
export const P_COUNT = 8;

/** The field name of each slot (lower case). */
export const PROPAGATION_NAMES: readonly string[] = ['b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'traceparent', 'tracestate'];

/** The slot of a lower-case field name, or -1 when it is not a propagation field: its length, then one or two compares. */
export function propagationSlot(name: string): number {
  switch (name.length) {
    case 2: return name === 'b3' ? P_B3 : -1;
    case 10: return name === 'x-b3-flags' ? P_FLAGS : name === 'tracestate' ? P_TRACESTATE : -1;
    case 11: return name === 'x-b3-spanid' ? P_SPAN_ID : name === 'traceparent' ? P_TRACEPARENT : -1;
    case 12: return name === 'x-b3-traceid' ? P_TRACE_ID : name === 'x-b3-sampled' ? P_SAMPLED : -1;
    case 17: return name === 'x-b3-parentspanid' ? P_PARENT_SPAN_ID : -1;
    default: return -1;
  }
}

/** Bytes of values kept per request (every id field of both formats is ~130; a longer value, a large tracestate, is kept as a string). */
export const PROPAGATION_BYTES = 512;

/**
 * One request's propagation fields, as bytes. One per connection (an HTTP/1 connection has one
 * request's head at a time): reset() for each head, then put() per field.
 */
export class PropagationBytes {
  /** The values' bytes, one after another. */
  readonly bytes = new Uint8Array(PROPAGATION_BYTES);
  /** Per slot: where its value starts and ends in `bytes` (-1: absent, or kept in `#strings`). */
  readonly start = new Int32Array(P_COUNT).fill(-1);
  readonly end = new Int32Array(P_COUNT);
  /** Fields taken this request (first values and repeats). */
  count = 0;
  #used = 0;
  /** A value that did not fit in `bytes`, per slot. */
  readonly #strings: Array<string | null> = new Array<string | null>(P_COUNT).fill(null);
  /** Repeats of a field (name, value, …): only forwarded, never read, as the first value is what counts. */
  #repeats: string[] | null = null;

  /** Forgets the previous request's fields. */
  reset(): void {
    if (this.count === 0) return;
    this.start.fill(-1);
    this.#strings.fill(null);
    this.#repeats = null;
    this.#used = 0;
    this.count = 0;
  }

  /** Whether the request has the slot's field. */
  has(slot: number): boolean {
    return this.start[slot]! >= 0 || this.#strings[slot] !== null;
  }

  /** Takes the field of `slot` whose value is `mem[from, to)` (the latin1 bytes as received, OWS trimmed). */
  put(slot: number, mem: Uint8Array, from: number, to: number): void {
    this.count++;
    const len = to - from;
    if (this.has(slot)) {
      (this.#repeats ??= []).push(PROPAGATION_NAMES[slot]!, Buffer.from(mem.buffer, mem.byteOffset + from, len).toString('latin1'));
      return;
    }
    const at = this.#used;
    if (at + len > PROPAGATION_BYTES) {
      this.#strings[slot] = Buffer.from(mem.buffer, mem.byteOffset + from, len).toString('latin1');
      return;
    }
    const b = this.bytes;
    for (let i = 0; i < len; i++) b[at + i] = mem[from + i]!;
    this.start[slot] = at;
    this.end[slot] = at + len;
    this.#used = at + len;
  }

  /** The slot's value as a string (the first one received), or null when absent. */
  string(slot: number): string | null {
    const s = this.start[slot]!;
    if (s < 0) return this.#strings[slot]!;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + s, this.end[slot]! - s).toString('latin1');
  }

  /** The fields as received, each given to `add` (name, value): what a request the proxy does not trace forwards. */
  restore(add: (name: string, value: string) => void): void {
    for (let slot = 0; slot < P_COUNT; slot++) {
      const v = this.string(slot);
      if (v !== null) add(PROPAGATION_NAMES[slot]!, v);
    }
    const r = this.#repeats;
    if (r !== null) for (let i = 0; i + 1 < r.length; i += 2) add(r[i]!, r[i + 1]!);
  }
}
