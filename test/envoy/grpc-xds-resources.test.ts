// The proxyless gRPC translation: one listener and one route configuration per `host:port` a
// client may dial (every Kubernetes name of a service in the proxy's namespace, with each port),
// routes decided for a gRPC call, actions, clusters and endpoints restricted to what grpc-js-xds
// takes, and a warning for each thing it would not do as a sidecar does. Every resource is put
// through grpc-js-xds's own validators (the ones it runs on each response; a refusal is a NACK of
// the whole response), after encoding them as the control plane does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { loadConfig } from '../../host/config/index.js';
import { grpcXdsResources } from '../../host/envoy/grpc-xds-resources.js';
import type { EnvoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { dest, hashCluster, match, ops, policy, route, WEB, webCluster } from '../helpers/mesh-fixtures.js';

type Json = Record<string, unknown>;

// grpc-js-xds's resource validators (internal modules of the pinned 1.14.1): decode() returns
// {name, value} when the client would accept the resource, {name, error} when it would NACK.
const require = createRequire(import.meta.url);
const typesDir = '@grpc/grpc-js-xds/build/src/xds-resource-type';
const VALIDATORS: Record<string, { get(): { decode(ctx: unknown, r: { type_url: string; value: Uint8Array }): { name: string; error?: string } } }> = {
  [TYPE_URL.listener]: require(`${typesDir}/listener-resource-type.js`).ListenerResourceType,
  [TYPE_URL.route]: require(`${typesDir}/route-config-resource-type.js`).RouteConfigurationResourceType,
  [TYPE_URL.cluster]: require(`${typesDir}/cluster-resource-type.js`).ClusterResourceType,
  [TYPE_URL.endpoint]: require(`${typesDir}/endpoint-resource-type.js`).EndpointResourceType,
};
const CONTEXT = { bootstrap: { certificateProviders: {} }, server: {} };

/** Each resource's grpc-js-xds verdict: null when accepted, its error when refused. */
function grpcVerdicts(r: EnvoyXdsResources): Array<{ name: string; error: string | null }> {
  const root = envoyProtos();
  const lists: Array<[string, Json[]]> = [[TYPE_URL.listener, r.listeners], [TYPE_URL.route, r.routes], [TYPE_URL.cluster, r.clusters], [TYPE_URL.endpoint, r.endpoints]];
  return lists.flatMap(([type, list]) => list.map((json) => {
    const decoded = VALIDATORS[type]!.get().decode(CONTEXT, anyFromJson(root, type, json));
    return { name: decoded.name, error: decoded.error ?? null };
  }));
}

const refused = (r: EnvoyXdsResources): string[] => grpcVerdicts(r).filter((v) => v.error !== null).map((v) => `${v.name}: ${v.error}`);

const FQDN = 'greeter.default.svc.cluster.local';
const YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  ports: [{number: 50051, name: grpc, protocol: GRPC}, {number: 8080, name: grpc-admin, protocol: GRPC}]
  resolution: STATIC
  workloadSelector: {labels: {app: greeter}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: greeter-v1, namespace: default}
spec: {address: 10.0.0.1, labels: {app: greeter, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: greeter-v2, namespace: default}
spec: {address: 10.0.0.2, labels: {app: greeter, version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter, namespace: default}
spec:
  host: greeter
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: greeter, namespace: default}
spec:
  hosts: [greeter]
  http:
  - name: canary
    match: [{headers: {x-canary: {exact: "true"}}}]
    route: [{destination: {host: greeter, subset: v2, port: {number: 50051}}}]
  - name: admin-port
    match: [{port: 8080}]
    route: [{destination: {host: greeter, subset: v1, port: {number: 8080}}}]
  - name: gets
    match: [{method: {exact: GET}}]
    route: [{destination: {host: greeter, subset: v1, port: {number: 50051}}}]
  - name: forbidden
    match: [{uri: {exact: /greeter.Greeter/Forbidden}}]
    directResponse: {status: 403}
  - name: split
    timeout: 2s
    route:
    - {destination: {host: greeter, subset: v1, port: {number: 50051}}, weight: 80}
    - {destination: {host: greeter, subset: v2, port: {number: 50051}}, weight: 20}
`;

beforeAll(() => {
  // The HTTP filters (router, fault) are known to the validators once registered.
  grpcXds.register();
});

describe('grpcXdsResources from Istio YAML (a sidecar in namespace default)', () => {
  let dir = '';
  let out: ReturnType<typeof grpcXdsResources>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-grpc-xds-'));
    writeFileSync(join(dir, 'greeter.yaml'), YAML);
    out = grpcXdsResources(loadConfig([dir], { namespace: 'default' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one listener per name and port a client may dial, each taking its route configuration of the same name over ADS', () => {
    const names = out.resources.listeners.map((l) => l.name).sort();
    const forms = ['greeter', 'greeter.default', 'greeter.default.svc', FQDN];
    expect(names).toEqual(forms.flatMap((f) => [`${f}:50051`, `${f}:8080`]).sort());
    const l = out.resources.listeners.find((x) => x.name === `${FQDN}:50051`)!;
    expect(l).toEqual({
      name: `${FQDN}:50051`,
      api_listener: {
        api_listener: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: `${FQDN}:50051`,
          rds: { route_config_name: `${FQDN}:50051`, config_source: { ads: {}, resource_api_version: 'V3' } },
          // The direct response is a fault abort: the fault filter, then the router, last.
          http_filters: [expect.objectContaining({ name: 'envoy.filters.http.fault' }), expect.objectContaining({ name: 'envoy.filters.http.router' })],
        },
      },
    });
    expect(out.resources.routes.map((r) => r.name).sort()).toEqual(names);
  });

  it('routes decided for the listener: the port rule on :8080 only, the GET rule nowhere; weights, header match, timeout', () => {
    const rc = (name: string) => out.resources.routes.find((r) => r.name === name)!;
    const vh = (rc(`${FQDN}:50051`).virtual_hosts as Json[])[0]!;
    expect(vh.domains).toEqual([`${FQDN}:50051`, FQDN]);
    const routes = vh.routes as Json[];
    expect(routes.map((r) => r.name)).toEqual(['default/greeter/canary', 'default/greeter/forbidden', 'default/greeter/split']);
    expect(routes[0]).toMatchObject({ match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] }, route: { cluster: `outbound|50051|v2|${FQDN}` } });
    expect(routes[2]!.route).toEqual({
      weighted_clusters: { clusters: [{ name: `outbound|50051|v1|${FQDN}`, weight: 80 }, { name: `outbound|50051|v2|${FQDN}`, weight: 20 }] },
      max_stream_duration: { max_stream_duration: '2s', grpc_timeout_header_max: '2s' },
      // Istio's default retries, reduced to the gRPC status conditions.
      retry_policy: { retry_on: 'unavailable,cancelled', num_retries: 2 },
    });
    const admin = ((rc('greeter:8080').virtual_hosts as Json[])[0]!.routes as Json[]).map((r) => r.name);
    expect(admin).toEqual(['default/greeter/canary', 'default/greeter/admin-port', 'default/greeter/forbidden', 'default/greeter/split']);
  });

  it('a direct response: aborted with its status, sent to a cluster with no endpoints (never to the next route)', () => {
    const rc = out.resources.routes.find((r) => r.name === `${FQDN}:50051`)!;
    const forbidden = ((rc.virtual_hosts as Json[])[0]!.routes as Json[])[1]!;
    expect(forbidden).toMatchObject({
      match: { path: '/greeter.Greeter/Forbidden' },
      route: { cluster: 'BlackHoleCluster' },
      typed_per_filter_config: { 'envoy.filters.http.fault': { abort: { http_status: 403, percentage: { numerator: 1_000_000, denominator: 'MILLION' } } } },
    });
    expect(out.resources.endpoints.find((e) => e.cluster_name === 'BlackHoleCluster')).toEqual({ cluster_name: 'BlackHoleCluster', endpoints: [] });
    expect(out.warnings).toContain('route default/greeter/forbidden: a direct response; a gRPC client is not given it: its calls fail with HTTP 403 as a gRPC status (fault abort), and reach no backend');
  });

  it('clusters over EDS with ROUND_ROBIN (Istio\'s default LEAST_REQUEST has no gRPC counterpart); endpoints in one weighted locality', () => {
    const v1 = out.resources.clusters.find((c) => c.name === `outbound|50051|v1|${FQDN}`)!;
    expect(v1).toEqual({ name: v1.name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: v1.name }, lb_policy: 'ROUND_ROBIN' });
    expect(out.resources.endpoints.find((e) => e.cluster_name === v1.name)).toEqual({
      cluster_name: v1.name,
      endpoints: [{ locality: {}, load_balancing_weight: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 50051 } } } }] }],
    });
  });

  it('grpc-js-xds accepts every resource', () => {
    expect(grpcVerdicts(out.resources).length).toBe(8 + 8 + 7 + 7);
    expect(refused(out.resources)).toEqual([]);
  });

  it('from another namespace the bare short name is not offered (it names another service there)', () => {
    const other = grpcXdsResources(loadConfig([dir], { namespace: 'prod' }));
    expect(other.resources.listeners.map((l) => l.name)).not.toContain('greeter:50051');
    expect(other.resources.listeners.map((l) => l.name)).toContain('greeter.default:50051');
  });
});

/** A mesh of `web` at port 5005 with the given routes and clusters. */
function web(routes: MeshConfig['virtualHosts'][number]['routes'], clusters: MeshConfig['clusters']): MeshConfig {
  return { virtualHosts: [{ name: WEB, domains: [WEB, `${WEB}:5005`], routes }], clusters };
}

describe('grpcXdsResources: what grpc-js-xds supports, and what it is told instead', () => {
  it('lb: RANDOM and PASSTHROUGH become ROUND_ROBIN, warned; consistent hash on a header is RING_HASH with the header hashed', () => {
    const random = webCluster('v1', 15101, { lb: 'RANDOM' });
    const hashed = hashCluster('v2', 15102, { httpHeaderName: 'x-user', minimumRingSize: 2048 });
    const passthrough = { ...webCluster('v3', 15103, { lb: 'PASSTHROUGH', endpoints: [] }), name: 'outbound|5005|v3|web.default.svc.cluster.local' };
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(hashed.name)]), route('default/web/1', [dest(random.name)])], [random, hashed, passthrough]) });
    expect(out.resources.clusters.map((c) => [c.name, c.lb_policy, c.ring_hash_lb_config])).toEqual([
      [random.name, 'ROUND_ROBIN', undefined],
      [hashed.name, 'RING_HASH', { minimum_ring_size: 2048 }],
      [passthrough.name, 'ROUND_ROBIN', undefined],
    ]);
    const routes = (out.resources.routes[0]!.virtual_hosts as Json[])[0]!.routes as Json[];
    expect((routes[0]!.route as Json).hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    expect(out.warnings).toEqual([
      `cluster ${random.name}: loadBalancer RANDOM is not supported by gRPC clients; they use ROUND_ROBIN`,
      `cluster ${passthrough.name}: loadBalancer PASSTHROUGH (original destination) is not supported by gRPC clients; the cluster has no endpoints for them (calls fail UNAVAILABLE)`,
    ]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('consistent hash on a cookie: no hash key (random per call), warned; Maglev becomes a ring', () => {
    const cookie = hashCluster('v1', 15101, { httpCookie: { name: 'session', ttl: '0s' } });
    const maglev = hashCluster('v2', 15102, { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } });
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(cookie.name)]), route('default/web/1', [dest(maglev.name)])], [cookie, maglev]) });
    const routes = (out.resources.routes[0]!.virtual_hosts as Json[])[0]!.routes as Json[];
    expect((routes[0]!.route as Json).hash_policy).toBeUndefined();
    expect(out.resources.clusters.map((c) => c.lb_policy)).toEqual(['RING_HASH', 'RING_HASH']);
    expect(out.warnings).toEqual([
      'route default/web/0: consistentHash on cookie is not supported by gRPC clients (a header is); each call hashes a random value',
      `cluster ${maglev.name}: Maglev is not supported by gRPC clients; they use a ring hash with default sizes (keys land on other endpoints than Envoy's)`,
    ]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('a cluster with TLS (ISTIO_MUTUAL, auto mTLS) gets no endpoints, warned: gRPC clients never call it in plaintext', () => {
    const mtls = webCluster('v1', 15101, { tls: { mode: 'ISTIO_MUTUAL', sni: 'outbound_.5005_.v1_.web', subjectAltNames: [], auto: true } });
    const off = webCluster('v2', 15102, { tls: { mode: 'DISABLE', auto: false } });
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(mtls.name)]), route('default/web/1', [dest(off.name)])], [mtls, off]) });
    expect(out.resources.endpoints.map((e) => [e.cluster_name, (e.endpoints as Json[]).length])).toEqual([[mtls.name, 0], [off.name, 1]]);
    expect(out.warnings).toEqual([`cluster ${mtls.name}: tls mode ISTIO_MUTUAL is not served to gRPC clients; they are given no endpoints (calls fail UNAVAILABLE, never plaintext)`]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('circuit breaker max_requests kept; outlier detection warned and left out', () => {
    const c = webCluster('v1', 15101, { policy: policy({ connectionPool: { http: { http2MaxRequests: 7 } }, outlierDetection: { consecutive5xxErrors: 3, interval: '1s', baseEjectionTime: '30s' } }) });
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(c.name)])], [c]) });
    expect(out.resources.clusters[0]).toMatchObject({ circuit_breakers: { thresholds: [{ max_requests: 7 }] } });
    expect(out.resources.clusters[0]!.outlier_detection).toBeUndefined();
    expect(out.warnings).toEqual([`cluster ${c.name}: outlierDetection is not applied by gRPC clients (they eject by success rate or failure percentage only, not consecutive errors)`]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('endpoints: a host name is left out and a repeated address given once, each warned', () => {
    const c = webCluster('v1', 15101, {
      endpoints: [
        { address: '127.0.0.1', port: 15101, labels: {}, weight: 1 },
        { address: 'web-1.example.com', port: 15101, labels: {}, weight: 1 },
        { address: '127.0.0.1', port: 15101, labels: {}, weight: 3 },
        { address: '::1', port: 15101, labels: {}, weight: 2 },
      ],
    });
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(c.name)])], [c]) });
    const lb = ((out.resources.endpoints[0]!.endpoints as Json[])[0]!.lb_endpoints as Json[]).map((e) => [(e.endpoint as { address: { socket_address: { address: string } } }).address.socket_address.address, e.load_balancing_weight]);
    expect(lb).toEqual([['127.0.0.1', undefined], ['::1', 2]]);
    expect(out.warnings).toEqual([
      `cluster ${c.name}: endpoint web-1.example.com is not an IP address; gRPC clients are not given it`,
      `cluster ${c.name}: endpoint 127.0.0.1:15101 is listed twice; gRPC clients are given it once (they refuse duplicates)`,
    ]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('retries: gRPC status conditions only (HTTP ones warned), perTryTimeout warned, none left means no policy', () => {
    const c = webCluster('v1', 15101);
    const retry = (retryOn: Array<'5xx' | 'unavailable' | 'connect-failure' | 'resource-exhausted'>, perTryTimeoutMs = 0) => ({ retries: 3, retryOn, retriableStatusCodes: [], perTryTimeoutMs, backoffBaseMs: 50, backoffMaxMs: 500 });
    const out = grpcXdsResources({ mesh: web([
      route('default/web/0', [dest(c.name)], { retry: retry(['5xx', 'unavailable', 'resource-exhausted'], 100) }),
      route('default/web/1', [dest(c.name)], { retry: retry(['connect-failure']) }),
      route('default/web/2', [dest(c.name)], { retry: { ...retry([]), retries: 0 } }),
    ], [c]) });
    const routes = (out.resources.routes[0]!.virtual_hosts as Json[])[0]!.routes as Json[];
    expect(routes.map((r) => (r.route as Json).retry_policy)).toEqual([
      { retry_on: 'unavailable,resource-exhausted', num_retries: 3, retry_back_off: { base_interval: '0.05s' } },
      undefined,
      undefined,
    ]);
    expect(out.warnings).toEqual([
      'route default/web/0: retryOn 5xx has no gRPC counterpart; gRPC clients retry on gRPC status names only',
      'route default/web/0: retries.perTryTimeout is not applied by gRPC clients',
    ]);
    expect(refused(out.resources)).toEqual([]);
  });

  it('fault injection is passed on (grpc-js applies it); header operations, rewrite and mirrors are warned', () => {
    const c = webCluster('v1', 15101);
    const out = grpcXdsResources({ mesh: web([route('default/web/0', [dest(c.name)], {
      matches: [match({ headers: [{ name: 'x-chaos', match: null, invert: false }] })],
      fault: { delay: null, abort: { httpStatus: 503, percentage: 50 } },
      requestHeaders: ops({ set: [['x-a', '1']] }),
      rewrite: { uri: '/v2' },
      mirrors: [{ cluster: c.name, percentage: 10 }],
    })], [c]) });
    const hcm = ((out.resources.listeners[0]!.api_listener as Json).api_listener as Json);
    expect((hcm.http_filters as Json[]).map((f) => f.name)).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.router']);
    const r = ((out.resources.routes[0]!.virtual_hosts as Json[])[0]!.routes as Json[])[0]!;
    expect(r.typed_per_filter_config).toEqual({ 'envoy.filters.http.fault': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abort: { http_status: 503, percentage: { numerator: 500_000, denominator: 'MILLION' } } } });
    expect(r.request_headers_to_add).toBeUndefined();
    expect(out.warnings).toEqual(['route default/web/0: header operations, rewrite, mirror not applied by gRPC clients']);
    expect(refused(out.resources)).toEqual([]);
  });

  it('no destination, zero weights and a redirect fail closed like a direct response', () => {
    const c = webCluster('v1', 15101);
    const out = grpcXdsResources({ mesh: web([
      route('default/web/0', [dest(c.name, 0)], { matches: [match({ uri: { kind: 'prefix', value: '/a' } })] }),
      route('default/web/1', [], { matches: [match({ uri: { kind: 'prefix', value: '/b' } })] }),
      route('default/web/2', [], { redirect: { uri: '/x', redirectCode: 301 } }),
    ], [c]) });
    const routes = (out.resources.routes[0]!.virtual_hosts as Json[])[0]!.routes as Json[];
    expect(routes.map((r) => [(r.route as Json).cluster, ((r.typed_per_filter_config as Json)['envoy.filters.http.fault'] as { abort: Json }).abort.http_status])).toEqual([
      ['BlackHoleCluster', 503], ['BlackHoleCluster', 503], ['BlackHoleCluster', 301],
    ]);
    expect(out.warnings.map((w) => w.split(';')[0])).toEqual(['route default/web/0: every destination weight is 0', 'route default/web/1: no destination', 'route default/web/2: a redirect']);
    expect(refused(out.resources)).toEqual([]);
  });

  it('the validators do refuse what the translation avoids (LEAST_REQUEST, a redirect, a name as endpoint, a locality without weight)', () => {
    const base = grpcXdsResources({ mesh: web([route('default/web/0', [dest(webCluster('v1', 15101).name)])], [webCluster('v1', 15101)]) }).resources;
    const routeConfig = structuredClone(base.routes[0]!);
    ((routeConfig.virtual_hosts as Json[])[0]!.routes as Json[])[0] = { name: 'r', match: { prefix: '/' }, redirect: { path_redirect: '/x' } };
    const la = structuredClone(base.endpoints[0]!);
    const bad: EnvoyXdsResources = {
      listeners: [],
      routes: [routeConfig],
      clusters: [{ ...base.clusters[0]!, lb_policy: 'LEAST_REQUEST' }],
      endpoints: [
        { cluster_name: 'named', endpoints: [{ locality: {}, load_balancing_weight: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'web.example.com', port_value: 80 } } } }] }] },
        la,
      ],
    };
    expect(refused(bad).map((e) => e.split(':')[0])).toEqual([base.routes[0]!.name as string, base.clusters[0]!.name as string, 'named'].map((n) => n.split(':')[0]));
    // A locality without load_balancing_weight is accepted, then silently skipped by grpc-js.
    expect(refused({ listeners: [], routes: [], clusters: [], endpoints: [{ ...la, endpoints: [{ ...(la.endpoints as Json[])[0]!, load_balancing_weight: undefined }] }] })).toEqual([]);
  });
});
