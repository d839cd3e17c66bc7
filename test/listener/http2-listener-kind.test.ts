// Which HTTP/2 codec a proxy runs: WASMESH_HTTP2_CODEC, default core, a bad name refused with the reason.
import { describe, it, expect } from 'vitest';
import { http2CodecFromEnv } from '../../host/listener/http2-listener-kind.js';

describe('http2CodecFromEnv', () => {
  it('defaults to core and reads core / nghttp2', () => {
    expect(http2CodecFromEnv({})).toBe('core');
    expect(http2CodecFromEnv({ WASMESH_HTTP2_CODEC: '' })).toBe('core');
    expect(http2CodecFromEnv({ WASMESH_HTTP2_CODEC: 'core' })).toBe('core');
    expect(http2CodecFromEnv({ WASMESH_HTTP2_CODEC: 'nghttp2' })).toBe('nghttp2');
  });

  it('refuses another value, naming the choices', () => {
    expect(() => http2CodecFromEnv({ WASMESH_HTTP2_CODEC: 'h2o' })).toThrow('WASMESH_HTTP2_CODEC="h2o" is not an HTTP/2 codec (expected one of: nghttp2, core) (HTTP2_CODEC_INVALID)');
  });
});
