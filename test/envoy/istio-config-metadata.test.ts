// Istio's `filter_metadata.istio.config` on the Envoy translation's routes and clusters, as
// istiod writes it (BuildConfigInfoMetadata), and the istioctl columns that read it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clustersTable } from '../../host/cli/proxy-config/clusters-view.js';
import { routesTable } from '../../host/cli/proxy-config/routes-view.js';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { istioConfigMetadata } from '../../host/envoy/istio-config-metadata.js';
import { WEB_SUBSETS, webGateway, webServices, webSplit } from '../helpers/seed-000-yaml.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The static bootstrap of a gateway serving `yaml`. */
function translate(yaml: string): any {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-istio-meta-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'mesh.yaml'), yaml);
  return envoyBootstrap(loadConfig([dir], { gateway: 'web-gateway' }), { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'web-gateway' }).config;
}

const OTHER = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: other, namespace: shop}
spec:
  hosts: [other.shop.svc.cluster.local]
  ports: [{number: 7000, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.2}]
`;

describe('istioConfigMetadata', () => {
  it('writes istiod\'s path: the v1alpha3 group version, the kebab-case kind, namespace and name', () => {
    expect(istioConfigMetadata('virtual-service', { namespace: 'default', name: 'reviews' })).toEqual({ filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/reviews' } } });
    expect(istioConfigMetadata('destination-rule', { namespace: 'bookinfo', name: 'ratings' })).toEqual({ filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/bookinfo/destination-rule/ratings' } } });
    expect(istioConfigMetadata('destination-rule', undefined)).toBeNull();
  });
});

describe('the Envoy translation names the VirtualService and DestinationRule', () => {
  const c = translate(`${webServices({ v1: 15101, v2: 15102 })}---\n${WEB_SUBSETS}---\n${webGateway()}---\n${webSplit([80, 20])}${OTHER}`);
  const routeConfig = c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config;
  const clusters: any[] = c.static_resources.clusters;

  it('each route of a VirtualService carries it', () => {
    const routes = routeConfig.virtual_hosts.flatMap((vh: any) => vh.routes);
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.metadata).toEqual({ filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/web' } } });
  });

  it('every cluster of a host with a DestinationRule carries it, subsets or not; other clusters carry no metadata', () => {
    const web = clusters.filter((x) => x.name.endsWith('|web.default.svc.cluster.local'));
    expect(web.map((x) => x.name).sort()).toEqual(['outbound|5005|v1|web.default.svc.cluster.local', 'outbound|5005|v2|web.default.svc.cluster.local', 'outbound|5005||web.default.svc.cluster.local']);
    for (const x of web) expect(x.metadata).toEqual({ filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/web' } } });
    const other = clusters.find((x) => x.name === 'outbound|7000||other.shop.svc.cluster.local');
    expect(other).toBeDefined();
    expect(other.metadata).toBeUndefined();
  });

  it('istioctl\'s VIRTUAL SERVICE and DESTINATION RULE columns show name.namespace', () => {
    const routes = routesTable([routeConfig], undefined, true).split('\n');
    expect(routes[0]).toMatch(/VIRTUAL SERVICE$/);
    expect(routes[1]).toMatch(/ web\.default$/);
    const table = clustersTable(clusters, {}).split('\n');
    const rows = table.filter((l) => l.startsWith('web.default.svc.cluster.local') || l.startsWith('other.shop'));
    expect(rows).toHaveLength(4);
    for (const l of rows) expect(l.trimEnd()).toMatch(l.startsWith('web') ? / web\.default$/ : / STATIC$/);
  });

  it('a wildcard DestinationRule names the clusters of the hosts it covers; of two rules for one host the first', () => {
    const wildcard = `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: shop-wide, namespace: shop}
spec:
  host: "*.shop.svc.cluster.local"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web-second}
spec:
  host: web
  subsets: [{name: v3, labels: {version: v3}}]
`;
    const x = translate(`${webServices({ v1: 15101, v2: 15102 })}---\n${WEB_SUBSETS}---\n${webGateway()}---\n${webSplit([80, 20])}${OTHER}${wildcard}`);
    const byName = new Map<string, any>(x.static_resources.clusters.map((k: any) => [k.name, k]));
    expect(byName.get('outbound|7000||other.shop.svc.cluster.local')?.metadata?.filter_metadata.istio.config).toBe('/apis/networking.istio.io/v1alpha3/namespaces/shop/destination-rule/shop-wide');
    expect(byName.get('outbound|5005|v3|web.default.svc.cluster.local')?.metadata?.filter_metadata.istio.config).toBe('/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/web');
  });
});
