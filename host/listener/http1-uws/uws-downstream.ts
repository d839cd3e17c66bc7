// The uWebSockets.js implementation of a Downstream, and the one place that holds uWS
// discipline: a typed per-request object that copies everything out of `req` synchronously,
// registers abort handling first, corks every late write, streams with tryEnd/onWritable and
// throttles the request body with pause/resume.
//
// One send per response where the bytes allow it: the head is not written when the proxy hands
// it over but together with the first body bytes (or the end) in one cork, so that status,
// fields and a small body leave in one syscall; a microtask writes a head that no body byte
// follows in the same turn of the event loop.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSource } from '../downstream.js';

const enum State { Open, Streaming, Ended, Aborted }

const decoder = new TextDecoder();

// One sink for every response: emitHead runs synchronously inside a cork, with `res` set just before.
const SINK = {
  res: null as HttpResponse | null,
  status(text: string | Uint8Array): void {
    SINK.res!.writeStatus(text);
  },
  header(name: string | Uint8Array, value: string | Uint8Array): void {
    SINK.res!.writeHeader(name, value);
  },
};

// Heads handed over but not yet written, flushed by one microtask per turn of the event loop.
let unflushed: UwsDownstream[] = [];
let flushQueued = false;

function flushHeads(): void {
  flushQueued = false;
  const list = unflushed;
  unflushed = [];
  for (const ds of list) ds.flushHead();
}

// req.forEach's callback, made once: it appends to the array of the request being copied.
const NO_FIELDS: string[] = [];
let collecting = NO_FIELDS;
let collectedBytes = 0;
function collectField(name: string, value: string): void {
  collecting.push(name, value);
  collectedBytes += name.length + value.length + 4;
}

// The peer address, read as bytes (getRemoteAddress: 4 for IPv4, 16 for IPv6) and turned into
// text only when it differs from the last one seen: clients come from few addresses (a
// sidecar's from its own pod and loopback), and uWS's text form plus its decoding cost about
// twice the binary read (1.7 vs 0.9 µs a request, both with the getpeername behind them).
const lastAddress = new Uint8Array(16);
let lastAddressLength = -1;
let lastAddressText = '';

function remoteAddressOf(res: HttpResponse): string {
  const bytes = new Uint8Array(res.getRemoteAddress());
  const n = bytes.length;
  if (n === lastAddressLength) {
    let i = 0;
    while (i < n && bytes[i] === lastAddress[i]) i++;
    if (i === n) return lastAddressText;
  }
  const text = decoder.decode(res.getRemoteAddressAsText());
  if (n <= lastAddress.length) {
    lastAddress.set(bytes);
    lastAddressLength = n;
    lastAddressText = text;
  }
  return text;
}

export class UwsDownstream implements Downstream {
  readonly method: string;
  /** Request-target as received: path plus `?query` when present. */
  readonly path: string;
  readonly authority: string;
  /**
   * Header fields as uWS gives them, flat: name at even indices, its value after it; names
   * lower-case, arrival order (one array per request rather than one per field).
   */
  readonly headers: string[];
  readonly remoteAddress: string;
  /** Approximate request head size (request line + fields), for the head size limit. */
  readonly headBytes: number;
  readonly startTime = Date.now();
  bytesSent = 0;
  bytesReceived = 0;
  status = 0;
  /** uWS refuses malformed heads itself, without a response: none reaches the proxy. */
  readonly protocolError = null;
  readonly bodyFraming: 'none' | 'length' | 'chunked';
  readonly bodyLength: number;

  readonly #res: HttpResponse;
  #state = State.Open;
  #handler: DownstreamHandler | null = null;
  #bodyMode = BodyMode.Stream;
  #bodyLength = 0;
  /** The head handed over by writeHead and not written yet (it goes out with the first body bytes). */
  #head: HeadSource | null = null;
  #writableHooked = false;
  // tryEnd backpressure: the chunk uWS did not take yet and the write offset it started at.
  #pending: Uint8Array | null = null;
  #pendingOffset = 0;
  #paused = false;

  /** Must be called synchronously inside the uWS route handler. */
  constructor(res: HttpResponse, req: HttpRequest) {
    this.#res = res;
    // uWS terminates the process if the handler returns without an abort handler.
    res.onAborted(() => this.#onAborted());
    this.method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    this.path = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers: string[] = [];
    collecting = headers;
    collectedBytes = this.method.length + this.path.length + 12;
    req.forEach(collectField);
    collecting = NO_FIELDS;
    this.headers = headers;
    this.headBytes = collectedBytes;
    // The first Host field, as req.getHeader('host') would give it (without a second lookup).
    let authority = '';
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (headers[i] === 'host') {
        authority = headers[i + 1]!;
        break;
      }
    }
    this.authority = authority;
    // uWS decoded the framing already; what it passes on is read from the fields (best effort:
    // uWS does not refuse conflicting or malformed ones, one reason it is not the default).
    let te = false;
    let cl = -1;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (headers[i] === 'transfer-encoding') te = true;
      else if (headers[i] === 'content-length' && cl < 0) cl = Number(headers[i + 1]);
    }
    this.bodyFraming = te ? 'chunked' : cl > 0 ? 'length' : 'none';
    this.bodyLength = te || !(cl > 0) ? 0 : cl;
    // Only valid during the handler; read now for x-forwarded-for.
    this.remoteAddress = remoteAddressOf(res);
  }

  /** Attaches the proxy; registers body reading when the request has a body. */
  attach(handler: DownstreamHandler, expectBody: boolean): void {
    this.#handler = handler;
    if (expectBody) {
      this.#res.onData((ab, last) => {
        // uWS neuters the ArrayBuffer when this callback returns: copy it.
        const chunk = new Uint8Array(ab.byteLength);
        chunk.set(new Uint8Array(ab));
        this.bytesReceived += chunk.length;
        if (this.#state !== State.Aborted) this.#handler?.onBodyData(chunk, last);
      });
    }
  }

  get open(): boolean {
    return this.#state === State.Open || this.#state === State.Streaming;
  }

  get headSent(): boolean {
    return this.#state !== State.Open && this.status !== 0;
  }

  /** Pauses reading the request body (the upstream socket is not taking more). */
  pauseBody(): void {
    if (this.open && !this.#paused) {
      this.#paused = true;
      this.#res.pause();
    }
  }

  resumeBody(): void {
    // uWS stops delivering data for good if resume() is called on a socket that was not paused.
    if (this.open && this.#paused) {
      this.#paused = false;
      this.#res.resume();
    }
  }

  /** A complete response generated by the proxy itself (local reply). */
  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void {
    if (this.#state !== State.Open) return;
    this.status = parseInt(status, 10);
    this.#state = State.Ended;
    this.bytesSent = Buffer.byteLength(body);
    this.#res.cork(() => {
      this.#res.writeStatus(status);
      for (const [n, v] of headers) this.#res.writeHeader(n, v);
      if (body) this.#res.writeHeader('content-type', 'text/plain');
      this.#res.end(body);
    });
    this.#handler?.onResponseComplete();
  }

  /**
   * Hands over the response head: `source.emitHead` writes the status text and fields through
   * the sink (no framing fields: uWS writes them). A bodiless response is written at once;
   * otherwise the head goes out with the first body bytes, or at the end of this turn of the
   * event loop if none come.
   */
  writeHead(status: number, source: HeadSource, mode: BodyMode, length = 0): void {
    if (this.#state !== State.Open) return;
    this.status = status;
    this.#bodyMode = mode;
    this.#bodyLength = length;
    this.#state = State.Streaming;
    const res = this.#res;
    if (mode === BodyMode.None || (mode === BodyMode.Length && length === 0)) {
      res.cork(() => {
        SINK.res = res;
        source.emitHead(SINK);
        if (mode === BodyMode.None) {
          // A HEAD response's content-length comes through the emitted fields: this uWS
          // build's endWithoutBody(length) would not write it.
          res.endWithoutBody();
        } else {
          // No body byte will ever come to end it through tryEnd: end now (uWS writes content-length: 0).
          res.end();
        }
      });
      this.#state = State.Ended;
      this.#handler?.onResponseComplete();
      return;
    }
    this.#head = source;
    unflushed.push(this);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flushHeads);
    }
  }

  /** @internal (flushHeads) writes a head that no body byte followed in its turn. */
  flushHead(): void {
    const head = this.#head;
    if (head === null || this.#state !== State.Streaming) return;
    this.#head = null;
    const res = this.#res;
    res.cork(() => {
      SINK.res = res;
      // uWS sends the status and fields now; it adds the framing field and the blank line
      // with the first body write (an empty chunked write would be the last chunk).
      head.emitHead(SINK);
    });
  }

  /**
   * Writes a body chunk (which may be a view into memory the caller reuses: it is copied when
   * uWS cannot take it now). Returns false under backpressure: stop, wait for onWritable.
   */
  write(chunk: Uint8Array): boolean {
    if (this.#state !== State.Streaming) return true;
    const res = this.#res;
    this.bytesSent += chunk.length;
    const head = this.#head;
    this.#head = null;
    let ok = true;
    if (this.#bodyMode === BodyMode.Length) {
      const total = this.#bodyLength;
      let start = 0;
      let result: [boolean, boolean] | undefined;
      res.cork(() => {
        if (head !== null) {
          SINK.res = res;
          head.emitHead(SINK);
        }
        start = res.getWriteOffset();
        result = res.tryEnd(chunk, total);
      });
      const [sent, done] = result!;
      if (done) {
        this.#state = State.Ended;
        this.#handler?.onResponseComplete();
      } else if (!sent) {
        this.#pending = Uint8Array.prototype.slice.call(chunk);
        this.#pendingOffset = start;
        this.#hookWritable();
        ok = false;
      }
    } else {
      // Chunked downstream: uWS buffers the chunk and reports whether backpressure built up.
      res.cork(() => {
        if (head !== null) {
          SINK.res = res;
          head.emitHead(SINK);
        }
        ok = res.write(chunk);
      });
      if (!ok) this.#hookWritable();
    }
    return ok;
  }

  /** Ends a streamed body (a length-framed body ends by itself once complete). */
  end(): void {
    if (this.#state !== State.Streaming) return;
    if (this.#bodyMode === BodyMode.Length) {
      // All bytes handed over (the last may still wait in #pending for onWritable): done then.
      // Fewer means the upstream ended short of its content-length: the client must not see success.
      if (this.bytesSent < this.#bodyLength) this.abort();
      return;
    }
    this.#state = State.Ended;
    const head = this.#head;
    this.#head = null;
    const res = this.#res;
    res.cork(() => {
      if (head !== null) {
        SINK.res = res;
        head.emitHead(SINK);
      }
      res.end();
    });
    this.#handler?.onResponseComplete();
  }

  /** Closes the connection at once so that the client cannot mistake a partial response for a whole one. */
  abort(): void {
    if (!this.open) return;
    this.#state = State.Ended; // our own close must not be reported as a client abort
    this.#head = null;
    this.#res.close();
  }

  /** Backpressure: uWS calls back when the socket drained (registered only when needed). */
  #hookWritable(): void {
    if (this.#writableHooked) return;
    this.#writableHooked = true;
    this.#res.onWritable((offset) => this.#onWritable(offset));
  }

  #onWritable(offset: number): boolean {
    if (this.#state !== State.Streaming) return true;
    const pending = this.#pending;
    if (pending && this.#bodyMode === BodyMode.Length) {
      const [sent, done] = this.#res.tryEnd(pending.subarray(offset - this.#pendingOffset), this.#bodyLength);
      if (done) {
        this.#pending = null;
        this.#state = State.Ended;
        this.#handler?.onResponseComplete();
        return true;
      }
      if (!sent) return false;
      this.#pending = null;
    }
    this.#handler?.onWritable();
    return true;
  }

  #onAborted(): void {
    if (this.#state === State.Ended || this.#state === State.Aborted) {
      this.#state = State.Aborted;
      return;
    }
    this.#state = State.Aborted;
    this.#handler?.onAborted();
  }
}
