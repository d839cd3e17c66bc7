// wasmesh's own xDS resource type: the resolved mesh a proxy serves (what `wasmesh proxy -f`
// resolves from the files itself), packed with msgpackr, as several resources of one type: a
// header named `proxy` (the control plane's version, the warnings, the order of the virtual
// hosts and clusters, and every other MeshConfig field — a table with one check per field, typed
// so that a MeshConfig field without one does not compile), one `vh/<name>` per virtual host and
// one `c/<name>` per cluster. A change to
// one route or one endpoint is then one resource, which a delta stream sends alone (the whole
// mesh of a 1,000-service mesh is ~1.8 MB). They travel in google.protobuf.Any on the same ADS
// stream as Envoy's types, ACKed and NACKed like them; each body says what it is, because a
// state-of-the-world response carries bodies without names.
import { pack, unpack } from 'msgpackr';
import type { Cluster, MeshConfig, VirtualHost } from '../model/mesh.js';

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

/** The MeshConfig fields the header carries: every one but the virtual hosts and clusters (their own resources). */
export type HeaderField = Exclude<keyof MeshConfig, 'virtualHosts' | 'clusters'>;

/**
 * The header: the control plane's version and warnings, the order of the virtual hosts and
 * clusters, and every other MeshConfig field as the proxy resolved it (absent stays absent).
 */
type Header = { version: string; warnings: string[]; virtualHosts: string[]; clusters: string[] } & Pick<MeshConfig, HeaderField>;

/** Why a header field's value is malformed (completing `<field> …`), or null when it is well formed. */
type Check = (v: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const oneOf = (values: readonly string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? null : `${JSON.stringify(v)} is not ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`);
const list: Check = (v) => (Array.isArray(v) ? null : 'is not a list');
/** A list whose every element passes `each` (its message located as `[i] …`). */
const listOf = (each: (e: Record<string, unknown>) => string | null): Check => (v) => {
  if (!Array.isArray(v)) return 'is not a list';
  for (const [i, e] of v.entries()) {
    const why = isObject(e) ? each(e) : 'is not a map';
    if (why !== null) return `[${i}] ${why}`;
  }
  return null;
};
const rateLimit: Check = (v) => (isObject(v) && Array.isArray(v.local) && Array.isArray(v.services) ? null : 'lacks local or services lists');
const tracing: Check = (v) => (isObject(v) && isObject(v.provider) && typeof v.samplingPercentage === 'number' && Array.isArray(v.customTags) ? null : 'lacks provider, samplingPercentage or customTags');
const accessLogs = listOf((e) =>
  typeof e.provider !== 'string' || typeof e.path !== 'string' ? 'lacks a provider or path'
  : e.encoding !== 'TEXT' && e.encoding !== 'JSON' ? `encoding ${JSON.stringify(e.encoding)} is not TEXT or JSON`
  : null);

/**
 * One check per header field. Typed over every MeshConfig field but the two with their own
 * resources: a field added to MeshConfig without a check here does not compile, so no field can
 * be dropped on the way to an xDS proxy (one that was served files would get it).
 */
const HEADER_FIELDS = {
  gatewayListeners: list,
  inboundMtlsMode: oneOf(['DISABLE', 'PERMISSIVE', 'STRICT']),
  authorization: list,
  extAuthzProviders: list,
  jwtRules: list,
  pathNormalization: oneOf(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']),
  outboundTrafficPolicy: oneOf(['ALLOW_ANY', 'REGISTRY_ONLY']),
  rateLimit,
  inboundRateLimit: rateLimit,
  tracing,
  inboundTracing: (v) => (v === null || (isObject(v) && isObject(v.provider)) ? null : 'lacks a provider'),
  accessLogs,
  inboundAccessLogs: accessLogs,
  metricsOverrides: (v) => (isObject(v) && isObject(v.client) && isObject(v.server) ? null : 'lacks client or server'),
  tcpRoutes: list,
  tlsRoutes: list,
  gatewayTcpListeners: list,
  gatewayPassthroughListeners: list,
  serviceAddresses: listOf((e) =>
    (e.address !== null && typeof e.address !== 'string') || typeof e.port !== 'number' || typeof e.protocol !== 'string' || typeof e.host !== 'string' || typeof e.cluster !== 'string'
      ? 'lacks an address (or null), port, protocol, host or cluster'
      : null),
  protocolDetectionTimeoutMs: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : `${JSON.stringify(v)} is not a number of milliseconds`),
} satisfies { [K in HeaderField]-?: Check };

/** The header fields, in the table's order. */
export const WASMESH_HEADER_FIELDS = Object.keys(HEADER_FIELDS) as HeaderField[];

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
  for (const key of WASMESH_HEADER_FIELDS) if (c.mesh[key] !== undefined) Object.assign(header, { [key]: c.mesh[key] });
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
      const h = value as Partial<Header> & Record<string, unknown>;
      if (typeof h.version !== 'string') throw new WasmeshResourceError('version is not a string');
      if (!Array.isArray(h.warnings)) throw new WasmeshResourceError('warnings is not a list');
      if (!Array.isArray(h.virtualHosts) || !Array.isArray(h.clusters)) throw new WasmeshResourceError('the header lacks virtualHosts or clusters');
      for (const [key, field] of Object.entries(h)) {
        if (key === 'version' || key === 'warnings' || key === 'virtualHosts' || key === 'clusters' || field === undefined) continue;
        // A field this proxy does not know would be dropped, and the proxy serve other than the
        // control plane resolved (a newer control plane's setting, perhaps a security one): refused.
        if (!Object.hasOwn(HEADER_FIELDS, key)) throw new WasmeshResourceError(`the header field ${JSON.stringify(key)} is not one this proxy knows (a newer control plane?)`);
        const why = HEADER_FIELDS[key as HeaderField](field);
        if (why !== null) throw new WasmeshResourceError(`header field ${key}${why.startsWith('[') ? '' : ' '}${why}`);
      }
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
  const fields: Partial<Pick<MeshConfig, HeaderField>> = {};
  for (const key of WASMESH_HEADER_FIELDS) if (header[key] !== undefined) Object.assign(fields, { [key]: header[key] });
  return {
    version: header.version,
    warnings: header.warnings,
    mesh: {
      virtualHosts: pick(header.virtualHosts, hosts, 'virtual host'),
      clusters: pick(header.clusters, clusters, 'cluster'),
      ...fields,
    },
  };
}
