// Which protocol a plaintext connection speaks, from its first bytes (Envoy's http_inspector):
// the HTTP/2 connection preface (RFC 9113 §3.4, prior knowledge: h2c) or anything else, which
// the HTTP/1.1 codec reads (and refuses when it is not HTTP/1.x). Only the first read of a
// connection is looked at, so the HTTP/1.1 path pays one comparison per connection.
// Istio's protocol sniffing for unnamed ports builds on this (TLS ClientHello is told apart by
// transport/permissive.ts).

/** The client connection preface of HTTP/2: 24 octets. */
export const HTTP2_PREFACE: Uint8Array = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum Sniffed {
  /** Not the HTTP/2 preface: HTTP/1.x (or garbage the HTTP/1.1 codec answers with 400). */
  Http1,
  /** The full HTTP/2 connection preface. */
  Http2,
  /** Fewer than 24 bytes so far, all of them the preface's: read more before deciding. */
  NeedMore,
}

/** Decides from the bytes a connection sent first (at least one byte). */
export function sniffPlaintext(bytes: Uint8Array): Sniffed {
  const n = Math.min(bytes.length, HTTP2_PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== HTTP2_PREFACE[i]) return Sniffed.Http1;
  return n === HTTP2_PREFACE.length ? Sniffed.Http2 : Sniffed.NeedMore;
}

/** ALPN values that mean HTTP/2 inside TLS: `h2`, and Istio's mesh-mTLS name for it. */
export function isHttp2Alpn(alpn: string | null | undefined): boolean {
  return alpn === 'h2' || alpn === 'istio-h2';
}

/** What a connection to a port of unknown protocol speaks, from its first bytes (Istio's sniffing). */
export type DetectedProtocol = 'http1' | 'http2' | 'tls' | 'tcp';

/**
 * HTTP/1.1 request methods Envoy's http_inspector knows (RFC 9110 and WebDAV's); a request line
 * starts with one of them and a space.
 */
const HTTP1_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PURGE', 'LINK', 'UNLINK'];
const METHOD_PREFIXES: readonly Uint8Array[] = HTTP1_METHODS.map((m) => Buffer.from(`${m} `, 'latin1'));
/** TLS record type handshake (RFC 8446 §5.1) followed by the major version 3. */
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR = 0x03;

/** True when `bytes` starts with `prefix`, or is a beginning of it (`partial`: all of bytes matched, prefix longer). */
function prefixState(bytes: Uint8Array, prefix: Uint8Array): 'match' | 'partial' | 'no' {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return 'no';
  return bytes.length >= prefix.length ? 'match' : 'partial';
}

/**
 * Decides from the first bytes of a connection (at least one): the HTTP/2 preface → http2; an
 * HTTP/1.x method and a space → http1; a TLS handshake record (0x16 0x03) → tls (passed through as
 * TCP); anything else → tcp. null: the bytes so far begin one of those and more must be read.
 */
export function detectProtocol(bytes: Uint8Array): DetectedProtocol | null {
  if (bytes.length === 0) return null;
  if (bytes[0] === TLS_HANDSHAKE) {
    if (bytes.length < 2) return null;
    return bytes[1] === TLS_MAJOR ? 'tls' : 'tcp';
  }
  let undecided = false;
  const preface = prefixState(bytes, HTTP2_PREFACE);
  if (preface === 'match') return 'http2';
  if (preface === 'partial') undecided = true;
  for (const m of METHOD_PREFIXES) {
    const st = prefixState(bytes, m);
    if (st === 'match') return 'http1';
    if (st === 'partial') undecided = true;
  }
  return undecided ? null : 'tcp';
}
