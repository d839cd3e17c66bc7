// Writes a tunnel's bytes to a socket, gathering the chunks that arrive in one dispatch into one
// write syscall. A dispatch is the synchronous run of one I/O callback (one read of the other
// side) up to the next process.nextTick: the first chunk of a dispatch is written at once (a
// chunk that comes alone goes out exactly as before: no delay, no extra copy); a second chunk to
// the same socket in that dispatch corks it, and every later one joins the cork, so they go out
// in one writev when the dispatch ends (one nextTick for all writers of the thread).
//
// Where it matters: a source that delivers several chunks per read (an HTTP/2 connection's read
// carrying several DATA frames of a tunnel stream, RFC 8441 downstream or an extended-CONNECT
// upstream, written to an HTTP/1.1 socket). An HTTP/1.1 socket delivers one chunk per read and
// libuv reads a socket once per loop turn unless the read filled its buffer, so an HTTP/1.1 to
// HTTP/1.1 tunnel never corks (measured: docs/websocket.md).
//
// Backpressure is the socket's own: write() returns false once its queue (corked chunks
// included) reaches its high-water mark, and 'drain' follows when it is flushed. end() uncorks
// first (Node's Writable), so a FIN goes after the gathered bytes; destroy() drops them as it
// drops any unsent bytes.
import type { Socket } from 'node:net';

/** Advanced at the end of every dispatch in which some writer wrote. */
let dispatch = 0;
let scheduled = false;
const corked: CoalescingSocketWriter[] = [];

function endDispatch(): void {
  scheduled = false;
  dispatch++;
  // A write made while flushing belongs to the next dispatch (it may cork and be pushed: kept).
  const n = corked.length;
  for (let i = 0; i < n; i++) corked[i]!.flush();
  corked.splice(0, n);
}

export class CoalescingSocketWriter {
  readonly #socket: Socket;
  /** The dispatch of the last write; -1: none yet. */
  #dispatch = -1;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Writes a copy of `bytes` (a view the caller may reuse); false under backpressure (wait for 'drain'). */
  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#dispatch !== dispatch) {
      this.#dispatch = dispatch;
      if (!scheduled) {
        scheduled = true;
        process.nextTick(endDispatch);
      }
    } else if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      corked.push(this);
    }
    // A copy: `bytes` may be a view into a read buffer that the next read overwrites.
    return socket.write(Buffer.from(bytes));
  }

  /** @internal (endDispatch) the dispatch ended: the gathered chunks go out as one write. */
  flush(): void {
    this.#corked = false;
    const socket = this.#socket;
    if (socket.writableCorked > 0) socket.uncork();
  }
}
