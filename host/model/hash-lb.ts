// A cluster's consistent-hash load balancing as the data path applies it: which request value
// is hashed and which table (Envoy's ring hash or Maglev) picks the endpoint. Produced from
// DestinationRule `loadBalancer.consistentHash` by host/config/translate/consistent-hash.ts.
import { formatHostPort } from '../common/host-port.js';

/**
 * What the data path hashes (xxHash64, seed 0) for each request:
 * - header: the value of the named header (lower-case name); several values: Envoy sorts
 *   them and chains the hashes (each value's hash seeds the next).
 * - cookie: the named cookie's value. When the cookie is absent and `ttlMs` is not null,
 *   Envoy generates one (a session cookie when ttlMs is 0), hashes it, and sets it on the
 *   response with `path`/`attributes`; when ttlMs is null nothing is generated.
 * - sourceIp: the downstream's IP address as text, without the port.
 * - queryParameter: the first value of the named query parameter, as sent (not decoded).
 * - none: no key configured.
 * A request without its key gets a random pick (Envoy hashes a random number instead).
 */
export type HashKeySource =
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string; path: string | null; ttlMs: number | null; attributes: Array<{ name: string; value: string | null }> }
  | { kind: 'sourceIp' }
  | { kind: 'queryParameter'; name: string }
  | { kind: 'none' };

/**
 * The table the hash is looked up in. `stableRebuild` (ring only): when endpoints turn
 * unhealthy, keep the full ring's points of the healthy ones instead of rebuilding over them
 * (see assembly/balance/hash-lb-layout.ts: only the unhealthy endpoints' keys move).
 */
export type HashTableSpec =
  | { kind: 'ringHash'; minimumRingSize: number; maximumRingSize: number; stableRebuild: boolean }
  | { kind: 'maglev'; tableSize: number };

export interface HashLbDescriptor {
  key: HashKeySource;
  table: HashTableSpec;
  /** Accepted but worth telling the user (deprecated fields, values Istio's webhook refuses). */
  warnings: string[];
}

/**
 * The Envoy host key of an endpoint: its address as Envoy prints it (`10.0.0.1:8080`,
 * `[fd00::1]:8080`). Envoy hashes this string for ring points and Maglev permutations, so the
 * same string here gives the same placement.
 */
export function endpointHashKey(address: string, port: number): string {
  return formatHostPort(address, port);
}
