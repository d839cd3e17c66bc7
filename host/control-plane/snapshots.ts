// A proxy's xDS snapshot from what it is to be given: Envoy's four types from the translation's
// resources, or wasmesh's (a header, a virtual host or a cluster each). Versions are content
// hashes — of each resource's bytes, and of a type's names and versions — so that a
// recomputation that changes nothing for a proxy pushes nothing to it, and a change pushes only
// the types (and, where the protocol allows, the resources) it touched.
import { createHash } from 'node:crypto';
import { envoyProtos, TYPE_URL } from '../xds/envoy-protos.js';
import { anyFromJson } from '../xds/proto-json.js';
import type { ProxySnapshot, TypeSnapshot, XdsAny, XdsResource } from '../xds/snapshot.js';
import type { EnvoyXdsResources } from '../envoy/xds-resources.js';
import { WASMESH_TYPE_URL, proxyConfigResources, type WasmeshProxyConfig } from '../xds/wasmesh-resource.js';

const hash = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('base64url').slice(0, 16);

/** One type's snapshot from its resources (its version hashes their names and versions). */
export function typeSnapshot(resources: XdsResource[], wildcard: boolean): TypeSnapshot {
  const sorted = [...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const version = hash(sorted.map((r) => `${r.name}\u0000${r.version}`).join('\u0001'));
  return { version, wildcard, resources: new Map(sorted.map((r) => [r.name, r])) };
}

function resource(name: string, body: XdsAny): XdsResource {
  return { name, version: hash(body.value), body };
}

/**
 * Encoded resources by their translation (type and JSON), reused while unchanged: a change to one
 * route or endpoint of a 1,000-service mesh leaves the other 1,999 clusters and endpoints as they
 * were, and encoding (JSON → protobuf) and hashing them again would cost more than the rest of
 * the recomputation. Holds what the current and the previous config version used.
 */
export class ResourceEncoder {
  #current = new Map<string, XdsResource>();
  #previous = new Map<string, XdsResource>();

  /** A new config version: what the last one used stays available, anything older goes. */
  nextVersion(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  encode(type: string, name: string, json: Record<string, unknown>): XdsResource {
    const hosts = json.virtual_hosts;
    if (type === TYPE_URL.route && Array.isArray(hosts) && hosts.length > 1) return this.#routeConfiguration(name, json, hosts as unknown[]);
    const key = `${type}\u0000${JSON.stringify(json)}`;
    let r = this.#current.get(key) ?? this.#previous.get(key);
    r ??= resource(name, anyFromJson(envoyProtos(), type, json));
    this.#current.set(key, r);
    return r;
  }

  /**
   * A RouteConfiguration encoded virtual host by virtual host: a repeated field's encoding is its
   * elements' encodings one after the other, and a message may carry its fields in any order, so
   * the configuration without its virtual hosts followed by each virtual host's encoding (as a
   * one-host RouteConfiguration) is the configuration's encoding. A change to one route of a
   * 1,000-host table (881 KiB) then encodes that host alone; the others keep their bytes.
   */
  #routeConfiguration(name: string, json: Record<string, unknown>, hosts: unknown[]): XdsResource {
    const parts: Uint8Array[] = [this.#bytes(TYPE_URL.route, { ...json, virtual_hosts: [] })];
    for (const vh of hosts) parts.push(this.#bytes(TYPE_URL.route, { virtual_hosts: [vh] }));
    const value = Buffer.concat(parts);
    const version = hash(value);
    const key = `${TYPE_URL.route}\u0001${name}\u0000${version}`;
    let r = this.#current.get(key) ?? this.#previous.get(key);
    r ??= { name, version, body: { type_url: TYPE_URL.route, value } };
    this.#current.set(key, r);
    return r;
  }

  /** The protobuf encoding of `json` as `type`, reused while the JSON is the same. */
  #bytes(type: string, json: Record<string, unknown>): Uint8Array {
    const key = `${type}\u0002${JSON.stringify(json)}`;
    let r = this.#current.get(key) ?? this.#previous.get(key);
    r ??= { name: '', version: '', body: anyFromJson(envoyProtos(), type, json) };
    this.#current.set(key, r);
    return r.body.value;
  }
}

/** Stock Envoy's snapshot: LDS and CDS wildcard, RDS and EDS by name. */
export function envoySnapshot(r: EnvoyXdsResources, encoder = new ResourceEncoder()): ProxySnapshot {
  const of = (type: string, list: Array<Record<string, unknown>>, key: string): XdsResource[] =>
    list.map((json) => encoder.encode(type, String(json[key]), json));
  return new Map([
    [TYPE_URL.listener, typeSnapshot(of(TYPE_URL.listener, r.listeners, 'name'), true)],
    [TYPE_URL.route, typeSnapshot(of(TYPE_URL.route, r.routes, 'name'), false)],
    [TYPE_URL.cluster, typeSnapshot(of(TYPE_URL.cluster, r.clusters, 'name'), true)],
    [TYPE_URL.endpoint, typeSnapshot(of(TYPE_URL.endpoint, r.endpoints, 'cluster_name'), false)],
  ]);
}

/** A wasmesh proxy's snapshot: its resolved mesh as wasmesh's resources (a header, a virtual host or a cluster each). */
export function wasmeshSnapshot(config: WasmeshProxyConfig): ProxySnapshot {
  const resources: XdsResource[] = proxyConfigResources(config).map((r) => ({ name: r.name, version: hash(r.stable), body: { type_url: WASMESH_TYPE_URL, value: r.body } }));
  return new Map([[WASMESH_TYPE_URL, typeSnapshot(resources, true)]]);
}
