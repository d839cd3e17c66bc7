// An HTTP/2 request's header list (flat [name, value, …] as decoded: pseudo-headers first) read
// into what the HTTP layer takes from a Downstream: method, path and authority from the
// pseudo-headers, Host set from :authority (RFC 9113 §8.3.1), split cookies joined (§8.2.3), the
// body framing from END_STREAM and content-length, `te: trailers` remembered (gRPC), an extended
// CONNECT `:protocol websocket` (RFC 8441) presented as the HTTP/1.1 upgrade it stands for, and
// the refusals the stream answers itself (protocolError). Shared by both HTTP/2 listeners: the
// node:http2 one (http2-downstream.ts) and the core codec's (listener/http2-core/).
import { randomBytes } from 'node:crypto';

export interface H2RequestHead {
  method: string;
  path: string;
  authority: string;
  headers: string[];
  /** Σ name + value + 32, as SETTINGS_MAX_HEADER_LIST_SIZE counts. */
  headBytes: number;
  /**
   * `headers` is `host` (from :authority) then the list's regular fields in their order, as
   * decoded: no cookie joined, no Host field moved, no field made (the core listener then fills
   * the request view from the decoded bytes, core-http2-downstream.ts).
   */
  direct: boolean;
  /** The client takes trailers (`te: trailers`). */
  trailers: boolean;
  bodyFraming: 'none' | 'length' | 'chunked';
  bodyLength: number;
  /** content-length as sent (-1 absent, -2 invalid). */
  contentLength: number;
  upgrade: string | null;
  protocolError: { readonly status: number; readonly code: string } | null;
}

/**
 * Room left in `headers` for the fields the proxy adds before routing (forwarded-headers.ts:
 * x-forwarded-for, x-forwarded-proto, x-request-id; one more spare), so that adding them does
 * not grow the list (a push past its room reallocates it with half again plus 16 entries).
 */
export const HEADERS_ROOM = 8;

/** The result, refilled by each call: its reader copies what it keeps at once (one object per process, not per request). */
const HEAD: H2RequestHead = {
  method: '', path: '', authority: '', headers: [], headBytes: 0, direct: false, trailers: false,
  bodyFraming: 'none', bodyLength: 0, contentLength: -1, upgrade: null, protocolError: null,
};

/**
 * The request head of the flat list `raw`. The object returned is the same on every call (read
 * its fields before the next call); its `headers` are the request's own, a new list each time.
 */
export function readH2RequestHead(raw: readonly string[], endStream: boolean, maxHeaders: number): H2RequestHead {
  let method = '';
  let path = '';
  let authority = '';
  let scheme = '';
  let host = -1;
  let cookie: string | null = null;
  let size = 0;
  let trailers = false;
  let contentLength = -1;
  let protocol = '';
  let wsKey = false;
  // Host (from :authority) goes first: its slot is kept from the start (no unshift, which moves
  // every field), and dropped at the end when there is no authority. The list is made with room
  // for every field and HEADERS_ROOM more, then cut to what it holds (V8 keeps the room: it trims
  // a list only to less than half its size).
  const headers = new Array<string>(raw.length + 2 + HEADERS_ROOM);
  headers[0] = 'host';
  headers[1] = '';
  let n = 2;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    size += name.length + value.length + 32;
    if (name.charCodeAt(0) === 58) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      else if (name === ':scheme') scheme = value;
      else if (name === ':protocol') protocol = value;
      continue;
    }
    // Split cookie fields are joined into one (RFC 9113 §8.2.3) for an HTTP/1.1 upstream.
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'host') host = n;
    else if (name === 'te') trailers = /(^|,)\s*trailers\s*(;|,|$)/i.test(value);
    else if (name === 'content-length') contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -2;
    else if (name === 'sec-websocket-key') wsKey = true;
    headers[n++] = name;
    headers[n++] = value;
  }
  if (cookie !== null) {
    headers[n++] = 'cookie';
    headers[n++] = cookie;
  }
  headers.length = n;
  // :authority is the Host of HTTP/1.1 (RFC 9113 §8.3.1): Host is set from it, first.
  if (authority === '' && host >= 0) authority = headers[host + 1]!;
  if (host >= 0) headers.splice(host, 2);
  if (authority !== '') headers[1] = authority;
  else headers.splice(0, 2);
  // RFC 8441 §4: CONNECT with :protocol websocket is the HTTP/1.1 WebSocket upgrade (Envoy's
  // transformUpgradeRequestFromH2toH1: GET, upgrade, connection: upgrade — the router adds the
  // last two). RFC 8441 drops Sec-WebSocket-Key; an HTTP/1.1 upstream's handshake needs one,
  // so one is made (Envoy sends none: a strict HTTP/1.1 WebSocket server refuses that).
  let websocket = false;
  let upgrade: string | null = null;
  if (method === 'CONNECT' && protocol.toLowerCase() === 'websocket') {
    websocket = true;
    method = 'GET';
    upgrade = protocol;
    if (!wsKey) headers.push('sec-websocket-key', randomBytes(16).toString('base64'));
  }
  let bodyFraming: H2RequestHead['bodyFraming'];
  let bodyLength = 0;
  if (endStream || websocket) {
    // An extended CONNECT's DATA frames are the tunnel, not a request body.
    bodyFraming = 'none';
  } else if (contentLength > 0) {
    bodyFraming = 'length';
    bodyLength = contentLength;
  } else {
    // DATA frames of unknown total: an HTTP/1.1 upstream gets them chunked.
    bodyFraming = contentLength === 0 ? 'none' : 'chunked';
  }
  let protocolError: H2RequestHead['protocolError'] = null;
  if (method === '' || path === '' || (method !== 'CONNECT' && scheme === '')) protocolError = { status: 400, code: 'missing_pseudo_header' };
  else if (contentLength === -2) protocolError = { status: 400, code: 'invalid_content_length' };
  else if (headers.length / 2 > maxHeaders + 1) protocolError = { status: 431, code: 'too_many_headers' };
  // CONNECT, and an extended CONNECT of another protocol, are not proxied.
  else if (method === 'CONNECT') protocolError = { status: 501, code: 'unsupported_method' };
  const h = HEAD;
  h.method = method;
  h.path = path;
  h.authority = authority;
  h.headers = headers;
  h.headBytes = size;
  h.direct = cookie === null && host < 0 && authority !== '' && upgrade === null;
  h.trailers = trailers;
  h.bodyFraming = bodyFraming;
  h.bodyLength = bodyLength;
  h.contentLength = contentLength;
  h.upgrade = upgrade;
  h.protocolError = protocolError;
  return h;
}
