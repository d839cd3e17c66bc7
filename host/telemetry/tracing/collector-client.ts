// The span exporter's HTTP/1.1 client: one persistent keep-alive TCP connection to the collector,
// each report written as one pre-built request head (POST path, Host, Content-Type, the
// Content-Length digits) plus the body in a single socket write, and the answer read with a
// minimal parser (status line, Content-Length / chunked / read-to-close body, discarded). It
// replaces node's http.request per report, whose agent, ClientRequest and IncomingMessage cost the
// proxy's thread some 250 µs a report (BENCHMARKS.md, issue 14). One request at a time (the
// exporter has at most one report in flight). A connection the collector closed while idle is
// reopened on the next report; a report written on a reused connection that dies before any
// answer byte is sent once more on a fresh one (the collector closed it as we wrote). After a
// failed connect, reports fail at once for a backoff (100 ms doubling to 5 s, reset by an answer)
// instead of connecting again. Plain TCP only: the mesh's collectors are reached in plaintext (or
// through the sidecar), as Envoy's Zipkin/OTLP-HTTP tracers do through a plaintext cluster.
import { connect, type Socket } from 'node:net';
import { formatHostPort } from '../../common/host-port.js';

/** A report's outcome: the collector's status code, or 'failed' (no answer: refused, reset, timed out). */
export type PostOutcome = number | 'failed';

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
const CRLF2 = Buffer.from('\r\n\r\n');

interface Pending {
  body: string;
  resolve: (o: PostOutcome) => void;
  timer: NodeJS.Timeout;
  /** The connection was reused (it may have been closed by the collector under our write). */
  reused: boolean;
  retried: boolean;
}

/** Response parsing states. */
const enum St { Head, Length, Chunked, ToClose }

export class CollectorClient {
  readonly #host: string;
  readonly #port: number;
  readonly #head: string;
  readonly #timeoutMs: number;
  #socket: Socket | null = null;
  #connected = false;
  #pending: Pending | null = null;
  #backoffMs = 0;
  #backoffUntil = 0;
  #closed = false;
  // Response parser state.
  #buf: Buffer | null = null;
  #st = St.Head;
  #status = 0;
  #left = 0;
  #gotBytes = false;
  #closeAfter = false;
  /** Connections opened (tests: keep-alive reuse). */
  connections = 0;

  constructor(host: string, port: number, path: string, timeoutMs: number) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    const hostHeader = formatHostPort(host, port);
    this.#head = `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: `;
  }

  /** Posts one JSON body; settles with the status code or 'failed' (never rejects). */
  post(body: string): Promise<PostOutcome> {
    if (this.#closed || this.#pending !== null) return Promise.resolve('failed');
    if (this.#backoffMs > 0 && Date.now() < this.#backoffUntil) return Promise.resolve('failed');
    return new Promise<PostOutcome>((resolve) => {
      const timer = setTimeout(() => this.#fail(), this.#timeoutMs);
      timer.unref();
      this.#pending = { body, resolve, timer, reused: this.#socket !== null, retried: false };
      this.#send();
    });
  }

  #send(): void {
    const p = this.#pending!;
    this.#st = St.Head;
    this.#buf = null;
    this.#gotBytes = false;
    this.#closeAfter = false;
    if (this.#socket === null) this.#open();
    this.#socket!.write(this.#head + Buffer.byteLength(p.body) + '\r\n\r\n' + p.body);
  }

  #open(): void {
    this.connections++;
    this.#connected = false;
    const s = connect({ host: this.#host, port: this.#port });
    s.setNoDelay(true);
    this.#socket = s;
    s.on('connect', () => {
      this.#connected = true;
    });
    s.on('data', (d: Buffer) => {
      if (this.#socket === s) this.#onData(d);
    });
    s.on('error', () => { /* 'close' follows */ });
    s.on('close', () => {
      if (this.#socket !== s) return;
      const wasConnected = this.#connected;
      this.#socket = null;
      const p = this.#pending;
      if (p === null) return;
      if (this.#st === St.ToClose) {
        this.#done(this.#status);
        return;
      }
      if (!wasConnected) {
        this.#backoffMs = Math.min(BACKOFF_MAX_MS, this.#backoffMs === 0 ? BACKOFF_MIN_MS : this.#backoffMs * 2);
        this.#backoffUntil = Date.now() + this.#backoffMs;
      }
      if (wasConnected && p.reused && !p.retried && !this.#gotBytes) {
        // The collector closed the idle connection as we wrote: once more, on a new one.
        p.retried = true;
        p.reused = false;
        this.#send();
        return;
      }
      this.#fail();
    });
  }

  #onData(d: Buffer): void {
    this.#gotBytes = true;
    let buf = this.#buf === null ? d : Buffer.concat([this.#buf, d]);
    this.#buf = null;
    for (;;) {
      if (this.#st === St.Head) {
        const end = buf.indexOf(CRLF2);
        if (end < 0) {
          if (buf.length > 64 * 1024) return this.#fail();
          this.#buf = buf;
          return;
        }
        const head = buf.toString('latin1', 0, end);
        buf = buf.subarray(end + 4);
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m === null) return this.#fail();
        const status = Number(m[1]);
        if (status >= 100 && status < 200) continue; // an interim answer: the final one follows
        this.#status = status;
        const lower = head.toLowerCase();
        this.#closeAfter = /\r\nconnection:[ \t]*close/.test(lower) || head.startsWith('HTTP/1.0');
        const cl = /\r\ncontent-length:[ \t]*(\d+)/.exec(lower);
        if (status === 204 || status === 304) this.#left = 0, this.#st = St.Length;
        else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) this.#left = -1, this.#st = St.Chunked;
        else if (cl !== null) this.#left = Number(cl[1]), this.#st = St.Length;
        else { this.#st = St.ToClose; return; }
      }
      if (this.#st === St.Length) {
        const take = Math.min(this.#left, buf.length);
        this.#left -= take;
        if (this.#left > 0) return;
        return this.#done(this.#status);
      }
      if (this.#st === St.Chunked) {
        // #left: bytes of chunk data (plus its CRLF) still to skip, or -1 when a size line is next,
        // or -2 when the trailer section is being read (after the last chunk).
        for (;;) {
          if (this.#left > 0) {
            const take = Math.min(this.#left, buf.length);
            this.#left -= take;
            buf = buf.subarray(take);
            if (this.#left > 0) return;
            this.#left = -1;
          }
          if (this.#left === -2) {
            // Trailers end with an empty line: CRLF right away, or CRLFCRLF after some fields.
            if (buf.length >= 2 && buf[0] === 13 && buf[1] === 10) return this.#done(this.#status);
            const end = buf.indexOf(CRLF2);
            if (end < 0) { this.#buf = buf; return; }
            return this.#done(this.#status);
          }
          const nl = buf.indexOf(10);
          if (nl < 0) { this.#buf = buf; return; }
          const size = parseInt(buf.toString('latin1', 0, nl), 16);
          if (Number.isNaN(size)) return this.#fail();
          buf = buf.subarray(nl + 1);
          if (size === 0) this.#left = -2;
          else this.#left = size + 2;
        }
      }
      return; // ToClose: the body is discarded until the collector closes
    }
  }

  #done(status: PostOutcome): void {
    const p = this.#pending;
    if (p === null) return;
    this.#pending = null;
    clearTimeout(p.timer);
    this.#backoffMs = 0;
    if (this.#closeAfter && this.#socket !== null) {
      this.#socket.destroy();
      this.#socket = null;
    }
    p.resolve(status);
  }

  /** No answer (refused, reset, timed out, garbled): the connection is dropped. */
  #fail(): void {
    const p = this.#pending;
    this.#pending = null;
    if (this.#socket !== null) {
      this.#socket.destroy();
      this.#socket = null;
    }
    if (p === null) return;
    clearTimeout(p.timer);
    p.resolve('failed');
  }

  close(): void {
    this.#closed = true;
    this.#fail();
  }
}
