// Two exchanges on one upstream HTTP/2 connection of the core codec whose server allows one stream
// at a time (SETTINGS_MAX_CONCURRENT_STREAMS 1): the second waits in the pool and gets the first's
// stream object as soon as the first ends, inside the call that ended it (core-h2-upstream-stream-pool.ts).
// For the tests of late calls after reuse (core-h2-upstream-stream-pool, router/live-stream).
import type { Socket } from 'node:net';
import type { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import type { Http2ConnPool } from '../../../../host/upstream/conn-pool/http2/http2-conn-pool.js';
import type { ExchangeHandler, UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';
import type { ResponseHead } from '../../../../host/upstream/upstream-head.js';
import { frame, settings, DATA, HEADERS, END_HEADERS, END_STREAM } from '../../../listener/http2-core/h2-wire.js';
import type { PeerFrame } from '../../../helpers/raw-h2-peer.js';
import { STATUS_200 } from './core-h2-pool-rig.js';

/** The raw peer's SETTINGS: one stream at a time. */
export const ONE_STREAM = settings([[0x3, 1]]);

/** Head, data and end events seen by one exchange's handler. */
export function recorder(onData: (d: Uint8Array) => void = () => {}): ExchangeHandler & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    onResponseHead: (h: ResponseHead) => { events.push(`head ${h.code}`); },
    onResponseData: (d) => { events.push(`data ${Buffer.from(d).toString()}`); onData(d); return true; },
    onResponseEnd: () => { events.push('end'); },
    onUpstreamFailure: (f) => { events.push(`failure ${f}`); },
    onRequestDrain: () => {},
  };
}

/**
 * Two waiters on the pool of `port` (the server allows one stream): the first's stream now, the
 * second's once the first ends, `onSecond` called with it synchronously in the pool's hand-over
 * (as the router starts its exchange in onPoolReady).
 */
export function twoWaiters(pool: ClusterPool, port: number, onSecond: (st: UpstreamStream) => void = () => {}): { first: Promise<UpstreamStream>; second: { stream: UpstreamStream | null; ready: Promise<UpstreamStream> } } {
  const ep = pool.endpoint('127.0.0.1', port) as Http2ConnPool;
  const first = new Promise<UpstreamStream>((resolve, reject) => ep.newStream({ onPoolReady: resolve, onPoolFailure: reject }));
  const second: { stream: UpstreamStream | null; ready: Promise<UpstreamStream> } = { stream: null, ready: null as never };
  second.ready = first.then(() => new Promise<UpstreamStream>((resolve, reject) => ep.newStream({
    onPoolReady: (s) => { second.stream = s; onSecond(s); resolve(s); },
    onPoolFailure: reject,
  })));
  return { first, second };
}

/** A server that allows one stream at a time and answers each with a 200 head and one DATA frame "r<id>" with END_STREAM. */
export function oneAtATime(): (f: PeerFrame, sock: Socket) => void {
  return (f, sock) => {
    if (f.type !== HEADERS) return;
    sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, f.stream, STATUS_200), frame(DATA, END_STREAM, f.stream, Buffer.from(`r${f.stream}`))]));
  };
}

