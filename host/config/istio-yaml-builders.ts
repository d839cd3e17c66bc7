// Istio YAML documents written from values, in the flow style people write by hand: a Gateway
// (ingress selector, servers), a STATIC ServiceEntry with one endpoint, a VirtualService bound to
// a gateway (HTTP and TCP routes), a DestinationRule with a traffic policy, and the mesh mTLS
// set: a PeerAuthentication, a MESH_INTERNAL ServiceEntry selecting WorkloadEntries, a
// WorkloadEntry (with Istio's tlsMode label for auto mTLS). The configurations the
// tests and the benchmarks load are built with these (bench/ may not import test/, so they live
// here, beside the loader that reads them back). Plain text, no dependency: nothing here is
// validated; loadConfig is what checks the result.

/** A Service or Gateway port: `{number, name, protocol}`. */
export interface IstioPort {
  readonly number: number;
  readonly name: string;
  readonly protocol: string;
}

const flowPort = (p: IstioPort): string => `{number: ${p.number}, name: ${p.name}, protocol: ${p.protocol}}`;
const flowList = (items: readonly string[]): string => `[${items.join(', ')}]`;
/** An address as a flow value: IPv6 quoted (`'::1'`: a plain scalar may not start with `:`), others bare. */
const flowAddress = (a: string): string => (a.includes(':') ? `'${a}'` : a);
const quoted = (hosts: readonly string[]): string => flowList(hosts.map((h) => `'${h}'`));

/** Documents joined into one YAML stream. */
export function yamlDocs(...docs: readonly string[]): string {
  return docs.join('---\n');
}

/** A Gateway server: `port` for `hosts` (default every host), listening on `bind` when given. */
export interface GatewayServer {
  readonly port: IstioPort;
  readonly hosts?: readonly string[];
  readonly bind?: string;
}

/** The plain HTTP server most gateways here have: port 80 named http, every host. */
export const HTTP_80: GatewayServer = { port: { number: 80, name: 'http', protocol: 'HTTP' } };

/** `metadata` in flow style: the name, and the namespace when given. */
const flowMetadata = (name: string, namespace?: string): string => `{name: ${name}${namespace === undefined ? '' : `, namespace: ${namespace}`}}`;
/** A label map in flow style (keys as they are: `security.istio.io/tlsMode` needs no quotes). */
const flowLabels = (labels: Readonly<Record<string, string>>): string => `{${Object.entries(labels).map(([k, v]) => `${k}: ${v}`).join(', ')}}`;

/** A Gateway `name` selecting the ingress gateway (`istio: ingressgateway`), with `servers` (in `namespace` when given). */
export function gatewayYaml(name: string, servers: readonly GatewayServer[] = [HTTP_80], namespace?: string): string {
  const items = servers.map((s) => `{port: ${flowPort(s.port)}, hosts: ${quoted(s.hosts ?? ['*'])}${s.bind === undefined ? '' : `, bind: ${s.bind}`}}`);
  const list = items.length === 1 ? ` [${items[0]}]\n` : `\n${items.map((s) => `  - ${s}\n`).join('')}`;
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: ${flowMetadata(name, namespace)}
spec:
  selector: {istio: ingressgateway}
  servers:${list}`;
}

/**
 * A VirtualService `name` for every host, bound to `gateway`: `http` and `tcp` are its routes,
 * one YAML list item each without the dash (routeTo, tcpRouteTo, or any route written out).
 */
export function gatewayVirtualServiceYaml(v: { readonly name: string; readonly gateway: string; readonly http?: readonly string[]; readonly tcp?: readonly string[]; readonly namespace?: string }): string {
  const routes = (kind: string, items: readonly string[] | undefined): string => (items === undefined ? '' : `  ${kind}:\n${items.map((r) => `  - ${r}\n`).join('')}`);
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: ${flowMetadata(v.name, v.namespace)}
spec:
  hosts: ['*']
  gateways: [${v.gateway}]
${routes('http', v.http)}${routes('tcp', v.tcp)}`;
}

/** An HTTP route to `host`, matched on a URI prefix when one is given. */
export function routeTo(host: string, prefix?: string): string {
  const route = `route: [{destination: {host: ${host}}}]`;
  return prefix === undefined ? route : `match: [{uri: {prefix: ${prefix}}}]\n    ${route}`;
}

/** A TCP route to `host` for connections to the gateway's `port`. */
export function tcpRouteTo(host: string, port: number): string {
  return tcpRoute({ port }, [{ host }]);
}

/** A route destination: `host` (at its `port` when given), taking `weight` of the traffic when given. */
export interface RouteDestination {
  readonly host: string;
  readonly port?: number;
  readonly weight?: number;
}

/** A TCP route for connections to the gateway's `match.port` (within `destinationSubnets` when given), over `to`. */
export function tcpRoute(match: { readonly port: number; readonly destinationSubnets?: readonly string[] }, to: readonly RouteDestination[]): string {
  const subnets = match.destinationSubnets === undefined ? '' : `, destinationSubnets: ${flowList(match.destinationSubnets)}`;
  const destinations = to.map((d) => `{destination: {host: ${d.host}${d.port === undefined ? '' : `, port: {number: ${d.port}}`}}${d.weight === undefined ? '' : `, weight: ${d.weight}`}}`);
  return `match: [{port: ${match.port}${subnets}}]\n    route: ${flowList(destinations)}`;
}

/** A MESH_EXTERNAL ServiceEntry `name` for `host`, STATIC, its one endpoint at `address` (default 127.0.0.1; IPv6 as it is, `::1`) on `endpointPort`. */
export function staticServiceEntryYaml(e: { readonly name: string; readonly host: string; readonly port: IstioPort; readonly endpointPort: number; readonly address?: string }): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${e.name}}
spec:
  hosts: [${e.host}]
  ports: [${flowPort(e.port)}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${flowAddress(e.address ?? '127.0.0.1')}, ports: {${e.port.name}: ${e.endpointPort}}}]
`;
}

/** A DestinationRule `name` for `host` with `trafficPolicy` (YAML lines, indented by four here). */
export function destinationRuleYaml(name: string, host: string, trafficPolicy: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${host}
  trafficPolicy:
${trafficPolicy.split('\n').filter((l) => l !== '').map((l) => `    ${l}\n`).join('')}`;
}

/** A PeerAuthentication `name` (default `default` in istio-system: mesh-wide) with `mode`. */
export function peerAuthenticationYaml(mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE', name = 'default', namespace = 'istio-system'): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: ${flowMetadata(name, namespace)}
spec: {mtls: {mode: ${mode}}}
`;
}

/**
 * A MESH_INTERNAL ServiceEntry `name` for `host` (or several), STATIC, at the VIPs `addresses`
 * when given, its endpoints the WorkloadEntries `selector` selects.
 */
export function meshServiceEntryYaml(e: { readonly name: string; readonly namespace?: string; readonly host: string | readonly string[]; readonly addresses?: readonly string[]; readonly port: IstioPort; readonly selector: Readonly<Record<string, string>> }): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: ${flowMetadata(e.name, e.namespace)}
spec:
  hosts: ${flowList(typeof e.host === 'string' ? [e.host] : e.host)}
${e.addresses === undefined ? '' : `  addresses: ${quoted(e.addresses)}\n`}  ports: [${flowPort(e.port)}]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: ${flowLabels(e.selector)}}
`;
}

/**
 * A WorkloadEntry `name` at `address` running as `serviceAccount`, with `labels` (add
 * `security.istio.io/tlsMode: istio` for auto mTLS) and its port numbers by port name (none:
 * the ServiceEntry's port numbers, as Istio takes them).
 */
export function workloadEntryYaml(w: { readonly name: string; readonly namespace?: string; readonly address: string; readonly serviceAccount: string; readonly labels: Readonly<Record<string, string>>; readonly ports?: Readonly<Record<string, number>> }): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: ${flowMetadata(w.name, w.namespace)}
spec:
  address: ${flowAddress(w.address)}
  serviceAccount: ${w.serviceAccount}
  labels: ${flowLabels(w.labels)}
${w.ports === undefined ? '' : `  ports: {${Object.entries(w.ports).map(([k, v]) => `${k}: ${v}`).join(', ')}}\n`}`;
}
