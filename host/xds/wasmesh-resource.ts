// wasmesh's own xDS resource type: the resolved mesh a proxy serves (what `wasmesh proxy -f`
// resolves from the files itself), packed with msgpackr, as several resources of one type: a
// header named `proxy` (the control plane's version, the warnings, and the order of the virtual
// hosts and clusters), one `vh/<name>` per virtual host and one `c/<name>` per cluster. A change to
// one route or one endpoint is then one resource, which a delta stream sends alone (the whole
// mesh of a 1,000-service mesh is ~1.8 MB). They travel in google.protobuf.Any on the same ADS
// stream as Envoy's types, ACKed and NACKed like them; each body says what it is, because a
// state-of-the-world response carries bodies without names.
import { pack, unpack } from 'msgpackr';
import type { Cluster, MeshConfig, VirtualHost } from '../model/mesh.js';
import type { GatewayListener } from '../model/gateway-listener.js';
import type { EffectiveMtlsMode } from '../model/inbound-mtls.js';
import type { AuthzPolicy } from '../model/authorization.js';
import type { JwtRule } from '../model/jwt-rules.js';
import type { ExtAuthzProvider } from '../model/mesh-settings.js';
import type { RateLimitConfig } from '../model/rate-limit.js';
import type { TracingConfig } from '../model/tracing.js';
import type { MetricsOverrides } from '../model/metrics-overrides.js';
import type { GatewayTcpListener, TcpRoute } from '../model/tcp-route.js';
import type { GatewayPassthroughListener } from '../model/tls-route.js';

export const WASMESH_TYPE_URL = 'type.googleapis.com/wasmesh.v1.ProxyConfig';
/** The header resource's name. */
export const WASMESH_RESOURCE_NAME = 'proxy';

export interface WasmeshProxyConfig {
  /** The control plane's config version this mesh was resolved from. */
  version: string;
  mesh: MeshConfig;
  /** What the control plane warned about for this proxy's view. */
  warnings: string[];
}

export class WasmeshResourceError extends Error {
  readonly code = 'WASMESH_RESOURCE_INVALID';
  constructor(detail: string) {
    super(`wasmesh xDS resource: ${detail} (WASMESH_RESOURCE_INVALID)`);
    this.name = 'WasmeshResourceError';
  }
}

interface Header {
  version: string;
  warnings: string[];
  virtualHosts: string[];
  clusters: string[];
  /** A gateway's ports and servers, certificates inline (absent for a sidecar). */
  gatewayListeners?: GatewayListener[];
  /** A sidecar's inbound mTLS mode (PeerAuthentication composed for it). */
  inboundMtlsMode?: EffectiveMtlsMode;
  /** The AuthorizationPolicies that select the proxy (a policy lost on the way would serve open). */
  authorization?: readonly AuthzPolicy[];
  /** The RequestAuthentication rules that select the proxy (a rule lost on the way would let invalid tokens through). */
  jwtRules?: readonly JwtRule[];
  /** The ext_authz providers its CUSTOM policies name. */
  extAuthzProviders?: readonly ExtAuthzProvider[];
  /** RateLimitPolicy rules for every request (routes carry their own in their virtual host). */
  rateLimit?: RateLimitConfig;
  /** Distributed tracing (Telemetry API + meshConfig providers) for the proxy. */
  tracing?: TracingConfig;
  inboundTracing?: TracingConfig | null;
  /** RateLimitPolicy rules for a sidecar's inbound listener (context SIDECAR_INBOUND or ANY). */
  inboundRateLimit?: RateLimitConfig;
  /** Telemetry API metrics overrides (a lost one would show metrics the mesh disabled). */
  metricsOverrides?: MetricsOverrides;
  /** VirtualService `tcp:` and `tls:` routes, and a gateway's TCP and TLS passthrough ports (lost, a TCP port would be served as HTTP). */
  tcpRoutes?: readonly TcpRoute[];
  tlsRoutes?: readonly TcpRoute[];
  gatewayTcpListeners?: readonly GatewayTcpListener[];
  gatewayPassthroughListeners?: readonly GatewayPassthroughListener[];
}

/** The header's L4 fields: each a list when present. */
const L4_FIELDS = ['tcpRoutes', 'tlsRoutes', 'gatewayTcpListeners', 'gatewayPassthroughListeners'] as const;

const MTLS_MODES: readonly unknown[] = ['DISABLE', 'PERMISSIVE', 'STRICT'];

type Piece = ['proxy', Header] | ['vh', VirtualHost] | ['c', Cluster];

export interface WasmeshResourceBody {
  name: string;
  body: Uint8Array;
  /** What the resource's version hashes: the body, without the control plane's version for the header. */
  stable: Uint8Array;
}

/** A proxy's config as its resources: the header first, then virtual hosts and clusters. */
export function proxyConfigResources(c: WasmeshProxyConfig): WasmeshResourceBody[] {
  const header: Header = { version: c.version, warnings: c.warnings, virtualHosts: c.mesh.virtualHosts.map((v) => v.name), clusters: c.mesh.clusters.map((x) => x.name) };
  if (c.mesh.gatewayListeners !== undefined) header.gatewayListeners = c.mesh.gatewayListeners;
  if (c.mesh.inboundMtlsMode !== undefined) header.inboundMtlsMode = c.mesh.inboundMtlsMode;
  if (c.mesh.authorization !== undefined) header.authorization = c.mesh.authorization;
  if (c.mesh.jwtRules !== undefined) header.jwtRules = c.mesh.jwtRules;
  if (c.mesh.extAuthzProviders !== undefined) header.extAuthzProviders = c.mesh.extAuthzProviders;
  if (c.mesh.rateLimit !== undefined) header.rateLimit = c.mesh.rateLimit;
  if (c.mesh.tracing !== undefined) header.tracing = c.mesh.tracing;
  if (c.mesh.inboundTracing !== undefined) header.inboundTracing = c.mesh.inboundTracing;
  if (c.mesh.inboundRateLimit !== undefined) header.inboundRateLimit = c.mesh.inboundRateLimit;
  if (c.mesh.metricsOverrides !== undefined) header.metricsOverrides = c.mesh.metricsOverrides;
  for (const key of L4_FIELDS) if (c.mesh[key] !== undefined) Object.assign(header, { [key]: c.mesh[key] });
  const out: WasmeshResourceBody[] = [{
    name: WASMESH_RESOURCE_NAME,
    body: pack(['proxy', header] satisfies Piece),
    // The version inside must not make every push differ (an endpoint change leaves the header be).
    stable: pack(['proxy', { ...header, version: '' }] satisfies Piece),
  }];
  const names = new Set<string>();
  const add = (name: string, piece: Piece): void => {
    if (names.has(name)) throw new WasmeshResourceError(`two resources named ${name}`);
    names.add(name);
    const body = pack(piece);
    out.push({ name, body, stable: body });
  };
  for (const vh of c.mesh.virtualHosts) add(`vh/${vh.name}`, ['vh', vh]);
  for (const cl of c.mesh.clusters) add(`c/${cl.name}`, ['c', cl]);
  return out;
}

/**
 * The proxy's config from every resource of the type it holds (a state-of-the-world response's
 * bodies, or a delta stream's current set); checks the shape and that the header's virtual hosts
 * and clusters are all there (a malformed set is NACKed with this error's message).
 */
export function assembleProxyConfig(bodies: readonly Uint8Array[]): WasmeshProxyConfig {
  let header: Header | null = null;
  const hosts = new Map<string, VirtualHost>();
  const clusters = new Map<string, Cluster>();
  for (const bytes of bodies) {
    let v: unknown;
    try {
      v = unpack(bytes);
    } catch (err) {
      throw new WasmeshResourceError(`not msgpack: ${(err as Error).message}`);
    }
    if (!Array.isArray(v) || v.length !== 2 || v[1] === null || typeof v[1] !== 'object') throw new WasmeshResourceError('a resource is not [kind, value]');
    const [kind, value] = v as [unknown, Record<string, unknown>];
    if (kind === 'proxy') {
      const h = value as Partial<Header>;
      if (typeof h.version !== 'string') throw new WasmeshResourceError('version is not a string');
      if (!Array.isArray(h.warnings)) throw new WasmeshResourceError('warnings is not a list');
      if (!Array.isArray(h.virtualHosts) || !Array.isArray(h.clusters)) throw new WasmeshResourceError('the header lacks virtualHosts or clusters');
      if (h.gatewayListeners !== undefined && !Array.isArray(h.gatewayListeners)) throw new WasmeshResourceError('gatewayListeners is not a list');
      if (h.inboundMtlsMode !== undefined && !MTLS_MODES.includes(h.inboundMtlsMode)) throw new WasmeshResourceError(`inboundMtlsMode ${JSON.stringify(h.inboundMtlsMode)} is not DISABLE, PERMISSIVE or STRICT`);
      if (h.authorization !== undefined && !Array.isArray(h.authorization)) throw new WasmeshResourceError('authorization is not a list');
      if (h.jwtRules !== undefined && !Array.isArray(h.jwtRules)) throw new WasmeshResourceError('jwtRules is not a list');
      if (h.extAuthzProviders !== undefined && !Array.isArray(h.extAuthzProviders)) throw new WasmeshResourceError('extAuthzProviders is not a list');
      for (const [key, rl] of [['rateLimit', h.rateLimit], ['inboundRateLimit', h.inboundRateLimit]] as const) {
        if (rl !== undefined && (rl === null || typeof rl !== 'object' || !Array.isArray(rl.local) || !Array.isArray(rl.services))) throw new WasmeshResourceError(`${key} lacks local or services lists`);
      }
      if (h.tracing !== undefined && (h.tracing === null || typeof h.tracing !== 'object' || typeof h.tracing.provider !== 'object' || typeof h.tracing.samplingPercentage !== 'number' || !Array.isArray(h.tracing.customTags))) throw new WasmeshResourceError('tracing lacks provider, samplingPercentage or customTags');
      if (h.inboundTracing !== undefined && h.inboundTracing !== null && (typeof h.inboundTracing !== 'object' || typeof h.inboundTracing.provider !== 'object')) throw new WasmeshResourceError('inboundTracing lacks a provider');
      if (h.metricsOverrides !== undefined && (h.metricsOverrides === null || typeof h.metricsOverrides !== 'object' || typeof h.metricsOverrides.client !== 'object' || typeof h.metricsOverrides.server !== 'object')) throw new WasmeshResourceError('metricsOverrides lacks client or server');
      for (const key of L4_FIELDS) if (h[key] !== undefined && !Array.isArray(h[key])) throw new WasmeshResourceError(`${key} is not a list`);
      header = h as Header;
    } else if (kind === 'vh' && typeof value.name === 'string' && Array.isArray(value.routes)) hosts.set(value.name, value as unknown as VirtualHost);
    else if (kind === 'c' && typeof value.name === 'string' && Array.isArray(value.endpoints)) clusters.set(value.name, value as unknown as Cluster);
    else throw new WasmeshResourceError(`a resource of unknown kind ${JSON.stringify(kind)} or shape`);
  }
  if (header === null) throw new WasmeshResourceError(`no ${WASMESH_RESOURCE_NAME} resource`);
  const pick = <T>(names: string[], from: Map<string, T>, what: string): T[] => names.map((n) => {
    const x = from.get(n);
    if (x === undefined) throw new WasmeshResourceError(`${what} ${n} is named by the header but not among the resources`);
    return x;
  });
  return {
    version: header.version,
    warnings: header.warnings,
    mesh: {
      virtualHosts: pick(header.virtualHosts, hosts, 'virtual host'),
      clusters: pick(header.clusters, clusters, 'cluster'),
      ...(header.gatewayListeners !== undefined ? { gatewayListeners: header.gatewayListeners } : {}),
      ...(header.inboundMtlsMode !== undefined ? { inboundMtlsMode: header.inboundMtlsMode } : {}),
      ...(header.authorization !== undefined ? { authorization: header.authorization } : {}),
      ...(header.jwtRules !== undefined ? { jwtRules: header.jwtRules } : {}),
      ...(header.extAuthzProviders !== undefined ? { extAuthzProviders: header.extAuthzProviders } : {}),
      ...(header.rateLimit !== undefined ? { rateLimit: header.rateLimit } : {}),
      ...(header.tracing !== undefined ? { tracing: header.tracing } : {}),
      ...(header.inboundTracing !== undefined ? { inboundTracing: header.inboundTracing } : {}),
      ...(header.inboundRateLimit !== undefined ? { inboundRateLimit: header.inboundRateLimit } : {}),
      ...(header.metricsOverrides !== undefined ? { metricsOverrides: header.metricsOverrides } : {}),
      ...Object.fromEntries(L4_FIELDS.filter((key) => header[key] !== undefined).map((key) => [key, header[key]])),
    },
  };
}
