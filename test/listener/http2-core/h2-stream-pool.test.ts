// The core listener's stream pool (host/listener/http2-core/h2-stream-pool.ts): a reused stream
// is in every field the stream a new one would be, each release is a new generation, the pool
// keeps at most POOL_MAX; and over the wire, an adapter answering after its stream was closed and
// reused for another request writes nothing to the new one (the generation check).
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { H2Stream } from '../../../host/listener/http2-core/h2-stream.js';
import { H2StreamPool, POOL_MAX } from '../../../host/listener/http2-core/h2-stream-pool.js';
import type { Downstream, DownstreamHandler } from '../../../host/listener/downstream.js';
import { BodyMode } from '../../../host/listener/downstream.js';
import type { CoreHttp2Downstream } from '../../../host/listener/http2-core/core-http2-downstream.js';
import { startWireRig, frame, u32, GET, type WireRig, HEADERS, RST_STREAM, CANCEL } from './h2-wire.js';

/** The fields of a stream that a request can see (its windows by their counters). */
function state(st: H2Stream): unknown {
  return {
    id: st.id, remoteClosed: st.remoteClosed, localClosed: st.localClosed, endQueued: st.endQueued, trailers: st.trailers,
    out: [...st.out], outBytes: st.outBytes, wantWritable: st.wantWritable, received: st.received, contentLength: st.contentLength,
    tunnel: st.tunnel, lastActivity: st.lastActivity, openedAt: st.openedAt, events: st.events,
    send: st.send.available, recv: [st.recv.size, st.recv.available, st.recv.consume(0)],
  };
}

const NO_EVENTS = { onData() {}, onWritable() {}, onClosed() {} };

describe('H2StreamPool', () => {
  it('a released stream reopened is field for field a new stream, one generation on', () => {
    fc.assert(
      fc.property(
        fc.record({
          remoteClosed: fc.boolean(), localClosed: fc.boolean(), endQueued: fc.boolean(), wantWritable: fc.boolean(), tunnel: fc.boolean(),
          out: fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 3 }), received: fc.nat(), contentLength: fc.integer({ min: -1, max: 1e6 }),
          take: fc.nat({ max: 65535 }), consumed: fc.nat({ max: 65535 }), trailers: fc.boolean(),
        }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 65535, max: 2 ** 31 - 1 }),
        (used, id, send, recv) => {
          const pool = new H2StreamPool();
          const st = pool.open(1, 65535, 65535, 5);
          Object.assign(st, { remoteClosed: used.remoteClosed, localClosed: used.localClosed, endQueued: used.endQueued, wantWritable: used.wantWritable, tunnel: used.tunnel, received: used.received, contentLength: used.contentLength, events: NO_EVENTS });
          st.out.push(...used.out);
          st.outBytes = used.out.reduce((n, b) => n + b.length, 0);
          st.trailers = used.trailers ? [['grpc-status', '0']] : null;
          st.send.take(used.take);
          st.recv.receive(used.consumed);
          st.recv.consume(Math.floor(used.consumed / 3));
          const g = st.generation;
          pool.release(st);
          expect(st.generation).toBe(g + 1);
          // Given back: reads as closed, holds nothing of its request.
          expect([st.remoteClosed, st.localClosed, st.events, st.out.length, st.trailers]).toEqual([true, true, null, 0, null]);
          const again = pool.open(id, send, recv, 42);
          expect(again).toBe(st);
          expect(state(again)).toEqual(state(new H2Stream(id, send, recv, 42)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it(`keeps at most POOL_MAX (${POOL_MAX}) idle streams; the ones past it are left to the GC`, () => {
    const pool = new H2StreamPool();
    const open = Array.from({ length: POOL_MAX + 10 }, (_, i) => pool.open(2 * i + 1, 65535, 65535, 0));
    expect(new Set(open).size).toBe(open.length);
    for (const st of open) pool.release(st);
    expect(pool.size).toBe(POOL_MAX);
    // Every stream still got its new generation, kept or not.
    expect(open.every((st) => st.generation === 1)).toBe(true);
    const reused = pool.open(999, 65535, 65535, 0);
    expect(open).toContain(reused);
    expect(pool.size).toBe(POOL_MAX - 1);
  });
});

let rig: WireRig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

const NOOP: DownstreamHandler = { onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} };

describe('core listener: a late call for a stream whose object was reused', () => {
  it('an adapter writing, ending, resetting, replying after its stream closed and was reused does nothing to the new request', async () => {
    const seen: CoreHttp2Downstream[] = [];
    rig = await startWireRig((ds) => {
      seen.push(ds as CoreHttp2Downstream);
      ds.attach(NOOP, true);
      // /hold waits; the others are answered at once.
      if (ds.path !== '/hold') ds.writeHead(200, { emitHead(sink) { sink.status('OK'); } }, BodyMode.Stream);
    });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    await c.until(() => seen.length === 1 || false, 2000).catch(() => {});
    expect(seen.length).toBe(1);
    // The client gives up on stream 1: its object goes back to the connection's pool ...
    c.write(frame(RST_STREAM, 0, 1, u32(CANCEL)));
    // ... and stream 3 takes it.
    c.write(c.headers(3, GET('/next')));
    await c.until((f) => f.type === HEADERS && f.stream === 3);
    const [old, next] = [seen[0]!, seen[1]!];
    expect(next.streamId).toBe(3);
    expect(old.streamId).toBe(1);
    // The first request's adapter answers late, in every way it can.
    old.writeHead(200, { emitHead(sink) { sink.status('OK'); sink.header('x-late', 'yes'); } }, BodyMode.Stream);
    old.write(Buffer.from('late body'));
    old.end(['grpc-status', '13']);
    old.abort();
    old.reply('503', [], 'late reply');
    old.tunnel();
    // The new request goes on as if the old one did not exist.
    next.write(Buffer.from('fresh'));
    next.end();
    const r = await c.response(3);
    expect(r.status).toBe('200');
    expect(r.fields.some(([n]) => n === 'x-late')).toBe(false);
    expect(r.body.toString()).toBe('fresh');
    await new Promise((res) => setTimeout(res, 30));
    // No frame of the late answer went out on any stream: no RST_STREAM on 3, nothing on 1 after the client's reset.
    expect(c.frames.filter((f) => f.stream === 3 && f.type === RST_STREAM)).toEqual([]);
    expect(c.frames.filter((f) => f.stream === 1)).toEqual([]);
  });

  it('a WebSocket tunnel (RFC 8441) writing, half-closing, resetting after the client reset its stream and the object was reused: nothing reaches the new stream', async () => {
    const seen: CoreHttp2Downstream[] = [];
    rig = await startWireRig((ds) => {
      seen.push(ds as CoreHttp2Downstream);
      ds.attach(NOOP, true);
      if (ds.upgrade !== null) ds.writeHead(101, { emitHead(sink) { sink.status('Switching Protocols'); } }, BodyMode.Upgrade);
      else ds.writeHead(200, { emitHead(sink) { sink.status('OK'); } }, BodyMode.Stream);
    });
    const c = await rig.connect();
    c.write(c.headers(1, [[':method', 'CONNECT'], [':protocol', 'websocket'], [':scheme', 'http'], [':path', '/ws'], [':authority', 'svc.test'], ['sec-websocket-version', '13']], 0));
    await c.until((f) => f.type === HEADERS && f.stream === 1);
    const tunnel = seen[0]!.tunnel();
    expect(tunnel).not.toBeNull();
    tunnel!.attach({ onData() {}, onEnd() {}, onClose() {}, onDrain() {} });
    c.write(frame(RST_STREAM, 0, 1, u32(CANCEL)));
    c.write(c.headers(3, GET('/next')));
    await c.until((f) => f.type === HEADERS && f.stream === 3);
    const before = c.frames.filter((f) => f.stream === 1).length;
    tunnel!.write(Buffer.from('late'));
    tunnel!.shutdown();
    tunnel!.reset();
    const next = seen[1]!;
    next.write(Buffer.from('fresh'));
    next.end();
    const r = await c.response(3);
    expect(r.body.toString()).toBe('fresh');
    await new Promise((res) => setTimeout(res, 30));
    expect(c.frames.filter((f) => f.stream === 3 && f.type === RST_STREAM)).toEqual([]);
    expect(c.frames.filter((f) => f.stream === 1).length).toBe(before);
  });
});
