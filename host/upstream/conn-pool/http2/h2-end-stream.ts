// Whether a node:http2 stream's peer ended it with END_STREAM, or it was closed before that (a
// RST_STREAM, NO_ERROR included, or the connection lost). node:http2 ends the readable side in
// both cases — onStreamClose pushes null on a NO_ERROR close — so 'end' alone would let a cut
// response pass for a whole one. What tells them apart is when the end is pushed: an END_STREAM
// (on DATA or on trailing HEADERS) pushes it while the stream is still open, a close after
// marking the stream closed. Envoy's codec makes the same distinction (remote_end_stream_): a
// stream that closes without it is reset (UR, the downstream stream reset).
import type { ClientHttp2Stream } from 'node:http2';

/** What was seen of the stream's end so far. */
export interface EndStreamWatch {
  /** true: END_STREAM received; false: closed without it; null: its readable side has not ended. */
  readonly endStream: boolean | null;
}

/**
 * Watches `req`'s readable end. It wraps the stream's own push() (node:http2 calls it on the
 * instance for every chunk and for the end), so it must be installed before any frame is read.
 */
export function watchEndStream(req: ClientHttp2Stream): EndStreamWatch {
  const watch = { endStream: null as boolean | null };
  const push = req.push;
  req.push = function (this: ClientHttp2Stream, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null && watch.endStream === null) watch.endStream = !this.closed;
    return push.call(this, chunk, encoding);
  };
  return watch;
}
