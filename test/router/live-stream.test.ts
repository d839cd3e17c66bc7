// A router's (or shadow's) hold on its upstream stream (host/router/live-stream.ts), against a real
// reused stream: two exchanges on a core HTTP/2 connection allowing one stream at a time, the first
// ended, its object handed to the second. The first's late calls through liveStream reach nothing;
// made on the object itself (no check), the same calls would write the first request's body into
// the second exchange's stream and cancel it: the test fails when liveStream does not check.
import { describe, it, expect } from 'vitest';
import type { Socket } from 'node:net';
import { Core } from '../../host/core/wasm.js';
import { liveStream } from '../../host/router/live-stream.js';
import { DATA, HEADERS, END_HEADERS, END_STREAM, frame } from '../listener/http2-core/h2-wire.js';
import type { PeerFrame } from '../helpers/raw-h2-peer.js';
import { coreH2PoolRig, STATUS_200 } from '../upstream/conn-pool/http2/core-h2-pool-rig.js';
import { until } from '../upstream/conn-pool/http2/h2-pool-driver.js';
import { ONE_STREAM, oneAtATime, recorder, twoWaiters } from '../upstream/conn-pool/http2/h2-stream-reuse-rig.js';

const { rawServer, makePool } = coreH2PoolRig(new Core());
const GET = Buffer.from('GET / HTTP/1.1\r\nhost: svc\r\n\r\n');
const POST = Buffer.from('POST / HTTP/1.1\r\nhost: svc\r\ncontent-length: 3\r\n\r\n');

describe('liveStream', () => {
  it('no stream, or a stream of a pool that does not reuse (no generation): as given', () => {
    expect(liveStream(null, undefined)).toBeNull();
    const plain = { start() {}, writeBody: () => true, endRequest() {}, pauseResponse() {}, resumeResponse() {}, abort() {} };
    expect(liveStream(plain, undefined)).toBe(plain);
  });

  it('a holder\'s late calls after its stream object moved on to the next exchange reach nothing', async () => {
    const seenData: string[] = [];
    const seenResets: number[] = [];
    const s = await rawServer((f: PeerFrame, sock: Socket) => {
      if (f.type === 3) seenResets.push(f.stream);
      if (f.type === DATA && f.payload.length > 0) seenData.push(`${f.stream}:${f.payload.toString()}`);
      // Stream 1 (a GET) answered at once; a later stream once its body ended.
      if (f.type === HEADERS && f.stream === 1) sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, 1, STATUS_200), frame(DATA, END_STREAM, 1, Buffer.from('r1'))]));
      if (f.type === DATA && (f.flags & END_STREAM) !== 0) oneAtATime()({ ...f, type: HEADERS }, sock);
    }, { serverSettings: ONE_STREAM });
    const { pool } = makePool(undefined, 1);
    const { first, second } = twoWaiters(pool, s.port);
    const a = await first;
    const genA = a.generation;
    expect(genA).toBeTypeOf('number');
    const ra = recorder();
    a.start(GET, ra, { isHead: false, chunked: false, hasBody: false });
    const b = await second.ready;
    expect(b).toBe(a); // the first exchange's object, reused
    const rb = recorder();
    b.start(POST, rb, { isHead: false, chunked: false, hasBody: true });
    // The first exchange's holder, late (a router between a failed start and its failure callback, a shadow).
    expect(liveStream(a, genA)).toBeNull();
    liveStream(a, genA)?.writeBody(Buffer.from('AAA'));
    liveStream(a, genA)?.abort();
    // The second exchange's own calls go through.
    const live = liveStream(b, b.generation)!;
    expect(live).toBe(b);
    live.writeBody(Buffer.from('bbb'));
    live.endRequest();
    await until(() => rb.events.includes('end') || rb.events.some((e) => e.startsWith('failure')));
    expect(rb.events).toEqual(['head 200', 'data r3', 'end']);
    expect(seenData).toEqual(['3:bbb']);
    expect(seenResets).toEqual([]);
    expect(ra.events).toEqual(['head 200', 'data r1', 'end']);
  });
});
