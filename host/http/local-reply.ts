// The answers the proxy generates itself for the failures the data path produces (Envoy's local
// replies): status line and body per response flag, status lines by code, and the shape of a
// local reply to a gRPC request.
import { STATUS_CODES } from 'node:http';
import type { ResponseFlag } from './response-flags.js';
import { httpToGrpcStatus, parseGrpcStatus, percentEncodeGrpcMessage } from '../common/grpc-status.js';

/** Status and body the proxy answers with when it generates the response itself. */
export const LOCAL_REPLY: Readonly<Partial<Record<ResponseFlag, { status: string; body: string }>>> = Object.freeze({
  NR: { status: '404 Not Found', body: '' },
  UH: { status: '503 Service Unavailable', body: 'no healthy upstream' },
  UF: { status: '503 Service Unavailable', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure' },
  UO: { status: '503 Service Unavailable', body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow' },
  UC: { status: '503 Service Unavailable', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination' },
  UR: { status: '503 Service Unavailable', body: 'upstream connect error or disconnect/reset before headers. reset reason: remote reset' },
  UT: { status: '504 Gateway Timeout', body: 'upstream request timeout' },
  UPE: { status: '502 Bad Gateway', body: 'upstream protocol error' },
  DPE: { status: '431 Request Header Fields Too Large', body: 'request header fields too large' },
});

/** "301 Moved Permanently" for a status code (the listener writes the status line as given). */
export function statusLine(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? 'Unknown'}`;
}

/**
 * A local reply to a gRPC request, as Envoy sends it (Http::Utility::prepareLocalReply with
 * is_grpc): a trailers-only gRPC response — HTTP status 200, `content-type: application/grpc`,
 * `grpc-status` mapped from the HTTP status (httpToGrpcStatus: 503 and 504 → UNAVAILABLE, 404 →
 * UNIMPLEMENTED, …) unless the reply sets one, and the body text as a percent-encoded
 * `grpc-message` — with no body: a gRPC client reads no status from a text/plain body. A
 * grpc-web request gets the same with its own content-type (`contentType`), as Envoy's grpc_web
 * filter turns a non-gRPC response into one (grpc-status and grpc-message in the head).
 */
export function grpcLocalReply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string, contentType = 'application/grpc'): {
  status: string; headers: Array<readonly [string, string]>; grpcStatus: number;
} {
  const out: Array<readonly [string, string]> = [];
  let grpcStatus = -1;
  for (const h of headers) {
    const n = h[0].toLowerCase();
    if (n === 'content-type' || n === 'content-length') continue;
    if (n === 'grpc-status') grpcStatus = parseGrpcStatus(h[1]);
    else if (n === 'grpc-message') continue;
    out.push(h);
  }
  if (grpcStatus < 0) {
    grpcStatus = httpToGrpcStatus(parseInt(status, 10));
    out.push(['grpc-status', String(grpcStatus)]);
  }
  out.push(['content-type', contentType]);
  // Envoy drops the JSON formatter's trailing newline; a header value carries none.
  const message = body.endsWith('\n') ? body.slice(0, -1) : body;
  if (message !== '') out.push(['grpc-message', percentEncodeGrpcMessage(message)]);
  return { status: '200 OK', headers: out, grpcStatus };
}
