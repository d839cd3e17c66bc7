// The upstream end of a tunnel (WebSocket over an extended CONNECT, RFC 8441) on a stream of the
// core codec's HTTP/2 connection: the counterpart of h2-extended-connect.ts's H2StreamTunnelEnd on
// node:http2. Once the CONNECT was answered 2xx (turned into the router's 101), the stream's
// handler becomes this adapter: response DATA goes to the tunnel's sink, the server's END_STREAM
// is its FIN (onEnd), a RST_STREAM or the connection lost is a reset (onClose(true)); writes are
// the stream's request DATA under the same flow control (false past its buffer, onDrain when it
// went), shutdown() is our END_STREAM, pause()/resume() withhold and give back window, reset()
// is RST_STREAM CANCEL. The stream ends when both sides sent END_STREAM (onClose(false)).
import type { TunnelEnd, TunnelSink } from '../../../common/tunnel-end.js';
import type { ExchangeHandler } from '../conn-pool.js';
import type { ResponseHead } from '../../upstream-head.js';

/** What the tunnel needs of its stream (core-h2-upstream-stream.ts). */
export interface CoreH2TunnelStream {
  writeBody(chunk: Uint8Array): boolean;
  endRequest(): void;
  pauseResponse(): void;
  resumeResponse(): void;
  abort(): void;
}

export class CoreH2StreamTunnelEnd implements TunnelEnd, ExchangeHandler {
  readonly #stream: CoreH2TunnelStream;
  #sink: TunnelSink | null = null;
  #closed = false;

  constructor(stream: CoreH2TunnelStream) {
    this.#stream = stream;
    // Nothing is handed on before attach(): DATA that came with the 2xx waits, its window withheld.
    stream.pauseResponse();
  }

  attach(sink: TunnelSink): void {
    this.#sink = sink;
    this.#stream.resumeResponse();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed) return true;
    return this.#stream.writeBody(bytes);
  }

  pause(): void {
    this.#stream.pauseResponse();
  }

  resume(): void {
    this.#stream.resumeResponse();
  }

  shutdown(): void {
    if (!this.#closed) this.#stream.endRequest();
  }

  reset(): void {
    if (this.#closed) return;
    this.#stream.abort();
    this.closed(true);
  }

  /** @internal (the stream) it is over: both END_STREAMs (false), or a reset / the connection lost (true). */
  closed(error: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink?.onClose(error);
  }

  // ── the stream's handler from the 2xx on ───────────────────────────────────────────────
  onResponseHead(_head: ResponseHead): void {}

  onResponseData(data: Uint8Array): boolean {
    this.#sink?.onData(data);
    return true;
  }

  /** The server's END_STREAM: its half-close. */
  onResponseEnd(): void {
    this.#sink?.onEnd();
  }

  onUpstreamFailure(): void {
    this.closed(true);
  }

  onRequestDrain(): void {
    this.#sink?.onDrain();
  }
}
