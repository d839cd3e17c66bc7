// The static translation split into xDS resources: route configurations out of the listeners
// (RDS by name over ADS), STATIC clusters' endpoints out of the clusters (EDS), DNS clusters
// kept whole; the wasm filters' configuration as a TypedStruct (its failure_policy is newer than
// the bundled API); and the ADS bootstrap Istio's agent would write, accepted by Envoy's own schema.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { adsBootstrap, envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson, encodeJson } from '../../host/xds/proto-json.js';
import { seed000Resources, seed000Split } from '../helpers/mesh-fixtures.js';

describe('Envoy resources for ADS', () => {
  const { config } = envoyBootstrap({ mesh: seed000Split(), resources: seed000Resources }, { listen: { host: '0.0.0.0', port: 8080 }, admin: { host: '127.0.0.1', port: 15000 }, gateway: 'web-gateway' });
  const r = envoyXdsResources(config as Record<string, unknown>);

  it('listeners ask for their routes over RDS; STATIC clusters for their endpoints over EDS', () => {
    expect(r.listeners).toHaveLength(1);
    const hcm = JSON.stringify(r.listeners[0]);
    expect(hcm).not.toContain('route_config"');
    expect(hcm).toContain('"route_config_name":"gateway_web-gateway_8080/8080"');
    expect(r.routes.map((x) => x.name)).toEqual(['gateway_web-gateway_8080/8080']);
    expect(r.clusters.every((c) => c.type === 'EDS' && !('load_assignment' in c))).toBe(true);
    expect(r.endpoints.map((e) => e.cluster_name)).toEqual(r.clusters.map((c) => c.name));
  });

  it('every resource encodes against Envoy\'s .proto files', () => {
    const root = envoyProtos();
    for (const l of r.listeners) expect(anyFromJson(root, TYPE_URL.listener, l).value.length).toBeGreaterThan(0);
    for (const x of r.routes) anyFromJson(root, TYPE_URL.route, x);
    for (const c of r.clusters) anyFromJson(root, TYPE_URL.cluster, c);
    for (const e of r.endpoints) anyFromJson(root, TYPE_URL.endpoint, e);
  });

  it('the ADS bootstrap: admin, the xds-grpc cluster over HTTP/2, ADS for LDS and CDS', () => {
    const b = adsBootstrap({ xds: { host: '127.0.0.1', port: 15010 }, admin: { host: '127.0.0.1', port: 15000 }, nodeId: 'router~1.2.3.4~gw.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' } }, delta: true });
    expect(b).toMatchObject({ dynamic_resources: { ads_config: { api_type: 'DELTA_GRPC' }, lds_config: { ads: {} }, cds_config: { ads: {} } } });
    expect(encodeJson(envoyProtos(), 'envoy.config.bootstrap.v3.Bootstrap', b).length).toBeGreaterThan(0);
  });
});

describe('Envoy resources for ADS with the wasmesh filters', () => {
  const opts = { listen: { host: '0.0.0.0', port: 8080 }, admin: { host: '127.0.0.1', port: 15000 }, gateway: 'web-gateway', wasmPath: '/x/wasmesh-filters.wasm' };
  const { config } = envoyFiltersBootstrap({ mesh: seed000Split(), resources: seed000Resources, warnings: [] } as never, opts);
  const r = envoyXdsResources(config as Record<string, unknown>);
  const httpFilters = (): Array<Record<string, any>> => (r.listeners[0] as any).filter_chains[0].filters[0].typed_config.http_filters;

  it('the wasm filters travel as TypedStructs of Wasm, failure_policy FAIL_CLOSED kept; the router as it is', () => {
    const wasm = httpFilters().filter((f) => f.name === 'envoy.filters.http.wasm');
    expect(wasm.length).toBeGreaterThan(0);
    for (const f of wasm) {
      expect(f.typed_config['@type']).toBe('type.googleapis.com/xds.type.v3.TypedStruct');
      expect(f.typed_config.type_url).toBe('type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm');
      expect(f.typed_config.value.config.failure_policy).toBe('FAIL_CLOSED');
      expect(f.typed_config.value.config.vm_config.code.local.filename).toBe('/x/wasmesh-filters.wasm');
    }
    const router = httpFilters().find((f) => f.name === 'envoy.filters.http.router')!;
    expect(router.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
  });

  it('the listener encodes against the bundled API, which has no failure_policy of its own to encode it with', () => {
    const root = envoyProtos();
    expect(root.lookupType('envoy.extensions.wasm.v3.PluginConfig').fields.failure_policy).toBeUndefined();
    expect(anyFromJson(root, TYPE_URL.listener, r.listeners[0]).value.length).toBeGreaterThan(0);
  });
});
