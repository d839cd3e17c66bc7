// Where the Envoy translation puts envoy.filters.http.grpc_web (Istio: on a listener whose port
// protocol is GRPC-Web): a gateway with a GRPC-Web server gets it after the security filters and
// before the router, a gateway with only HTTP servers does not; the mesh's outbound listener gets
// it when a service has a grpc-web port; the filters translation (envoy-config --filters) keeps it,
// before its wasm filters. The traffic itself: test/interop/grpc-web-planes.test.ts.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const se = (protocol: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter}
spec:
  hosts: [greeter.example.internal]
  ports: [{number: 50051, name: p, protocol: ${protocol}}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`;
const gateway = (protocol: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 80, name: web, protocol: ${protocol}}, hosts: ['*']}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*']
  gateways: [gw]
  http: [{route: [{destination: {host: greeter.example.internal}}]}]
`;

type Obj = Record<string, unknown>;
const LISTEN = { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } };
function filterNames(config: Obj): string[] {
  const listener = ((config.static_resources as Obj).listeners as Obj[])[0]!;
  const hcm = (((listener.filter_chains as Obj[])[0]!.filters as Obj[])[0]!.typed_config as Obj);
  return (hcm.http_filters as Obj[]).map((f) => f.name as string);
}

describe('envoy.filters.http.grpc_web in the Envoy translation', () => {
  it('a gateway with a GRPC-Web server: before the router; with HTTP servers only: absent', () => {
    const web = loadConfig([tempYaml({ 'a.yaml': se('GRPC'), 'b.yaml': gateway('GRPC-Web') }).dir], { gateway: 'gw' });
    const names = filterNames(envoyBootstrap(web, { ...LISTEN, gateway: 'gw' }).config);
    expect(names).toContain('envoy.filters.http.grpc_web');
    expect(names.indexOf('envoy.filters.http.grpc_web')).toBeLessThan(names.indexOf('envoy.filters.http.router'));
    const plain = loadConfig([tempYaml({ 'a.yaml': se('GRPC'), 'b.yaml': gateway('HTTP') }).dir], { gateway: 'gw' });
    expect(filterNames(envoyBootstrap(plain, { ...LISTEN, gateway: 'gw' }).config)).not.toContain('envoy.filters.http.grpc_web');
  });

  it('the mesh outbound listener: when a service port is GRPC-Web', () => {
    const web = loadConfig([tempYaml({ 'a.yaml': se('GRPC-Web') }).dir], {});
    expect(filterNames(envoyBootstrap(web, LISTEN).config)).toContain('envoy.filters.http.grpc_web');
    const grpcOnly = loadConfig([tempYaml({ 'a.yaml': se('GRPC') }).dir], {});
    expect(filterNames(envoyBootstrap(grpcOnly, LISTEN).config)).not.toContain('envoy.filters.http.grpc_web');
  });

  it('the filters translation keeps it, before the wasm filters', () => {
    const web = loadConfig([tempYaml({ 'a.yaml': se('GRPC'), 'b.yaml': gateway('GRPC-Web') }).dir], { gateway: 'gw' });
    const names = filterNames(envoyFiltersBootstrap(web, { ...LISTEN, gateway: 'gw', wasmPath: '/nonexistent/filters.wasm' }).config);
    expect(names.indexOf('envoy.filters.http.grpc_web')).toBe(0);
    expect(names.indexOf('envoy.filters.http.wasm')).toBeGreaterThan(0);
  });
});
