// Which HTTP/2 implementation the upstream pools speak (ProxyServerOptions.http2UpstreamCodec,
// WASMESH_HTTP2_UPSTREAM_CODEC): node:http2's client sessions (`nghttp2`) or the core codec's
// frames and HPACK (`core`, the default: conn-pool/http2/core-h2-upstream-connection.ts). Separate
// from the downstream switch (WASMESH_HTTP2_CODEC) so that each side can be tried and measured alone.

export type Http2UpstreamCodec = 'nghttp2' | 'core';

export const HTTP2_UPSTREAM_CODECS: readonly Http2UpstreamCodec[] = ['nghttp2', 'core'];

/** The codec named by WASMESH_HTTP2_UPSTREAM_CODEC (default core); a bad name throws with the reason. */
export function http2UpstreamCodecFromEnv(env: NodeJS.ProcessEnv = process.env): Http2UpstreamCodec {
  const v = env.WASMESH_HTTP2_UPSTREAM_CODEC;
  if (v === undefined || v === '') return 'core';
  if ((HTTP2_UPSTREAM_CODECS as readonly string[]).includes(v)) return v as Http2UpstreamCodec;
  throw new Error(`wasmesh: WASMESH_HTTP2_UPSTREAM_CODEC=${JSON.stringify(v)} is not an HTTP/2 codec (expected one of: ${HTTP2_UPSTREAM_CODECS.join(', ')}) (HTTP2_UPSTREAM_CODEC_INVALID)`);
}
