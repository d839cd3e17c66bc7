// Serializes an HTTP/1.1 response head into one reusable buffer per thread: status line, the
// fields a HeadSource emits (names and values as strings or byte views, passed through byte for
// byte), then the fields the listener owns (date, framing, connection). One Buffer copy of the
// finished head is what the socket write takes.
import type { HeadSink } from '../downstream.js';
import { httpDate } from './http-date.js';

const CRLF = 0x0a0d;
let scratch = Buffer.allocUnsafe(16 * 1024);
let at = 0;

function room(n: number): void {
  if (at + n <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < at + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  scratch.copy(bigger, 0, 0, at);
  scratch = bigger;
}

function put(v: string | Uint8Array): void {
  if (typeof v === 'string') {
    room(v.length);
    // latin1: one byte per character, so field bytes received as latin1 go out unchanged.
    at += scratch.write(v, at, 'latin1');
  } else {
    room(v.length);
    scratch.set(v, at);
    at += v.length;
  }
}

function putCrlf(): void {
  room(2);
  scratch.writeUInt16LE(CRLF, at);
  at += 2;
}

let statusSeen = false;

/** The sink a HeadSource writes into (one for the thread: heads are written synchronously). */
export const HEAD_SINK: HeadSink = {
  status(text: string | Uint8Array): void {
    statusSeen = true;
    put('HTTP/1.1 ');
    put(text);
    putCrlf();
  },
  // Sources never emit framing or connection fields: the core's response filter drops them
  // from upstream heads (a HEAD or 304 response keeps its content-length), local replies have none.
  header(name: string | Uint8Array, value: string | Uint8Array): void {
    put(name);
    room(2);
    scratch[at++] = 0x3a; // ':'
    scratch[at++] = 0x20; // ' '
    put(value);
    putCrlf();
  },
};

/** How the body that follows the head is framed on the wire. */
export const enum WireFraming {
  /** No body (HEAD, 204, 304): no framing field (a HEAD response's length comes from its source). */
  None,
  /** content-length: N. */
  Length,
  /** transfer-encoding: chunked (HTTP/1.1 clients). */
  Chunked,
  /** Close-delimited: the body ends when the connection closes (HTTP/1.0 clients). */
  Close,
}

/** Starts a head: everything HEAD_SINK receives until finishHead() belongs to it. */
export function beginHead(): void {
  at = 0;
  statusSeen = false;
}

/** A status line written directly (local replies), e.g. "404 Not Found". */
export function headStatus(text: string): void {
  HEAD_SINK.status(text);
}

/** Ends the head with the listener's fields and returns a copy of its bytes (`length` for WireFraming.Length). */
export function finishHead(framing: WireFraming, length: number, close: boolean, server: string | null, keepAlive = false): Buffer {
  if (!statusSeen) HEAD_SINK.status('200 OK');
  put('date: ');
  put(httpDate());
  putCrlf();
  if (server !== null) {
    put('server: ');
    put(server);
    putCrlf();
  }
  if (framing === WireFraming.Length) {
    put('content-length: ');
    put(String(length));
    putCrlf();
  } else if (framing === WireFraming.Chunked) {
    put('transfer-encoding: chunked\r\n');
  }
  if (close) put('connection: close\r\n');
  else if (keepAlive) put('connection: keep-alive\r\n');
  putCrlf();
  return Buffer.from(scratch.subarray(0, at));
}
