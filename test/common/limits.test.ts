// The data path's limits: Envoy's defaults, overrides by name, 0 meaning off where it can, and
// the two the core fixes at build time (request head size, header count) settable below only.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits } from '../../host/common/limits.js';

describe('resolveLimits', () => {
  it("starts from Envoy's defaults and takes overrides by name", () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ streamIdleTimeoutMs: 1000, maxRequestHeaders: 50 })).toMatchObject({ streamIdleTimeoutMs: 1000, maxRequestHeaders: 50 });
  });

  it('0 means off only where it can; negatives, fractions and unknown names are refused by name', () => {
    expect(resolveLimits({ requestHeadersTimeoutMs: 0, maxDownstreamConnections: 0 })).toMatchObject({ requestHeadersTimeoutMs: 0, maxDownstreamConnections: 0 });
    expect(resolveLimits({ maxPendingPerCluster: 0 }).maxPendingPerCluster).toBe(0); // none wait: overflow at once
    expect(() => resolveLimits({ connectTimeoutMs: 0 })).toThrow(/connectTimeoutMs.*LIMIT_INVALID/);
    expect(() => resolveLimits({ maxConnectionsPerCluster: 0 })).toThrow(/maxConnectionsPerCluster.*LIMIT_INVALID/);
    expect(() => resolveLimits({ drainTimeoutMs: -1 })).toThrow(/LIMIT_INVALID/);
    expect(() => resolveLimits({ maxRequestsPerConnection: 2.5 })).toThrow(/LIMIT_INVALID/);
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(/LIMIT_UNKNOWN/);
  });

  it("TCP per-connection buffer limits: Envoy's 1 MiB each by default, positive only", () => {
    expect(resolveLimits()).toMatchObject({ perConnectionBufferLimitBytes: 1024 * 1024, upstreamPerConnectionBufferLimitBytes: 1024 * 1024 });
    expect(resolveLimits({ perConnectionBufferLimitBytes: 65536 }).perConnectionBufferLimitBytes).toBe(65536);
    expect(() => resolveLimits({ perConnectionBufferLimitBytes: 0 })).toThrow(/perConnectionBufferLimitBytes.*LIMIT_INVALID/);
    expect(() => resolveLimits({ upstreamPerConnectionBufferLimitBytes: -1 })).toThrow(/upstreamPerConnectionBufferLimitBytes.*LIMIT_INVALID/);
  });

  it("the TCP metadata exchange's peer metadata: 60 KiB by default (the HTTP exchange's head bound), positive only", () => {
    expect(resolveLimits().maxPeerMetadataBytes).toBe(60 * 1024);
    expect(resolveLimits({ maxPeerMetadataBytes: 512 }).maxPeerMetadataBytes).toBe(512);
    expect(() => resolveLimits({ maxPeerMetadataBytes: 0 })).toThrow(/maxPeerMetadataBytes.*LIMIT_INVALID/);
  });

  it("the request head limits go no higher than the core's parser reads", () => {
    expect(() => resolveLimits({ maxRequestHeadBytes: 61 * 1024 })).toThrow(/at most 61440.*LIMIT_INVALID/);
    expect(() => resolveLimits({ maxRequestHeaders: 101 })).toThrow(/at most 100/);
    expect(resolveLimits({ maxRequestHeadBytes: 8 * 1024 }).maxRequestHeadBytes).toBe(8192);
  });

  it('the HTTP/2 listener windows take 65535..2^31-1 (RFC 9113 §6.9, Envoy\'s range); 1 MiB / 16 MiB by default', () => {
    expect(resolveLimits()).toMatchObject({ downstreamHttp2InitialStreamWindowSize: 1024 * 1024, downstreamHttp2InitialConnectionWindowSize: 16 * 1024 * 1024 });
    expect(resolveLimits({ downstreamHttp2InitialStreamWindowSize: 65_535, downstreamHttp2InitialConnectionWindowSize: 2_147_483_647 })).toMatchObject({ downstreamHttp2InitialStreamWindowSize: 65_535, downstreamHttp2InitialConnectionWindowSize: 2_147_483_647 });
    expect(() => resolveLimits({ downstreamHttp2InitialStreamWindowSize: 65_534 })).toThrow(/downstreamHttp2InitialStreamWindowSize' must be at least 65535 .*LIMIT_INVALID/);
    expect(() => resolveLimits({ downstreamHttp2InitialConnectionWindowSize: 2_147_483_648 })).toThrow(/at most 2147483647 .*LIMIT_INVALID/);
  });

  it('the upstream HTTP/2 windows (core pool) take the same range; 1 MiB / 16 MiB by default', () => {
    expect(resolveLimits()).toMatchObject({ upstreamHttp2InitialStreamWindowSize: 1024 * 1024, upstreamHttp2InitialConnectionWindowSize: 16 * 1024 * 1024 });
    expect(resolveLimits({ upstreamHttp2InitialStreamWindowSize: 65_535, upstreamHttp2InitialConnectionWindowSize: 2_147_483_647 })).toMatchObject({ upstreamHttp2InitialStreamWindowSize: 65_535, upstreamHttp2InitialConnectionWindowSize: 2_147_483_647 });
    expect(() => resolveLimits({ upstreamHttp2InitialStreamWindowSize: 65_534 })).toThrow(/upstreamHttp2InitialStreamWindowSize' must be at least 65535 .*LIMIT_INVALID/);
    expect(() => resolveLimits({ upstreamHttp2InitialConnectionWindowSize: 2_147_483_648 })).toThrow(/at most 2147483647 .*LIMIT_INVALID/);
  });
});
