// The filter chain as data (host/server/http-filters.ts): a route gets only the filters its
// config asks for, in Istio's order, and the terminal filter its action calls for.
import { describe, expect, it } from 'vitest';
import { Core } from '../../host/core/wasm.js';
import { ROUTE_FILTERS, listenerFilters, terminalFilter } from '../../host/server/http-filters.js';
import { filterDeps } from '../helpers/filter-deps.js';
import { grpcWebFilter } from '../../host/http/filters/grpc-web.js';
import { filterChain } from '../../host/http/route-config.js';
import type { RouterRoute } from '../../host/router/router-filter.js';
import { dest, route } from '../helpers/mesh-fixtures.js';
import type { Route } from '../../host/model/mesh.js';
import { SpanExporters } from '../../host/telemetry/tracing/span-exporter.js';
import { SpanIds } from '../../host/telemetry/tracing/span-ids.js';

const core = new Core();
const deps = filterDeps(core, 80);

function chainOf(r: Route): { names: string[]; terminal: string; shared: boolean } {
  const names: string[] = [];
  const factories = [];
  for (const f of ROUTE_FILTERS) {
    const factory = f.forRoute(r, deps);
    if (factory) {
      names.push(f.name);
      factories.push(factory);
    }
  }
  let routerBuilt = false;
  const terminal = terminalFilter(r, deps, () => ((routerBuilt = true), {} as RouterRoute));
  const chain = filterChain(factories, terminal);
  return { names, terminal: routerBuilt ? 'router' : 'local', shared: chain.shared !== null };
}

describe('the HTTP filter chain', () => {
  it('a plain route has no filter but the router: nothing else runs for it', () => {
    expect(chainOf(route('r', [dest('c')]))).toEqual({ names: [], terminal: 'router', shared: true });
  });

  it('CORS then fault, each only where configured; a fault filter keeps per-stream state (its delay)', () => {
    const cors = { allowOrigins: [{ kind: 'exact' as const, value: 'https://a' }], allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: null, allowCredentials: null, unmatchedPreflights: 'FORWARD' as const };
    const fault = { delay: { fixedDelayMs: 10, percentage: 50 }, abort: null };
    expect(chainOf(route('r', [dest('c')], { cors }))).toEqual({ names: ['cors'], terminal: 'router', shared: true });
    expect(chainOf(route('r', [dest('c')], { cors, fault }))).toEqual({ names: ['cors', 'fault'], terminal: 'router', shared: false });
    // A fault that can never fire is no filter at all.
    expect(chainOf(route('r', [dest('c')], { fault: { delay: { fixedDelayMs: 10, percentage: 0 }, abort: null } })).names).toEqual([]);
  });

  it('a redirect or direct response ends the chain instead of the router', () => {
    expect(chainOf(route('r', [], { redirect: { redirectCode: 301, uri: '/x' } as never })).terminal).toBe('local');
    expect(chainOf(route('r', [], { directResponse: { status: 200, body: 'ok' } })).terminal).toBe('local');
  });

  it('every request gets the forwarded headers; the access log only when there is a sink', () => {
    expect(listenerFilters(deps)).toHaveLength(1);
    expect(listenerFilters({ ...deps, accessLog: () => {} })).toHaveLength(2);
  });

  it('a route with local rate limit rules gets the local_ratelimit filter after CORS and fault, shared; others none', () => {
    const rule = { name: 'ns/p/local/0@r', bucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 }, descriptor: [], maxDynamicDescriptors: 20, responseHeaders: true };
    const cors = { allowOrigins: [{ kind: 'exact' as const, value: 'https://a' }], allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: null, allowCredentials: null, unmatchedPreflights: 'FORWARD' as const };
    expect(chainOf(route('r', [dest('c')], { cors, rateLimit: { local: [rule], global: [] } }))).toEqual({ names: ['cors', 'local_ratelimit'], terminal: 'router', shared: true });
    expect(chainOf(route('r', [dest('c')], { rateLimit: { local: [], global: [] } })).names).toEqual([]);
  });

  it('tracing adds one listener filter after the access log, before the policies; without a tracing config, none', () => {
    const withTracing = { ...deps, tracing: { exporters: new SpanExporters(deps.stats), ids: new SpanIds(1), kind: 'CLIENT' as const } };
    const plain = listenerFilters(withTracing, undefined, { mesh: { virtualHosts: [], clusters: [] } });
    expect(plain).toHaveLength(1);
    const mesh = { virtualHosts: [], clusters: [], tracing: { provider: { name: 'z', kind: 'zipkin' as const, service: '127.0.0.1', port: 9, path: '/api/v2/spans', maxTagLength: 256 }, samplingPercentage: 1, customTags: [], disableSpanReporting: false } };
    const jwt = { onRequestHeaders: () => 0 };
    const traced = listenerFilters(withTracing, undefined, { mesh, jwt });
    expect(traced).toHaveLength(3);
    expect(traced[1]!.onLog).toBeTypeOf('function');
    expect(traced[2]).toBe(jwt);
    // No server tracing parts (a test server): no filter either.
    expect(listenerFilters(deps, undefined, { mesh })).toHaveLength(1);
  });

  it('proxy-wide local rules add one listener filter; without them, none', () => {
    const rule = { name: 'ns/p/local/0', bucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 }, descriptor: [], maxDynamicDescriptors: 20, responseHeaders: true };
    expect(listenerFilters(deps, undefined, { mesh: { virtualHosts: [], clusters: [], rateLimit: { local: [rule], services: [] } } })).toHaveLength(2);
    expect(listenerFilters(deps, undefined, { mesh: { virtualHosts: [], clusters: [], rateLimit: { local: [], services: [] } } })).toHaveLength(1);
  });
});

describe('grpc_web', () => {
  const cluster = (protocol?: string) => ({ name: 'c', host: 'c.test', port: 80, subset: null, lb: 'ROUND_ROBIN', endpoints: [], ...(protocol === undefined ? {} : { protocol }) }) as never;
  const gw = (grpcWeb?: boolean) => ({ port: 8080, tls: false, servers: [], ...(grpcWeb === undefined ? {} : { grpcWeb }) });

  it('a sidecar or standalone proxy: after the forwarded headers when the version has a grpc-web service port; absent otherwise', () => {
    const f = listenerFilters(deps, undefined, { mesh: { virtualHosts: [], clusters: [cluster('HTTP'), cluster('GRPC_WEB')] } });
    expect(f).toHaveLength(2);
    expect(f[1]).toBe(grpcWebFilter);
    // gRPC and HTTP/2 ports alone do not get it (Istio keys it on the GRPC-Web protocol).
    expect(listenerFilters(deps, undefined, { mesh: { virtualHosts: [], clusters: [cluster('HTTP'), cluster('GRPC'), cluster('HTTP2'), cluster()] } })).toHaveLength(1);
  });

  it('a gateway port: when one of its servers is GRPC-Web, whatever the clusters', () => {
    const mesh = { virtualHosts: [], clusters: [cluster('GRPC_WEB')] };
    const on = listenerFilters(deps, gw(true), { mesh });
    expect(on.includes(grpcWebFilter)).toBe(true);
    expect(on.indexOf(grpcWebFilter)).toBe(1);
    expect(listenerFilters(deps, gw(), { mesh }).includes(grpcWebFilter)).toBe(false);
    expect(listenerFilters(deps, gw(false), { mesh }).includes(grpcWebFilter)).toBe(false);
  });
});
