// The answers the proxy generates itself for the failures the data path produces (Envoy's local
// replies): status line and body per response flag, and status lines by code.
import { STATUS_CODES } from 'node:http';
import type { ResponseFlag } from './response-flags.js';

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
