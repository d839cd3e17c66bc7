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
//                the host picks (host/core/hash-balancer.ts HashBalancer); health and active
//                counts are kept for them like for any cluster.
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

export const ENDPOINT_STATE_SIZE: u32 = 8;
export const ES_ACTIVE: u32 = 0;
export const ES_HEALTHY: u32 = 4; // u8

/**
 * Statuses of the routing exports. Negative so that calls returning an index can return them
 * too; mirrored by host/core/router.ts (RouteTableStatus).
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

function spanOk(poolOff: u64, poolLen: u64, off: u32, len: u32): bool {
  return <u64>off >= poolOff && <u64>off + <u64>len <= poolOff + poolLen;
}

function domainIndexOk(t: usize, len: u32, bucketsField: u32, bucketsOffField: u32, countField: u32, entriesField: u32, vhostCount: u32, poolOff: u64, poolLen: u64): bool {
  const buckets = u32At(t, bucketsField);
  const count = u32At(t, countField);
  if (count == 0 && buckets == 0) return true;
  // A power of two with at least one empty bucket: every probe sequence ends.
  if (buckets == 0 || (buckets & (buckets - 1)) != 0 || buckets <= count) return false;
  if (!sectionOk(t, len, bucketsOffField, buckets, 4)) return false;
  if (!sectionOk(t, len, entriesField, count, <u64>DOMAIN_SIZE)) return false;
  const b = rec(t, bucketsOffField, 0, 0);
  for (let i: u32 = 0; i < buckets; i++) {
    if (load<u32>(b + <usize>i * 4) > count) return false;
  }
  for (let i: u32 = 0; i < count; i++) {
    const e = rec(t, entriesField, i, DOMAIN_SIZE);
    if (!spanOk(poolOff, poolLen, load<u32>(e + DM_STR_OFF), load<u32>(e + DM_STR_LEN))) return false;
    if (load<u32>(e + DM_VHOST) >= vhostCount) return false;
  }
  return true;
}

/** Is there a program regex_check accepts at offset `at`, wholly inside the regex section? */
function regexProgramOk(t: usize, at: u32, regexOff: u64, regexEnd: u64): bool {
  const a = <u64>at;
  if ((at & 3) != 0 || a < regexOff || a + <u64>RX_HEADER_SIZE > regexEnd) return false;
  const plen = load<u32>(t + <usize>at + RX_LENGTH);
  if (a + <u64>plen > regexEnd) return false;
  return checkProgram(t + <usize>at, plen) == RegexStatus.Ok;
}

/**
 * Checks a route table of `len` bytes at `t` before any other call may use it: header,
 * every section and record bound, every index and kind. Returns RouteStatus.Ok or the
 * first problem found. Never traps for any bytes inside [t, t+len).
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
  if (!sectionOk(t, len, H_VHOSTS, vhostCount, VHOST_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_ROUTES, routeCount, ROUTE_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_BLOCKS, blockCount, BLOCK_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_CONDS, condCount, COND_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_DESTS, destCount, DEST_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_CLUSTERS, clusterCount, CLUSTER_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_POOL, u32At(t, H_POOL_LEN), 1)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_STATE, u32At(t, H_STATE_LEN), 1)) return RouteStatus.Corrupt;
  if (u32At(t, H_STATE_LEN) < 4) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_WRR, destCount, 4)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_CURSORS, clusterCount, 4)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_ENDPOINT_STATE, endpointCount, ENDPOINT_STATE_SIZE)) return RouteStatus.Corrupt;
  if (!sectionOk(t, len, H_REGEX, u32At(t, H_REGEX_LEN), 1)) return RouteStatus.Corrupt;
  // Programs are trusted by the matcher after this check: they must not share bytes with the
  // state the core mutates while routing.
  const regexOff = <u64>u32At(t, H_REGEX);
  const regexEnd = regexOff + <u64>u32At(t, H_REGEX_LEN);
  if (u32At(t, H_REGEX_LEN) != 0 && regexEnd > <u64>u32At(t, H_STATE)) return RouteStatus.Corrupt;

  const poolOff = <u64>u32At(t, H_POOL);
  const poolLen = <u64>u32At(t, H_POOL_LEN);

  for (let i: u32 = 0; i < vhostCount; i++) {
    const v = rec(t, H_VHOSTS, i, VHOST_SIZE);
    if (<u64>load<u32>(v + VH_FIRST_ROUTE) + <u64>load<u32>(v + VH_ROUTE_COUNT) > <u64>routeCount) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < routeCount; i++) {
    const r = rec(t, H_ROUTES, i, ROUTE_SIZE);
    if (<u64>load<u32>(r + RT_FIRST_BLOCK) + <u64>load<u32>(r + RT_BLOCK_COUNT) > <u64>blockCount) return RouteStatus.Corrupt;
    const firstDest = load<u32>(r + RT_FIRST_DEST);
    const n = load<u32>(r + RT_DEST_COUNT);
    if (<u64>firstDest + <u64>n > <u64>destCount) return RouteStatus.Corrupt;
    // The weighted pick relies on totalWeight being the sum, and on sums that fit in i32.
    let sum: u64 = 0;
    for (let d: u32 = 0; d < n; d++) sum += <u64>load<u32>(rec(t, H_DESTS, firstDest + d, DEST_SIZE) + DS_WEIGHT);
    if (sum != <u64>load<u32>(r + RT_TOTAL_WEIGHT) || sum > 0x3fffffff) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < blockCount; i++) {
    const b = rec(t, H_BLOCKS, i, BLOCK_SIZE);
    if (<u64>load<u32>(b + BL_FIRST_COND) + <u64>load<u32>(b + BL_COND_COUNT) > <u64>condCount) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < condCount; i++) {
    const c = rec(t, H_CONDS, i, COND_SIZE);
    if (!spanOk(poolOff, poolLen, load<u32>(c + CD_NAME_OFF), load<u32>(c + CD_NAME_LEN))) return RouteStatus.Corrupt;
    if (!spanOk(poolOff, poolLen, load<u32>(c + CD_VALUE_OFF), load<u32>(c + CD_VALUE_LEN))) return RouteStatus.Corrupt;
    const subject = load<u8>(c + CD_SUBJECT);
    const op = load<u8>(c + CD_OP);
    // Only what the matcher evaluates is accepted: a table from a newer compiler that uses a
    // reserved kind is refused at load instead of silently never matching.
    if (subject != Subject.Uri && subject != Subject.Header && subject != Subject.Method && subject != Subject.Authority
      && subject != Subject.QueryParam && subject != Subject.Port) return RouteStatus.Unsupported;
    if (op != Op.Exact && op != Op.Prefix && op != Op.Present && op != Op.Suffix && op != Op.Regex && op != Op.Never) return RouteStatus.Unsupported;
    // A port is compared as a number held in aux: only equality makes sense, and it must be a port.
    if (subject == Subject.Port && ((op != Op.Exact && op != Op.Never) || load<u32>(c + CD_AUX) > 65535)) return RouteStatus.Corrupt;
    if (op == Op.Regex && !regexProgramOk(t, load<u32>(c + CD_AUX), regexOff, regexEnd)) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < destCount; i++) {
    if (load<u32>(rec(t, H_DESTS, i, DEST_SIZE) + DS_CLUSTER) >= clusterCount) return RouteStatus.Corrupt;
  }
  for (let i: u32 = 0; i < clusterCount; i++) {
    const c = rec(t, H_CLUSTERS, i, CLUSTER_SIZE);
    if (<u64>load<u32>(c + CL_FIRST_ENDPOINT) + <u64>load<u32>(c + CL_ENDPOINT_COUNT) > <u64>endpointCount) return RouteStatus.Corrupt;
    const lb = load<u32>(c + CL_LB_KIND);
    if (lb != LbKind.RoundRobin && lb != LbKind.LeastRequest && lb != LbKind.Random && lb != LbKind.HostPicks) return RouteStatus.Unsupported;
  }
  if (!domainIndexOk(t, len, H_EXACT_BUCKETS, H_EXACT_BUCKETS_OFF, H_EXACT_COUNT, H_EXACT_ENTRIES, vhostCount, poolOff, poolLen)) return RouteStatus.Corrupt;
  if (!domainIndexOk(t, len, H_SUFFIX_BUCKETS, H_SUFFIX_BUCKETS_OFF, H_SUFFIX_COUNT, H_SUFFIX_ENTRIES, vhostCount, poolOff, poolLen)) return RouteStatus.Corrupt;
  if (u32At(t, H_SUFFIX_MIN_LEN) > u32At(t, H_SUFFIX_MAX_LEN)) return RouteStatus.Corrupt;
  if (u32At(t, H_LISTENER_PORT) > 65535) return RouteStatus.Corrupt;
  // xorshift32 is stuck at 0.
  if (load<u32>(rec(t, H_STATE, 0, 0)) == 0) store<u32>(rec(t, H_STATE, 0, 0), 0x9e3779b9);
  return RouteStatus.Ok;
}
