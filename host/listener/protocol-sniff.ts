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
