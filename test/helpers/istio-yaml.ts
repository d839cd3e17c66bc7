// Istio YAML documents for config tests, in the flow style the tests read: the ingress Gateway
// `gw` on port 80, a VirtualService bound to it, a MESH_EXTERNAL ServiceEntry with one static
// endpoint on 127.0.0.1, a DestinationRule with a traffic policy. Each returns one document;
// yamlDocs() joins them into one file.

/** The Gateway's plain HTTP server: port 80, every host. */
export const HTTP_80 = "{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}";

/** Documents joined into one YAML stream. */
export function yamlDocs(...docs: string[]): string {
  return docs.join('---\n');
}

/** A Gateway selecting the ingress gateway, with `servers` (flow mappings; default HTTP_80). */
export function gateway(name = 'gw', servers: readonly string[] = [HTTP_80]): string {
  const list = servers.length === 1 ? ` [${servers[0]}]` : `\n${servers.map((s) => `  - ${s}\n`).join('')}`;
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: {istio: ingressgateway}
  servers:${list}${servers.length === 1 ? '\n' : ''}`;
}

/** A VirtualService for every host on `gateway`: `http` are its HTTP routes, one YAML list item each (without the dash). */
export function gatewayVirtualService(http: readonly string[], opts: { name?: string; gateway?: string } = {}): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${opts.name ?? 'vs'}}
spec:
  hosts: ['*']
  gateways: [${opts.gateway ?? 'gw'}]
  http:
${http.map((r) => `  - ${r}\n`).join('')}`;
}

/** A route to `host` (an HTTP route item), matched on a URI prefix when one is given. */
export function routeTo(host: string, prefix?: string): string {
  const route = `route: [{destination: {host: ${host}}}]`;
  return prefix === undefined ? route : `match: [{uri: {prefix: ${prefix}}}]\n    ${route}`;
}

/**
 * A MESH_EXTERNAL ServiceEntry `name` for `<name>.example.internal`, STATIC, its one endpoint on
 * 127.0.0.1:`endpointPort`. `port`: the port's flow mapping, e.g. `{number: 8080, name: http, protocol: HTTP}`.
 */
export function staticServiceEntry(name: string, port: string, endpointPort: number): string {
  const portName = /name: ([\w-]+)/.exec(port)?.[1];
  if (portName === undefined) throw new Error(`staticServiceEntry: the port ${port} has no name`);
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.example.internal]
  ports: [${port}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {${portName}: ${endpointPort}}}]
`;
}

/** A DestinationRule `name` for `<name>.example.internal` with `trafficPolicy` (YAML lines, indented by four). */
export function destinationRule(name: string, trafficPolicy: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.example.internal
  trafficPolicy:
${trafficPolicy.split('\n').filter((l) => l !== '').map((l) => `    ${l}\n`).join('')}`;
}
