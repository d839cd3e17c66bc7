// The trace context fields of one request, found in one pass over its fields. The tracer asks
// for up to seven of them by name (b3 first, the B3 multi-header five, x-client-trace-id; W3C's
// two), and the tracing filter then removes those present: asked one by one, each name was a
// scan of the request's fields (~20 on a mesh peer's request, most names absent: whole scans).
// Here the fields are read once, a name told apart by its length and then one or two compares,
// and every later question is a slot read. One reader per filter, pointed at the request being
// started (filters run one at a time on the proxy's thread).
import type { HeaderReader } from './b3.js';
import { P_COUNT, propagationSlot } from '../../common/propagation-bytes.js';

/** x-client-trace-id's slot, after the propagation fields' (host/common/propagation-bytes.ts). */
const CLIENT_TRACE_ID = P_COUNT;

/** The slot of a field name, or -1 when it is not a trace context field. */
function slotOf(name: string): number {
  return name.length === 17 && name === 'x-client-trace-id' ? CLIENT_TRACE_ID : propagationSlot(name);
}

export class PropagationFields {
  readonly #values: Array<string | null> = new Array<string | null>(P_COUNT + 1).fill(null);
  #fields: readonly string[] = [];
  /** Propagation fields present (B3 in either form, traceparent, tracestate: what the proxy rewrites); x-client-trace-id is not one. */
  present = 0;
  /** The reader the tracer takes: a slot for a context field, a scan for any other name (a custom tag's header). */
  readonly get: HeaderReader = (name) => {
    const slot = slotOf(name);
    if (slot >= 0) return this.#values[slot]!;
    const f = this.#fields;
    for (let i = 0; i + 1 < f.length; i += 2) if (f[i] === name) return f[i + 1]!;
    return null;
  };

  /** Reads `fields` (flat: name, value, …; lower-case names): the first value of each context field, as requestHeader gives it. */
  read(fields: readonly string[]): void {
    const v = this.#values;
    for (let k = 0; k <= P_COUNT; k++) v[k] = null;
    this.#fields = fields;
    let present = 0;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const slot = slotOf(fields[i]!);
      if (slot < 0) continue;
      if (slot !== CLIENT_TRACE_ID) present++;
      if (v[slot] === null) v[slot] = fields[i + 1]!;
    }
    this.present = present;
  }

  /** Lets go of the request's fields (the reader outlives it). */
  clear(): void {
    this.#fields = [];
  }
}
