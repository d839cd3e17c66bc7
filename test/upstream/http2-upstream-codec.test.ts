// Which HTTP/2 codec the upstream pools speak: WASMESH_HTTP2_UPSTREAM_CODEC, default core, a bad name refused with the reason.
import { describe, it, expect } from 'vitest';
import { http2UpstreamCodecFromEnv } from '../../host/upstream/http2-upstream-codec.js';

describe('http2UpstreamCodecFromEnv', () => {
  it('defaults to core and reads core / nghttp2, independent of the downstream switch', () => {
    expect(http2UpstreamCodecFromEnv({})).toBe('core');
    expect(http2UpstreamCodecFromEnv({ WASMESH_HTTP2_UPSTREAM_CODEC: '' })).toBe('core');
    expect(http2UpstreamCodecFromEnv({ WASMESH_HTTP2_UPSTREAM_CODEC: 'core' })).toBe('core');
    expect(http2UpstreamCodecFromEnv({ WASMESH_HTTP2_UPSTREAM_CODEC: 'nghttp2' })).toBe('nghttp2');
    expect(http2UpstreamCodecFromEnv({ WASMESH_HTTP2_CODEC: 'nghttp2' })).toBe('core');
  });

  it('refuses another value, naming the choices', () => {
    expect(() => http2UpstreamCodecFromEnv({ WASMESH_HTTP2_UPSTREAM_CODEC: 'quic' })).toThrow('WASMESH_HTTP2_UPSTREAM_CODEC="quic" is not an HTTP/2 codec (expected one of: nghttp2, core) (HTTP2_UPSTREAM_CODEC_INVALID)');
  });
});
