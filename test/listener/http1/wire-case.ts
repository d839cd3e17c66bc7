// One table case of the smuggling suites, and its check: what the client sends (raw bytes,
// possibly split into timed writes), the statuses it gets, and the exact bytes the upstream
// receives — nothing of a refused message, and never a request boundary the client did not draw.
import { expect } from 'vitest';
import { exchange, sleep, waitFor, startRig, normaliseRequestId, type Rig, type Step } from './wire-harness.js';

export type RigKind = 'default' | 'reject-underscores' | 'drop-underscores';

export interface WireCase {
  name: string;
  /** Bytes written on one fresh connection; strings go out as latin1, `{ pause }` waits. */
  send: Step[] | string;
  /** The statuses the client receives, in order. */
  statuses: number[];
  /** The body of the last response: the codec's or listener's stable code for a refusal. */
  code?: string;
  /** Exact requests the svc.test upstream receives, in order (see forwarded()). */
  upstream: string[];
  /** Exact requests the internal.example.com upstream receives (default: none). */
  internal?: string[];
  /**
   * Refused inside the body: the head was forwarded before the body went wrong, so the upstream
   * may have received a prefix of this (an incomplete message), on a connection never used again.
   */
  partial?: string;
  /** The server closes the connection after the last response (default: the last status is ≥ 400). */
  closes?: boolean;
  /** Bodies of the responses, when they say which request was answered. */
  bodies?: string[];
  rig?: RigKind;
  /** For cases from a corpus: what the corpus' strict parser does with the same bytes. */
  reference?: 'accepts' | 'refuses';
  /** Messages the client sends (default 1): fewer answered, then a close, is a refusal of the rest. */
  messages?: number;
  /** Why the proxy answers otherwise than the reference (required whenever it does). */
  divergence?: string;
}

/** One rig per kind, started on first use; close them all in afterAll. */
export class Rigs {
  readonly #rigs = new Map<RigKind, Promise<Rig>>();

  get(kind: RigKind = 'default'): Promise<Rig> {
    let r = this.#rigs.get(kind);
    if (!r) {
      r = startRig(
        kind === 'default' ? {} : { http1: { headersWithUnderscoresAction: kind === 'reject-underscores' ? 'REJECT_REQUEST' : 'DROP_HEADER' } },
      );
      this.#rigs.set(kind, r);
    }
    return r;
  }

  async close(): Promise<void> {
    for (const r of this.#rigs.values()) await (await r).close();
  }
}

export async function runWireCase(rigs: Rigs, c: WireCase): Promise<void> {
  const rig = await rigs.get(c.rig);
  rig.upstream.reset();
  rig.internal.reset();
  const logsBefore = rig.logs.length;
  const steps = typeof c.send === 'string' ? [c.send] : c.send;
  const last = c.statuses[c.statuses.length - 1] ?? 0;
  const closes = c.closes ?? last >= 400;
  const ex = await exchange(rig.proxy.port, steps, c.statuses.length, { quietMs: closes ? 2000 : 60 });

  expect(ex.responses.map((r) => r.status), 'statuses').toEqual(c.statuses);
  expect(ex.rest, 'bytes after the last complete response').toBe('');
  expect(ex.closedByServer, 'server closed the connection').toBe(closes);
  if (c.code !== undefined) expect(ex.responses[ex.responses.length - 1]!.body, 'refusal code').toBe(c.code);
  if (c.bodies !== undefined) expect(ex.responses.map((r) => r.body), 'bodies').toEqual(c.bodies);
  for (const r of ex.responses) {
    // uWebSockets.js stamped every answer with its own field; the proxy names itself, once.
    expect(r.fields.filter(([n]) => n === 'server'), 'server field').toEqual([['server', 'wasmesh']]);
    expect(r.head.toLowerCase(), 'no uWebSockets field').not.toContain('uwebsockets');
  }

  // Bytes an upstream connection got in this case that are not a complete request: only the
  // forwarded prefix of a message refused inside its body, and that connection is never used
  // again (a request written after it would be read as the rest of the body).
  await sleep(c.partial !== undefined ? 100 : 10);
  const grown = rig.upstream.connections.filter((k) => k.leftover !== k.leftoverAtReset);
  if (c.partial !== undefined) {
    expect(grown.length, 'connections with a partial request').toBeLessThanOrEqual(1);
    for (const k of grown) {
      expect(k.leftoverAtReset, 'the partial request is on a connection of its own').toBe('');
      // Anything written after the partial message would extend it, and fail this prefix check.
      const got = normaliseRequestId(k.leftover);
      expect(c.partial.startsWith(got), `partial ${JSON.stringify(got)} is a prefix of the forwarded message`).toBe(true);
    }
  } else {
    expect(grown.map((k) => k.leftover), 'no incomplete request upstream').toEqual([]);
  }
  expect(rig.upstream.errors, 'upstream read only canonical requests').toEqual([]);
  expect(rig.upstream.requests.map((r) => r.bytes), 'upstream bytes').toEqual(c.upstream);
  expect(rig.internal.requests.map((r) => r.bytes), 'internal upstream bytes').toEqual(c.internal ?? []);
  expect(rig.internal.connections.filter((k) => k.leftover !== ''), 'internal upstream partials').toEqual([]);

  if (c.code !== undefined && last >= 400) {
    // Refusals are logged by the connection manager with flag DPE (downstream protocol error).
    await waitFor(() => rig.logs.length > logsBefore, 2000, 'access log line');
    const line = rig.logs[rig.logs.length - 1]!;
    expect(line.code, 'logged status').toBe(last);
    expect(line.flags.split(','), 'logged flags').toContain('DPE');
  }
  if (c.reference !== undefined) {
    // Where the corpus' strict parser refuses, so must the proxy (with an answer ≥ 400, or by
    // answering what came before and forwarding nothing after); every other difference is a
    // documented divergence.
    const refusedHere = (c.code !== undefined && last >= 400) || (closes && c.statuses.length < (c.messages ?? 1));
    const differs = (c.reference === 'refuses') !== refusedHere;
    expect(differs ? c.divergence : 'none', 'a difference from the reference says why').toBeTruthy();
    if (!differs) expect(c.divergence, 'no divergence to explain').toBeUndefined();
  }
}
