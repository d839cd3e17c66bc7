// The protocol of a service port as Istio selects it
// (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/): a
// ServiceEntry port's `protocol`, a Kubernetes port's `appProtocol`, else the port name's prefix
// up to the first `-` (`http-web` → HTTP, `grpc-web` → GRPC_WEB). A port that names none is
// AUTO: the proxy sniffs the first bytes (HTTP/1.x, the HTTP/2 preface, else TCP).
//
// How the data path carries each (carriedAs): HTTP routes and HTTP/1.1 upstream for HTTP; HTTP
// routes and HTTP/2 upstream for HTTP2, GRPC and GRPC_WEB (Istio's IsHTTP2: a grpc-web port's
// requests reach it as gRPC, translated by the grpc_web filter); a byte proxy for TCP, TLS, HTTPS
// (a sidecar passes TLS through, routing by SNI), MONGO, MYSQL and REDIS (Istio's MySQL and Redis
// filters are off by default: plain TCP); UDP is not proxied.

export type PortProtocol =
  | 'HTTP'
  | 'HTTP2'
  | 'GRPC'
  | 'GRPC_WEB'
  | 'HTTPS'
  | 'TLS'
  | 'TCP'
  | 'MONGO'
  | 'MYSQL'
  | 'REDIS'
  | 'UDP'
  | 'AUTO';

const BY_NAME: ReadonlyMap<string, PortProtocol> = new Map<string, PortProtocol>([
  ['http', 'HTTP'],
  ['http2', 'HTTP2'],
  ['grpc', 'GRPC'],
  ['grpc-web', 'GRPC_WEB'],
  ['https', 'HTTPS'],
  ['tls', 'TLS'],
  ['tcp', 'TCP'],
  ['mongo', 'MONGO'],
  ['mysql', 'MYSQL'],
  ['redis', 'REDIS'],
  ['udp', 'UDP'],
]);

/** A protocol name as Istio writes it (`HTTP2`, `grpc-web`, `GRPC_WEB`; any case) → its protocol, or null for a name Istio does not know. */
export function protocolFromName(name: string): PortProtocol | null {
  return BY_NAME.get(name.toLowerCase().replace('_', '-')) ?? null;
}

/**
 * A port's protocol: an explicit `protocol` (ServiceEntry, Gateway) or `appProtocol`
 * (Kubernetes) wins; else the name's prefix (`grpc-web…` as a whole, else up to the first `-`);
 * else AUTO. An unknown explicit protocol is AUTO too (Istio treats it as unsupported and sniffs).
 */
export function portProtocol(port: { protocol?: string | undefined; appProtocol?: string | undefined; name?: string | undefined }): PortProtocol {
  const explicit = port.protocol ?? port.appProtocol;
  if (explicit !== undefined && explicit !== '') return protocolFromName(explicit) ?? 'AUTO';
  const name = (port.name ?? '').toLowerCase();
  if (name === '') return 'AUTO';
  if (name === 'grpc-web' || name.startsWith('grpc-web-')) return 'GRPC_WEB';
  const dash = name.indexOf('-');
  return protocolFromName(dash < 0 ? name : name.slice(0, dash)) ?? 'AUTO';
}

/** How the data path carries a port's traffic. */
export type Carriage = 'http1' | 'http2' | 'tcp' | 'sniff' | 'none';

export function carriedAs(p: PortProtocol): Carriage {
  switch (p) {
    case 'HTTP':
      return 'http1';
    case 'HTTP2':
    case 'GRPC':
    case 'GRPC_WEB':
      return 'http2';
    case 'HTTPS':
    case 'TLS':
    case 'TCP':
    case 'MONGO':
    case 'MYSQL':
    case 'REDIS':
      return 'tcp';
    case 'AUTO':
      return 'sniff';
    case 'UDP':
      return 'none';
  }
}

/** The port is routed by HTTP routes (VirtualService `http:`), not `tcp:`/`tls:` routes. */
export function isHttpProtocol(p: PortProtocol): boolean {
  const c = carriedAs(p);
  return c === 'http1' || c === 'http2';
}
