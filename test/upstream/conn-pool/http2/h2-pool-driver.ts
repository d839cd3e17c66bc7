// Driving an HTTP/2 upstream pool's streams from a test, as the router does: a stream from the
// pool (or the pool's failure), one GET through it to its end or failure, a whole request, and
// waiting on an event (a signal) or a condition rather than on time.
import type { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import type { Http2ConnPool } from '../../../../host/upstream/conn-pool/http2/http2-conn-pool.js';
import type { UpstreamFailure, UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';

/** A stream from the pool of 127.0.0.1:`port`, or the pool's failure reason. */
export function acquire(pool: ClusterPool, port: number): Promise<UpstreamStream | string> {
  return new Promise((resolve) => {
    (pool.endpoint('127.0.0.1', port) as Http2ConnPool).newStream({ onPoolReady: resolve, onPoolFailure: resolve });
  });
}

/** A GET of `path` on `stream`, calling `onData` for every piece of the response body: 'ended' or the failure. */
export function runWith(stream: UpstreamStream, onData: () => void, path = '/'): Promise<UpstreamFailure | 'ended'> {
  return new Promise((resolve) => {
    stream.start(Buffer.from(`GET ${path} HTTP/1.1\r\nhost: svc\r\n\r\n`), {
      onResponseHead: () => {},
      onResponseData: () => { onData(); return true; },
      onResponseEnd: () => resolve('ended'),
      onUpstreamFailure: (f) => resolve(f),
      onRequestDrain: () => {},
    }, { isHead: false, chunked: false, hasBody: false });
  });
}

/** A GET of `path` on `stream`: 'ended' or the failure. */
export function run(stream: UpstreamStream, path = '/'): Promise<UpstreamFailure | 'ended'> {
  return runWith(stream, () => {}, path);
}

/** A stream from the pool and a GET on it: 'ended', the stream's failure, or the pool's. */
export async function request(pool: ClusterPool, port: number, path = '/'): Promise<UpstreamFailure | 'ended' | string> {
  const st = await acquire(pool, port);
  return typeof st === 'string' ? st : run(st, path);
}

/** A promise and its resolve, for waiting on an event rather than on time. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Resolves once `cond` holds (checked every 5 ms); throws after `ms`. */
export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
