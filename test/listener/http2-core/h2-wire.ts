// A raw HTTP/2 client for the core listener's conformance suite (h2spec-like: there is no h2spec
// binary here): it writes frames byte by byte as a test composes them (HPACK by the core's
// encoder) and reads every frame the server sends, HEADERS decoded by the core's decoder. And a
// CoreHttp2Listener on a loopback server whose requests a test answers (no proxy between).
import net, { type AddressInfo } from 'node:net';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../host/core/h2/hpack.js';
import { CoreHttp2Listener } from '../../../host/listener/http2-core/core-http2-listener.js';
import type { CoreHttp2Options } from '../../../host/listener/http2-core/core-http2-options.js';
import type { Downstream } from '../../../host/listener/downstream.js';
import { Stats, type StatScope, type DownstreamStat } from '../../../host/telemetry/stats.js';
import { HTTP2_PREFACE } from '../../../host/listener/protocol-sniff.js';

export const DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
export const END_STREAM = 1, ACK = 1, END_HEADERS = 4, PADDED = 8;
export const NO_ERROR = 0, PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, FLOW_CONTROL_ERROR = 3, STREAM_CLOSED = 5, FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
  /** Decoded fields of a HEADERS (+ CONTINUATION) block. */
  fields?: Array<[string, string]>;
}

export const core = new Core();

export function frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  Buffer.from(payload).copy(b, 9);
  return b;
}

export function settings(pairs: Array<[number, number]> = []): Buffer {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(SETTINGS, 0, 0, p);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export class WireClient {
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder(core);
  readonly #decoder = new HpackDecoder(core, { maxListSize: 1 << 20, maxHeaders: 256 });
  #buf = Buffer.alloc(0);
  #block: Buffer[] | null = null;
  #blockHead: Omit<Frame, 'payload'> | null = null;
  closed = false;
  #wake: Array<() => void> = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    socket.on('error', () => {});
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const f: Frame = { type: this.#buf[3]!, flags: this.#buf[4]!, stream: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.#buf.subarray(9, 9 + len)) };
      this.#buf = this.#buf.subarray(9 + len);
      if (f.type === HEADERS || f.type === CONTINUATION) {
        if (f.type === HEADERS) {
          this.#block = [f.payload];
          this.#blockHead = { type: f.type, flags: f.flags, stream: f.stream };
        } else this.#block!.push(f.payload);
        if ((f.flags & END_HEADERS) === 0) continue;
        const block = Buffer.concat(this.#block!);
        const st = this.#decoder.decode(block);
        if (st !== 0) throw new Error(`client HPACK decode status ${st}`);
        this.frames.push({ ...this.#blockHead!, flags: this.#blockHead!.flags | END_HEADERS, payload: block, fields: this.#decoder.headers() });
      } else this.frames.push(f);
    }
    this.#notify();
  }

  write(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** A HEADERS frame (END_HEADERS) of `fields`, encoded by this connection's encoder. */
  headers(stream: number, fields: HeaderField[], flags = END_STREAM): Buffer {
    return frame(HEADERS, END_HEADERS | flags, stream, this.encoder.encode(fields));
  }

  /** Waits for a frame matching `pred` (among all received), or for the socket to close (undefined). */
  async until(pred: (f: Frame) => boolean, ms = 3000): Promise<Frame | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed) return undefined;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no matching frame in ${ms} ms; got ${this.frames.map((x) => `${x.type}/${x.flags}/${x.stream}`).join(' ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async goaway(ms = 3000): Promise<{ last: number; code: number }> {
    const f = await this.until((x) => x.type === GOAWAY, ms);
    if (f === undefined) throw new Error('closed without GOAWAY');
    return { last: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
  }

  async rst(stream: number, ms = 3000): Promise<number> {
    const f = await this.until((x) => x.type === RST_STREAM && x.stream === stream, ms);
    if (f === undefined) throw new Error(`closed without RST_STREAM on ${stream}`);
    return f.payload.readUInt32BE(0);
  }

  /** The response on `stream`: status, fields, body, trailers, once END_STREAM came. */
  async response(stream: number, ms = 3000): Promise<{ status: string; fields: Array<[string, string]>; body: Buffer; trailers: Array<[string, string]> | null }> {
    await this.until((x) => x.stream === stream && (x.flags & END_STREAM) !== 0 && (x.type === DATA || x.type === HEADERS), ms);
    const mine = this.frames.filter((x) => x.stream === stream);
    const heads = mine.filter((x) => x.type === HEADERS);
    const body = Buffer.concat(mine.filter((x) => x.type === DATA).map((x) => x.payload));
    const fields = heads[0]!.fields!;
    return { status: fields.find((f) => f[0] === ':status')?.[1] ?? '', fields, body, trailers: heads.length > 1 ? heads[heads.length - 1]!.fields! : null };
  }

  #disposed = false;

  close(): void {
    this.socket.destroy();
    if (this.#disposed) return;
    this.#disposed = true;
    this.encoder.dispose();
    this.#decoder.dispose();
  }
}

export interface WireRig {
  listener: CoreHttp2Listener;
  stats: StatScope<DownstreamStat>;
  port: number;
  /** Connects, sends the preface and `first` SETTINGS (empty by default). */
  connect(first?: Buffer): Promise<WireClient>;
  close(): Promise<void>;
}

export async function startWireRig(onRequest: (ds: Downstream) => void, options: Partial<CoreHttp2Options> = {}): Promise<WireRig> {
  const stats = new Stats().downstream;
  const listener = new CoreHttp2Listener(core, stats, onRequest, options);
  const clients: WireClient[] = [];
  const server = net.createServer((sock) => {
    const reader = listener.take(sock, '127.0.0.1', null);
    sock.on('data', (d: Buffer) => reader?.onRead(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    listener, stats, port,
    connect: async (first = settings()) => {
      const sock = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const c = new WireClient(sock);
      clients.push(c);
      c.write(Buffer.from(HTTP2_PREFACE), first);
      return c;
    },
    close: async () => {
      for (const c of clients) c.close();
      listener.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export const GET = (path: string, more: HeaderField[] = []): HeaderField[] => [[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', 'svc.test'], ...more];
export const POST = (path: string, more: HeaderField[] = []): HeaderField[] => [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'svc.test'], ...more];
