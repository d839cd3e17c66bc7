// The public JS API for HTTP/1.x heads (`import { parseRequestHead } from 'wasmesh'`): a thin
// wrapper that turns the core parser's numeric results into plain objects. It runs the same
// Wasm parser as the proxy, in one lazily created Core shared by every call.
import { Core } from '../core/wasm.js';
import { HeadParser, FRAMING_NAMES, HEAD_FLAG_CONTENT_LENGTH, type FramingName } from '../core/codec.js';
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

function text(bytes: Uint8Array, start: number, end: number): string {
  // latin1: one char per byte, so obs-text bytes survive unchanged (what Node's http does).
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
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

function common(p: HeadParser, bytes: Uint8Array): HeadCommon {
  const headers: [string, string][] = [];
  for (let i = 0, n = p.headerCount; i < n; i++) {
    headers.push([text(bytes, p.nameStart(i), p.nameEnd(i)), text(bytes, p.valueStart(i), p.valueEnd(i))]);
  }
  const head: HeadCommon = {
    status: 'ok',
    version: p.minorVersion === 1 ? '1.1' : '1.0',
    headers,
    headLength: p.headLength,
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
  const head = common(p, bytes) as RequestHead;
  head.method = text(bytes, p.methodStart, p.methodEnd);
  head.target = text(bytes, p.targetStart, p.targetEnd);
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
  const head = common(p, bytes) as ResponseHead;
  head.code = p.statusCode;
  head.reason = text(bytes, p.reasonStart, p.reasonEnd);
  return head;
}
