// Proto3 JSON → Envoy protobuf through protobufjs: the well-known types in their JSON form,
// Any by "@type", unknown fields refused with their path, and the whole bootstrap `wasmesh
// envoy-config` writes for seed 000 encoded and decoded back to the same configuration.
import { describe, expect, it } from 'vitest';
import { envoyProtos } from '../../host/xds/envoy-protos.js';
import { encodeJson, ProtoJsonError } from '../../host/xds/proto-json.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { seed000Resources, seed000Split } from '../helpers/mesh-fixtures.js';

const root = envoyProtos();
const decode = (name: string, bytes: Uint8Array): Record<string, unknown> => {
  const t = root.lookupType(name);
  return t.toObject(t.decode(bytes), { longs: String, enums: String, bytes: String }) as Record<string, unknown>;
};

describe('proto3 JSON for Envoy', () => {
  it('Duration, wrappers, Struct and enums by name', () => {
    const bytes = encodeJson(root, 'envoy.config.cluster.v3.Cluster', {
      name: 'c', connect_timeout: '1.5s', type: 'STRICT_DNS', per_connection_buffer_limit_bytes: 1024,
      metadata: { filter_metadata: { istio: { a: 1, b: 'x', c: [true, null] } } },
    });
    const c = decode('envoy.config.cluster.v3.Cluster', bytes);
    expect(c).toMatchObject({ name: 'c', connect_timeout: { seconds: '1', nanos: 500_000_000 }, type: 'STRICT_DNS', per_connection_buffer_limit_bytes: { value: 1024 } });
    expect(JSON.stringify(c.metadata)).toContain('"stringValue":"x"');
    expect(JSON.stringify(c.metadata)).toContain('"boolValue":true');
  });

  it('Any by "@type", nested', () => {
    const bytes = encodeJson(root, 'envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: 'in', rds: { route_config_name: 'r', config_source: { ads: {} } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      },
    });
    const f = decode('envoy.config.listener.v3.Filter', bytes) as { typed_config: { type_url: string; value: string } };
    expect(f.typed_config.type_url).toMatch(/HttpConnectionManager$/);
    const hcm = decode('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', Buffer.from(f.typed_config.value, 'base64'));
    expect(hcm).toMatchObject({ stat_prefix: 'in', rds: { route_config_name: 'r' } });
  });

  it('an unknown field or a bad duration is an error naming where', () => {
    expect(() => encodeJson(root, 'envoy.config.cluster.v3.Cluster', { name: 'c', conect_timeout: '1s' })).toThrow(/Cluster\.conect_timeout: no such field/);
    expect(() => encodeJson(root, 'envoy.config.cluster.v3.Cluster', { connect_timeout: 5 })).toThrow(ProtoJsonError);
    expect(() => encodeJson(root, 'envoy.config.listener.v3.Filter', { name: 'x', typed_config: { '@type': 'type.googleapis.com/no.Such' } })).toThrow(/no\.Such is not a message/);
  });

  it('the seed 000 bootstrap of `wasmesh envoy-config` encodes and decodes back whole', () => {
    const { config } = envoyBootstrap({ mesh: seed000Split(), resources: seed000Resources }, { listen: { host: '0.0.0.0', port: 8080 }, admin: { host: '127.0.0.1', port: 15000 }, gateway: 'web-gateway' });
    const back = decode('envoy.config.bootstrap.v3.Bootstrap', encodeJson(root, 'envoy.config.bootstrap.v3.Bootstrap', config)) as { static_resources: { clusters: unknown[]; listeners: unknown[] } };
    const cfg = config as { static_resources: { clusters: Array<{ name: string }>; listeners: unknown[] } };
    expect((back.static_resources.clusters as Array<{ name: string }>).map((c) => c.name)).toEqual(cfg.static_resources.clusters.map((c) => c.name));
    expect(back.static_resources.listeners).toHaveLength(cfg.static_resources.listeners.length);
  });
});
