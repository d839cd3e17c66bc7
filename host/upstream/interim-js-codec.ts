// Interim JavaScript implementation of the upstream codec port, used until the Wasm codec
// (host/core/codec.ts, engineer A) lands; the proxy switches to the core by passing a
// different UpstreamCodec. Kept strict where a lax proxy would be unsafe (framing, limits).
import {
  HOP_BY_HOP,
  type ChunkedDecodeResult,
  type ChunkedDecoder,
  type Framing,
  type ResponseHeadResult,
  type UpstreamCodec,
  type UpstreamRequestHead,
} from './upstream-codec.js';

const enum Ch { LF = 10, CR = 13, SP = 32, HT = 9, COLON = 58, SEMI = 59 }

const latin1 = new TextDecoder('latin1');

function isTokenByte(c: number): boolean {
  // RFC 9110 tchar
  if (c >= 0x30 && c <= 0x39) return true;
  if ((c | 32) >= 0x61 && (c | 32) <= 0x7a) return true;
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

export interface InterimCodecLimits {
  maxResponseHeadBytes: number;
  maxResponseHeaders: number;
}

export class InterimJsCodec implements UpstreamCodec {
  readonly #limits: InterimCodecLimits;

  constructor(limits: InterimCodecLimits) {
    this.#limits = limits;
  }

  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult {
    const max = this.#limits.maxResponseHeadBytes;
    let end = -1;
    const scan = Math.min(bytes.length, max);
    for (let i = 3; i < scan; i++) {
      if (bytes[i] === Ch.LF && bytes[i - 1] === Ch.CR && bytes[i - 2] === Ch.LF && bytes[i - 3] === Ch.CR) { end = i + 1; break; }
    }
    if (end < 0) return bytes.length >= max ? { status: 'error', code: 'RESPONSE_HEAD_TOO_LARGE' } : { status: 'incomplete' };
    const text = latin1.decode(bytes.subarray(0, end - 4));
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/.exec(lines[0]!);
    if (!m) return { status: 'error', code: 'RESPONSE_BAD_STATUS_LINE' };
    const minor = m[1] === '1' ? 1 : 0;
    const code = Number(m[2]);
    if (code < 100) return { status: 'error', code: 'RESPONSE_BAD_STATUS_LINE' };
    if (lines.length - 1 > this.#limits.maxResponseHeaders) return { status: 'error', code: 'RESPONSE_TOO_MANY_HEADERS' };
    const headers: Array<[string, string]> = [];
    let te: string | null = null;
    let cl: string | null = null;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) return { status: 'error', code: 'RESPONSE_BAD_HEADER' };
      for (let j = 0; j < colon; j++) if (!isTokenByte(line.charCodeAt(j))) return { status: 'error', code: 'RESPONSE_BAD_HEADER_NAME' };
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (/[\0\r\n]/.test(value)) return { status: 'error', code: 'RESPONSE_BAD_HEADER_VALUE' };
      headers.push([name, value]);
      if (name === 'transfer-encoding') te = te === null ? value : te + ',' + value;
      else if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return { status: 'error', code: 'RESPONSE_BAD_CONTENT_LENGTH' };
        if (cl !== null && Number(cl) !== Number(value)) return { status: 'error', code: 'RESPONSE_BAD_CONTENT_LENGTH' };
        cl = value;
      } else if (name === 'connection') connection += ',' + value.toLowerCase();
    }
    let framing: Framing;
    let contentLength = 0;
    // RFC 9112 §6.3: these responses never carry a body whatever their headers say.
    if (requestMethodIsHead || code < 200 || code === 204 || code === 304) framing = 'none';
    else if (te !== null) {
      if (cl !== null) return { status: 'error', code: 'RESPONSE_TE_AND_CL' };
      const codings = te.toLowerCase().split(',').map((s) => s.trim());
      framing = codings[codings.length - 1] === 'chunked' ? 'chunked' : 'close';
    } else if (cl !== null) {
      contentLength = Number(cl);
      framing = contentLength === 0 ? 'none' : 'length';
    } else framing = 'close';
    const tokens = connection.split(',').map((s) => s.trim());
    let keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive');
    if (framing === 'close') keepAlive = false;
    return { status: 'ok', head: { code, reason: m[3] ?? '', headers, headLength: end, framing, contentLength, keepAlive } };
  }

  chunkedDecoder(): ChunkedDecoder {
    return new InterimChunkedDecoder();
  }

  writeRequestHead(req: UpstreamRequestHead): Uint8Array {
    const removed = new Set(req.remove);
    for (const [name] of req.set) removed.add(name);
    let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
    for (const [name, value] of req.headers) {
      if (name === 'host' || HOP_BY_HOP.has(name) || removed.has(name)) continue;
      head += `${name}: ${value}\r\n`;
    }
    for (const [name, value] of req.set) head += `${name}: ${value}\r\n`;
    for (const [name, value] of req.add) head += `${name}: ${value}\r\n`;
    if (req.framing === 'length') head += `content-length: ${req.contentLength}\r\n`;
    else if (req.framing === 'chunked') head += 'transfer-encoding: chunked\r\n';
    head += '\r\n';
    return Buffer.from(head, 'latin1');
  }
}

const enum St { Size, Ext, SizeLf, Data, DataCr, DataLf, TrailerStart, TrailerLine, TrailerLf, FinalLf, Done }

class InterimChunkedDecoder implements ChunkedDecoder {
  #state = St.Size;
  #size = 0;
  #digits = 0;

  push(bytes: Uint8Array, onData: (data: Uint8Array) => void): ChunkedDecodeResult {
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      const c = bytes[i]!;
      switch (this.#state) {
        case St.Size: {
          const d = c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
          if (d >= 0) {
            if (++this.#digits > 13) return { consumed: i, done: false, error: 'CHUNK_SIZE_TOO_LARGE' };
            this.#size = this.#size * 16 + d;
          } else if (this.#digits > 0 && (c === Ch.SEMI || c === Ch.SP || c === Ch.HT)) this.#state = St.Ext;
          else if (this.#digits > 0 && c === Ch.CR) this.#state = St.SizeLf;
          else return { consumed: i, done: false, error: 'CHUNK_BAD_SIZE' };
          i++;
          break;
        }
        case St.Ext:
          if (c === Ch.CR) this.#state = St.SizeLf;
          else if (c === Ch.LF || c === 0) return { consumed: i, done: false, error: 'CHUNK_BAD_EXTENSION' };
          i++;
          break;
        case St.SizeLf:
          if (c !== Ch.LF) return { consumed: i, done: false, error: 'CHUNK_BAD_SIZE' };
          this.#state = this.#size === 0 ? St.TrailerStart : St.Data;
          i++;
          break;
        case St.Data: {
          const take = Math.min(this.#size, n - i);
          onData(bytes.subarray(i, i + take));
          this.#size -= take;
          i += take;
          if (this.#size === 0) this.#state = St.DataCr;
          break;
        }
        case St.DataCr:
          if (c !== Ch.CR) return { consumed: i, done: false, error: 'CHUNK_MISSING_CRLF' };
          this.#state = St.DataLf;
          i++;
          break;
        case St.DataLf:
          if (c !== Ch.LF) return { consumed: i, done: false, error: 'CHUNK_MISSING_CRLF' };
          this.#state = St.Size;
          this.#digits = 0;
          i++;
          break;
        case St.TrailerStart:
          this.#state = c === Ch.CR ? St.FinalLf : St.TrailerLine;
          i++;
          break;
        case St.TrailerLine:
          if (c === Ch.CR) this.#state = St.TrailerLf;
          i++;
          break;
        case St.TrailerLf:
          if (c !== Ch.LF) return { consumed: i, done: false, error: 'CHUNK_BAD_TRAILER' };
          this.#state = St.TrailerStart;
          i++;
          break;
        case St.FinalLf:
          if (c !== Ch.LF) return { consumed: i, done: false, error: 'CHUNK_BAD_TRAILER' };
          this.#state = St.Done;
          return { consumed: i + 1, done: true, error: null };
        case St.Done:
          return { consumed: i, done: true, error: null };
      }
    }
    return { consumed: n, done: this.#state === St.Done, error: null };
  }
}
