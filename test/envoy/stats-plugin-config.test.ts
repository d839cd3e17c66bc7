// The wasmesh_stats plugin configuration and the bootstrap's stats_tags: the label segments
// the filter writes into Envoy's metric names decode (by the tag regexes, as Envoy applies them)
// to exactly the label set wasmesh's own renderLabels gives for the same workloads.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeStatsPluginConfig, sideLabelPairs, upsertedLabels } from '../../host/envoy/stats-plugin-config.js';
import type { MetricsOverrides } from '../../host/model/metrics-overrides.js';
import { withTcpIstioStats } from '../../host/envoy/tcp-stats-filter.js';
import { ISTIO_TAG_NAMES, istioStatsTags } from '../../host/envoy/stats-tags.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { FiltersConfigError } from '../../host/envoy/filters-config-error.js';
import { workloadMetadata, type WorkloadMetadata } from '../../host/model/workload-metadata.js';
import { GRPC_NOT, UNKNOWN_WORKLOAD, renderLabels, serviceOfHost, workloadLabelsOf } from '../../host/telemetry/istio-labels.js';
import { encodePeerMetadata } from '../../host/telemetry/peer-metadata.js';
import { parseSamples } from '../helpers/prometheus-samples.js';
import { dest, route, webCluster } from '../helpers/mesh-fixtures.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const PRODUCTPAGE = workloadMetadata({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
const REVIEWS = workloadMetadata({ name: 'reviews-v1', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' }, principal: 'spiffe://cluster.local/ns/bookinfo/sa/reviews' });

function lines(text: string): Map<string, string[][]> {
  const m = new Map<string, string[][]>();
  for (const l of text.split('\n').slice(1, -1)) {
    const [k, ...v] = l.split('\t');
    m.set(k!, [...(m.get(k!) ?? []), v]);
  }
  return m;
}

/** What Envoy's tag extraction does with a name: each regex in order cuts its first group and keeps the second as the tag. */
function extract(name: string): { name: string; tags: Record<string, string> } {
  const tags: Record<string, string> = {};
  let rest = name;
  for (const t of istioStatsTags()) {
    const m = new RegExp(t.regex as string).exec(rest);
    if (m === null) continue;
    const g = m[1] !== undefined ? 1 : 3;
    tags[t.tag_name as string] = m[g + 1]!;
    rest = rest.replace(m[g]!, '');
  }
  return { name: rest, tags };
}

/** The label set wasmesh renders, as a record. */
function wasmeshLabels(self: WorkloadMetadata, peer: WorkloadMetadata | null): Record<string, string> {
  const text = renderLabels({
    reporter: 'source', source: workloadLabelsOf(self), sourcePrincipal: self.principal ?? 'unknown',
    destination: peer === null ? UNKNOWN_WORKLOAD : workloadLabelsOf(peer), destinationPrincipal: 'unknown',
    service: serviceOfHost('reviews.bookinfo.svc.cluster.local'), responseCode: 200, grpcStatus: GRPC_NOT, responseFlags: '-', connectionSecurityPolicy: 'unknown',
  });
  return parseSamples(`x{${text}} 1`)[0]!.labels;
}

/** The name the filter builds for the same request (service and per-request tags as it writes them). */
function filterName(config: string, peerMeta: string | null): string {
  const l = lines(config);
  const peer = peerMeta === null ? undefined : l.get('peer')!.find((p) => p[0] === peerMeta);
  // The peer's principal is the filter's own per-request pair (`unknown` on the source reporter).
  return `reporter=.=source;.;${l.get('self_source')![0]![0]}${peer === undefined ? l.get('unknown_destination')![0]![0] : peer[2]}destination_principal=.=unknown;.;` +
    'destination_service=.=reviews.bookinfo.svc.cluster.local;.;destination_service_name=.=reviews;.;destination_service_namespace=.=bookinfo;.;' +
    'request_protocol=.=http;.;response_code=.=200;.;grpc_response_status=.=;.;response_flags=.=-;.;connection_security_policy=.=unknown;.;istio_requests_total';
}

describe('wasmesh_stats plugin configuration', () => {
  it('carries the reporter, this workload\'s exchange headers and one line per distinct peer', () => {
    const text = encodeStatsPluginConfig({ reporter: 'destination', self: REVIEWS, peers: [PRODUCTPAGE, PRODUCTPAGE, REVIEWS] });
    expect(text.startsWith('wasmesh_stats 1\n')).toBe(true);
    const l = lines(text);
    expect(l.get('reporter')).toEqual([['destination']]);
    expect(l.get('self')).toEqual([[REVIEWS.nodeId, encodePeerMetadata(REVIEWS)]]);
    expect(l.get('namespace')).toEqual([['bookinfo']]);
    expect(l.get('peer')!.map((p) => p[0])).toEqual([encodePeerMetadata(PRODUCTPAGE), encodePeerMetadata(REVIEWS)]);
    expect(l.get('self_destination')![0]![0]).toContain('destination_principal=.=spiffe://cluster.local/ns/bookinfo/sa/reviews;.;');
    // A peer's principal is the connection's, written by the filter per request: not in its segments.
    for (const [, src, dst] of l.get('peer')!) expect(src! + dst!).not.toContain('_principal=');
    expect(l.get('unknown_source')![0]![0]).not.toContain('_principal=');
  });

  it('a peer\'s principal follows its segments when no other peer has it (the TCP filter names a peer by its certificate)', () => {
    const REVIEWS_V2 = workloadMetadata({ name: 'reviews-v2', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v2' }, principal: REVIEWS.principal });
    const RATINGS = workloadMetadata({ name: 'ratings-v1', namespace: 'bookinfo', labels: { app: 'ratings' }, principal: 'spiffe://cluster.local/ns/bookinfo/sa/ratings' });
    const l = lines(encodeStatsPluginConfig({ reporter: 'destination', self: PRODUCTPAGE, peers: [REVIEWS, REVIEWS_V2, RATINGS, PRODUCTPAGE, RATINGS] }));
    const peers = l.get('peer')!;
    // reviews v1 and v2 share a service account: neither is named by it. No principal: none written.
    expect(peers.map((p) => p.length)).toEqual([3, 3, 4, 3]);
    expect(peers[2]![3]).toBe('spiffe://cluster.local/ns/bookinfo/sa/ratings');
    expect(() => encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [workloadMetadata({ name: 'x', namespace: 'y', principal: 'spiffe://a\tb' })] }))
      .toThrow(/principal: the value "spiffe:\/\/a\\tb" contains/);
  });

  it('decodes through the stats_tags to the label set wasmesh renders (known and unknown peer)', () => {
    const text = encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [REVIEWS] });
    for (const [peer, meta] of [[REVIEWS, encodePeerMetadata(REVIEWS)], [null, null]] as const) {
      const { name, tags } = extract(filterName(text, meta));
      expect(name).toBe('istio_requests_total');
      const expected = wasmeshLabels(PRODUCTPAGE, peer);
      expect(tags).toEqual(expected);
      // Same names in the same order as wasmesh's rendering.
      expect(Object.keys(expected)).toEqual(ISTIO_TAG_NAMES);
    }
  });

  it('holds for arbitrary label values the encoding can carry (property)', () => {
    const value = fc.stringMatching(/^[a-z0-9][a-z0-9.\-_/:]{0,20}$/).filter((s) => !s.includes(';.;') && !s.includes('=.='));
    fc.assert(fc.property(value, value, value, value, value, (name, ns, app, version, cluster) => {
      const self = workloadMetadata({ name, namespace: ns, labels: { app, version }, cluster });
      const peer = workloadMetadata({ name: app, namespace: version, labels: { app: name }, cluster: ns });
      const text = encodeStatsPluginConfig({ reporter: 'source', self, peers: [peer] });
      const { tags } = extract(filterName(text, encodePeerMetadata(peer)));
      expect(tags).toEqual(wasmeshLabels(self, peer));
    }), { numRuns: 200 });
  });

  it('refuses a label value the name encoding cannot carry, naming the workload', () => {
    const bad = workloadMetadata({ name: 'evil;.;reporter=.=x', namespace: 'default' });
    expect(() => encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [bad] })).toThrowError(FiltersConfigError);
    try {
      encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [bad] });
    } catch (e) {
      expect((e as FiltersConfigError).code).toBe('filters_config_stats_label');
      expect((e as FiltersConfigError).where).toBe('peer default/evil;.;reporter=.=x');
    }
    expect(() => encodeStatsPluginConfig({ reporter: 'source', self: workloadMetadata({ name: 'a\nb' }), peers: [] })).toThrowError(/control character/);
  });

  it('sideLabelPairs lists one side in Istio\'s order', () => {
    expect(sideLabelPairs('source', workloadLabelsOf(PRODUCTPAGE), 'unknown').map(([k]) => k)).toEqual(ISTIO_TAG_NAMES.slice(1, 9));
  });
});

describe('wasmesh_stats plugin configuration: Telemetry overrides and the TCP report period', () => {
  const overrides: MetricsOverrides = {
    client: {
      REQUEST_SIZE: { disabled: true, remove: ['response_code'], upsert: [] },
      REQUEST_COUNT: { disabled: false, remove: ['response_code', 'source_version'], upsert: [['mesh_id', 'm1'], ['destination_cluster', 'east']] },
    },
    server: { REQUEST_DURATION: { disabled: true, remove: [], upsert: [] } },
  };

  it('carries the reporter\'s half only (CLIENT: source, SERVER: destination), a disabled metric as one line', () => {
    const client = lines(encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [], overrides, newLabels: true }));
    expect(client.get('disable')).toEqual([['REQUEST_SIZE']]);
    expect(client.get('remove')).toEqual([['REQUEST_COUNT', 'response_code'], ['REQUEST_COUNT', 'source_version']]);
    expect(client.get('upsert')).toEqual([['REQUEST_COUNT', 'mesh_id', 'm1'], ['REQUEST_COUNT', 'destination_cluster', 'east']]);
    const server = lines(encodeStatsPluginConfig({ reporter: 'destination', self: PRODUCTPAGE, peers: [], overrides }));
    expect(server.get('disable')).toEqual([['REQUEST_DURATION']]);
    expect(server.get('remove')).toBeUndefined();
  });

  it('leaves out an upsert of a label Envoy\'s stats_tags do not extract unless the bootstrap adds its tag', () => {
    const l = lines(encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [], overrides }));
    expect(l.get('upsert')).toEqual([['REQUEST_COUNT', 'destination_cluster', 'east']]);
    expect(upsertedLabels(overrides)).toEqual(['mesh_id']);
    expect(upsertedLabels(undefined)).toEqual([]);
  });

  it('writes tcp_reporting_ms when given, and refuses one that is not a whole number of milliseconds', () => {
    expect(lines(encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [], tcpReportingMs: 1000 })).get('tcp_reporting_ms')).toEqual([['1000']]);
    expect(lines(encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [] })).get('tcp_reporting_ms')).toBeUndefined();
    for (const bad of [-1, 1.5, 1e10]) {
      expect(() => encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [], tcpReportingMs: bad })).toThrowError(/tcpReportingMs/);
    }
  });

  it('refuses an upserted value the name encoding cannot carry', () => {
    const evil: MetricsOverrides = { client: { REQUEST_COUNT: { disabled: false, remove: [], upsert: [['mesh_id', 'a;.;reporter=.=x']] } }, server: {} };
    expect(() => encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [], overrides: evil, newLabels: true })).toThrowError(FiltersConfigError);
  });
});

describe('withTcpIstioStats', () => {
  const tcpProxy = { name: 'envoy.filters.network.tcp_proxy', typed_config: { cluster: 'outbound|7000||echo.example' } };
  const o = { reporter: 'source' as const, self: PRODUCTPAGE, peers: [] };

  it('puts the wasmesh_tcp_stats network filter before each tcp_proxy, once, in the stats module\'s VM', () => {
    const listener = { name: 'tcp', filter_chains: [{ filters: [tcpProxy] }, { filters: [{ name: 'envoy.filters.network.http_connection_manager' }] }] };
    const out = withTcpIstioStats(listener, o, '/x/wasmesh-stats.wasm') as any;
    const first = out.filter_chains[0].filters;
    expect(first.map((f: any) => f.name)).toEqual(['envoy.filters.network.wasm', 'envoy.filters.network.tcp_proxy']);
    expect(first[0].typed_config.config).toMatchObject({ root_id: 'wasmesh_tcp_stats', failure_policy: 'FAIL_CLOSED', vm_config: { vm_id: 'wasmesh_stats', code: { local: { filename: '/x/wasmesh-stats.wasm' } } } });
    expect(Buffer.from(first[0].typed_config.config.configuration.value, 'base64').toString()).toBe(encodeStatsPluginConfig(o));
    // A chain without tcp_proxy is left alone; applying twice adds nothing.
    expect(out.filter_chains[1]).toBe(listener.filter_chains[1]);
    expect(withTcpIstioStats(out, o, '/x/wasmesh-stats.wasm')).toBe(out);
    // A listener with no tcp_proxy at all is returned as it is.
    const http = { name: 'http', filter_chains: [listener.filter_chains[1]] };
    expect(withTcpIstioStats(http, o, '/x/wasmesh-stats.wasm')).toBe(http);
  });
});

describe('stats_tags', () => {
  it('keeps Envoy\'s default response_code extraction (`_rq_<code>`) in the combined regex', () => {
    expect(extract('cluster.x.upstream_rq_503').tags).toEqual({ response_code: '503' });
  });
});

describe('envoyFiltersBootstrap with istioStats', () => {
  const v1 = webCluster('v1', 1001);
  const mesh = { clusters: [v1], virtualHosts: [{ name: 'gw', domains: ['*'], routes: [route('default/web/0', [dest(v1.name)])] }] };
  const opts = { listen: { host: '127.0.0.1', port: 8081 }, admin: { host: '127.0.0.1', port: 15001 }, wasmPath: '/x/wasmesh-filters.wasm' };
  const filtersOf = (config: any): any[] => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;

  it('adds the wasmesh_stats filter after the router filter, and the tag extractors', () => {
    const { config } = envoyFiltersBootstrap({ mesh }, { ...opts, istioStats: { reporter: 'source', self: PRODUCTPAGE, peers: [REVIEWS] } }) as { config: any };
    const roots = filtersOf(config).filter((f) => f.name === 'envoy.filters.http.wasm').map((f) => f.typed_config.config.root_id);
    expect(roots).toEqual(['wasmesh_router', 'wasmesh_stats']);
    const stats = filtersOf(config).find((f) => f.typed_config?.config?.root_id === 'wasmesh_stats');
    expect(Buffer.from(stats.typed_config.config.configuration.value, 'base64').toString()).toBe(encodeStatsPluginConfig({ reporter: 'source', self: PRODUCTPAGE, peers: [REVIEWS] }));
    expect(stats.typed_config.config.failure_policy).toBe('FAIL_CLOSED');
    // Its own module and VM: the router's module exports no response or log callbacks.
    expect(stats.typed_config.config.vm_config.vm_id).toBe('wasmesh_stats');
    expect(stats.typed_config.config.vm_config.code.local.filename).toBe('/x/wasmesh-stats.wasm');
    expect(config.stats_config.stats_tags.map((t: any) => t.tag_name)).toEqual(ISTIO_TAG_NAMES);
    // grpc_stats right before it: its filter state carries a gRPC request's message counts.
    const names = filtersOf(config).map((f) => f.typed_config?.config?.root_id ?? f.name);
    expect(names.slice(names.indexOf('wasmesh_stats') - 1, names.indexOf('wasmesh_stats') + 1)).toEqual(['envoy.filters.http.grpc_stats', 'wasmesh_stats']);
  });

  it('takes the mesh\'s Telemetry overrides, with a stats tag for each upserted label beyond Istio\'s', () => {
    const metricsOverrides: MetricsOverrides = { client: { REQUEST_COUNT: { disabled: false, remove: [], upsert: [['mesh_id', 'm1']] } }, server: {} };
    const { config } = envoyFiltersBootstrap({ mesh: { ...mesh, metricsOverrides } }, { ...opts, istioStats: { reporter: 'source', self: PRODUCTPAGE, peers: [] } }) as { config: any };
    const stats = filtersOf(config).find((f) => f.typed_config?.config?.root_id === 'wasmesh_stats');
    expect(Buffer.from(stats.typed_config.config.configuration.value, 'base64').toString()).toContain('\nupsert\tREQUEST_COUNT\tmesh_id\tm1\n');
    expect(config.stats_config.stats_tags.map((t: any) => t.tag_name)).toEqual([...ISTIO_TAG_NAMES, 'mesh_id']);
    const meshId = config.stats_config.stats_tags.find((t: any) => t.tag_name === 'mesh_id');
    expect(new RegExp(meshId.regex).exec('mesh_id=.=m1;.;reporter=.=source;.;istio_requests_total')!.slice(1)).toEqual(['mesh_id=.=m1;.;', 'm1']);
  });

  it('emits neither without istioStats', () => {
    const { config } = envoyFiltersBootstrap({ mesh }, opts) as { config: any };
    expect(filtersOf(config).some((f) => f.typed_config?.config?.root_id === 'wasmesh_stats')).toBe(false);
    expect(config.stats_config).toBeUndefined();
  });
});
