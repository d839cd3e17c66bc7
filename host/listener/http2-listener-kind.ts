// The seam between the HTTP/1.1 listener (which accepts, sniffs the h2c preface and reads ALPN)
// and an HTTP/2 listener kind, which takes the connections that speak HTTP/2: node:http2's
// (listener/http2/) or the core codec's (listener/http2-core/), chosen per ProxyServer
// (ProxyServerOptions.http2Codec, WASMESH_HTTP2_CODEC).
import type { Socket } from 'node:net';
import type { ConnectionSecurity } from '../tls/connection-security.js';
import type { ConnectionReader } from './transport/downstream-transport.js';

/** Which HTTP/2 implementation serves downstream HTTP/2. */
export type Http2Codec = 'nghttp2' | 'core';

export const HTTP2_CODECS: readonly Http2Codec[] = ['nghttp2', 'core'];

/**
 * The codec named by WASMESH_HTTP2_CODEC (default `core`: ~2.5× less CPU per request than node:http2,
 * BENCHMARKS.md; `nghttp2` keeps node:http2); a bad name throws with the reason.
 */
export function http2CodecFromEnv(env: NodeJS.ProcessEnv = process.env): Http2Codec {
  const v = env.WASMESH_HTTP2_CODEC;
  if (v === undefined || v === '') return 'core';
  if ((HTTP2_CODECS as readonly string[]).includes(v)) return v as Http2Codec;
  throw new Error(`wasmesh: WASMESH_HTTP2_CODEC=${JSON.stringify(v)} is not an HTTP/2 codec (expected one of: ${HTTP2_CODECS.join(', ')}) (HTTP2_CODEC_INVALID)`);
}

export interface Http2ConnectionListener {
  /** Open HTTP/2 connections. */
  readonly connectionCount: number;
  /**
   * Serves `socket` as an HTTP/2 connection. `first`: bytes already read from it (the sniffed
   * preface and what followed), read before any other. Returns the reader the socket's further
   * reads go to, or null when the listener reads the socket itself (node:http2 consumes it).
   */
  take(socket: Socket, remoteAddress: string, security: ConnectionSecurity | null, first?: Uint8Array, originalDestination?: { readonly address: string; readonly port: number } | null): ConnectionReader | null;
  /** Drains every connection: GOAWAY now, streams under way finish, new connections are refused. */
  stopAccepting(): void;
  /** Closes every connection at once. */
  closeAll(): void;
}
