// One cluster's consistent-hash balancer inside a Core: writes the endpoint keys and weights
// into a hash-LB block in linear memory (format atop assembly/balance/hash-lb-layout.ts, the
// constants below mirror it), has the core check and build the ring or Maglev table, and wraps
// the core's numeric calls: pick, health, rebuild, release.
import type { Core, CoreExports } from '../wasm.js';
import type { HashTableSpec } from '../../model/hash-lb.js';

/** The balance exports of core.wasm (assembly/balance/index.ts). */
interface BalanceExports extends CoreExports {
  hash_key(ptr: number, len: number): bigint;
  hash_key_seeded(ptr: number, len: number, seed: bigint): bigint;
  hash_lb_check(block: number, len: number): number;
  hash_lb_seed(block: number, lo: number, hi: number): void;
  hash_lb_set_health(block: number, endpoint: number, healthy: number): number;
  hash_lb_rebuild(block: number): number;
  hash_lb_pick(block: number, lo: number, hi: number, attempt: number): number;
  hash_lb_pick_key(block: number, ptr: number, len: number, attempt: number): number;
  hash_lb_pick_random(block: number): number;
  hash_lb_info(block: number, which: number): number;
  hash_lb_free(block: number): void;
}

// ── Format mirror (assembly/balance/hash-lb-layout.ts) ──────────────────────────────────
const MAGIC = 0x42484d57;
const FORMAT = 1;
const HEADER_SIZE = 96;
const ENDPOINT_SIZE = 16;
const KIND_RING = 1;
const KIND_MAGLEV = 2;
const FLAG_RING_STABLE = 1;
const MAX_KEY_LEN = 4096;

/** Mirrors HashLbStatus in assembly/balance/hash-lb-layout.ts. */
export const HashLbStatus = { Ok: 0, BadLength: -1, BadMagic: -2, BadFormat: -3, Corrupt: -4, Unsupported: -5, BadIndex: -6 } as const;

export type HashBalancerErrorCode =
  | 'bad_length' | 'bad_magic' | 'bad_format' | 'corrupt' | 'unsupported' | 'bad_index'
  /** An endpoint key that is empty, longer than 4 KiB, or given twice. */
  | 'invalid_endpoint_key'
  /** A weight that is not an integer >= 1, or weights summing above 2^32 − 1 (Envoy's limit). */
  | 'invalid_endpoint_weight'
  | 'released';

const STATUS_CODE: Record<number, HashBalancerErrorCode> = {
  [HashLbStatus.BadLength]: 'bad_length',
  [HashLbStatus.BadMagic]: 'bad_magic',
  [HashLbStatus.BadFormat]: 'bad_format',
  [HashLbStatus.Corrupt]: 'corrupt',
  [HashLbStatus.Unsupported]: 'unsupported',
  [HashLbStatus.BadIndex]: 'bad_index',
};

export class HashBalancerError extends Error {
  readonly code: HashBalancerErrorCode;
  /** The core's status number (0 for errors found in the host). */
  readonly status: number;
  constructor(code: HashBalancerErrorCode, status: number, message: string) {
    super(`${message} (${code})`);
    this.name = 'HashBalancerError';
    this.code = code;
    this.status = status;
  }
}

export interface HashEndpoint {
  /** Envoy's host key: `ip:port` (see endpointHashKey in host/model/hash-lb.ts). */
  key: string;
  /** Envoy's load-balancing weight, an integer >= 1. */
  weight: number;
}

/** Facts about the current build (Envoy's stats: ring_hash_lb.size, min/max_hashes_per_host; maglev_lb.min/max_entries_per_host). */
export interface HashBuildInfo {
  /** Ring points or Maglev slots in use; 0 when no endpoint is healthy. */
  entries: number;
  liveEndpoints: number;
  minPerHost: number;
  maxPerHost: number;
}

const encoder = new TextEncoder();

/** A reusable region per core for key bytes the host hashes (grown in 4 KiB steps). */
const scratch = new WeakMap<Core, { ptr: number; cap: number }>();

function scratchFor(core: Core, length: number): { ptr: number; cap: number } {
  let s = scratch.get(core);
  if (!s || s.cap < length) {
    if (s) core.exports.free(s.ptr);
    const cap = Math.max(4096, (length + 4095) & ~4095);
    s = { ptr: core.exports.alloc(cap), cap };
    scratch.set(core, s);
  }
  return s;
}

function writeScratch(core: Core, bytes: Uint8Array): number {
  const s = scratchFor(core, bytes.length);
  core.u8.set(bytes, s.ptr);
  return s.ptr;
}

/**
 * Writes `key` as UTF-8 into the scratch region and returns its byte length: ASCII (every
 * request key in practice) byte by byte, with no encoded copy; anything else through the encoder.
 */
function writeScratchString(core: Core, key: string): { ptr: number; length: number } {
  const s = scratchFor(core, key.length);
  const u8 = core.u8;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      const bytes = encoder.encode(key);
      return { ptr: writeScratch(core, bytes), length: bytes.length };
    }
    u8[s.ptr + i] = c;
  }
  SCRATCH_KEY.ptr = s.ptr;
  SCRATCH_KEY.length = key.length;
  return SCRATCH_KEY;
}
const SCRATCH_KEY = { ptr: 0, length: 0 };

const asBytes = (k: Uint8Array | string): Uint8Array => (typeof k === 'string' ? encoder.encode(k) : k);

/** xxHash64 (seed 0) of `key` computed by the core: the hash Envoy gives a request key. */
export function hashKey(core: Core, key: Uint8Array | string, seed = 0n): bigint {
  const bytes = asBytes(key);
  const x = core.exports as BalanceExports;
  const ptr = writeScratch(core, bytes);
  const h = seed === 0n ? x.hash_key(ptr, bytes.length) : x.hash_key_seeded(ptr, bytes.length, BigInt.asIntN(64, seed));
  return BigInt.asUintN(64, h);
}

/** The block bytes for `endpoints` and `table`, all endpoints healthy. */
function encodeBlock(endpoints: readonly HashEndpoint[], table: HashTableSpec): Uint8Array {
  const keys = endpoints.map((e) => encoder.encode(e.key));
  const seen = new Set<string>();
  let sum = 0;
  endpoints.forEach((e, i) => {
    const k = keys[i]!;
    if (k.length === 0 || k.length > MAX_KEY_LEN) throw new HashBalancerError('invalid_endpoint_key', 0, `hash balancer endpoint ${i}: key "${e.key.slice(0, 64)}" must be 1 to ${MAX_KEY_LEN} bytes`);
    if (seen.has(e.key)) throw new HashBalancerError('invalid_endpoint_key', 0, `hash balancer endpoint ${i}: key "${e.key}" is given twice; each endpoint needs its own key`);
    seen.add(e.key);
    if (!Number.isInteger(e.weight) || e.weight < 1) throw new HashBalancerError('invalid_endpoint_weight', 0, `hash balancer endpoint ${i} (${e.key}): weight ${e.weight} must be an integer >= 1`);
    sum += e.weight;
  });
  if (sum > 0xffffffff) throw new HashBalancerError('invalid_endpoint_weight', 0, `hash balancer: endpoint weights sum to ${sum}, above Envoy's limit 4294967295`);
  const endpointsOff = HEADER_SIZE;
  const poolOff = endpointsOff + endpoints.length * ENDPOINT_SIZE;
  const poolLen = keys.reduce((n, k) => n + k.length, 0);
  const total = poolOff + poolLen;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const u32 = (off: number, x: number) => v.setUint32(off, x >>> 0, true);
  u32(0, MAGIC);
  u32(4, FORMAT);
  u32(8, total);
  u32(12, table.kind === 'maglev' ? KIND_MAGLEV : KIND_RING);
  u32(16, endpoints.length);
  u32(20, endpointsOff);
  u32(24, poolOff);
  u32(28, poolLen);
  if (table.kind === 'maglev') {
    u32(32, table.tableSize);
  } else {
    u32(32, table.minimumRingSize);
    u32(36, table.maximumRingSize);
    u32(40, table.stableRebuild ? FLAG_RING_STABLE : 0);
  }
  let at = poolOff;
  keys.forEach((k, i) => {
    const r = endpointsOff + i * ENDPOINT_SIZE;
    u32(r, at);
    u32(r + 4, k.length);
    u32(r + 8, endpoints[i]!.weight);
    out[r + 12] = 1;
    out.set(k, at);
    at += k.length;
  });
  return out;
}

export class HashBalancer {
  readonly kind: HashTableSpec['kind'];
  readonly endpointCount: number;
  readonly #core: Core;
  readonly #x: BalanceExports;
  #ptr: number;

  private constructor(core: Core, ptr: number, kind: HashTableSpec['kind'], endpointCount: number) {
    this.#core = core;
    this.#x = core.exports as BalanceExports;
    this.#ptr = ptr;
    this.kind = kind;
    this.endpointCount = endpointCount;
  }

  /**
   * Writes `endpoints` (index = endpoint number returned by picks) into `core`'s memory, has
   * the core check them and build the table with every endpoint healthy.
   * @throws HashBalancerError for a bad key or weight, or when the core refuses the block.
   */
  static build(core: Core, endpoints: readonly HashEndpoint[], table: HashTableSpec): HashBalancer {
    const bytes = encodeBlock(endpoints, table);
    const x = core.exports as BalanceExports;
    const ptr = x.alloc(bytes.length);
    core.u8.set(bytes, ptr); // re-read u8: alloc may have grown memory
    const status = x.hash_lb_check(ptr, bytes.length);
    if (status !== HashLbStatus.Ok) {
      x.free(ptr);
      throw new HashBalancerError(STATUS_CODE[status] ?? 'corrupt', status, `hash balancer (${table.kind}, ${endpoints.length} endpoints) refused by the core`);
    }
    x.hash_lb_seed(ptr, (Math.random() * 0x100000000) >>> 0, (Math.random() * 0x100000000) >>> 0);
    x.hash_lb_rebuild(ptr);
    return new HashBalancer(core, ptr, table.kind, endpoints.length);
  }

  /** The block's address in linear memory, for the data path (0 once released). */
  get address(): number {
    return this.#ptr;
  }

  get released(): boolean {
    return this.#ptr === 0;
  }

  /** The endpoint for a 64-bit request hash (retry `attempt`, 0 first), or -1 when none is healthy. */
  pick(hash: bigint, attempt = 0): number {
    const h = BigInt.asUintN(64, hash);
    return this.#x.hash_lb_pick(this.#live(), Number(h & 0xffffffffn), Number(h >> 32n), attempt);
  }

  /** As pick, with the hash as two u32 halves (no BigInt on the hot path). */
  pickHalves(lo: number, hi: number, attempt = 0): number {
    return this.#x.hash_lb_pick(this.#live(), lo >>> 0, hi >>> 0, attempt);
  }

  /** Hashes `key` (xxHash64, seed 0: the same as pick(hashKey(key))) and picks, in one core call. */
  pickKey(key: Uint8Array | string, attempt = 0): number {
    const b = this.#live();
    if (typeof key === 'string') {
      const k = writeScratchString(this.#core, key);
      return this.#x.hash_lb_pick_key(b, k.ptr, k.length, attempt);
    }
    const ptr = writeScratch(this.#core, key);
    return this.#x.hash_lb_pick_key(b, ptr, key.length, attempt);
  }

  /** Envoy's pick for a request without its hash key: a random hash through the table. */
  pickRandom(): number {
    return this.#x.hash_lb_pick_random(this.#live());
  }

  /** Marks one endpoint healthy or not; takes effect at rebuild(). */
  setHealth(endpoint: number, healthy: boolean): void {
    const s = this.#x.hash_lb_set_health(this.#live(), endpoint, healthy ? 1 : 0);
    if (s !== HashLbStatus.Ok) throw new HashBalancerError('bad_index', s, `hash balancer: endpoint ${endpoint} is out of range 0..${this.endpointCount - 1}`);
  }

  /**
   * Rebuilds over the endpoints whose `healthy[i]` is true (all marked first, then one
   * rebuild), or over the current marks when no mask is given. The host calls this when
   * health or ejection changes; in panic mode (too few healthy) it passes all true, as Envoy
   * then balances over every host. Returns the entries now in use.
   */
  rebuild(healthy?: readonly boolean[]): number {
    const b = this.#live();
    if (healthy !== undefined) {
      if (healthy.length !== this.endpointCount) throw new HashBalancerError('bad_index', 0, `hash balancer: health mask has ${healthy.length} entries for ${this.endpointCount} endpoints`);
      for (let i = 0; i < healthy.length; i++) this.#x.hash_lb_set_health(b, i, healthy[i] ? 1 : 0);
    }
    return this.#x.hash_lb_rebuild(b);
  }

  info(): HashBuildInfo {
    const b = this.#live();
    return {
      entries: this.#x.hash_lb_info(b, 0),
      liveEndpoints: this.#x.hash_lb_info(b, 1),
      minPerHost: this.#x.hash_lb_info(b, 2),
      maxPerHost: this.#x.hash_lb_info(b, 3),
    };
  }

  /** A copy of the current table: ring points (sorted hashes, owners) or Maglev slots (owners). For tests and the admin API. */
  snapshot(): { hashes: BigUint64Array | null; owners: Uint32Array } {
    const b = this.#live();
    const n = this.#x.hash_lb_info(b, 0);
    const table = this.#x.hash_lb_info(b, 4);
    if (n === 0) return { hashes: this.kind === 'maglev' ? null : new BigUint64Array(0), owners: new Uint32Array(0) };
    const buf = this.#core.exports.memory.buffer;
    if (this.kind === 'maglev') return { hashes: null, owners: new Uint32Array(buf.slice(table, table + n * 4)) };
    const owners = this.#x.hash_lb_info(b, 5);
    return { hashes: new BigUint64Array(buf.slice(table, table + n * 8)), owners: new Uint32Array(buf.slice(owners, owners + n * 4)) };
  }

  /** Frees the table and the block. The balancer cannot be used afterwards. */
  release(): void {
    this.#x.hash_lb_free(this.#live());
    this.#ptr = 0;
  }

  #live(): number {
    if (this.#ptr === 0) throw new HashBalancerError('released', 0, 'hash balancer already released');
    return this.#ptr;
  }
}
