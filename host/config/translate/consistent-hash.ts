// Translates an Istio DestinationRule `loadBalancer.consistentHash` into the model's hash-LB descriptor:
// which request value is hashed (header, cookie, client IP, query parameter) and which table
// picks the endpoint (ring hash or Maglev, with Envoy's sizes). Pure; bad input throws
// HashLbError with a stable code. Istio's validation (pilot/pkg/config/validation) and its
// translation to Envoy (cluster builder, route hash policy) decide the rules mirrored here.
import { parseDuration } from '../../common/duration.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE } from '../../model/istio-defaults.js';
import type { HashKeySource, HashLbDescriptor, HashTableSpec } from '../../model/hash-lb.js';

/** The consistentHash block as Istio's API spells it (networking/v1alpha3 LoadBalancerSettings). */
export interface ConsistentHashPolicy {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string; attributes?: Array<{ name: string; value?: string }> };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  /** Deprecated by Istio in favour of ringHash.minimumRingSize. */
  minimumRingSize?: number;
}

/** Istio's and Envoy's bound on a Maglev table size (a prime below it). */
export const MAGLEV_TABLE_SIZE_LIMIT = 5000011;

export type HashLbErrorCode =
  /** More than one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName. */
  | 'multiple_hash_keys'
  /** An empty header or query parameter name. */
  | 'invalid_hash_key'
  /** httpCookie without a name (Istio: "name required for HttpCookie"). */
  | 'cookie_name_required'
  /** httpCookie.ttl that is not a duration. */
  | 'invalid_cookie_ttl'
  /** Both ringHash and maglev (one hash algorithm only). */
  | 'multiple_hash_algorithms'
  /** The deprecated minimumRingSize together with ringHash or maglev (Istio refuses it). */
  | 'ring_size_conflict'
  /** A ring size that is not an integer from 1 to 8,388,608 (Envoy's maximum_ring_size). */
  | 'invalid_ring_size'
  /** A Maglev table size that is not a prime below 5,000,011 (Istio's and Envoy's rule). */
  | 'invalid_maglev_table_size';

export class HashLbError extends Error {
  readonly code: HashLbErrorCode;
  /** The DestinationRule (or subset/port level) the policy belongs to. */
  readonly where: string;
  /** The offending field, e.g. `consistentHash.maglev.tableSize`. */
  readonly field: string;
  constructor(code: HashLbErrorCode, where: string, field: string, message: string) {
    super(message);
    this.name = 'HashLbError';
    this.code = code;
    this.where = where;
    this.field = field;
  }
}

/** Envoy's isPrime (source/common/common/utility.cc), which Istio's validation copies. */
export function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

/** Compiles `policy` (from the DestinationRule named by `where`) into a descriptor. */
export function consistentHashFromIstio(policy: ConsistentHashPolicy, where: string): HashLbDescriptor {
  const fail = (code: HashLbErrorCode, field: string, why: string): never => {
    throw new HashLbError(code, where, `consistentHash.${field}`, `${where}: consistentHash.${field} ${why} (${code})`);
  };
  const warnings: string[] = [];

  const keys = (['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const).filter(
    (k) => policy[k] !== undefined && !(k === 'useSourceIp' && policy.useSourceIp === false),
  );
  if (keys.length > 1) fail('multiple_hash_keys', keys[1]!, `is set together with ${keys[0]}: Istio's hash key is one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName`);

  let key: HashKeySource = { kind: 'none' };
  if (policy.httpHeaderName !== undefined) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(policy.httpHeaderName)) fail('invalid_hash_key', 'httpHeaderName', `"${policy.httpHeaderName}" is not a header name (an HTTP token)`);
    // Header names are case-insensitive; the request view holds them lower-case.
    key = { kind: 'header', name: policy.httpHeaderName.toLowerCase() };
  } else if (policy.httpCookie !== undefined) {
    const c = policy.httpCookie;
    if (!c.name) fail('cookie_name_required', 'httpCookie.name', 'is required for httpCookie');
    let ttlMs: number | null = null;
    if (c.ttl !== undefined) {
      const d = parseDuration(c.ttl);
      if (!d.ok) fail('invalid_cookie_ttl', 'httpCookie.ttl', d.reason);
      else ttlMs = d.ms;
    }
    key = {
      kind: 'cookie', name: c.name, path: c.path ?? null, ttlMs,
      attributes: (c.attributes ?? []).map((a) => ({ name: a.name, value: a.value ?? null })),
    };
  } else if (policy.useSourceIp === true) {
    key = { kind: 'sourceIp' };
  } else if (policy.httpQueryParameterName !== undefined) {
    if (policy.httpQueryParameterName === '') fail('invalid_hash_key', 'httpQueryParameterName', 'is empty');
    key = { kind: 'queryParameter', name: policy.httpQueryParameterName };
  } else {
    warnings.push(`${where}: consistentHash names no hash key (httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName): every request gets a random endpoint`);
  }

  if (policy.ringHash !== undefined && policy.maglev !== undefined) fail('multiple_hash_algorithms', 'maglev', 'is set together with ringHash: choose one hash algorithm');
  const deprecated = policy.minimumRingSize ?? 0;
  if (deprecated !== 0) {
    if (policy.ringHash !== undefined || policy.maglev !== undefined) fail('ring_size_conflict', 'minimumRingSize', 'is set together with ringHash/maglev: only one of minimumRingSize or maglev/ringHash can be specified');
    warnings.push(`${where}: consistentHash.minimumRingSize is deprecated, use consistentHash.ringHash.minimumRingSize`);
  }

  let table: HashTableSpec;
  if (policy.maglev !== undefined) {
    const size = policy.maglev.tableSize ?? 0;
    if (size === 0) {
      // Istio's webhook refuses this; its translation (and Envoy) would use the default.
      warnings.push(`${where}: consistentHash.maglev.tableSize is not set; using Envoy's default ${DEFAULT_MAGLEV_TABLE_SIZE} (Istio's validation requires it)`);
      table = { kind: 'maglev', tableSize: DEFAULT_MAGLEV_TABLE_SIZE };
    } else {
      if (!Number.isInteger(size) || size < 2 || size >= MAGLEV_TABLE_SIZE_LIMIT || !isPrime(size)) {
        fail('invalid_maglev_table_size', 'maglev.tableSize', `${size} must be a prime number from 2 to ${MAGLEV_TABLE_SIZE_LIMIT - 1} (e.g. 65537)`);
      }
      table = { kind: 'maglev', tableSize: size };
    }
  } else {
    const field = policy.ringHash !== undefined ? 'ringHash.minimumRingSize' : 'minimumRingSize';
    const given = policy.ringHash !== undefined ? (policy.ringHash.minimumRingSize ?? 0) : deprecated;
    // 0 means unset in Istio's proto: Envoy's default 1024.
    const min = given === 0 ? DEFAULT_MIN_RING_SIZE : given;
    if (!Number.isInteger(min) || min < 1 || min > DEFAULT_MAX_RING_SIZE) fail('invalid_ring_size', field, `${given} must be an integer from 1 to ${DEFAULT_MAX_RING_SIZE}`);
    table = { kind: 'ringHash', minimumRingSize: min, maximumRingSize: DEFAULT_MAX_RING_SIZE, stableRebuild: true };
  }
  return { key, table, warnings };
}
