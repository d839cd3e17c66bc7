// An HTTP/2 response head as the router takes it (ResponseHead): the numbers from :status and
// content-length, and the fields through the HTTP/1 codec's filter, so that hop-by-hop and
// framing fields are dropped and the route's response edits applied by the same core code as
// for HTTP/1 (the head is re-serialised as HTTP/1.1 bytes once per response and parsed there).
import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import type { Http1Codec } from '../http1/http1-codec.js';
import type { ResponseFraming, ResponseHead } from '../../upstream-head.js';

export type H2ResponseHeadResult = { head: ResponseHead } | { error: string };

/**
 * The response head for `headers` (a HEADERS frame with :status ≥ 200); `endStream`: the frame
 * ended the stream (no body; for gRPC, a trailers-only response whose grpc-status is in it).
 */
export function h2ResponseHead(codec: Http1Codec, headers: IncomingHttpHeaders, endStream: boolean, isHead: boolean): H2ResponseHeadResult {
  const code = Number(headers[':status']);
  if (!Number.isInteger(code) || code < 200 || code > 999) return { error: `bad :status ${String(headers[':status'])}` };
  let text = `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Unknown'}\r\n`;
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) text += `${name}: ${x}\r\n`;
    else text += `${name}: ${v}\r\n`;
  }
  text += '\r\n';
  const parsed = codec.parseResponseHead(Buffer.from(text, 'latin1'), isHead);
  if (parsed.status !== 'ok') return { error: parsed.status === 'error' ? parsed.code : 'incomplete head' };
  const cl = headers['content-length'];
  const contentLength = cl === undefined ? -1 : Number(cl);
  let framing: ResponseFraming;
  if (isHead || code === 204 || code === 304 || endStream) framing = 'none';
  else if (contentLength >= 0 && Number.isSafeInteger(contentLength)) framing = 'length';
  else framing = 'chunked'; // DATA frames until END_STREAM: a body of unknown length, streamed
  const gs = headers['grpc-status'];
  const grpcStatus = gs === undefined ? -1 : Number(gs);
  return {
    head: { code, framing, contentLength: framing === 'length' ? contentLength : -1, fields: parsed.head.fields, grpcStatus: Number.isInteger(grpcStatus) ? grpcStatus : -1 },
  };
}

/** Node's trailer object as the seam's flat list (lower-case name, value, …). */
export function flatTrailers(trailers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(trailers)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = trailers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}
