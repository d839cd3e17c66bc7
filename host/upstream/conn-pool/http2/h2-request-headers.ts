// The request head as HTTP/2 sends it: the HTTP/1.1 head bytes the core wrote for the request
// (RouterContext.writeHead, with the route's edits, rewrites and x-envoy-* lines) turned into
// an HTTP/2 header list (RFC 9113 §8.2–8.3): the request line into :method / :path, Host into
// :authority, :scheme from the connection, names lower-cased, and the connection-specific fields
// HTTP/2 forbids dropped (connection, keep-alive, proxy-connection, transfer-encoding, upgrade;
// te unless it is `trailers`). A core writer that yields the field block directly can replace
// this without touching the pool (see UpstreamStream.start).
import type { OutgoingHttpHeaders } from 'node:http2';

/** Fields HTTP/2 forbids (§8.2.2): hop-by-hop in HTTP/1.1, meaningless on a multiplexed stream. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** Filled by h2RequestHeaders: the head's `upgrade` value and `sec-websocket-key` (null: none). */
export interface H2Upgrade {
  protocol: string | null;
  key: string | null;
}

export class H2HeadError extends Error {
  readonly code = 'H2_BAD_REQUEST_HEAD';
}

/**
 * The HTTP/2 headers for `head` (HTTP/1.1 request head bytes, request line to blank line).
 * Repeated fields are joined as a list (set-cookie is a response field, cookie is joined with
 * `; ` per §8.2.3). Throws H2HeadError on a head that is not a request head.
 */
export function h2RequestHeaders(head: Uint8Array, scheme: 'http' | 'https', upgrade?: H2Upgrade): OutgoingHttpHeaders {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = (end >= 0 ? text.slice(0, end) : text).split('\r\n');
  const requestLine = lines[0] ?? '';
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1) throw new H2HeadError(`not a request line: ${JSON.stringify(requestLine.slice(0, 80))}`);
  const headers: OutgoingHttpHeaders = {
    ':method': requestLine.slice(0, sp1),
    ':path': requestLine.slice(sp1 + 1, sp2),
    ':scheme': scheme,
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new H2HeadError(`not a header field: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'host') {
      headers[':authority'] = value;
      continue;
    }
    if (upgrade !== undefined) {
      // The upgrade's protocol and key, for an extended CONNECT (h2-extended-connect.ts).
      if (name === 'upgrade' && value !== '') upgrade.protocol = value;
      else if (name === 'sec-websocket-key') upgrade.key = value;
    }
    if (CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'te' && value.toLowerCase() !== 'trailers') continue;
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (name === 'cookie') headers[name] = `${prev as string}; ${value}`;
    else headers[name] = Array.isArray(prev) ? [...prev, value] : [prev as string, value];
  }
  return headers;
}
