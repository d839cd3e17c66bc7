// `proxy-config -o json|yaml` prints resources as istioctl does after protojson: camelCase names,
// 64-bit integers as strings, enums by name, unpopulated scalars left out, Any bodies converted by
// their @type, Struct contents untouched, and Go's HTML-safe escaping.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { proxyConfigCommand } from '../../../host/cli/proxy-config-command.js';
import { goJsonIndent, toProtoJson } from '../../../host/cli/proxy-config/proto-json-names.js';
import { fakeIo } from '../../helpers/fake-io.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const CLUSTER = {
  name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
  type: 'STRICT_DNS',
  lb_policy: 0,
  connect_timeout: '10s',
  respect_dns_ttl: false,
  per_connection_buffer_limit_bytes: 32768,
  max_requests_per_connection: { value: 100 },
  metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/reviews', some_key: 1 } } },
  circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: 4294967295 }] },
  load_assignment: { cluster_name: 'x', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } } } }] }] },
  dns_refresh_rate: '60s',
  upstream_connection_options: { tcp_keepalive: { keepalive_time: 300 } },
  health_checks: [],
};

describe('toProtoJson', () => {
  it('names fields as protojson, drops unpopulated scalars and enums at 0, keeps Struct keys', () => {
    const out = toProtoJson('envoy.config.cluster.v3.Cluster', CLUSTER) as any;
    expect(out).toEqual({
      name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
      type: 'STRICT_DNS',
      connectTimeout: '10s',
      perConnectionBufferLimitBytes: 32768,
      maxRequestsPerConnection: 100,
      metadata: { filterMetadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/reviews', some_key: 1 } } },
      circuitBreakers: { thresholds: [{ maxConnections: 4294967295 }] },
      loadAssignment: { clusterName: 'x', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 9080 } } } }] }] },
      dnsRefreshRate: '60s',
      upstreamConnectionOptions: { tcpKeepalive: { keepaliveTime: 300 } },
    });
  });

  it('converts an Any by its @type (the HCM inside a listener) and 64-bit integers to strings; an unknown @type is kept', () => {
    const listener = {
      name: 'outbound_80',
      filter_chains: [{ filters: [
        { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 'outbound_80', codec_type: 1, route_config: { name: '80', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] } } },
        { name: 'other', typed_config: { '@type': 'type.googleapis.com/acme.Unknown', some_field: 1 } },
      ] }],
    };
    const out = toProtoJson('envoy.config.listener.v3.Listener', listener) as any;
    const hcm = out.filterChains[0].filters[0].typedConfig;
    expect(hcm).toEqual({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', statPrefix: 'outbound_80', codecType: 'HTTP1', routeConfig: { name: '80', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, directResponse: { status: 200 } }] }] } });
    expect(out.filterChains[0].filters[1].typedConfig).toEqual({ '@type': 'type.googleapis.com/acme.Unknown', some_field: 1 });
    const rl = toProtoJson('envoy.config.cluster.v3.Cluster', { name: 'c', outlier_detection: { max_ejection_time_jitter: '1s' }, lrs_server: undefined, preconnect_policy: {} }) as any;
    expect(rl).toEqual({ name: 'c', outlierDetection: { maxEjectionTimeJitter: '1s' }, preconnectPolicy: {} });
    const ep = toProtoJson('envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: 'c', policy: { overprovisioning_factor: { value: 140 } } }) as any;
    // Wrappers as their bare values, whether dumped wrapped or bare.
    expect(ep).toEqual({ clusterName: 'c', policy: { overprovisioningFactor: 140 } });
    expect(toProtoJson('envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: 'c', policy: { overprovisioning_factor: 140 } })).toEqual(ep);
  });

  it('goJsonIndent escapes <, > and & as Go\'s json.MarshalIndent does', () => {
    expect(goJsonIndent({ regex: 'a<b>&c' }, 4)).toBe('{\n    "regex": "a\\u003cb\\u003e\\u0026c"\n}');
    expect(JSON.parse(goJsonIndent({ regex: 'a<b>&c' }, 4))).toEqual({ regex: 'a<b>&c' });
  });
});

describe('proxy-config -o json|yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-pc-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'dump.json');
  writeFileSync(file, JSON.stringify({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', dynamic_active_clusters: [{ version_info: '1', cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...CLUSTER } }] }] }));

  it('prints the filtered clusters in protojson\'s names, indented by 4; YAML the same', async () => {
    const io = fakeIo();
    expect(await proxyConfigCommand(['clusters', '-f', file, '--subset', 'v1', '-o', 'json'], io)).toBe(0);
    // The resource itself, as protojson prints a Cluster: no `@type` (the dump's Any wrapper).
    expect(io.stdout.split('\n').slice(0, 4)).toEqual(['[', '    {', '        "name": "outbound|9080|v1|reviews.default.svc.cluster.local",', '        "type": "STRICT_DNS",']);
    const json = JSON.parse(io.stdout);
    expect(json[0].loadAssignment.clusterName).toBe('x');
    expect(json[0].load_assignment).toBeUndefined();
    const y = fakeIo();
    expect(await proxyConfigCommand(['clusters', '-f', file, '-o', 'yaml'], y)).toBe(0);
    expect(parse(y.stdout)).toEqual(json);
  });
});
