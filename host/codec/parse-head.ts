// The public JS API for HTTP/1.x heads (`import { parseRequestHead } from 'wasmesh'`): a thin
// wrapper that turns the core parser's numeric results into plain objects. It runs the same
// Wasm parser as the proxy, in one lazily created Core shared by every call.
import { Core } from '../core/wasm.js';
import { HeadParser, FRAMING_NAMES, HEAD_FLAG_CONTENT_LENGTH, type FramingName } from '../core/codec/head-parser.js';
import { MAX_HEADERS } from '../core/codec/codec-layout.js';
import { statusEntry, STATUS_OK, STATUS_INCOMPLETE, type CodecHttpStatus } from '../core/status.js';

interface HeadCommon {
  status: 'ok';
  version: '1.0' | '1.1';
  /** Field lines in order, names as sent (case preserved), values with OWS trimmed, latin1. */
  headers: [string, string][];
  /** Bytes through the final CRLF (the body, if any, starts here). */
  headLength: number;
  framing: FramingName;
  /** Present when a Content-Length field was (validly) sent. */
  contentLength?: number;
  keepAlive: boolean;
}

export interface RequestHead extends HeadCommon {
  method: string;
  target: string;
}

export interface ResponseHead extends HeadCommon {
  code: number;
  reason: string;
}

export interface HeadIncomplete {
  status: 'incomplete';
}

export interface HeadError {
  status: 'error';
  /** Stable string code (host/core/status.ts). */
  code: string;
  /** What a server answers with for this request (responses: the proxy answers 502). */
  httpStatus: Exclude<CodecHttpStatus, 500>;
  /** Offset of the byte that decided the error (where). */
  offset: number;
  /** Why, in one line. */
  message: string;
}

export type RequestHeadResult = RequestHead | HeadIncomplete | HeadError;
export type ResponseHeadResult = ResponseHead | HeadIncomplete | HeadError;

let shared: HeadParser | undefined;

function parser(): HeadParser {
  return (shared ??= new HeadParser(new Core()));
}

/** Header spans of the current parse; calls are synchronous, so one array serves them all. */
const spans = new Uint32Array(4 * MAX_HEADERS);

/**
 * The whole head as one latin1 string (one char per byte, so obs-text bytes survive unchanged,
 * as in Node's http). Every returned string is a slice of it: one native decode per parse
 * instead of one Buffer and one decode per string (which was ~45 % of the time).
 */
function headText(bytes: Uint8Array, length: number): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString('latin1', 0, length);
}

function notOk(p: HeadParser, status: number): HeadIncomplete | HeadError {
  if (status === STATUS_INCOMPLETE) return { status: 'incomplete' };
  const entry = statusEntry(status);
  return {
    status: 'error',
    code: entry.code,
    httpStatus: entry.httpStatus as Exclude<CodecHttpStatus, 500>,
    offset: p.errorOffset,
    message: entry.message,
  };
}

function common(p: HeadParser, text: string, headLength: number): HeadCommon {
  const n = p.headerSpans(spans);
  const headers = new Array<[string, string]>(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    headers[i] = [text.slice(spans[j], spans[j + 1]), text.slice(spans[j + 2], spans[j + 3])];
  }
  const head: HeadCommon = {
    status: 'ok',
    version: p.minorVersion === 1 ? '1.1' : '1.0',
    headers,
    headLength,
    framing: FRAMING_NAMES[p.framing],
    keepAlive: p.keepAlive,
  };
  if (p.flags & HEAD_FLAG_CONTENT_LENGTH) head.contentLength = p.contentLength;
  return head;
}

function asBytes(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('wasmesh: parseRequestHead/parseResponseHead take a Uint8Array (or Buffer)');
  return bytes;
}

/**
 * Parses an HTTP/1.0 or HTTP/1.1 request head from the start of `bytes` (RFC 9112, strict).
 * Bytes after the head (a body, a pipelined request) are ignored; see `headLength`.
 */
export function parseRequestHead(bytes: Uint8Array): RequestHeadResult {
  const p = parser();
  const status = p.parseRequest(asBytes(bytes));
  if (status !== STATUS_OK) return notOk(p, status);
  const headLength = p.headLength;
  const text = headText(bytes, headLength);
  const head = common(p, text, headLength) as RequestHead;
  head.method = text.slice(p.methodStart, p.methodEnd);
  head.target = text.slice(p.targetStart, p.targetEnd);
  return head;
}

/**
 * Parses an HTTP/1.0 or HTTP/1.1 response head from the start of `bytes`. Pass
 * `{ requestWasHead: true }` for the response to a HEAD request (its framing is then 'none').
 */
export function parseResponseHead(bytes: Uint8Array, options?: { requestWasHead?: boolean }): ResponseHeadResult {
  const p = parser();
  const status = p.parseResponse(asBytes(bytes), options?.requestWasHead === true);
  if (status !== STATUS_OK) return notOk(p, status);
  const headLength = p.headLength;
  const text = headText(bytes, headLength);
  const head = common(p, text, headLength) as ResponseHead;
  head.code = p.statusCode;
  head.reason = text.slice(p.reasonStart, p.reasonEnd);
  return head;
}
