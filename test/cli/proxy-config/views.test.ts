// istioctl's proxy-config views over a hand-made Envoy config dump: the rows, the order and each
// filter as istioctl computes them (cluster names split by Istio's subset key, listener matches
// and destinations, route domains shortened, endpoint health and locality).
import { describe, expect, it } from 'vitest';
import { clustersTable, filteredClusters } from '../../../host/cli/proxy-config/clusters-view.js';
import { endpointsTable } from '../../../host/cli/proxy-config/endpoints-view.js';
import { describeChainMatch, describeDestination, listenersTable, listenerType } from '../../../host/cli/proxy-config/listeners-view.js';
import { describeRouteDomains, routesTable } from '../../../host/cli/proxy-config/routes-view.js';
import { dumpClusters, dumpListeners } from '../../../host/cli/proxy-config/config-dump-reader.js';

const HCM = 'envoy.filters.network.http_connection_manager';
const TCP = 'envoy.filters.network.tcp_proxy';
const lines = (t: string) => t.split('\n').slice(0, -1).map((l) => l.replace(/ +/g, ' ').trim());

describe('clusters', () => {
  const clusters = [
    { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', type: 'EDS' },
    { name: 'BlackHoleCluster' },
    { name: 'outbound|9080||reviews.default.svc.cluster.local', type: 'EDS', metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/reviews' } } } },
    { name: 'inbound|8080||', type: 'STATIC' },
    { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', type: 'EDS' },
  ];
  it('splits Istio names, sorts by fqdn, subset, port, direction, and names the DestinationRule', () => {
    expect(lines(clustersTable(clusters, {}))).toEqual([
      'SERVICE FQDN PORT SUBSET DIRECTION TYPE DESTINATION RULE',
      // `inbound|8080||` has four parts: an empty FQDN, sorted first (istioctl's parse).
      '8080 - inbound STATIC',
      'BlackHoleCluster - - - STATIC',
      'reviews.default.svc.cluster.local 9080 - outbound EDS reviews.default',
      'reviews.default.svc.cluster.local 9080 v1 outbound EDS',
      'reviews.default.svc.cluster.local 9080 v2 outbound EDS',
    ]);
  });
  it('filters by substrings of the name as istioctl does', () => {
    const names = (f: Parameters<typeof filteredClusters>[1]) => filteredClusters(clusters, f).map((c) => c.name);
    expect(names({ subset: 'v2' })).toEqual(['outbound|9080|v2|reviews.default.svc.cluster.local']);
    expect(names({ port: 8080 })).toEqual(['inbound|8080||']);
    expect(names({ direction: 'inbound' })).toEqual(['inbound|8080||']);
    expect(names({ fqdn: 'reviews', subset: 'v1' })).toEqual(['outbound|9080|v1|reviews.default.svc.cluster.local']);
    expect(names({ port: 9081 })).toEqual([]);
  });
});

describe('listeners', () => {
  const inbound = {
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
    filter_chains: [
      { filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, filters: [{ name: TCP, typed_config: { cluster: 'InboundPassthroughClusterIpv4' } }] },
      { filter_chain_match: { destination_port: 9080, transport_protocol: 'raw_buffer' }, filters: [{ name: HCM, typed_config: { route_config: { name: 'inbound|9080||', virtual_hosts: [{ domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inbound|9080||' } }] }] } } }] },
      { filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], destination_port: 15021 }, filters: [{ name: TCP, typed_config: { cluster: 'BlackHoleCluster' } }] },
    ],
  };
  const outbound = {
    name: 'outbound_15001',
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [{ filters: [{ name: HCM, typed_config: { rds: { route_config_name: 'outbound_15001/15001' } } }] }],
  };
  it('one row per filter chain, destinations descending, listeners by port', () => {
    expect(lines(listenersTable([inbound, outbound], {}, true))).toEqual([
      'ADDRESS PORT MATCH DESTINATION',
      '127.0.0.1 15001 ALL Route: outbound_15001/15001',
      '0.0.0.0 15006 Addr: 10.0.0.1/32:15021 Non-HTTP/Non-TCP',
      '0.0.0.0 15006 Trans: tls; App: TCP TLS InboundPassthroughClusterIpv4',
      '0.0.0.0 15006 Trans: raw_buffer; Addr: *:9080 Cluster: inbound|9080||',
    ]);
    expect(lines(listenersTable([inbound, outbound], {}, false))).toEqual(['ADDRESS PORT TYPE', '127.0.0.1 15001 HTTP', '0.0.0.0 15006 HTTP+TCP']);
    expect(lines(listenersTable([inbound, outbound], { port: 15001 }, false))).toEqual(['ADDRESS PORT TYPE', '127.0.0.1 15001 HTTP']);
    expect(lines(listenersTable([inbound, outbound], { type: 'http+tcp', address: '0.0.0.0' }, false))).toEqual(['ADDRESS PORT TYPE', '0.0.0.0 15006 HTTP+TCP']);
    expect(listenerType({ filter_chains: [{ filters: [{ name: TCP, typed_config: { cluster: 'BlackHoleCluster' } }] }] })).toBe('UNKNOWN');
  });
  it('words matches and inline routes as istioctl', () => {
    expect(describeChainMatch(undefined)).toBe('ALL');
    expect(describeChainMatch({ server_names: ['a', 'b'], application_protocols: ['http/1.0', 'http/1.1', 'h2c'] })).toBe('SNI: a,b; App: HTTP');
    expect(describeChainMatch({ application_protocols: ['h2'] })).toBe('App: h2');
    expect(describeDestination([{ name: HCM, typed_config: { route_config: { virtual_hosts: [{ domains: ['a.test', 'a.test:80'], routes: [{ match: { prefix: '/api' } }, { match: { path: '/x' } }] }, { domains: ['*'], routes: [{ match: { safe_regex: { regex: '/v[0-9]+' } } }] }] } } }]))
      .toBe('Inline Route: a.test/a.test:80 /api*, /x; regex regex:"/v[0-9]+"');
    expect(describeDestination([{ name: HCM, typed_config: {} }])).toBe('HTTP');
  });
  it('reads dynamic then static listeners out of a dump', () => {
    const dump = { configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: [{ name: 'a', active_state: { listener: { name: 'a' } } }, { name: 'warming', warming_state: {} }], static_listeners: [{ listener: { name: 'b' } }] }] };
    expect(dumpListeners(dump).map((l) => l.name)).toEqual(['a', 'b']);
    expect(dumpClusters(dump)).toEqual([]);
  });
});

describe('routes', () => {
  const routes = [
    { name: 'web', virtual_hosts: [{ domains: ['*'], routes: [] }] },
    { name: '9080', virtual_hosts: [
      { domains: ['reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080', 'reviews', 'reviews:9080', 'reviews.default.svc', 'reviews.default', '10.0.0.3', '10.0.0.3:9080'], routes: [{ match: { prefix: '/' }, metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/reviews' } } }, route: { cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local' } }] },
      { domains: ['allow_any'], routes: [{ match: { prefix: '/' }, route: { cluster: 'PassthroughCluster' } }] },
    ] },
    { name: '80', virtual_hosts: [] },
  ];
  it('per route, numeric names first in order, passthrough routes left out, empty hosts as 404', () => {
    expect(lines(routesTable(routes, undefined, true))).toEqual([
      'NAME DOMAINS MATCH VIRTUAL SERVICE',
      'web * /* 404',
      '9080 reviews, reviews.default + 1 more... /* reviews.default',
    ]);
    expect(lines(routesTable(routes, undefined, false))).toEqual(['NAME VIRTUAL HOSTS', 'web 1', '80 0', '9080 2']);
    expect(lines(routesTable(routes, '80', false))).toEqual(['NAME VIRTUAL HOSTS', '80 0']);
  });
  it('shortens domains as istioctl', () => {
    expect(describeRouteDomains([])).toBe('');
    expect(describeRouteDomains(['a:80'])).toBe('a:80');
    expect(describeRouteDomains(['a.test', 'a.test:80'])).toBe('a.test');
    expect(describeRouteDomains(['[fd00:10:96::7fc7]', '[fd00:10:96::7fc7]:80', 'x'])).toBe('[fd00:10:96::7fc7], x');
  });
});

describe('endpoints', () => {
  const ep = (address: string, port: number, health_status?: string) => ({ endpoint: { address: { socket_address: { address, port_value: port } } }, ...(health_status ? { health_status } : {}) });
  const assignments = [
    { cluster_name: 'outbound|80||web.default.svc.cluster.local', endpoints: [{ locality: { region: 'eu', zone: 'a' }, lb_endpoints: [ep('10.0.0.2', 8080, 'HEALTHY'), ep('10.0.0.1', 8080, 'UNHEALTHY')] }] },
    { cluster_name: 'BlackHoleCluster', endpoints: [] },
    { cluster_name: 'outbound|80||api.default.svc.cluster.local', endpoints: [{ lb_endpoints: [ep('10.0.0.9', 9090)] }] },
  ];
  it('one row per host with status and locality; clusters by fqdn; each filter', () => {
    expect(lines(endpointsTable(assignments, {}))).toEqual([
      'ENDPOINT STATUS LOCALITY CLUSTER',
      '10.0.0.9:9090 UNKNOWN outbound|80||api.default.svc.cluster.local',
      '10.0.0.2:8080 HEALTHY eu/a outbound|80||web.default.svc.cluster.local',
      '10.0.0.1:8080 UNHEALTHY eu/a outbound|80||web.default.svc.cluster.local',
    ]);
    expect(lines(endpointsTable(assignments, { status: 'healthy' })).slice(1)).toEqual(['10.0.0.2:8080 HEALTHY eu/a outbound|80||web.default.svc.cluster.local']);
    expect(lines(endpointsTable(assignments, { address: '10.0.0.1:8080' })).slice(1)).toEqual(['10.0.0.1:8080 UNHEALTHY eu/a outbound|80||web.default.svc.cluster.local']);
    expect(lines(endpointsTable(assignments, { port: 9090 })).slice(1)).toEqual(['10.0.0.9:9090 UNKNOWN outbound|80||api.default.svc.cluster.local']);
    expect(lines(endpointsTable(assignments, { cluster: 'OUTBOUND|80||WEB.default.svc.cluster.local', status: 'UNHEALTHY' })).slice(1)).toEqual(['10.0.0.1:8080 UNHEALTHY eu/a outbound|80||web.default.svc.cluster.local']);
  });
});

describe('Istio subset keys', () => {
  it('split back into the parts they were joined from; other names are the FQDN alone', async () => {
    const fc = (await import('fast-check')).default;
    const { subsetKey, bySubsetKey } = await import('../../../host/cli/proxy-config/config-dump-reader.js');
    const part = fc.string({ maxLength: 10 }).filter((s) => !s.includes('|'));
    fc.assert(fc.property(fc.constantFrom('inbound', 'outbound'), fc.integer({ min: 1, max: 65535 }), part, part, (direction, port, subset, fqdn) => {
      expect(subsetKey(`${direction}|${port}|${subset}|${fqdn}`)).toEqual({ direction, port, subset, fqdn });
    }));
    fc.assert(fc.property(part, (name) => {
      expect(subsetKey(name)).toEqual({ direction: '', port: 0, subset: '', fqdn: name });
    }));
    // A total order: antisymmetric on distinct keys.
    fc.assert(fc.property(part, part, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (a, b, p, q) => {
      const x = `outbound|${p}|${a}|svc`;
      const y = `outbound|${q}|${b}|svc`;
      // Summed, not compared: equal keys give 0 and -0, which toBe (Object.is) tells apart.
      expect(Math.sign(bySubsetKey(x, y)) + Math.sign(bySubsetKey(y, x))).toBe(0);
    }));
  });
});
