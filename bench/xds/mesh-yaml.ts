// A synthetic mesh as Istio YAML for the control-plane convergence benchmark: N services, each a
// ServiceEntry with M static endpoints and a VirtualService bound to the mesh, plus one Gateway
// that the bench's stock Envoy serves. Service 0 ("the hot service") lives in its own file so
// that a change (its route's header value, or one of its endpoints) is one small file write,
// and its endpoints are real local servers so that Envoy's answers say which version routed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_NAMESPACE = 'bench';
export const BENCH_GATEWAY = 'bench-gateway';
/** Labels the bench's stock Envoy gateway sends (the Gateway's selector). */
export const GATEWAY_LABELS = { istio: 'benchgateway' } as const;
/** The header the hot service's route sets; the upstream echoes it back. */
export const VERSION_HEADER = 'x-bench-version';

export interface MeshShape {
  services: number;
  endpointsPerService: number;
}

export interface HotState {
  /** Value the hot route sets in VERSION_HEADER (a VirtualService change bumps it). */
  routeVersion: number;
  /** Which of two ports the hot service's last endpoint uses (an endpoint change flips it). */
  endpointFlip: 0 | 1;
}

export interface HotUpstream {
  /** Ports of the hot service's endpoints (the last one alternates with `spare`). */
  ports: number[];
  spare: number;
}

export const serviceHost = (i: number): string => `svc-${i}.${BENCH_NAMESPACE}.svc.cluster.local`;

/** The addresses of service i's endpoints (10.x.y.z, never dialled: only the hot service is). */
function endpointAddress(i: number, e: number): string {
  return `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`;
}

function serviceEntry(i: number, endpoints: Array<{ address: string; port: number }>): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${i}, namespace: ${BENCH_NAMESPACE}}
spec:
  hosts: [${serviceHost(i)}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  endpoints:
${endpoints.map((e) => `  - {address: ${e.address}, ports: {http: ${e.port}}, labels: {app: svc-${i}}}`).join('\n')}
`;
}

function virtualService(i: number, gateways: string[], headerValue: string | null): string {
  const headers = headerValue === null ? '' : `\n    headers: {request: {set: {${VERSION_HEADER}: "${headerValue}"}}}`;
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: ${BENCH_NAMESPACE}}
spec:
  hosts: [${serviceHost(i)}]
  gateways: [${gateways.join(', ')}]
  http:
  - match: [{uri: {prefix: /api/}}]
    timeout: 5s
    route: [{destination: {host: ${serviceHost(i)}, port: {number: 80}}}]
  - route: [{destination: {host: ${serviceHost(i)}, port: {number: 80}}}]${headers}
`;
}

/** The hot service's file: its ServiceEntry (real endpoints), VirtualService and the Gateway. */
export function hotYaml(shape: MeshShape, up: HotUpstream, state: HotState, gatewayPort: number): string {
  const ports = [...up.ports];
  if (state.endpointFlip === 1) ports[ports.length - 1] = up.spare;
  const endpoints = ports.slice(0, shape.endpointsPerService).map((port) => ({ address: '127.0.0.1', port }));
  return [
    serviceEntry(0, endpoints),
    virtualService(0, ['mesh', `${BENCH_NAMESPACE}/${BENCH_GATEWAY}`], String(state.routeVersion)),
    `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${BENCH_GATEWAY}, namespace: ${BENCH_NAMESPACE}}
spec:
  selector: {istio: ${GATEWAY_LABELS.istio}}
  servers: [{port: {number: ${gatewayPort}, name: http, protocol: HTTP}, bind: 127.0.0.1, hosts: ["*/*"]}]
`,
  ].join('---\n');
}

/** Every other service: one file of ServiceEntries, one of VirtualServices. */
export function restYaml(shape: MeshShape): { services: string; virtualServices: string } {
  const se: string[] = [];
  const vs: string[] = [];
  for (let i = 1; i < shape.services; i++) {
    const endpoints = Array.from({ length: shape.endpointsPerService }, (_, e) => ({ address: endpointAddress(i, e), port: 8080 }));
    se.push(serviceEntry(i, endpoints));
    vs.push(virtualService(i, ['mesh'], null));
  }
  return { services: se.join('---\n'), virtualServices: vs.join('---\n') };
}

export const HOT_FILE = 'hot.yaml';

/** Writes the mesh into `dir` (three files); returns the hot file's path. */
export function writeMesh(dir: string, shape: MeshShape, up: HotUpstream, state: HotState, gatewayPort: number): string {
  if (!(shape.services >= 2) || !(shape.endpointsPerService >= 1) || up.ports.length < shape.endpointsPerService) {
    throw new Error(`bench:xds: a mesh needs at least 2 services and 1 endpoint each, and a port per hot endpoint (got ${JSON.stringify(shape)}, ${up.ports.length} ports)`);
  }
  const rest = restYaml(shape);
  writeFileSync(join(dir, 'services.yaml'), rest.services);
  writeFileSync(join(dir, 'virtual-services.yaml'), rest.virtualServices);
  const hot = join(dir, HOT_FILE);
  writeFileSync(hot, hotYaml(shape, up, state, gatewayPort));
  return hot;
}
