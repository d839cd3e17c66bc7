// Plain TypeScript references for the balance tests, written from the algorithms' published
// descriptions (xxHash spec; Envoy's ring_hash_lb and maglev_lb as documented) with BigInt:
// slow, obvious, and independent of the core's code.

const M64 = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
const mul = (a: bigint, b: bigint) => (a * b) & M64;
const add = (a: bigint, b: bigint) => (a + b) & M64;
const round = (acc: bigint, input: bigint) => mul(rotl(add(acc, mul(input, P2)), 31n), P1);
const le = (b: Uint8Array, at: number, n: number) => {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
};

export function xxh64Ref(input: Uint8Array | string, seed = 0n): bigint {
  const b = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let p = 0;
  let h: bigint;
  if (b.length >= 32) {
    const v = [add(add(seed, P1), P2), add(seed, P2), seed, (seed - P1) & M64];
    while (p + 32 <= b.length) {
      for (let j = 0; j < 4; j++) v[j] = round(v[j]!, le(b, p + 8 * j, 8));
      p += 32;
    }
    h = add(add(rotl(v[0]!, 1n), rotl(v[1]!, 7n)), add(rotl(v[2]!, 12n), rotl(v[3]!, 18n)));
    for (const x of v) h = add(mul(h ^ round(0n, x), P1), P4);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(b.length));
  for (; p + 8 <= b.length; p += 8) h = add(mul(rotl(h ^ round(0n, le(b, p, 8)), 27n), P1), P4);
  if (p + 4 <= b.length) {
    h = add(mul(rotl(h ^ mul(le(b, p, 4), P1), 23n), P2), P3);
    p += 4;
  }
  for (; p < b.length; p++) h = mul(rotl(h ^ mul(BigInt(b[p]!), P5), 11n), P1);
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

export interface RefEndpoint { key: string; weight: number }

/** Envoy's ring over `eps` (indices into eps as owners), sorted by hash. */
export function ringRef(eps: RefEndpoint[], minRing: number, maxRing: number): Array<[bigint, number]> {
  const sum = eps.reduce((s, e) => s + e.weight, 0);
  const norm = eps.map((e) => (e.weight * 1.0) / sum);
  const minW = Math.min(...norm);
  const scale = Math.min(Math.ceil(minW * minRing) / minW, maxRing);
  const ring: Array<[bigint, number]> = [];
  let current = 0;
  let target = 0;
  eps.forEach((e, idx) => {
    target += scale * norm[idx]!;
    for (let i = 0; current < target; i++, current++) ring.push([xxh64Ref(`${e.key}_${i}`), idx]);
  });
  return ring.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function ringPickRef(ring: Array<[bigint, number]>, h: bigint): number {
  const at = ring.findIndex(([p]) => p >= h);
  return ring[at < 0 ? 0 : at]![1];
}

/** Envoy's Maglev table over `eps` (owners are indices into eps). */
export function maglevRef(eps: RefEndpoint[], size: number): Int32Array {
  const m = BigInt(size);
  const sum = eps.reduce((s, e) => s + e.weight, 0);
  const order = eps.map((_, i) => i).sort((a, b) => (eps[a]!.key < eps[b]!.key ? -1 : eps[a]!.key > eps[b]!.key ? 1 : 0));
  const entries = order.map((i) => ({
    idx: i,
    offset: Number(xxh64Ref(eps[i]!.key) % m),
    skip: Number((xxh64Ref(eps[i]!.key, 1n) % (m - 1n)) + 1n),
    weight: (eps[i]!.weight * 1.0) / sum,
    target: 0,
    next: 0,
  }));
  const maxW = Math.max(...entries.map((e) => e.weight));
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (const e of entries) {
      if (filled >= size) break;
      if (iteration * e.weight < e.target) continue;
      e.target += maxW;
      let c = (e.offset + e.skip * e.next) % size;
      while (table[c] !== -1) {
        e.next++;
        c = (e.offset + e.skip * e.next) % size;
      }
      table[c] = e.idx;
      e.next++;
      filled++;
    }
  }
  return table;
}
