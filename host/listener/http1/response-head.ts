// Serializes an HTTP/1.1 response head into one reusable buffer per thread: status line, the
// fields a HeadSource emits (names and values as strings or byte views, passed through byte for
// byte), then the fields the listener owns (date, framing, connection).
//
// A head may stay parked in that buffer for its owner, whose first body bytes then go out with it
// in one allocation and one write (the common case: the upstream's head and body arrive in the
// same read). Whoever starts the next head first hands the parked one to its owner as a copy.
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

/** Strings up to this length are copied by a loop in JS rather than by Buffer#write (a call into C++ each). */
const SHORT_STRING = 64;

function put(v: string | Uint8Array): void {
  if (typeof v === 'string') {
    const n = v.length;
    room(n);
    // latin1: one byte per character (the low byte, as Buffer#write's latin1), so field bytes
    // received as latin1 go out unchanged. Most strings here are short literals, the date and
    // numbers: a loop costs less than the call into the runtime.
    if (n <= SHORT_STRING) {
      const b = scratch;
      for (let i = 0; i < n; i++) b[at + i] = v.charCodeAt(i) & 0xff;
      at += n;
    } else {
      at += scratch.write(v, at, 'latin1');
    }
  } else {
    room(v.length);
    scratch.set(v, at);
    at += v.length;
  }
}

/** A non-negative integer in decimal, without making its string. */
function putDecimal(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    put(String(n));
    return;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  room(digits);
  for (let i = at + digits - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) scratch[i] = 0x30 + (x % 10);
  at += digits;
}

/** `mem[start, end)`: short spans by a loop, longer ones with one set of a view. */
function putSpan(mem: Uint8Array, start: number, end: number): void {
  const n = end - start;
  room(n);
  if (n <= SHORT_STRING) {
    const b = scratch;
    for (let i = 0; i < n; i++) b[at + i] = mem[start + i]!;
  } else {
    scratch.set(mem.subarray(start, end), at);
  }
  at += n;
}

function putCrlf(): void {
  room(2);
  scratch.writeUInt16LE(CRLF, at);
  at += 2;
}

let statusSeen = false;

/** A response whose head is parked in the scratch buffer. */
export interface HeadOwner {
  /** The head had to leave the scratch buffer before the owner sent it: here is its copy. */
  headEvicted(copy: Buffer): void;
}

let owner: HeadOwner | null = null;
let ownedLength = 0;

function evict(): void {
  const o = owner;
  if (o === null) return;
  owner = null;
  o.headEvicted(Buffer.from(scratch.subarray(0, ownedLength)));
}

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
  headerBytes(mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    putSpan(mem, nameStart, nameEnd);
    room(2);
    scratch[at++] = 0x3a; // ':'
    scratch[at++] = 0x20; // ' '
    putSpan(mem, valueStart, valueEnd);
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
  evict();
  at = 0;
  statusSeen = false;
}

/** A status line written directly (local replies), e.g. "404 Not Found". */
export function headStatus(text: string): void {
  HEAD_SINK.status(text);
}

/** Ends the head with the listener's fields and returns a copy of its bytes (`length` for WireFraming.Length). */
export function finishHead(framing: WireFraming, length: number, close: boolean, server: string | null, keepAlive = false): Buffer {
  endHead(framing, length, close, server, keepAlive);
  return Buffer.from(scratch.subarray(0, at));
}

/** Ends the head and parks it in the scratch buffer for `o` (see takeParked). */
export function parkHead(o: HeadOwner, framing: WireFraming, length: number, close: boolean, keepAlive: boolean): void {
  endHead(framing, length, close, null, keepAlive);
  owner = o;
  ownedLength = at;
}

/**
 * `o`'s parked head followed by `parts`, in one new buffer; null when `o` has no head parked
 * (it was evicted: the owner holds a copy).
 */
export function takeParked(o: HeadOwner, ...parts: Uint8Array[]): Buffer | null {
  if (owner !== o) return null;
  owner = null;
  let n = ownedLength;
  for (const p of parts) n += p.length;
  const out = Buffer.allocUnsafe(n);
  scratch.copy(out, 0, 0, ownedLength);
  let pos = ownedLength;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** `o` no longer needs its parked head (aborted). */
export function dropParked(o: HeadOwner): void {
  if (owner === o) owner = null;
}

function endHead(framing: WireFraming, length: number, close: boolean, server: string | null, keepAlive: boolean): void {
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
    putDecimal(length);
    putCrlf();
  } else if (framing === WireFraming.Chunked) {
    put('transfer-encoding: chunked\r\n');
  }
  if (close) put('connection: close\r\n');
  else if (keepAlive) put('connection: keep-alive\r\n');
  putCrlf();
}
