// The proxy's HTTP/2 limits in the Envoy translation (host/envoy/http2-limits.ts): the five flood
// limits and the keepalive on the HCM's http2_protocol_options (beside allow_connect) and on every
// HTTP/2 cluster's (typed_extension_protocol_options HttpProtocolOptions), nothing when no limit
// is set, a warning for a set limit Envoy has no field for; then the real Envoy validates a
// bootstrap with all of them, and `wasmesh envoy-config --limit` writes them (bad ones: usage error).
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyHttp2Limits, untranslatedLimitWarnings } from '../../host/envoy/http2-limits.js';
import type { Limits } from '../../host/common/limits.js';
import { envoyConfigCommand } from '../../host/cli/envoy-config-command.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { envoyValidate, loadYaml } from './protocol-fixtures.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destinationRuleYaml, gatewayVirtualServiceYaml, gatewayYaml, routeTo, staticServiceEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

const FILES = {
  'se.yaml': yamlDocs(
    staticServiceEntryYaml({ name: 'greeter', host: 'greeter.example.internal', port: { number: 50051, name: 'grpc', protocol: 'GRPC' }, endpointPort: 15301 }),
    staticServiceEntryYaml({ name: 'plain', host: 'plain.example.internal', port: { number: 8080, name: 'http', protocol: 'HTTP' }, endpointPort: 15302 }),
    destinationRuleYaml('greeter', 'greeter.example.internal', 'connectionPool: {http: {maxConcurrentStreams: 64}}'),
  ),
  'gw.yaml': yamlDocs(gatewayYaml('gw'), gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: [routeTo('greeter.example.internal', '/g'), routeTo('plain.example.internal')] })),
};

const ALL: Partial<Limits> = {
  http2MaxOutboundFrames: 5000,
  http2MaxOutboundControlFrames: 50,
  http2MaxConsecutiveInboundFramesWithEmptyPayload: 3,
  http2MaxInboundPriorityFramesPerStream: 20,
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: 4,
  downstreamHttp2KeepaliveIntervalMs: 30_000,
  downstreamHttp2KeepaliveTimeoutMs: 5_000,
  upstreamHttp2KeepaliveIntervalMs: 60_000,
  upstreamHttp2KeepaliveTimeoutMs: 2_500,
  upstreamHttp2ConnectionIdleIntervalMs: 15_000,
  downstreamHttp2InitialStreamWindowSize: 65_535,
  downstreamHttp2InitialConnectionWindowSize: 2_147_483_647,
  upstreamHttp2InitialStreamWindowSize: 131_072,
  upstreamHttp2InitialConnectionWindowSize: 1_048_576,
};
const WINDOWS = { initial_stream_window_size: 65_535, initial_connection_window_size: 2_147_483_647 };
const UP_WINDOWS = { initial_stream_window_size: 131_072, initial_connection_window_size: 1_048_576 };
const FLOOD = {
  max_outbound_frames: 5000,
  max_outbound_control_frames: 50,
  max_consecutive_inbound_frames_with_empty_payload: 3,
  max_inbound_priority_frames_per_stream: 20,
  max_inbound_window_update_frames_per_data_frame_sent: 4,
};
const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/* eslint-disable @typescript-eslint/no-explicit-any */
const build = (limits?: Partial<Limits>): any => envoyBootstrap(loadYaml(FILES, 'gw'), { listen: { host: '127.0.0.1', port: 18090 }, admin: { host: '127.0.0.1', port: 18091 }, gateway: 'gw', ...(limits !== undefined ? { limits } : {}) });
const hcmOf = (config: any): any => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const clusterOf = (config: any, host: string): any => config.static_resources.clusters.find((x: any) => x.name.endsWith(`|${host}.example.internal`));

describe('envoyHttp2Limits', () => {
  it('no limits: no fields, either side', () => {
    expect(envoyHttp2Limits(undefined, 'downstream')).toEqual({});
    expect(envoyHttp2Limits({}, 'upstream')).toEqual({});
  });

  it('each flood limit to its field, on both sides; keepalive per side (downstream has no idle interval); each side its own windows', () => {
    expect(envoyHttp2Limits(ALL, 'downstream')).toEqual({ ...FLOOD, ...WINDOWS, connection_keepalive: { interval: '30s', timeout: '5s' } });
    expect(envoyHttp2Limits(ALL, 'upstream')).toEqual({ ...FLOOD, ...UP_WINDOWS, connection_keepalive: { interval: '60s', timeout: '2.5s', connection_idle_interval: '15s' } });
    // One side's windows are not the other's.
    expect(envoyHttp2Limits({ upstreamHttp2InitialStreamWindowSize: 70_000 }, 'downstream')).toEqual({});
    expect(envoyHttp2Limits({ downstreamHttp2InitialStreamWindowSize: 70_000 }, 'upstream')).toEqual({});
  });

  it('keepalive: off without an interval (a timeout alone writes nothing); the timeout defaults to wasmesh\'s 20 s (Envoy has none)', () => {
    expect(envoyHttp2Limits({ downstreamHttp2KeepaliveTimeoutMs: 1000 }, 'downstream')).toEqual({});
    expect(envoyHttp2Limits({ downstreamHttp2KeepaliveIntervalMs: 0 }, 'downstream')).toEqual({});
    expect(envoyHttp2Limits({ downstreamHttp2KeepaliveIntervalMs: 250 }, 'downstream')).toEqual({ connection_keepalive: { interval: '0.25s', timeout: '20s' } });
    expect(envoyHttp2Limits({ upstreamHttp2ConnectionIdleIntervalMs: 1000 }, 'upstream')).toEqual({ connection_keepalive: { timeout: '20s', connection_idle_interval: '1s' } });
    // The other side's keepalive is not this side's.
    expect(envoyHttp2Limits({ upstreamHttp2KeepaliveIntervalMs: 1000 }, 'downstream')).toEqual({});
  });

  it('a set limit Envoy does not get from this translation is a warning naming it; the translated ones are not', () => {
    const w = untranslatedLimitWarnings({ ...ALL, http2SettingsTimeoutMs: 0, streamIdleTimeoutMs: 60_000 });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/^--limit http2SettingsTimeoutMs=0: Envoy \(nghttp2\) has no SETTINGS ACK timeout/);
    expect(w[1]).toMatch(/^--limit streamIdleTimeoutMs=60000: not translated/);
  });
});

describe('envoyBootstrap with limits', () => {
  it('without limits the HCM keeps only allow_connect and the HTTP/2 cluster only its DestinationRule\'s field', () => {
    const { config } = build();
    expect(hcmOf(config).http2_protocol_options).toEqual({ allow_connect: true });
    expect(clusterOf(config, 'greeter').typed_extension_protocol_options[OPTIONS].explicit_http_config).toEqual({ http2_protocol_options: { max_concurrent_streams: 64 } });
  });

  it('the HCM gets the flood limits and the downstream keepalive; the HTTP/2 cluster the flood limits and the upstream keepalive; the HTTP/1.1 cluster nothing', () => {
    const b = build({ ...ALL, http2SettingsTimeoutMs: 5000 });
    expect(hcmOf(b.config).http2_protocol_options).toEqual({ allow_connect: true, ...FLOOD, ...WINDOWS, connection_keepalive: { interval: '30s', timeout: '5s' } });
    expect(clusterOf(b.config, 'greeter').typed_extension_protocol_options[OPTIONS].explicit_http_config).toEqual({
      http2_protocol_options: { max_concurrent_streams: 64, ...FLOOD, ...UP_WINDOWS, connection_keepalive: { interval: '60s', timeout: '2.5s', connection_idle_interval: '15s' } },
    });
    expect(clusterOf(b.config, 'plain').typed_extension_protocol_options).toBeUndefined();
    expect(b.warnings.some((w: string) => w.includes('http2SettingsTimeoutMs=5000'))).toBe(true);
    expect(b.yaml).toContain('# warning: --limit http2SettingsTimeoutMs=5000');
  });

  const envoy = envoyForTests('http2-limits');
  it.skipIf(envoy === null)('envoy --mode validate accepts the bootstrap with every HTTP/2 limit set, and with the smallest values', async () => {
    const all = await envoyValidate(envoy!, build(ALL).yaml);
    expect(all.ok, all.output).toBe(true);
    const least = await envoyValidate(envoy!, build({
      http2MaxOutboundFrames: 1, http2MaxOutboundControlFrames: 1, http2MaxConsecutiveInboundFramesWithEmptyPayload: 1,
      http2MaxInboundPriorityFramesPerStream: 1, http2MaxInboundWindowUpdateFramesPerDataFrameSent: 1,
      downstreamHttp2KeepaliveIntervalMs: 1, downstreamHttp2KeepaliveTimeoutMs: 1, upstreamHttp2ConnectionIdleIntervalMs: 1, upstreamHttp2KeepaliveTimeoutMs: 1,
    }).yaml);
    expect(least.ok, least.output).toBe(true);
  });
});

describe('wasmesh envoy-config --limit', () => {
  const run = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-h2-limits-cli-'));
    try {
      for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
      let out = '';
      let err = '';
      const io = { out: (s: string) => { out += s; }, err: (s: string) => { err += s; } };
      const code = await envoyConfigCommand(['-f', dir, '--listen', '127.0.0.1:18092', '--gateway', 'gw', ...argv], io as never);
      return { code, out, err };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('writes the limits given into the YAML', async () => {
    const r = await run(['--limit', 'http2MaxOutboundControlFrames=10', '--limit', 'downstreamHttp2KeepaliveIntervalMs=200']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('max_outbound_control_frames: 10');
    expect(r.out).toMatch(/connection_keepalive:\n\s+interval: 0\.2s\n\s+timeout: 20s/);
  });

  it('a limit the proxy refuses is refused here too, located', async () => {
    await expect(run(['--limit', 'http2MaxOutboundFrames=0'])).rejects.toThrow(/--limit: .*http2MaxOutboundFrames.*LIMIT_INVALID/);
    await expect(run(['--limit', 'downstreamHttp2InitialStreamWindowSize=65534'])).rejects.toThrow(/at least 65535 .*LIMIT_INVALID/);
    await expect(run(['--limit', 'downstreamHttp2InitialConnectionWindowSize=2147483648'])).rejects.toThrow(/at most 2147483647 .*LIMIT_INVALID/);
    await expect(run(['--limit', 'http2Bogus=1'])).rejects.toThrow(/--limit "http2Bogus=1"/);
  });
});
