// `wasmesh envoy-config` end to end below the process: real Istio YAML through host/config's
// loader into the bootstrap, including what only the raw resources carry (retries,
// DestinationRule traffic policies), and the command's exit codes and streams.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../../host/cli/args.js';
import { fakeIo } from '../helpers/fake-io.js';
import { envoyConfigCommand } from '../../host/cli/envoy-config-command.js';
import { gatewayYaml, HTTP_80, staticServiceEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
function routesOf(config: any): any[] {
  return config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts.flatMap((v: any) => v.routes);
}

const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-config-'));

/** A Gateway with an HTTP and a TCP server, the TCP one routed to a ServiceEntry. */
const TCP_YAML = yamlDocs(
  staticServiceEntryYaml({ name: 'echo', host: 'echo.example.internal', port: { number: 7000, name: 'tcp', protocol: 'TCP' }, endpointPort: 9000 }),
  gatewayYaml('gw', [HTTP_80, { port: { number: 31400, name: 'tcp', protocol: 'TCP' } }]),
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp}
spec:
  hosts: ['*']
  gateways: [gw]
  tcp: [{match: [{port: 31400}], route: [{destination: {host: echo.example.internal}}]}]
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wasmesh envoy-config', () => {
  it('examples/000-web-demo as the gateway: the later VirtualService (5/95) wins, as in wasmesh proxy', async () => {
    const io = fakeIo();
    const code = await envoyConfigCommand(['-f', 'examples/000-web-demo', '--listen', '127.0.0.1:8081', '--gateway', 'web-gateway', '--admin', '127.0.0.1:15001'], io);
    expect(code).toBe(0);
    const config = parse(io.stdout);
    expect(config.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 15001 });
    const routes = routesOf(config);
    expect(routes).toHaveLength(1);
    expect(routes[0].route.weighted_clusters.clusters).toEqual([
      { name: 'outbound|5005|v1|web.default.svc.cluster.local', weight: 5 },
      { name: 'outbound|5005|v2|web.default.svc.cluster.local', weight: 95 },
    ]);
    const ports = config.static_resources.clusters
      .filter((c: any) => c.name.includes('|v'))
      .map((c: any) => [c.name, c.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.port_value)]);
    expect(ports).toEqual([['outbound|5005|v1|web.default.svc.cluster.local', [15101]], ['outbound|5005|v2|web.default.svc.cluster.local', [15102]]]);
    // The loader's own warnings reach the user too (the 80/20 VirtualService was replaced).
    expect(io.stderr).toMatch(/wasmesh envoy-config: warning: .*replaces the VirtualService/);
  });

  it('weights of any total are emitted as written, without total_weight (Envoy v3 splits over their sum)', async () => {
    const file = join(dir, 'weights.yaml');
    writeFileSync(file, `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route:
    - {destination: {host: web, subset: v1}, weight: 1}
    - {destination: {host: web, subset: v2}, weight: 3}
`);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8081', '--gateway', 'gw'], io)).toBe(0);
    const weighted = routesOf(parse(io.stdout))[0].route.weighted_clusters;
    expect(weighted).toEqual({
      clusters: [{ name: 'outbound|0|v1|web.default.svc.cluster.local', weight: 1 }, { name: 'outbound|0|v2|web.default.svc.cluster.local', weight: 3 }],
    });
  });

  it('config asking for protection it cannot enforce: exit 1 with the located error; --allow-unenforced-security prints it NOT ENFORCED', async () => {
    const file = join(dir, 'authz.yaml');
    writeFileSync(file, `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: x}
spec: {mtls: {mode: STRICT}}
`);
    const refused = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8081', '--gateway', 'gw'], refused)).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`${file}:10 (document 2) PeerAuthentication default/x: spec.mtls.mode: PeerAuthentication default/x cannot be enforced by this version:`);
    expect(refused.stderr).toContain('refusing to serve open');
    const allowed = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8081', '--gateway', 'gw', '--allow-unenforced-security'], allowed)).toBe(0);
    expect(allowed.stderr.match(/NOT ENFORCED/g)).toHaveLength(1);
    expect(allowed.stdout).toMatch(/^# warning: .*PeerAuthentication default\/x: spec.mtls.mode: NOT ENFORCED: /m);
  });

  it('an AuthorizationPolicy of the gateway\'s workload becomes Envoy\'s RBAC filter in the printed bootstrap; a bad one exits 1 located', async () => {
    const file = join(dir, 'authz-gw.yaml');
    const gw = `${gatewayYaml('gw')}---\n`;
    writeFileSync(file, `${gw}apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
`);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8081', '--gateway', 'gw'], io)).toBe(0);
    const filters = parse(io.stdout).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;
    expect(filters.map((f: any) => f.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.router']);
    expect(Object.keys(filters[0].typed_config.rules.policies)).toEqual(['ns[default]-policy[deny-admin]-rule[0]']);
    writeFileSync(file, `${gw}apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad}
spec:
  rules: [{from: [{source: {ipBlocks: [10.0.0.0/33]}}]}]
`);
    const bad = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8081', '--gateway', 'gw'], bad)).toBe(1);
    expect(bad.stderr).toContain(`${file}:12 (document 2) AuthorizationPolicy default/bad: spec.rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33": the prefix length must be 0-32`);
  });

  it('retries and DestinationRule policies come through the loader\'s model', async () => {
    const file = join(dir, 'policies.yaml');
    writeFileSync(file, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 10.0.0.7 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 64 }
      http: { http1MaxPendingRequests: 8 }
    outlierDetection: { consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 15s }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - name: main
    timeout: 10s
    retries: { attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure" }
    route:
    - destination: { host: ratings }
`);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:15001'], io)).toBe(0);
    const config = parse(io.stdout);
    const route = routesOf(config).find((r: any) => r.name === 'default/ratings/main');
    expect(route.route).toMatchObject({
      cluster: 'outbound|9080||ratings.default.svc.cluster.local',
      timeout: '10s',
      retry_policy: { num_retries: 3, per_try_timeout: '2s', retry_on: '5xx,connect-failure', host_selection_retry_max_attempts: 5 },
    });
    const cluster = config.static_resources.clusters.find((c: any) => c.name === 'outbound|9080||ratings.default.svc.cluster.local');
    expect(cluster.circuit_breakers.thresholds[0]).toMatchObject({ max_connections: 64, max_pending_requests: 8 });
    expect(cluster.outlier_detection).toEqual({
      consecutive_5xx: 3, enforcing_consecutive_5xx: 100, consecutive_gateway_failure: 5, enforcing_consecutive_gateway_failure: 0,
      enforcing_success_rate: 0, interval: '5s', base_ejection_time: '15s', max_ejection_percent: 10,
    });
    expect(cluster.lb_policy).toBe('LEAST_REQUEST');
    // Retries, the connection pool and outlier detection are served by wasmesh too: no warning.
    expect(io.stderr).not.toMatch(/retries.*not served yet/);
  });

  it('invalid config: exit 1 with the loader\'s located error, nothing on stdout', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: x }\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: { host: web }\n      weight: nope\n');
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:15001'], io)).toBe(1);
    expect(io.stdout).toBe('');
    expect(io.stderr).toMatch(/^wasmesh envoy-config: invalid config: .*bad\.yaml/s);
  });

  it('usage errors: missing -f or --listen', async () => {
    await expect(envoyConfigCommand(['--listen', '127.0.0.1:1'], fakeIo())).rejects.toThrowError(UsageError);
    await expect(envoyConfigCommand(['-f', 'examples/000-web-demo'], fakeIo())).rejects.toThrowError(/--listen <host:port> is required/);
  });

  it('--tcp-ports puts a Gateway TCP server\'s tcp_proxy listener where asked; bad maps and a missing --gateway are usage errors', async () => {
    const file = join(dir, 'tcp.yaml');
    writeFileSync(file, TCP_YAML);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--tcp-ports', '31400=127.0.0.1:9400'], io)).toBe(0);
    const tcp = parse(io.stdout).static_resources.listeners[1];
    expect(tcp.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9400 });
    expect(tcp.filter_chains[0].filters[0].typed_config.cluster).toBe('outbound|7000||echo.example.internal');
    await expect(envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--tcp-ports', '31400=127.0.0.1:9400'], fakeIo())).rejects.toThrowError(/--tcp-ports needs --gateway/);
    await expect(envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--tcp-ports', '31400'], fakeIo())).rejects.toThrowError(/--tcp-ports: "31400" is not <gateway port>=<host:port>/);
    const notTcp = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--tcp-ports', '80=127.0.0.1:9400'], notTcp)).toBe(1);
    expect(notTcp.stderr).toMatch(/--tcp-ports 80: Gateway port 80 is not a TCP server of the Gateway \(TCP ports: 31400\)/);
  });

  it('--port-map maps TCP ports too (the one flag for every Gateway port); --tcp-ports warns it is deprecated; an HTTP port\'s entry is warned and not used', async () => {
    const file = join(dir, 'tcp-port-map.yaml');
    writeFileSync(file, TCP_YAML);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--port-map', '80=127.0.0.1:8081,31400=127.0.0.1:9401'], io)).toBe(0);
    const listeners = parse(io.stdout).static_resources.listeners;
    expect(listeners).toHaveLength(2);
    expect(listeners[0].address.socket_address).toEqual({ address: '127.0.0.1', port_value: 8080 });
    expect(listeners[1].address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9401 });
    expect(listeners[1].filter_chains[0].filters[0].name).toBe('envoy.filters.network.tcp_proxy');
    expect(io.stderr).toMatch(/warning: --port-map 80: Gateway port 80 is not a TCP or TLS passthrough server of the Gateway; .*not used/);
    expect(io.stderr).not.toMatch(/deprecated/);
    const old = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--tcp-ports', '31400=127.0.0.1:9400'], old)).toBe(0);
    expect(old.stderr).toMatch(/warning: --tcp-ports is deprecated: --port-map maps TCP ports too/);
  });

  it('--help prints the flags', async () => {
    const io = fakeIo();
    expect(await envoyConfigCommand(['--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/--gateway/);
  });

  it('--port-map: a Gateway TLS passthrough port becomes a tls_inspector + tcp_proxy listener at the mapped address', async () => {
    const file = join(dir, 'passthrough.yaml');
    writeFileSync(file, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a}
spec:
  hosts: [a.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [a.example.com]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  tls:
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: a.example.com}}]
`);
    const io = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw', '--port-map', '443=127.0.0.1:8443'], io)).toBe(0);
    const l = parse(io.stdout).static_resources.listeners.find((x: any) => x.name === 'gateway_gw_443');
    expect(l.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 8443 });
    expect(l.listener_filters[0].name).toBe('envoy.filters.listener.tls_inspector');
    expect(l.filter_chains[0].filter_chain_match.server_names).toEqual(['a.example.com']);
    expect(l.filter_chains[0].filters[0].typed_config.cluster).toBe('outbound|443||a.example.com');
    // Without the map: the port is not translated, and the user is told.
    const bare = fakeIo();
    expect(await envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--gateway', 'gw'], bare)).toBe(0);
    expect(bare.stderr).toMatch(/warning: Gateway port 443 \(PASSTHROUGH\) has no address in the port map: not translated/);
    await expect(envoyConfigCommand(['-f', file, '--listen', '127.0.0.1:8080', '--port-map', '443=127.0.0.1:8443'], fakeIo())).rejects.toThrowError(/--port-map needs --gateway/);
  });
});
