// Virtual-host selection by the request's authority, in Envoy's order: exact domains, then
// `*suffix` wildcards longest first, then `*`. Both lookups are hash probes, so the cost does
// not grow with the number of virtual hosts (10,000 are benchmarked).
import {
  H_EXACT_BUCKETS, H_EXACT_BUCKETS_OFF, H_EXACT_ENTRIES, H_SUFFIX_BUCKETS, H_SUFFIX_BUCKETS_OFF,
  H_SUFFIX_ENTRIES, H_SUFFIX_MIN_LEN, H_SUFFIX_MAX_LEN, DOMAIN_SIZE, DM_HASH, DM_STR_OFF,
  DM_STR_LEN, DM_PORT, DM_VHOST, PORT_ANY, FNV_BASIS, FNV_PRIME, u32At, rec,
} from './table';
import { lower, bytesEqualLower } from './bytes';
/** Stands for "the authority has no (valid) port": equal to no stored port, not PORT_ANY. */
export const NO_PORT: u32 = 0xfffffffe;

/** One step of the backwards FNV-1a hash (see the format notes in table.ts). */
@inline export function hashStep(h: u32, b: u32): u32 {
  return (h ^ lower(b)) * FNV_PRIME;
}

const BRACKET_OPEN: u32 = 0x5b; // [
const BRACKET_CLOSE: u32 = 0x5d; // ]
const COLON: u32 = 0x3a;

/** Port digits → number; NO_PORT when empty, not all digits, or above 65535. */
function parsePort(p: usize, n: usize): u32 {
  if (n == 0 || n > 5) return NO_PORT;
  let v: u32 = 0;
  for (let i: usize = 0; i < n; i++) {
    const d = <u32>load<u8>(p + i) - 0x30;
    if (d > 9) return NO_PORT;
    v = v * 10 + d;
  }
  return v > 65535 ? NO_PORT : v;
}

/** Packs the result of splitAuthority: two numbers without an allocation. */
@inline function split(hostLen: usize, port: u32): u64 {
  return (<u64>hostLen << 32) | <u64>port;
}

/**
 * Splits `host[:port]` into (host length, port) packed by `split`; the host starts where the
 * authority starts. A bracketed IPv6 literal keeps its colons (`[::1]:8080` → `[::1]`, 8080);
 * an unbracketed value with more than one colon is taken as a host without a port rather
 * than split at a guessed colon.
 */
function splitAuthority(a: usize, n: usize): u64 {
  if (n == 0) return split(0, NO_PORT);
  if (<u32>load<u8>(a) == BRACKET_OPEN) {
    for (let i: usize = 1; i < n; i++) {
      if (<u32>load<u8>(a + i) == BRACKET_CLOSE) {
        if (i + 1 < n && <u32>load<u8>(a + i + 1) == COLON) return split(i + 1, parsePort(a + i + 2, n - i - 2));
        break;
      }
    }
    return split(n, NO_PORT);
  }
  let colon: isize = -1;
  for (let i: usize = 0; i < n; i++) {
    if (<u32>load<u8>(a + i) == COLON) {
      if (colon >= 0) return split(n, NO_PORT); // a second colon: not host:port
      colon = <isize>i;
    }
  }
  if (colon < 0) return split(n, NO_PORT);
  return split(<usize>colon, parsePort(a + <usize>colon + 1, n - <usize>colon - 1));
}

/** The port the authority at `a` (length `n`) carries, or NO_PORT when it has none (or not a valid one). */
export function authorityPort(a: usize, n: usize): u32 {
  return <u32>splitAuthority(a, n);
}

/**
 * Probes one domain index for the `n` bytes at `s` with hash `h`: the vhost of an entry for
 * exactly this port if there is one, else of a port-less entry, else -1.
 */
function probe(t: usize, bucketsField: u32, bucketsOffField: u32, entriesField: u32, h: u32, s: usize, n: usize, port: u32): i32 {
  const buckets = u32At(t, bucketsField);
  if (buckets == 0) return -1;
  const mask = buckets - 1;
  const b = rec(t, bucketsOffField, 0, 0);
  let anyPort: i32 = -1;
  let i = h & mask;
  let slot = load<u32>(b + <usize>i * 4);
  // Ends at an empty bucket: checkTable's invariant D1 guarantees one (table.ts).
  while (slot != 0) {
    const e = rec(t, entriesField, slot - 1, DOMAIN_SIZE);
    if (load<u32>(e + DM_HASH) == h && <usize>load<u32>(e + DM_STR_LEN) == n && bytesEqualLower(s, t + <usize>load<u32>(e + DM_STR_OFF), n)) {
      const p = load<u32>(e + DM_PORT);
      if (p == port) return <i32>load<u32>(e + DM_VHOST);
      if (p == PORT_ANY) anyPort = <i32>load<u32>(e + DM_VHOST);
    }
    i = (i + 1) & mask;
    slot = load<u32>(b + <usize>i * 4);
  }
  return anyPort;
}

/** The virtual host for the authority at `a` (length `n`), or -1 when no domain matches. */
export function findVirtualHost(t: usize, a: usize, n: usize): i32 {
  const hp = splitAuthority(a, n);
  const len = <usize>(hp >>> 32);
  const port = <u32>hp;

  let h = FNV_BASIS;
  for (let i = len; i > 0; i--) h = hashStep(h, <u32>load<u8>(a + i - 1));
  const exact = probe(t, H_EXACT_BUCKETS, H_EXACT_BUCKETS_OFF, H_EXACT_ENTRIES, h, a, len, port);
  if (exact >= 0) return exact;

  if (u32At(t, H_SUFFIX_BUCKETS) == 0) return -1;
  const minLen = <usize>u32At(t, H_SUFFIX_MIN_LEN);
  const maxLen = <usize>u32At(t, H_SUFFIX_MAX_LEN);
  // Walk the host backwards: after k steps `h` is the hash of its last k bytes. A longer
  // suffix found later replaces a shorter one, which gives "longest first"; `*` is the
  // empty suffix (k = 0). A non-empty suffix must leave at least one byte for the `*`.
  let best: i32 = -1;
  h = FNV_BASIS;
  for (let k: usize = 0; k <= len && k <= maxLen; k++) {
    if (k > 0) h = hashStep(h, <u32>load<u8>(a + len - k));
    if (k < minLen || (k > 0 && k == len)) continue;
    const v = probe(t, H_SUFFIX_BUCKETS, H_SUFFIX_BUCKETS_OFF, H_SUFFIX_ENTRIES, h, a + len - k, k, port);
    if (v >= 0) best = v;
  }
  return best;
}
