// meshConfig pathNormalization → the connection manager's settings, as istiod writes them; both
// Envoy listeners that enforce authorization (a gateway, a sidecar's inbound) carry them.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';

describe('meshConfig pathNormalization in the Envoy translation', () => {
  it('the gateway bootstrap and the inbound listener take MeshConfig.pathNormalization', () => {
    const gw = envoyBootstrap({ mesh: { virtualHosts: [], clusters: [], pathNormalization: 'MERGE_SLASHES' } }, { listen: { host: '127.0.0.1', port: 1 }, admin: { host: '127.0.0.1', port: 2 }, gateway: 'gw' });
    const hcm = (gw.config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm).toMatchObject({ normalize_path: true, merge_slashes: true });
    const { listener } = envoyInbound({ listen: { host: '127.0.0.1', port: 15006 }, appPorts: [8080], mode: 'DISABLE', pathNormalization: 'NONE' });
    expect((listener as any).filter_chains[0].filters[0].typed_config.normalize_path).toBe(false);
  });
});
