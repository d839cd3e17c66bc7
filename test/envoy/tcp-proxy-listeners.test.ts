// Gateway TCP servers and VirtualService tcp: routes in the Envoy translation: one listener per
// TCP port (mapped by tcpPorts, else the Gateway's own port), a tcp_proxy chain per reachable
// route (cluster or weighted_clusters, stat_prefix, Istio's 1 h idle timeout), subnet matches as
// prefix_ranges, unreachable routes and route-less ports warned. Then the real Envoy validates
// it and the xDS encoding takes the listeners.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { EnvoyConfigError } from '../../host/envoy/envoy-config-error.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { backendHost, tcpGatewayYaml, tcpServer, tcpServiceEntries, tcpSplit } from '../helpers/tcp-yaml.js';
import { HTTP_80, tcpRoute } from '../../host/config/istio-yaml-builders.js';
import { envoyValidate, loadYaml } from './protocol-fixtures.js';

const GATEWAY = tcpGatewayYaml([HTTP_80, tcpServer(31400, 'tcp-echo'), tcpServer(6379, 'redis', 'REDIS'), tcpServer(9000, 'tcp-nothing')], [
  tcpRoute({ port: 31400, destinationSubnets: ['10.1.0.0/16'] }, [{ host: backendHost('redis') }]),
  tcpSplit(31400, [{ name: 'echo-a', weight: 80 }, { name: 'echo-b', weight: 20 }]),
  tcpRoute({ port: 31400, destinationSubnets: ['10.2.0.0/16'] }, [{ host: backendHost('redis') }]),
  tcpRoute({ port: 6379 }, [{ host: backendHost('redis') }]),
]);
const FILES = {
  'se.yaml': tcpServiceEntries([{ name: 'echo-a', port: 15301 }, { name: 'echo-b', port: 15302 }, { name: 'redis', port: 15303, protocol: 'REDIS' }]),
  'gw.yaml': GATEWAY,
};
const opts = { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'tcp-gw', tcpPorts: [{ port: 31400, at: { host: '127.0.0.1', port: 19400 } }] };
const ECHO_A = 'outbound|7000||echo-a.example.internal';
const REDIS = 'outbound|7000||redis.example.internal';

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('envoyBootstrap: Gateway TCP servers as tcp_proxy listeners', () => {
  const loaded = loadYaml(FILES, 'tcp-gw');
  const r = envoyBootstrap(loaded, opts);
  const listeners: any[] = (r.config as any).static_resources.listeners;
  const byName = (n: string): any => listeners.find((l) => l.name === n);

  it('the HTTP listener first, then one listener per TCP port with a route: mapped, else at its own port', () => {
    expect(listeners.map((l) => [l.name, l.address.socket_address])).toEqual([
      ['gateway_tcp-gw_18080', { address: '127.0.0.1', port_value: 18080 }],
      ['gateway_tcp-gw_18080_tcp_6379', { address: '127.0.0.1', port_value: 6379 }],
      ['gateway_tcp-gw_18080_tcp_31400', { address: '127.0.0.1', port_value: 19400 }],
    ]);
  });

  it('a subnet route as prefix_ranges, the catch-all weighted, with stat_prefix and idle_timeout 1h', () => {
    const chains = byName('gateway_tcp-gw_18080_tcp_31400').filter_chains;
    expect(chains).toEqual([
      {
        filter_chain_match: { prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: 16 }] },
        filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: REDIS, cluster: REDIS, idle_timeout: '3600s' } }],
      },
      {
        filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
          stat_prefix: 'default/tcp-vs/tcp-1',
          weighted_clusters: { clusters: [{ name: ECHO_A, weight: 80 }, { name: 'outbound|7000||echo-b.example.internal', weight: 20 }] },
          idle_timeout: '3600s',
        } }],
      },
    ]);
    expect(byName('gateway_tcp-gw_18080_tcp_6379').filter_chains).toEqual([{ filters: [expect.objectContaining({ typed_config: expect.objectContaining({ cluster: REDIS }) })] }]);
  });

  it('warns of a route after a catch-all (never reached) and a port no route holds for (no listener)', () => {
    expect(r.warnings).toContain('tcp route default/tcp-vs/tcp-2: after default/tcp-vs/tcp-1, which takes every connection on Gateway port 31400; not reachable (left out of Envoy\'s listener)');
    expect(r.warnings.some((w) => w.startsWith('Gateway TCP port 9000: no tcp: route holds for it'))).toBe(true);
  });

  it('a mapped port that is not a TCP server of the Gateway is a located error', () => {
    expect(() => envoyBootstrap(loaded, { ...opts, tcpPorts: [{ port: 80, at: { host: '127.0.0.1', port: 1 } }] })).toThrow(EnvoyConfigError);
    expect(() => envoyBootstrap(loaded, { ...opts, tcpPorts: [{ port: 80, at: { host: '127.0.0.1', port: 1 } }] })).toThrow(/--tcp-ports 80: Gateway port 80 is not a TCP server of the Gateway \(TCP ports: 6379, 9000, 31400\)/);
  });

  it('the --filters bootstrap keeps the TCP listeners', () => {
    const f: any = envoyFiltersBootstrap(loaded, { ...opts, wasmPath: '/nonexistent/wasmesh-filters.wasm' }).config;
    expect(f.static_resources.listeners.map((l: any) => l.name)).toEqual(listeners.map((l) => l.name));
  });

  it('the xDS split passes the TCP listeners on, encodable with Envoy\'s protos', () => {
    const xds = envoyXdsResources(r.config);
    expect(xds.listeners).toHaveLength(3);
    for (const l of xds.listeners) expect(anyFromJson(envoyProtos(), TYPE_URL.listener, l).value.length).toBeGreaterThan(0);
  });

  const envoy = envoyForTests('tcp-proxy-listeners');
  it.skipIf(envoy === null)('envoy --mode validate accepts the bootstrap', async () => {
    const result = await envoyValidate(envoy!, r.yaml);
    expect(result.ok, result.output).toBe(true);
  });
});
