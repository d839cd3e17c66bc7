// The router's (and a shadow's) hold on its upstream stream. A pool may reuse a stream object for
// a later exchange once this one ended (the core HTTP/2 connection's, core-h2-upstream-stream-pool.ts;
// UpstreamStream.generation moves then), and a holder can still have it in hand: between a failed
// start and its failure callback, or in code running after a callback that ended it. Every call a
// holder makes after start goes through liveStream, so a late one reaches nothing instead of the
// next exchange.
import type { UpstreamStream } from '../upstream/conn-pool/conn-pool.js';

/**
 * `stream` while it is still the exchange that was given it with `generation` (its
 * UpstreamStream.generation at onPoolReady; undefined for a pool that does not reuse streams);
 * null once the object moved on to another exchange, or for no stream.
 */
export function liveStream(stream: UpstreamStream | null, generation: number | undefined): UpstreamStream | null {
  return stream !== null && stream.generation === generation ? stream : null;
}
