// The core upstream connection's stream objects reused (core-h2-upstream-stream-pool.ts): the pool's
// bound, a reopened stream in the state of a new one, an upgraded stream never kept, and the late
// calls that reuse makes dangerous. The dangerous cases run on a real loopback connection to a raw
// server that allows one stream at a time (SETTINGS_MAX_CONCURRENT_STREAMS 1), so that the end of
// one exchange hands the same object to the waiting one inside the ending call: the stream's own
// code after a callback (its generation re-checked) must not reach the next exchange; each of
// those tests fails without its check (a holder's late call: test/router/live-stream.test.ts).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../../host/core/wasm.js';
import type { ExchangeHandler } from '../../../../host/upstream/conn-pool/conn-pool.js';
import { CoreH2UpstreamStreamPool, POOL_MAX } from '../../../../host/upstream/conn-pool/http2/core-h2-upstream-stream-pool.js';
import { CoreH2UpstreamStream, type CoreH2StreamOwner } from '../../../../host/upstream/conn-pool/http2/core-h2-upstream-stream.js';
import { Stats } from '../../../../host/telemetry/stats.js';
import { frame, DATA, HEADERS, END_HEADERS, END_STREAM } from '../../../listener/http2-core/h2-wire.js';
import { coreH2PoolRig, STATUS_200 } from './core-h2-pool-rig.js';
import { until } from './h2-pool-driver.js';
import { ONE_STREAM, oneAtATime, recorder, twoWaiters } from './h2-stream-reuse-rig.js';

const core = new Core();
const { rawServer, makePool } = coreH2PoolRig(core);

/** A connection stand-in: every stream opens with the next odd id, ended streams go back to `pool`. */
function fakeOwner(pool: CoreH2UpstreamStreamPool, peerInitialWindow = 65_535): CoreH2StreamOwner & { peerInitialWindow: number } {
  let next = 1;
  return {
    scheme: 'http',
    stats: new Stats().cluster('c'),
    responseHeads: null as never,
    peerInitialWindow,
    codec: null as never,
    peerEnableConnect: false,
    congested: false,
    openStream(st) { st.id = next; next += 2; return 'ok'; },
    openStreamFields(st) { st.id = next; next += 2; return 'ok'; },
    wantSend() {},
    consumed() {},
    reset() {},
    streamDone(st) { pool.release(st); },
  };
}

const NOOP: ExchangeHandler = { onResponseHead() {}, onResponseData: () => true, onResponseEnd() {}, onUpstreamFailure() {}, onRequestDrain() {} };
const GET = Buffer.from('GET / HTTP/1.1\r\nhost: svc\r\n\r\n');
const POST = Buffer.from('POST / HTTP/1.1\r\nhost: svc\r\ncontent-length: 3\r\n\r\n');

/** What can be seen of a stream from outside (everything but the generation). */
function visible(st: CoreH2UpstreamStream): unknown {
  return {
    id: st.id, send: st.send.available, recv: st.recv.available, recvSize: st.recv.size, pending: st.pending.length,
    pendingBytes: st.pendingBytes, endQueued: st.endQueued, sendingSlot: st.sendingSlot, localClosed: st.localClosed,
    remoteClosed: st.remoteClosed, wantDrain: st.wantDrain, done: st.done, gotHead: st.gotHead, reusable: st.reusable,
  };
}

describe('CoreH2UpstreamStreamPool', () => {
  it('keeps at most POOL_MAX (128, as the listener) idle streams by default, at most its max when given; a bad max is refused', () => {
    expect(POOL_MAX).toBe(128);
    const pool = new CoreH2UpstreamStreamPool();
    const owner = fakeOwner(pool);
    const streams = Array.from({ length: POOL_MAX + 5 }, () => pool.open(owner, 1 << 20));
    for (const st of streams) st.releaseUnstarted();
    expect(pool.size).toBe(POOL_MAX);
    const small = new CoreH2UpstreamStreamPool(2);
    const o2 = fakeOwner(small);
    for (const st of [small.open(o2, 100), small.open(o2, 100), small.open(o2, 100)]) st.releaseUnstarted();
    expect(small.size).toBe(2);
    expect(() => new CoreH2UpstreamStreamPool(-1)).toThrow(/max must be a whole number ≥ 0, got -1/);
    expect(() => new CoreH2UpstreamStreamPool(1.5)).toThrow(RangeError);
  });

  it('a stream still open is not kept; an ended one is reopened for the next exchange with a new generation', () => {
    const pool = new CoreH2UpstreamStreamPool();
    const owner = fakeOwner(pool);
    const a = pool.open(owner, 1000);
    a.start(GET, NOOP, { isHead: false, chunked: false, hasBody: false });
    pool.release(a); // still open: not reusable
    expect(pool.size).toBe(0);
    const gen = a.generation;
    a.abort();
    expect(a.generation).toBe(gen + 1);
    expect(pool.size).toBe(1);
    const b = pool.open(owner, 1000);
    expect(b).toBe(a);
    expect(pool.size).toBe(0);
    expect(b.done).toBe(false);
  });

  it('a reopened stream is a new one, field for field, whatever state its last exchange ended in', () => {
    // Steps an exchange may take before it ends; then the stream is ended, reopened, and compared.
    const step = fc.constantFrom('body', 'end', 'pause', 'resume', 'drainWanted', 'windowUpdate', 'remoteClosed');
    fc.assert(fc.property(fc.array(step, { maxLength: 8 }), fc.boolean(), fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 65_535, max: 1 << 24 }), (steps, withBody, sendWindow, recvWindow) => {
      const pool = new CoreH2UpstreamStreamPool();
      const owner = fakeOwner(pool, 70_000);
      const st = pool.open(owner, 5000);
      st.start(withBody ? POST : GET, NOOP, { isHead: false, chunked: false, hasBody: withBody });
      for (const s of steps) {
        if (s === 'body') st.writeBody(Buffer.from('abc'));
        else if (s === 'end') st.endRequest();
        else if (s === 'pause') st.pauseResponse();
        else if (s === 'resume') st.resumeResponse();
        else if (s === 'drainWanted') st.wantDrain = true;
        else if (s === 'windowUpdate') st.send.grow(1000);
        else st.remoteClosed = true;
      }
      st.abort();
      owner.peerInitialWindow = sendWindow;
      const again = pool.open(owner, recvWindow);
      expect(again).toBe(st);
      const fresh = new CoreH2UpstreamStream(owner, recvWindow);
      expect(visible(again)).toEqual(visible(fresh));
      // And it behaves as new: a body written before start is refused, after start it queues.
      again.start(POST, NOOP, { isHead: false, chunked: false, hasBody: true });
      fresh.start(POST, NOOP, { isHead: false, chunked: false, hasBody: true });
      again.writeBody(Buffer.from('xy'));
      fresh.writeBody(Buffer.from('xy'));
      expect({ ...visible(again) as object, id: 0 }).toEqual({ ...visible(fresh) as object, id: 0 });
    }), { numRuns: 200 });
  });
});

describe('core upstream HTTP/2 stream reuse on a connection: late calls', () => {
  it('an exchange aborted from its last DATA callback: the waiter gets the object, and the DATA frame\'s END_STREAM does not end the waiter', async () => {
    const s = await rawServer(oneAtATime(), { serverSettings: ONE_STREAM });
    const { pool } = makePool(undefined, 1);
    const b = recorder();
    // The second exchange starts as soon as its stream is handed over (inside a's abort, as a router would).
    const { first, second } = twoWaiters(pool, s.port, (st) => st.start(GET, b, { isHead: false, chunked: false, hasBody: false }));
    const a = await first;
    let handedOverInside = false;
    const ra = recorder(() => {
      a.abort(); // the client went away while the last DATA was delivered
      handedOverInside = second.stream === a;
    });
    const ready = second.ready;
    a.start(GET, ra, { isHead: false, chunked: false, hasBody: false });
    await ready;
    await until(() => b.events.includes('end') || b.events.some((e) => e.startsWith('failure')));
    expect(handedOverInside).toBe(true);
    expect(second.stream).toBe(a);
    // Without the generation check after the callback, the first frame's END_STREAM ended b at once, before its head.
    expect(b.events).toEqual(['head 200', 'data r3', 'end']);
    expect(ra.events).toEqual(['head 200', 'data r1']);
  });

  it('an exchange that ended inside its head callback: the head\'s END_STREAM does not end the waiter', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      // The first stream: a head with END_STREAM (no body); later ones as oneAtATime.
      if (f.stream === 1) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS_200));
      else oneAtATime()(f, sock);
    }, { serverSettings: ONE_STREAM });
    const { pool } = makePool(undefined, 1);
    const b = recorder();
    const { first, second } = twoWaiters(pool, s.port, (st) => st.start(GET, b, { isHead: false, chunked: false, hasBody: false }));
    const a = await first;
    const ra: ExchangeHandler = { ...NOOP, onResponseHead: () => a.abort() }; // e.g. a retry on this status
    a.start(GET, ra, { isHead: false, chunked: false, hasBody: false });
    await second.ready;
    await until(() => b.events.includes('end') || b.events.some((e) => e.startsWith('failure')));
    expect(second.stream).toBe(a);
    expect(b.events).toEqual(['head 200', 'data r3', 'end']);
  });
});
