// Envoy's ConfigDump shape from translated resources: the configs in Envoy's order with their
// @type, static vs dynamic forms (as Envoy dumps a bootstrap's resources or xDS ones), endpoints
// only with include_eds, empty lists left out, and `?resource=` selecting one repeated field.
import { describe, expect, it } from 'vitest';
import { configDumpResource, envoyConfigDump, tlsSecrets, type EnvoyDumpInput } from '../../host/admin/envoy-config-dump.js';

const input = (mode: 'static' | 'dynamic'): EnvoyDumpInput => ({
  bootstrap: { node: { id: 'n' } },
  mode,
  versionInfo: '7',
  lastUpdated: '2026-01-01T00:00:00.000Z',
  listeners: [{ name: 'l' }],
  routes: [{ name: 'r' }],
  clusters: [{ name: 'c' }],
  endpoints: [{ cluster_name: 'c' }],
  secrets: [],
  ...(mode === 'dynamic' ? { bootstrapClusters: [{ name: 'xds-grpc' }], bootstrapEndpoints: [{ cluster_name: 'xds-grpc' }] } : {}),
});
const types = (d: { configs: Array<Record<string, unknown>> }) => d.configs.map((c) => String(c['@type']).replace('type.googleapis.com/envoy.admin.v3.', ''));

describe('envoyConfigDump', () => {
  it('static: a bootstrap\'s resources, endpoints only with include_eds', () => {
    const d = envoyConfigDump(input('static'), false);
    expect(types(d)).toEqual(['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'ScopedRoutesConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
    expect(d.configs[1]).toEqual({ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', static_clusters: [{ cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'c' }, last_updated: '2026-01-01T00:00:00.000Z' }] });
    expect(d.configs[2]).toEqual({ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', static_listeners: [{ listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'l' }, last_updated: '2026-01-01T00:00:00.000Z' }] });
    // No secret: the field is left out, as proto3 JSON leaves an empty repeated field.
    expect(d.configs[5]).toEqual({ '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump' });
    expect(types(envoyConfigDump(input('static'), true))).toContain('EndpointsConfigDump');
  });

  it('dynamic: xDS resources with version_info, the bootstrap\'s own clusters static', () => {
    const d = envoyConfigDump(input('dynamic'), true);
    const clusters = d.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'))!;
    expect(clusters).toMatchObject({ version_info: '7', static_clusters: [{ cluster: { name: 'xds-grpc' } }], dynamic_active_clusters: [{ version_info: '7', cluster: { name: 'c' } }] });
    const listeners = d.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))!;
    expect(listeners).toEqual({ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', version_info: '7', dynamic_listeners: [{ name: 'l', active_state: { version_info: '7', last_updated: '2026-01-01T00:00:00.000Z', listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'l' } } }] });
    const eds = d.configs.find((c) => String(c['@type']).endsWith('EndpointsConfigDump'))!;
    expect(eds).toMatchObject({ static_endpoint_configs: [{ endpoint_config: { cluster_name: 'xds-grpc' } }], dynamic_endpoint_configs: [{ endpoint_config: { cluster_name: 'c' } }] });
  });

  it('?resource= picks one repeated field with its element type; null for a field no config has', () => {
    const d = envoyConfigDump(input('dynamic'), false);
    expect(configDumpResource(d, 'dynamic_route_configs')).toEqual({ configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump.DynamicRouteConfig', version_info: '7', last_updated: '2026-01-01T00:00:00.000Z', route_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', name: 'r' } }] });
    expect(configDumpResource(d, 'static_clusters')!.configs.map((c) => c['@type'])).toEqual(['type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster']);
    expect(configDumpResource(d, 'static_listeners')).toBeNull();
    expect(configDumpResource(d, 'dynamic_endpoint_configs')).toBeNull();
    expect(configDumpResource(d, 'constructor')).toBeNull();
  });

  it('secrets: the chain and the roots inline, the key never', () => {
    const s = tlsSecrets({ certChainPem: 'CHAIN', rootsPem: 'ROOTS' });
    expect(s).toEqual([
      { name: 'default', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('CHAIN').toString('base64') }, private_key: { inline_bytes: Buffer.from('[redacted]').toString('base64') } } },
      { name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: Buffer.from('ROOTS').toString('base64') } } },
    ]);
    expect(tlsSecrets(null)).toEqual([]);
  });
});
