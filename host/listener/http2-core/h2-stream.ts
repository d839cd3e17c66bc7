// One HTTP/2 stream's protocol state (RFC 9113 §5.1) on the core codec's connection: which
// side has ended (END_STREAM received / sent), both flow-control windows, the response DATA
// waiting for window (or for the socket), the end of the response once that is sent (END_STREAM
// on the last DATA, or a trailing HEADERS), and what the request's reader (the Downstream
// adapter) is told. The connection (core-h2-connection.ts) moves it; the adapter
// (core-http2-downstream.ts) reads and writes through it.
//
// Streams are reused (h2-stream-pool.ts): `generation` changes each time one is given back, so
// that whoever held it for an earlier request (an adapter answering late) can tell that it is no
// longer theirs.
import type { HeaderField } from '../../core/h2/hpack.js';
import { RecvWindow, SendWindow } from '../../core/h2/flow-window.js';
import type { TrailerBlock } from '../../common/trailer-block.js';

/** What a stream reports to whoever reads it (the Downstream adapter). */
export interface H2StreamEvents {
  /** Request DATA (a private copy; null for an empty frame); `end`: END_STREAM came with it. */
  onData(chunk: Buffer | null, end: boolean): void;
  /** What was queued is out (or under the limits again): writing may go on. */
  onWritable(): void;
  /** The stream is closed: `reset` by either side (RST_STREAM, connection gone) or ended in order. */
  onClosed(reset: boolean, code: number): void;
}

export class H2Stream {
  /** The stream id (changes when the object is reused for another stream). */
  id: number;
  /** Bumped when the stream is given back to its pool: a holder compares it with the one it was given. */
  generation = 0;
  /** END_STREAM received (the request is complete) or the stream reset. */
  remoteClosed = false;
  /** END_STREAM queued for the socket (or the stream reset). */
  localClosed = false;
  /** An END_STREAM is to follow the queued DATA. */
  endQueued = false;
  /** Fields of the trailing HEADERS that ends the response (encoded when it goes out, in wire order). */
  trailers: HeaderField[] | TrailerBlock | null = null;
  /** Response DATA waiting for window or socket room (copies the stream owns). */
  readonly out: Uint8Array[] = [];
  outBytes = 0;
  /** write() returned false: onWritable is owed once the queue empties. */
  wantWritable = false;
  /** Request DATA bytes received (against content-length). */
  received = 0;
  /** content-length of the request; -1 when absent. */
  contentLength = -1;
  /** A tunnel (extended CONNECT answered 200): both sides end on their own, no early reset. */
  tunnel = false;
  lastActivity: number;
  /** When the stream opened (premature resets, core-h2-connection.ts). */
  openedAt: number;
  events: H2StreamEvents | null = null;
  readonly send: SendWindow;
  readonly recv: RecvWindow;

  constructor(id: number, sendWindow: number, recvWindow: number, now: number) {
    this.id = id;
    this.send = new SendWindow(sendWindow);
    this.recv = new RecvWindow(recvWindow);
    this.lastActivity = now;
    this.openedAt = now;
  }

  /** Made a new stream `id` (a reused object): every field as the constructor leaves it. */
  reopen(id: number, sendWindow: number, recvWindow: number, now: number): void {
    this.id = id;
    this.remoteClosed = false;
    this.localClosed = false;
    this.endQueued = false;
    this.trailers = null;
    this.out.length = 0;
    this.outBytes = 0;
    this.wantWritable = false;
    this.received = 0;
    this.contentLength = -1;
    this.tunnel = false;
    this.lastActivity = now;
    this.openedAt = now;
    this.events = null;
    this.send.reset(sendWindow);
    this.recv.reset(recvWindow);
  }

  /** Given back (closed): a new generation, nothing of the old request kept; still reads as closed until reopened. */
  retire(): void {
    this.generation++;
    this.events = null;
    this.trailers = null;
    this.out.length = 0;
    this.outBytes = 0;
    this.remoteClosed = true;
    this.localClosed = true;
  }
}
