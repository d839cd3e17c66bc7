// The binary route table: its format (documented once, here; mirrored by
// host/compile/route-table.ts) and the load-time check that makes every later read in-bounds,
// so the matcher and balancers can trust the table and never trap on a bad one.
//
// ── Format, version 3 ───────────────────────────────────────────────────────────────────
// One position-independent blob, written by the host compiler and copied into linear memory
// at an address `t` (from `alloc`, so 16-byte aligned). All integers are little-endian u32
// unless noted; every *Off is a byte offset from `t`; every section starts 8-byte aligned.
//
// Header (HEADER_SIZE bytes):
//    0 magic 0x54524D57 ("WMRT")     4 format version (3)       8 byteLength of the blob
//   12 vhostCount     16 vhostsOff        20 routeCount    24 routesOff
//   28 blockCount     32 blocksOff        36 condCount     40 condsOff
//   44 destCount      48 destsOff         52 clusterCount  56 clustersOff
//   60 endpointCount  64 poolOff          68 poolLen
//   72 exactBuckets   76 exactBucketsOff  80 exactCount    84 exactEntriesOff
//   88 suffixBuckets  92 suffixBucketsOff 96 suffixCount  100 suffixEntriesOff
//  104 suffixMinLen  108 suffixMaxLen    (host-suffix byte lengths present in the suffix index)
//  112 stateOff      116 stateLen        120 wrrOff       124 cursorOff    128 endpointStateOff
//  132 regexOff      136 regexLen        140 listenerPort (0..65535; 0 = not known)
// Version 2 added the regex section and Op.Regex; version 1 tables have a 136-byte header.
// Version 3 added Subject.QueryParam, Subject.Port (with the listener port at 140), Op.Never
// and LbKind.HostPicks; version 2 tables held 0 at 140.
//
// Read-only sections (record sizes in bytes):
//   vhost   (8)  firstRoute, routeCount                  routes of a vhost are contiguous
//   route  (24)  firstBlock, blockCount, firstDest, destCount, totalWeight, vhost
//                blockCount 0 = the route matches every request (Istio: no `match`)
//   block   (8)  firstCond, condCount                    one Istio HTTPMatchRequest: AND
//   cond   (24)  u8 subject, u8 op, u8 flags, u8 0, nameOff, nameLen, valueOff, valueLen, aux
//                offsets point into the pool; header names lower-case; a value with
//                FLAG_IGNORE_CASE is stored lower-case; aux is 0 unless said below.
//                Subject.QueryParam: name = the parameter name (case-sensitive, as sent), see
//                condition.ts for how the query is read. Subject.Port: op Exact, aux = the port
//                (0..65535), value empty. Op.Never: the condition holds for no request (the
//                compiler writes one for a route whose every block a compile-time decision
//                ruled out, e.g. `scheme: https` on a plain-HTTP listener: a route without
//                blocks would match everything). Op.Regex: value is the pattern text (for dumps; not read when
//                matching), aux the offset of its compiled program in the regex section, which
//                the matcher runs as a full match of the subject (FLAG_IGNORE_CASE has no effect
//                on a regex, as Envoy's case_sensitive has none on safe_regex: write (?i))
//   dest    (8)  cluster index, weight                   a route's weighted destinations
//   cluster(16)  firstEndpoint (index into endpoint state), endpointCount, lbKind, 0
//                lbKind HostPicks (3): CONSISTENT_HASH and PASSTHROUGH clusters, whose choice
//                needs what the core's table does not hold (a hash key, the original
//                destination): pick_endpoint returns RouteStatus.HostPicks (-7) for them and
//                the host picks (host/core/balance/hash-balancer.ts HashBalancer); health and
//                active counts are kept for them like for any cluster.
//   domain entry (20): hash, strOff, strLen, port (PORT_ANY = any port), vhost
//                two open-addressed indexes (exact hosts; `*suffix` wildcards, `*` being the
//                empty suffix), each a power-of-two array of u32 buckets holding entry+1
//                (0 = empty), with more buckets than entries so every probe ends.
//                hash = FNV-1a over the lower-cased host bytes taken LAST TO FIRST, so one
//                backwards pass over an authority yields the hash of every suffix of it.
//   pool         string bytes (domains lower-case), deduplicated by the compiler.
//   regex        compiled regex programs (format atop assembly/regex/program.ts), each 8-byte
//                aligned, deduplicated by pattern; wholly before stateOff (never mutated).
//
// Mutable per-version state (inside the blob, at stateOff; a new version starts fresh):
//   stateOff+0        u32 random state (xorshift32, never 0) for RANDOM and LEAST_REQUEST
//   wrrOff            i32 × destCount   smooth-WRR current weight per destination
//   cursorOff         u32 × clusterCount round-robin cursor per cluster
//   endpointStateOff  8 × endpointCount: u32 active requests, u8 healthy (1 = healthy), 3 × 0
//
// ── Invariants checkTable enforces (what bounds every loop that reads the table) ──────────
// The matcher and the balancers trust an accepted table: no bounds check per request. So the
// check (once per load, in time linear in the table's size plus its domain entries' string
// bytes) establishes, besides "every section, record and string lies inside the blob and
// every index is in range":
//   M1 Two halves. Every read-only section ends at or before stateOff; the random word
//      (stateOff+0..4), WRR, cursor and endpoint-state regions lie inside the state section
//      after that word, pairwise disjoint. Routing writes only those regions, so no write
//      after the check changes a byte the check validated (a bucket, a count, an index).
//   M2 Fresh state: WRR current weights 0, cursors 0, endpoint active counts 0, healthy 0/1
//      with its 3 padding bytes 0 (what the compiler writes; a new version starts fresh).
//   P1 Partitions in order: vhosts partition the routes (vhost 0 starts at route 0, each next
//      one where the previous ended, the last ends at routeCount), routes partition the blocks
//      and the destinations, blocks the conditions, clusters the endpoints; a route's vhost
//      field names the vhost holding it. So matchRoute's three nested loops (routes of a vhost,
//      blocks of a route, conditions of a block) visit each record at most once per request,
//      and the check's own per-route sums are linear.
//   W1 A route's totalWeight is the sum of its destinations' weights and at most 2^30 - 1:
//      pickDestinationSlot's loop is over the route's destinations (P1), its current weights
//      stay within ±total (no i32 overflow), and a route with total > 0 always picks.
//   D1 Domain indexes (authority.ts `probe`, the one loop that ends on data, not a count):
//      buckets is 0 with no entries, or a power of two greater than the entry count; every
//      entry index appears in exactly one bucket and every other bucket is 0. So at least
//      one bucket is empty and every linear probe, wrapping, stops within `buckets` steps.
//      (Without it, a table whose every bucket is full made matchRequest loop forever.)
//   D2 Each entry's hash is FNV-1a of its string (lower-case, last byte first) and no empty
//      bucket lies between its home bucket (hash & (buckets-1)) and its own, so the probe for
//      its own host reaches it; ports are PORT_ANY or 0..65535; vhosts in range.
//   D3 Suffix entries are suffixMinLen..suffixMaxLen bytes long, the lengths the walk probes.
//   R1 The regex section is a row of programs at 8-byte multiples from its start, each
//      accepted by regex_check (assembly/regex/program.ts: every state and class index in
//      range, so runProgram's one loop over the subject reads inside the program), together
//      filling the section exactly; an Op.Regex condition's aux is the start of one of them.
//   C1 Conditions: known subjects, ops and flags (others Unsupported), byte 3 and aux 0 unless
//      a port (0..65535, op Exact or Never) or a regex (R1); header names and ignore-case
//      values hold no upper-case letter (never matched: both sides are compared lower-cased).
//      Clusters: known lb kinds (others Unsupported), the record's last word 0.
// Loops bounded by the request, not the table: the authority's hash and suffix walk (its
// length), header occurrences (the view's headerCount), the query split (the path's length),
// nextHealthy (the cluster's endpoint count, P1). Balancers index endpoint state by cluster
// range (P1) and never loop on data.

import { RX_HEADER_SIZE, RX_LENGTH, RegexStatus, checkProgram } from '../regex/program';

export const TABLE_MAGIC: u32 = 0x54524d57;
export const TABLE_FORMAT: u32 = 3;
export const HEADER_SIZE: u32 = 144;

export const H_MAGIC: u32 = 0;
export const H_FORMAT: u32 = 4;
export const H_LENGTH: u32 = 8;
export const H_VHOST_COUNT: u32 = 12;
export const H_VHOSTS: u32 = 16;
export const H_ROUTE_COUNT: u32 = 20;
export const H_ROUTES: u32 = 24;
export const H_BLOCK_COUNT: u32 = 28;
export const H_BLOCKS: u32 = 32;
export const H_COND_COUNT: u32 = 36;
export const H_CONDS: u32 = 40;
export const H_DEST_COUNT: u32 = 44;
export const H_DESTS: u32 = 48;
export const H_CLUSTER_COUNT: u32 = 52;
export const H_CLUSTERS: u32 = 56;
export const H_ENDPOINT_COUNT: u32 = 60;
export const H_POOL: u32 = 64;
export const H_POOL_LEN: u32 = 68;
export const H_EXACT_BUCKETS: u32 = 72;
export const H_EXACT_BUCKETS_OFF: u32 = 76;
export const H_EXACT_COUNT: u32 = 80;
export const H_EXACT_ENTRIES: u32 = 84;
export const H_SUFFIX_BUCKETS: u32 = 88;
export const H_SUFFIX_BUCKETS_OFF: u32 = 92;
export const H_SUFFIX_COUNT: u32 = 96;
export const H_SUFFIX_ENTRIES: u32 = 100;
export const H_SUFFIX_MIN_LEN: u32 = 104;
export const H_SUFFIX_MAX_LEN: u32 = 108;
export const H_STATE: u32 = 112;
export const H_STATE_LEN: u32 = 116;
export const H_WRR: u32 = 120;
export const H_CURSORS: u32 = 124;
export const H_ENDPOINT_STATE: u32 = 128;
export const H_REGEX: u32 = 132;
export const H_REGEX_LEN: u32 = 136;
export const H_LISTENER_PORT: u32 = 140;

export const VHOST_SIZE: u32 = 8;
export const VH_FIRST_ROUTE: u32 = 0;
export const VH_ROUTE_COUNT: u32 = 4;

export const ROUTE_SIZE: u32 = 24;
export const RT_FIRST_BLOCK: u32 = 0;
export const RT_BLOCK_COUNT: u32 = 4;
export const RT_FIRST_DEST: u32 = 8;
export const RT_DEST_COUNT: u32 = 12;
export const RT_TOTAL_WEIGHT: u32 = 16;
export const RT_VHOST: u32 = 20;

export const BLOCK_SIZE: u32 = 8;
export const BL_FIRST_COND: u32 = 0;
export const BL_COND_COUNT: u32 = 4;

export const COND_SIZE: u32 = 24;
export const CD_SUBJECT: u32 = 0; // u8
export const CD_OP: u32 = 1; // u8
export const CD_FLAGS: u32 = 2; // u8
export const CD_NAME_OFF: u32 = 4;
export const CD_NAME_LEN: u32 = 8;
export const CD_VALUE_OFF: u32 = 12;
export const CD_VALUE_LEN: u32 = 16;
export const CD_AUX: u32 = 20;

/** What a condition looks at. Values are part of the format: append, never renumber. */
export const enum Subject {
  Uri = 0, // path part of the request-target (before `?`)
  Header = 1, // every occurrence of the named header
  Method = 2,
  Authority = 3,
  Scheme = 4, // never in a table: the compiler decides it (the listener serves plain http)
  QueryParam = 5, // first occurrence of the named query parameter (see condition.ts)
  Port = 6, // the authority's port, else the listener port (header field 140)
  SourceLabel = 7, // reserved: needs the downstream's labels
}

/** How a condition compares. Values are part of the format: append, never renumber. */
export const enum Op {
  Exact = 0,
  Prefix = 1,
  Regex = 2, // aux = program offset (see the cond record above)
  Present = 3,
  Suffix = 4,
  Never = 5, // holds for no request (see the cond record above)
}

export const FLAG_INVERT: u8 = 1;
export const FLAG_IGNORE_CASE: u8 = 2;

export const DEST_SIZE: u32 = 8;
export const DS_CLUSTER: u32 = 0;
export const DS_WEIGHT: u32 = 4;

export const CLUSTER_SIZE: u32 = 16;
export const CL_FIRST_ENDPOINT: u32 = 0;
export const CL_ENDPOINT_COUNT: u32 = 4;
export const CL_LB_KIND: u32 = 8;

/** Load-balancer kinds (cluster lbKind). Values are part of the format. */
export const enum LbKind {
  RoundRobin = 0,
  LeastRequest = 1,
  Random = 2,
  /** CONSISTENT_HASH, PASSTHROUGH: pick_endpoint answers RouteStatus.HostPicks, the host picks. */
  HostPicks = 3,
}

export const DOMAIN_SIZE: u32 = 20;
export const DM_HASH: u32 = 0;
export const DM_STR_OFF: u32 = 4;
export const DM_STR_LEN: u32 = 8;
export const DM_PORT: u32 = 12;
export const DM_VHOST: u32 = 16;
/** A domain pattern without a port: it matches the authority with any port or none. */
export const PORT_ANY: u32 = 0xffffffff;

/** FNV-1a over a domain's bytes, last to first (the domain entry's hash; authority.ts). */
export const FNV_BASIS: u32 = 0x811c9dc5;
export const FNV_PRIME: u32 = 0x01000193;

export const ENDPOINT_STATE_SIZE: u32 = 8;
export const ES_ACTIVE: u32 = 0;
export const ES_HEALTHY: u32 = 4; // u8

/**
 * Statuses of the routing exports. Negative so that calls returning an index can return them
 * too; mirrored by host/core/route/route-table.ts (RouteTableStatus).
 */
export const enum RouteStatus {
  Ok = 0,
  /** The blob is shorter than a header, or its byteLength is not the length given. */
  BadLength = -1,
  /** The first four bytes are not "WMRT": not a route table. */
  BadMagic = -2,
  /** A route table of another format version than this core reads. */
  BadFormat = -3,
  /** A section, record or string reaches outside the blob, or an index is out of range. */
  Corrupt = -4,
  /** A condition subject/op or lb kind this core does not implement. */
  Unsupported = -5,
  /** A route, cluster or endpoint index out of range in a call. */
  BadIndex = -6,
  /**
   * pick_endpoint only, not an error: the cluster's lb kind is HostPicks, so the host chooses
   * the endpoint (HashBalancer); returned only when the cluster has endpoints (else -1).
   */
  HostPicks = -7,
}

@inline export function u32At(t: usize, off: u32): u32 {
  return load<u32>(t + <usize>off);
}

/** Absolute address of section `h` (a header field holding an offset) plus `index * size`. */
@inline export function rec(t: usize, h: u32, index: u32, size: u32): usize {
  return t + <usize>load<u32>(t + <usize>h) + <usize>index * <usize>size;
}

// Is [off, off + count*size) inside [HEADER_SIZE, len)? Arithmetic in u64: no overflow.
function sectionOk(t: usize, len: u32, offField: u32, count: u64, size: u64): bool {
  const off = <u64>u32At(t, offField);
  if ((off & 3) != 0) return false;
  return off >= <u64>HEADER_SIZE && off + count * size <= <u64>len;
}

// A read-only section: inside the blob and wholly before the mutable state (invariant M1).
function readOnlyOk(t: usize, len: u32, offField: u32, count: u64, size: u64): bool {
  return sectionOk(t, len, offField, count, size) && <u64>u32At(t, offField) + count * size <= <u64>u32At(t, H_STATE);
}

// A mutable region: inside the state section, after its random word (invariant M1).
function stateRegionOk(t: usize, offField: u32, count: u64, size: u64): bool {
  const off = <u64>u32At(t, offField);
  const stateOff = <u64>u32At(t, H_STATE);
  return (off & 3) == 0 && off >= stateOff + 4 && off + count * size <= stateOff + <u64>u32At(t, H_STATE_LEN);
}

// Do two regions [a, a+n) and [b, b+m) share a byte? Empty regions share none.
function overlap(a: u64, n: u64, b: u64, m: u64): bool {
  return n != 0 && m != 0 && a < b + m && b < a + n;
}

function spanOk(poolOff: u64, poolLen: u64, off: u32, len: u32): bool {
  return <u64>off >= poolOff && <u64>off + <u64>len <= poolOff + poolLen;
}

/** Does the pool span hold an ASCII upper-case letter (which a lower-case comparison never matches)? */
function hasUpper(t: usize, off: u32, len: u32): bool {
  for (let i: u32 = 0; i < len; i++) {
    if (<u32>load<u8>(t + <usize>off + <usize>i) - 0x41 < 26) return true;
  }
  return false;
}

// A zeroed bit set of `n` bits for the check's linear passes; the caller heap.free()s it.
function bitsAlloc(n: u32): usize {
  const bytes = (<usize>n + 7) >> 3;
  const p = heap.alloc(bytes == 0 ? 1 : bytes);
  memory.fill(p, 0, bytes);
  return p;
}

// Sets bit `i`; returns whether it was already set.
@inline function bitTestSet(bits: usize, i: u32): bool {
  const at = bits + <usize>(i >> 3);
  const m = <u8>((<u32>1) << (i & 7));
  const old = load<u8>(at);
  store<u8>(at, old | m);
  return (old & m) != 0;
}

@inline function bitTest(bits: usize, i: u32): bool {
  return (load<u8>(bits + <usize>(i >> 3)) & <u8>((<u32>1) << (i & 7))) != 0;
}

/**
 * Invariants D1–D3 of one domain index (see the top of this file). With D1 every probe
 * (authority.ts `probe`, linear and wrapping) meets an empty bucket within `buckets` steps;
 * with D2 and the hash check, the probe for an entry's own host reaches it. Linear time.
 */
function domainIndexOk(t: usize, len: u32, bucketsField: u32, bucketsOffField: u32, countField: u32, entriesField: u32, vhostCount: u32, poolOff: u64, poolLen: u64, isSuffix: bool): bool {
  const buckets = u32At(t, bucketsField);
  const count = u32At(t, countField);
  if (!readOnlyOk(t, len, bucketsOffField, buckets, 4)) return false;
  if (!readOnlyOk(t, len, entriesField, count, <u64>DOMAIN_SIZE)) return false;
  // No buckets: the matcher does not probe (authority.ts), so there must be nothing to find.
  if (buckets == 0) return count == 0;
  // D1: a power of two (the probe masks), more buckets than entries.
  if ((buckets & (buckets - 1)) != 0 || buckets <= count) return false;
  const minLen = u32At(t, H_SUFFIX_MIN_LEN);
  const maxLen = u32At(t, H_SUFFIX_MAX_LEN);
  for (let i: u32 = 0; i < count; i++) {
    const e = rec(t, entriesField, i, DOMAIN_SIZE);
    const off = load<u32>(e + DM_STR_OFF);
    const n = load<u32>(e + DM_STR_LEN);
    if (!spanOk(poolOff, poolLen, off, n)) return false;
    if (load<u32>(e + DM_VHOST) >= vhostCount) return false;
    const port = load<u32>(e + DM_PORT);
    if (port != PORT_ANY && port > 65535) return false;
    // D3: findVirtualHost probes the suffix index only for lengths in [minLen, maxLen].
    if (isSuffix && (n < minLen || n > maxLen)) return false;
    // The hash the matcher computes for these bytes: FNV-1a, last byte first. The matcher
    // lower-cases the authority, so a domain with an upper-case letter would never match.
    let h = FNV_BASIS;
    for (let k = n; k > 0; k--) {
      const b = <u32>load<u8>(t + <usize>off + <usize>(k - 1));
      if (b - 0x41 < 26) return false;
      h = (h ^ b) * FNV_PRIME;
    }
    if (load<u32>(e + DM_HASH) != h) return false;
  }
  const b = rec(t, bucketsOffField, 0, 0);
  // D1: every entry in exactly one bucket: `count` distinct entries fill `count` buckets, and
  // as buckets > count at least one bucket stays empty.
  const seen = bitsAlloc(count);
  let filled: u32 = 0;
  let empty: u32 = 0;
  let distinct = true;
  for (let i: u32 = 0; i < buckets; i++) {
    const v = load<u32>(b + <usize>i * 4);
    if (v == 0) {
      empty = i;
      continue;
    }
    if (v > count || bitTestSet(seen, v - 1)) {
      distinct = false;
      break;
    }
    filled++;
  }
  heap.free(seen);
  if (!distinct || filled != count) return false;
  // D2: walking the ring once from an empty bucket, each entry's home bucket (hash & mask)
  // lies in the run of full buckets that holds the entry, so no empty bucket cuts its probe.
  const mask = buckets - 1;
  let runStart = (empty + 1) & mask;
  for (let k: u32 = 1; k <= buckets; k++) {
    const i = (empty + k) & mask;
    const v = load<u32>(b + <usize>i * 4);
    if (v == 0) {
      runStart = (i + 1) & mask;
      continue;
    }
    const home = load<u32>(rec(t, entriesField, v - 1, DOMAIN_SIZE) + DM_HASH) & mask;
    if (((i - home) & mask) > ((i - runStart) & mask)) return false;
  }
  return true;
}

/**
 * Invariant R1: the regex section is a row of programs, each at an 8-byte multiple from its
 * start, accepted by regex_check, and together filling it exactly; every Op.Regex condition's
 * aux is the start of one of them. Each program is checked once, however many conditions
 * share it (the compiler deduplicates by pattern), so the check stays linear.
 */
function regexConditionsOk(t: usize, condCount: u32): bool {
  const regexOff = u32At(t, H_REGEX);
  const regexLen = u32At(t, H_REGEX_LEN);
  if ((regexLen & 7) != 0) return false;
  const starts = bitsAlloc(regexLen >> 3);
  let ok = true;
  let rel: u64 = 0;
  while (rel < <u64>regexLen) {
    const p = t + <usize>regexOff + <usize>rel;
    if (rel + <u64>RX_HEADER_SIZE > <u64>regexLen) {
      ok = false;
      break;
    }
    const plen = load<u32>(p + RX_LENGTH);
    // checkProgram refuses plen < its header + class map, so each step moves on.
    if (rel + <u64>plen > <u64>regexLen || checkProgram(p, plen) != RegexStatus.Ok) {
      ok = false;
      break;
    }
    bitTestSet(starts, <u32>(rel >> 3));
    rel = (rel + <u64>plen + 7) & ~(<u64>7);
  }
  if (ok && rel != <u64>regexLen) ok = false;
  for (let i: u32 = 0; ok && i < condCount; i++) {
    const c = rec(t, H_CONDS, i, COND_SIZE);
    if (load<u8>(c + CD_OP) != Op.Regex) continue;
    const at = <u64>load<u32>(c + CD_AUX);
    if (at < <u64>regexOff || at >= <u64>regexOff + <u64>regexLen || ((at - <u64>regexOff) & 7) != 0 || !bitTest(starts, <u32>((at - <u64>regexOff) >> 3))) ok = false;
  }
  heap.free(starts);
  return ok;
}

/**
 * Checks a route table of `len` bytes at `t` before any other call may use it: header,
 * every section and record bound, every index and kind, and the invariants atop this file
 * that bound every loop of the matcher and the balancers. Returns RouteStatus.Ok or the
 * first problem found. Never traps for any bytes inside [t, t+len); linear time (see above).
 */
export function checkTable(t: usize, len: u32): i32 {
  if (len < HEADER_SIZE) return RouteStatus.BadLength;
  if (u32At(t, H_MAGIC) != TABLE_MAGIC) return RouteStatus.BadMagic;
  if (u32At(t, H_FORMAT) != TABLE_FORMAT) return RouteStatus.BadFormat;
  if (u32At(t, H_LENGTH) != len) return RouteStatus.BadLength;

  const vhostCount = u32At(t, H_VHOST_COUNT);
  const routeCount = u32At(t, H_ROUTE_COUNT);
  const blockCount = u32At(t, H_BLOCK_COUNT);
  const condCount = u32At(t, H_COND_COUNT);
  const destCount = u32At(t, H_DEST_COUNT);
  const clusterCount = u32At(t, H_CLUSTER_COUNT);
  const endpointCount = u32At(t, H_ENDPOINT_COUNT);
  // M1: the state section, then the read-only sections before it, then the mutable regions in it.
  if (!sectionOk(t, len, H_STATE, u32At(t, H_STATE_LEN), 1) || u32At(t, H_STATE_LEN) < 4) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_VHOSTS, vhostCount, VHOST_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_ROUTES, routeCount, ROUTE_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_BLOCKS, blockCount, BLOCK_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_CONDS, condCount, COND_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_DESTS, destCount, DEST_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_CLUSTERS, clusterCount, CLUSTER_SIZE)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_POOL, u32At(t, H_POOL_LEN), 1)) return RouteStatus.Corrupt;
  if (!readOnlyOk(t, len, H_REGEX, u32At(t, H_REGEX_LEN), 1)) return RouteStatus.Corrupt;
  if (!stateRegionOk(t, H_WRR, destCount, 4)) return RouteStatus.Corrupt;
  if (!stateRegionOk(t, H_CURSORS, clusterCount, 4)) return RouteStatus.Corrupt;
  if (!stateRegionOk(t, H_ENDPOINT_STATE, endpointCount, ENDPOINT_STATE_SIZE)) return RouteStatus.Corrupt;
  const wrrOff = <u64>u32At(t, H_WRR);
  const cursorsOff = <u64>u32At(t, H_CURSORS);
  const esOff = <u64>u32At(t, H_ENDPOINT_STATE);
  if (overlap(wrrOff, <u64>destCount * 4, cursorsOff, <u64>clusterCount * 4)
    || overlap(wrrOff, <u64>destCount * 4, esOff, <u64>endpointCount * ENDPOINT_STATE_SIZE)
    || overlap(cursorsOff, <u64>clusterCount * 4, esOff, <u64>endpointCount * ENDPOINT_STATE_SIZE)) return RouteStatus.Corrupt;
  // M2: a new version starts fresh (what the compiler writes).
  for (let i: u32 = 0; i < destCount; i++) {
    if (load<u32>(rec(t, H_WRR, i, 4)) != 0) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < clusterCount; i++) {
    if (load<u32>(rec(t, H_CURSORS, i, 4)) != 0) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < endpointCount; i++) {
    const e = rec(t, H_ENDPOINT_STATE, i, ENDPOINT_STATE_SIZE);
    if (load<u32>(e + ES_ACTIVE) != 0 || load<u32>(e + ES_HEALTHY) > 1) return RouteStatus.Corrupt;
  }

  const poolOff = <u64>u32At(t, H_POOL);
  const poolLen = <u64>u32At(t, H_POOL_LEN);

  // P1: vhosts partition the routes in order; each route names the vhost that holds it.
  let next: u64 = 0;
  for (let i: u32 = 0; i < vhostCount; i++) {
    const v = rec(t, H_VHOSTS, i, VHOST_SIZE);
    const first = load<u32>(v + VH_FIRST_ROUTE);
    const n = load<u32>(v + VH_ROUTE_COUNT);
    if (<u64>first != next || next + <u64>n > <u64>routeCount) return RouteStatus.Corrupt;
    for (let r: u32 = 0; r < n; r++) {
      if (load<u32>(rec(t, H_ROUTES, first + r, ROUTE_SIZE) + RT_VHOST) != i) return RouteStatus.Corrupt;
    }
    next += <u64>n;
  }
  if (next != <u64>routeCount) return RouteStatus.Corrupt;
  // P1: routes partition the blocks and the destinations in order.
  let nextBlock: u64 = 0;
  let nextDest: u64 = 0;
  for (let i: u32 = 0; i < routeCount; i++) {
    const r = rec(t, H_ROUTES, i, ROUTE_SIZE);
    const blocks = load<u32>(r + RT_BLOCK_COUNT);
    if (<u64>load<u32>(r + RT_FIRST_BLOCK) != nextBlock || nextBlock + <u64>blocks > <u64>blockCount) return RouteStatus.Corrupt;
    nextBlock += <u64>blocks;
    const firstDest = load<u32>(r + RT_FIRST_DEST);
    const n = load<u32>(r + RT_DEST_COUNT);
    if (<u64>firstDest != nextDest || nextDest + <u64>n > <u64>destCount) return RouteStatus.Corrupt;
    nextDest += <u64>n;
    // W1: the weighted pick relies on totalWeight being the sum, and on sums that fit in i32
    // (smooth WRR keeps every current weight within ±total).
    let sum: u64 = 0;
    for (let d: u32 = 0; d < n; d++) sum += <u64>load<u32>(rec(t, H_DESTS, firstDest + d, DEST_SIZE) + DS_WEIGHT);
    if (sum != <u64>load<u32>(r + RT_TOTAL_WEIGHT) || sum > 0x3fffffff) return RouteStatus.Corrupt;
  }
  if (nextBlock != <u64>blockCount || nextDest != <u64>destCount) return RouteStatus.Corrupt;
  // P1: blocks partition the conditions in order.
  let nextCond: u64 = 0;
  for (let i: u32 = 0; i < blockCount; i++) {
    const b = rec(t, H_BLOCKS, i, BLOCK_SIZE);
    const n = load<u32>(b + BL_COND_COUNT);
    if (<u64>load<u32>(b + BL_FIRST_COND) != nextCond || nextCond + <u64>n > <u64>condCount) return RouteStatus.Corrupt;
    nextCond += <u64>n;
  }
  if (nextCond != <u64>condCount) return RouteStatus.Corrupt;
  for (let i: u32 = 0; i < condCount; i++) {
    const c = rec(t, H_CONDS, i, COND_SIZE);
    const nameOff = load<u32>(c + CD_NAME_OFF);
    const nameLen = load<u32>(c + CD_NAME_LEN);
    const valueOff = load<u32>(c + CD_VALUE_OFF);
    const valueLen = load<u32>(c + CD_VALUE_LEN);
    if (!spanOk(poolOff, poolLen, nameOff, nameLen)) return RouteStatus.Corrupt;
    if (!spanOk(poolOff, poolLen, valueOff, valueLen)) return RouteStatus.Corrupt;
    const subject = load<u8>(c + CD_SUBJECT);
    const op = load<u8>(c + CD_OP);
    const flags = load<u8>(c + CD_FLAGS);
    const aux = load<u32>(c + CD_AUX);
    // Only what the matcher evaluates is accepted: a table from a newer compiler that uses a
    // reserved kind or flag is refused at load instead of silently matching otherwise.
    if (subject != Subject.Uri && subject != Subject.Header && subject != Subject.Method && subject != Subject.Authority
      && subject != Subject.QueryParam && subject != Subject.Port) return RouteStatus.Unsupported;
    if (op != Op.Exact && op != Op.Prefix && op != Op.Present && op != Op.Suffix && op != Op.Regex && op != Op.Never) return RouteStatus.Unsupported;
    if ((flags & ~(FLAG_INVERT | FLAG_IGNORE_CASE)) != 0) return RouteStatus.Unsupported;
    if (load<u8>(c + 3) != 0) return RouteStatus.Corrupt;
    // A port is compared as a number held in aux: only equality makes sense, and it must be a port.
    if (subject == Subject.Port && ((op != Op.Exact && op != Op.Never) || aux > 65535)) return RouteStatus.Corrupt;
    // aux means nothing to other conditions (regex programs are checked with R1 below).
    if (subject != Subject.Port && op != Op.Regex && aux != 0) return RouteStatus.Corrupt;
    // Header names in the request view are lower-case, and an ignore-case value is compared
    // with the request's bytes lower-cased: an upper-case letter in either never matches.
    if (subject == Subject.Header && hasUpper(t, nameOff, nameLen)) return RouteStatus.Corrupt;
    if ((flags & FLAG_IGNORE_CASE) != 0 && op != Op.Regex && hasUpper(t, valueOff, valueLen)) return RouteStatus.Corrupt;
  }
  if (!regexConditionsOk(t, condCount)) return RouteStatus.Corrupt;
  for (let i: u32 = 0; i < destCount; i++) {
    if (load<u32>(rec(t, H_DESTS, i, DEST_SIZE) + DS_CLUSTER) >= clusterCount) return RouteStatus.Corrupt;
  }
  // P1: clusters partition the endpoints in order.
  let nextEndpoint: u64 = 0;
  for (let i: u32 = 0; i < clusterCount; i++) {
    const c = rec(t, H_CLUSTERS, i, CLUSTER_SIZE);
    const n = load<u32>(c + CL_ENDPOINT_COUNT);
    if (<u64>load<u32>(c + CL_FIRST_ENDPOINT) != nextEndpoint || nextEndpoint + <u64>n > <u64>endpointCount) return RouteStatus.Corrupt;
    nextEndpoint += <u64>n;
    const lb = load<u32>(c + CL_LB_KIND);
    if (lb != LbKind.RoundRobin && lb != LbKind.LeastRequest && lb != LbKind.Random && lb != LbKind.HostPicks) return RouteStatus.Unsupported;
    if (load<u32>(c + 12) != 0) return RouteStatus.Corrupt;
  }
  if (nextEndpoint != <u64>endpointCount) return RouteStatus.Corrupt;
  if (u32At(t, H_SUFFIX_MIN_LEN) > u32At(t, H_SUFFIX_MAX_LEN)) return RouteStatus.Corrupt;
  if (!domainIndexOk(t, len, H_EXACT_BUCKETS, H_EXACT_BUCKETS_OFF, H_EXACT_COUNT, H_EXACT_ENTRIES, vhostCount, poolOff, poolLen, false)) return RouteStatus.Corrupt;
  if (!domainIndexOk(t, len, H_SUFFIX_BUCKETS, H_SUFFIX_BUCKETS_OFF, H_SUFFIX_COUNT, H_SUFFIX_ENTRIES, vhostCount, poolOff, poolLen, true)) return RouteStatus.Corrupt;
  if (u32At(t, H_LISTENER_PORT) > 65535) return RouteStatus.Corrupt;
  // xorshift32 is stuck at 0.
  if (load<u32>(rec(t, H_STATE, 0, 0)) == 0) store<u32>(rec(t, H_STATE, 0, 0), 0x9e3779b9);
  return RouteStatus.Ok;
}
