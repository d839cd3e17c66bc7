// Compiles a MeshConfig into the core's binary route table (format documented once, atop
// assembly/route/table.ts; the constants below mirror it). Pure: bytes in, bytes out, no Wasm,
// so it runs in the control shell and in tests; bad input throws RouteCompileError.
import { MAX_ROUTE_WEIGHT_TOTAL, type MeshConfig, type Route, type RouteMatch, type StringMatch, type LbPolicy } from '../model/mesh.js';
import { RouteCompileError } from './route-compile-error.js';
import { claimConditionName } from './claim-conditions.js';
import { compileRegex } from './regex/compile-regex.js';
import { RegexCompileError } from './regex/regex-compile-error.js';
import { runRegexProgram } from './regex/regex-program.js';

// ── Format mirror (assembly/route/table.ts) ─────────────────────────────────────────────
export const TABLE_MAGIC = 0x54524d57;
export const TABLE_FORMAT = 3;
export const HEADER_SIZE = 144;
export const H = {
  MAGIC: 0, FORMAT: 4, LENGTH: 8,
  VHOST_COUNT: 12, VHOSTS: 16, ROUTE_COUNT: 20, ROUTES: 24, BLOCK_COUNT: 28, BLOCKS: 32,
  COND_COUNT: 36, CONDS: 40, DEST_COUNT: 44, DESTS: 48, CLUSTER_COUNT: 52, CLUSTERS: 56,
  ENDPOINT_COUNT: 60, POOL: 64, POOL_LEN: 68,
  EXACT_BUCKETS: 72, EXACT_BUCKETS_OFF: 76, EXACT_COUNT: 80, EXACT_ENTRIES: 84,
  SUFFIX_BUCKETS: 88, SUFFIX_BUCKETS_OFF: 92, SUFFIX_COUNT: 96, SUFFIX_ENTRIES: 100,
  SUFFIX_MIN_LEN: 104, SUFFIX_MAX_LEN: 108,
  STATE: 112, STATE_LEN: 116, WRR: 120, CURSORS: 124, ENDPOINT_STATE: 128,
  REGEX: 132, REGEX_LEN: 136, LISTENER_PORT: 140,
} as const;
export const VHOST_SIZE = 8;
export const ROUTE_SIZE = 24;
export const BLOCK_SIZE = 8;
export const COND_SIZE = 24;
export const DEST_SIZE = 8;
export const CLUSTER_SIZE = 16;
export const DOMAIN_SIZE = 20;
export const ENDPOINT_STATE_SIZE = 8;
export const PORT_ANY = 0xffffffff;
export enum Subject { Uri = 0, Header = 1, Method = 2, Authority = 3, Scheme = 4, QueryParam = 5, Port = 6, SourceLabel = 7 }
export enum Op { Exact = 0, Prefix = 1, Regex = 2, Present = 3, Suffix = 4, Never = 5 }
export const FLAG_INVERT = 1;
export const FLAG_IGNORE_CASE = 2;
/** The table's lbKind for clusters whose endpoint the host chooses (consistent hash, passthrough). */
export const LB_HOST_PICKS = 3;
/**
 * What the core's pick_endpoint returns for a LB_HOST_PICKS cluster that has endpoints (with
 * none it returns -1): not an error, the host picks (host/core/balance/hash-balancer.ts
 * HashBalancer).
 * Mirrors RouteStatus.HostPicks in assembly/route/table.ts.
 */
export const PICK_BY_HOST = -7;
export const LB_KIND: Record<LbPolicy, number> = {
  ROUND_ROBIN: 0, LEAST_REQUEST: 1, RANDOM: 2, CONSISTENT_HASH: LB_HOST_PICKS, PASSTHROUGH: LB_HOST_PICKS,
};
/** The scheme a wasmesh listener serves: plain HTTP (no TLS termination yet). */
export const LISTENER_SCHEME = 'http';
/** The random state a fresh table starts with (RouteTable.load reseeds it). */
const INITIAL_SEED = 0x9e3779b9;

const encoder = new TextEncoder();

/** ASCII-only lower-case, exactly what the core's `lower` does (JS toLowerCase folds Unicode too). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** FNV-1a over the lower-cased bytes taken last to first (see table.ts); `bytes` already lower-case. */
export function domainHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = bytes.length - 1; i >= 0; i--) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/** A domain pattern split the way the core splits an authority. */
export interface DomainPattern {
  /** true for `*suffix` and `*` (suffix ''). */
  wildcard: boolean;
  /** The exact host, or the suffix after `*`; lower-case. */
  host: string;
  /** The port, or PORT_ANY for a pattern without one. */
  port: number;
}

/** Parses `host`, `host:port`, `*.suffix`, `*.suffix:port`, `*`, `[v6]`, `[v6]:port`; throws on others. */
export function parseDomainPattern(pattern: string, where: string, field: string): DomainPattern {
  const bad = (why: string): never => {
    throw new RouteCompileError('invalid_domain', where, field, `virtual host ${where}: ${field} "${pattern}" ${why}`);
  };
  if (pattern.length === 0) bad('is empty');
  if (!/^[\x21-\x7e]+$/.test(pattern)) bad('must be printable ASCII without spaces (write internationalized names in punycode)');
  const p = asciiLower(pattern);
  let host = p;
  let portText: string | null = null;
  if (p.startsWith('[')) {
    const close = p.indexOf(']');
    if (close < 0) bad('opens an IPv6 bracket it does not close');
    host = p.slice(0, close + 1);
    const rest = p.slice(close + 1);
    if (rest.length > 0) {
      if (rest[0] !== ':') bad('has bytes after the IPv6 literal that are not a port');
      portText = rest.slice(1);
    }
  } else {
    const first = p.indexOf(':');
    if (first >= 0) {
      if (p.indexOf(':', first + 1) >= 0) bad('has more than one colon (write IPv6 addresses in brackets: [::1]:8080)');
      host = p.slice(0, first);
      portText = p.slice(first + 1);
    }
  }
  let port = PORT_ANY;
  if (portText !== null) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) bad('has a port that is not a number from 0 to 65535');
    port = Number(portText);
  }
  if (host.length === 0) bad('has no host');
  if (host.startsWith('*')) {
    const suffix = host.slice(1);
    if (suffix.includes('*')) bad('may hold `*` only once, in front (`*.example.com`)');
    return { wildcard: true, host: suffix, port };
  }
  if (host.includes('*')) bad('may hold `*` only in front (`*.example.com`); prefix wildcards are not supported');
  return { wildcard: false, host, port };
}

/** The bytes of a table under construction: a growable buffer with u32/u8 writers. */
class ByteWriter {
  bytes: Uint8Array;
  view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0, true);
  }
  u8(off: number, v: number): void {
    this.bytes[off] = v;
  }
}

/** Strings of the table, deduplicated: offsets are relative to the pool until laid out. */
class StringPool {
  readonly #index = new Map<string, number>();
  readonly #chunks: Uint8Array[] = [];
  length = 0;
  add(s: string): [number, number] {
    const known = this.#index.get(s);
    const bytes = encoder.encode(s);
    if (known !== undefined) return [known, bytes.length];
    const off = this.length;
    this.#index.set(s, off);
    this.#chunks.push(bytes);
    this.length += bytes.length;
    return [off, bytes.length];
  }
  writeTo(out: Uint8Array, at: number): void {
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
  }
}

interface CondRec { subject: number; op: number; flags: number; name: [number, number]; value: [number, number]; aux: number }
interface DomainRec { hash: number; str: [number, number]; port: number; vhost: number; byteLength: number }

const align8 = (n: number): number => (n + 7) & ~7;

function nextPow2Above(n: number): number {
  let b = 2;
  while (b < n * 2) b *= 2; // at most half full: short probe runs, and always an empty bucket
  return b;
}

function unsupported(route: Route, field: string): never {
  throw new RouteCompileError('unsupported_match', route.name, field, `route ${route.name}: ${field} is not a match kind the core evaluates (exact, prefix, regex)`);
}

/** The op of a StringMatch, or throws for kinds the core does not evaluate. */
function stringOp(route: Route, field: string, m: StringMatch): number {
  switch (m.kind) {
    case 'exact': return Op.Exact;
    case 'prefix': return Op.Prefix;
    case 'regex': return Op.Regex;
    default: return unsupported(route, `${field}.${(m as StringMatch).kind}`);
  }
}

/** Compiled regex programs of one table, deduplicated by pattern; offsets relative to the section. */
class RegexSection {
  readonly #index = new Map<string, number>();
  readonly #programs: Uint8Array[] = [];
  length = 0;
  /** The section offset of `pattern`'s program; RouteCompileError (with the regex error's code) when it does not compile. */
  add(pattern: string, route: Route, field: string): number {
    const known = this.#index.get(pattern);
    if (known !== undefined) return known;
    let program: Uint8Array;
    try {
      program = compileRegex(pattern).program;
    } catch (e) {
      if (!(e instanceof RegexCompileError)) throw e;
      throw new RouteCompileError(e.code, route.name, field, `route ${route.name}: ${field}: ${e.message}`, { cause: e });
    }
    const off = this.length;
    this.#index.set(pattern, off);
    this.#programs.push(program);
    this.length = align8(off + program.length);
    return off;
  }
  writeTo(out: Uint8Array, at: number): void {
    for (const p of this.#programs) {
      out.set(p, at);
      at = align8(at + p.length);
    }
  }
}

/** The condition records of one match block (AND), scheme excepted (decided by schemeHolds). */
function blockConditions(route: Route, m: RouteMatch, pool: StringPool, regexes: RegexSection, noName: [number, number]): CondRec[] {
  const out: CondRec[] = [];
  /** exact/prefix/regex on a subject without a name (method, authority). */
  const plain = (subject: Subject, field: string, sm: StringMatch): void => {
    const op = stringOp(route, field, sm);
    const aux = op === Op.Regex ? regexes.add(sm.value, route, `${field}.regex`) : 0;
    out.push({ subject, op, flags: 0, name: noName, value: pool.add(sm.value), aux });
  };
  if (m.uri) {
    const op = stringOp(route, 'uri', m.uri);
    if (op === Op.Regex) {
      // ignoreUriCase has no effect on a regex (Envoy's case_sensitive ignores safe_regex): (?i) does it.
      out.push({ subject: Subject.Uri, op, flags: 0, name: noName, value: pool.add(m.uri.value), aux: regexes.add(m.uri.value, route, 'uri.regex') });
    } else {
      const flags = m.ignoreUriCase ? FLAG_IGNORE_CASE : 0;
      out.push({ subject: Subject.Uri, op, flags, name: noName, value: pool.add(m.ignoreUriCase ? asciiLower(m.uri.value) : m.uri.value), aux: 0 });
    }
  }
  // Envoy compares :method and :authority case-sensitively, as sent.
  if (m.method) plain(Subject.Method, 'method', m.method);
  if (m.authority) plain(Subject.Authority, 'authority', m.authority);
  if (m.port != null) {
    if (!Number.isInteger(m.port) || m.port < 1 || m.port > 65535) {
      throw new RouteCompileError('invalid_port', route.name, 'port', `route ${route.name}: port ${m.port} is not a port from 1 to 65535`);
    }
    out.push({ subject: Subject.Port, op: Op.Exact, flags: 0, name: noName, value: noName, aux: m.port });
  }
  for (const h of m.headers) {
    // A JWT claim condition matches the claim's values, added to the view under a synthetic name.
    const name = h.claim !== undefined ? claimConditionName(h.claim) : asciiLower(h.name);
    const field = `${h.invert ? 'withoutHeaders' : 'headers'}.${h.claim !== undefined ? h.name : name}`;
    const op = h.match === null ? Op.Present : stringOp(route, field, h.match);
    const aux = op === Op.Regex ? regexes.add(h.match!.value, route, `${field}.regex`) : 0;
    out.push({ subject: Subject.Header, op, flags: h.invert ? FLAG_INVERT : 0, name: pool.add(name), value: pool.add(h.match?.value ?? ''), aux });
  }
  for (const q of m.queryParams ?? []) {
    const field = `queryParams.${q.name}`;
    const op = q.match === null ? Op.Present : stringOp(route, field, q.match);
    const aux = op === Op.Regex ? regexes.add(q.match!.value, route, `${field}.regex`) : 0;
    out.push({ subject: Subject.QueryParam, op, flags: 0, name: pool.add(q.name), value: pool.add(q.match?.value ?? ''), aux });
  }
  return out;
}

export interface RouteTableOptions {
  /**
   * The port the listener serving this table accepts on: a `port` match compares the
   * authority's port, or this one when the authority has none. Absent (or 0): not known, and
   * a request whose authority carries no port matches no `port` condition.
   */
  listenerPort?: number;
}

/**
 * Decides a `scheme` match at compile time: the listener serves LISTENER_SCHEME only, so a
 * block requiring another scheme can never match and one accepting it needs no condition.
 */
export function schemeHolds(route: Route, m: StringMatch): boolean {
  switch (m.kind) {
    case 'exact': return LISTENER_SCHEME === m.value;
    case 'prefix': return LISTENER_SCHEME.startsWith(m.value);
    case 'regex':
      try {
        return runRegexProgram(compileRegex(m.value).program, encoder.encode(LISTENER_SCHEME));
      } catch (e) {
        if (!(e instanceof RegexCompileError)) throw e;
        throw new RouteCompileError(e.code, route.name, 'scheme.regex', `route ${route.name}: scheme.regex: ${e.message}`, { cause: e });
      }
    default: return unsupported(route, `scheme.${(m as StringMatch).kind}`);
  }
}

/**
 * Compiles `mesh` into a route table (see assembly/route/table.ts for the format). Route,
 * cluster and endpoint indices are those of mesh.ts's index contract.
 * @throws RouteCompileError on input the table cannot express.
 */
export function compileRouteTable(mesh: MeshConfig, options: RouteTableOptions = {}): Uint8Array {
  const pool = new StringPool();
  const regexes = new RegexSection();
  const listenerPort = options.listenerPort ?? 0;
  if (!Number.isInteger(listenerPort) || listenerPort < 0 || listenerPort > 65535) {
    throw new RouteCompileError('invalid_port', 'options', 'listenerPort', `listenerPort ${listenerPort} is not a port from 0 (unknown) to 65535`);
  }

  // Clusters first: destinations refer to them by name.
  const clusterIndex = new Map<string, number>();
  const clusterRecs: Array<{ firstEndpoint: number; count: number; lb: number }> = [];
  let endpointCount = 0;
  mesh.clusters.forEach((c, i) => {
    if (clusterIndex.has(c.name)) throw new RouteCompileError('duplicate_cluster', c.name, `clusters[${i}]`, `cluster ${c.name}: defined twice (clusters[${clusterIndex.get(c.name)}] and clusters[${i}])`);
    clusterIndex.set(c.name, i);
    const lb = (LB_KIND as Partial<Record<string, number>>)[c.lb];
    if (lb === undefined) throw new RouteCompileError('unsupported_lb', c.name, 'lb', `cluster ${c.name}: lb "${String(c.lb)}" is not one of ${Object.keys(LB_KIND).join(', ')}`);
    clusterRecs.push({ firstEndpoint: endpointCount, count: c.endpoints.length, lb });
    endpointCount += c.endpoints.length;
  });

  const vhostRecs: Array<[number, number]> = [];
  const routeRecs: number[][] = [];
  const blockRecs: Array<[number, number]> = [];
  const condRecs: CondRec[] = [];
  const destRecs: Array<[number, number]> = [];
  const exact: DomainRec[] = [];
  const suffix: DomainRec[] = [];
  const seenDomains = new Map<string, string>();
  const noName: [number, number] = pool.add('');

  mesh.virtualHosts.forEach((vh, v) => {
    vh.domains.forEach((d, j) => {
      const field = `domains[${j}]`;
      const p = parseDomainPattern(d, vh.name, field);
      const key = `${p.wildcard ? '*' : ''}${p.host}|${p.port}`;
      const other = seenDomains.get(key);
      if (other !== undefined) throw new RouteCompileError('duplicate_domain', vh.name, field, `virtual host ${vh.name}: ${field} "${d}" is already a domain of virtual host ${other}`);
      seenDomains.set(key, vh.name);
      const bytes = encoder.encode(p.host);
      const rec: DomainRec = { hash: domainHash(bytes), str: pool.add(p.host), port: p.port, vhost: v, byteLength: bytes.length };
      (p.wildcard ? suffix : exact).push(rec);
    });

    vhostRecs.push([routeRecs.length, vh.routes.length]);
    for (const route of vh.routes) {
      const firstBlock = blockRecs.length;
      let blockCount = 0;
      route.matches.forEach((m) => {
        // A block a compile-time decision rules out is left out: it could never hold here.
        if (m.scheme != null && !schemeHolds(route, m.scheme)) return;
        const firstCond = condRecs.length;
        condRecs.push(...blockConditions(route, m, pool, regexes, noName));
        blockRecs.push([firstCond, condRecs.length - firstCond]);
        blockCount++;
      });
      if (route.matches.length > 0 && blockCount === 0) {
        // Every block was ruled out: the route must match nothing, and a route without
        // blocks matches everything, so it gets one block that never holds.
        blockRecs.push([condRecs.length, 1]);
        condRecs.push({ subject: Subject.Uri, op: Op.Never, flags: 0, name: noName, value: noName, aux: 0 });
        blockCount = 1;
      }
      const firstDest = destRecs.length;
      let total = 0;
      route.destinations.forEach((d, i) => {
        const cluster = clusterIndex.get(d.cluster);
        if (cluster === undefined) throw new RouteCompileError('unknown_cluster', route.name, `destinations[${i}].cluster`, `route ${route.name}: destinations[${i}] names cluster "${d.cluster}", which is not defined`);
        if (!Number.isInteger(d.weight) || d.weight < 0) throw new RouteCompileError('invalid_weight', route.name, `destinations[${i}].weight`, `route ${route.name}: destinations[${i}].weight ${d.weight} is not a non-negative integer`);
        total += d.weight;
        destRecs.push([cluster, d.weight]);
      });
      (route.mirrors ?? []).forEach((mirror, i) => {
        // Mirrors are served by the host, not the table, but a typo must not pass silently.
        if (!clusterIndex.has(mirror.cluster)) throw new RouteCompileError('unknown_cluster', route.name, `mirrors[${i}].cluster`, `route ${route.name}: mirrors[${i}] names cluster "${mirror.cluster}", which is not defined`);
      });
      if (route.destinations.length > 0 && (total === 0 || total > MAX_ROUTE_WEIGHT_TOTAL)) {
        throw new RouteCompileError('invalid_weight', route.name, 'destinations', `route ${route.name}: destination weights sum to ${total}; they must sum to between 1 and ${MAX_ROUTE_WEIGHT_TOTAL}`);
      }
      routeRecs.push([firstBlock, blockCount, firstDest, route.destinations.length, total, vhostRecs.length - 1]);
    }
  });

  // Layout: header, read-only sections, pool, then the mutable state; all 8-aligned.
  const exactBuckets = exact.length === 0 ? 0 : nextPow2Above(exact.length);
  const suffixBuckets = suffix.length === 0 ? 0 : nextPow2Above(suffix.length);
  let at = HEADER_SIZE;
  const place = (size: number): number => {
    const off = at;
    at = align8(at + size);
    return off;
  };
  const vhostsOff = place(vhostRecs.length * VHOST_SIZE);
  const routesOff = place(routeRecs.length * ROUTE_SIZE);
  const blocksOff = place(blockRecs.length * BLOCK_SIZE);
  const condsOff = place(condRecs.length * COND_SIZE);
  const destsOff = place(destRecs.length * DEST_SIZE);
  const clustersOff = place(clusterRecs.length * CLUSTER_SIZE);
  const exactBucketsOff = place(exactBuckets * 4);
  const exactEntriesOff = place(exact.length * DOMAIN_SIZE);
  const suffixBucketsOff = place(suffixBuckets * 4);
  const suffixEntriesOff = place(suffix.length * DOMAIN_SIZE);
  const poolOff = place(pool.length);
  const regexOff = place(regexes.length);
  const stateOff = place(8);
  const wrrOff = place(destRecs.length * 4);
  const cursorsOff = place(clusterRecs.length * 4);
  const endpointStateOff = place(endpointCount * ENDPOINT_STATE_SIZE);
  const length = at;
  if (length > 0xffffffff) throw new RouteCompileError('table_too_large', 'mesh', 'virtualHosts', `route table would be ${length} bytes; the format holds at most 4 GiB`);

  const w = new ByteWriter(length);
  const header: Array<[number, number]> = [
    [H.MAGIC, TABLE_MAGIC], [H.FORMAT, TABLE_FORMAT], [H.LENGTH, length],
    [H.VHOST_COUNT, vhostRecs.length], [H.VHOSTS, vhostsOff],
    [H.ROUTE_COUNT, routeRecs.length], [H.ROUTES, routesOff],
    [H.BLOCK_COUNT, blockRecs.length], [H.BLOCKS, blocksOff],
    [H.COND_COUNT, condRecs.length], [H.CONDS, condsOff],
    [H.DEST_COUNT, destRecs.length], [H.DESTS, destsOff],
    [H.CLUSTER_COUNT, clusterRecs.length], [H.CLUSTERS, clustersOff],
    [H.ENDPOINT_COUNT, endpointCount], [H.POOL, poolOff], [H.POOL_LEN, pool.length],
    [H.EXACT_BUCKETS, exactBuckets], [H.EXACT_BUCKETS_OFF, exactBucketsOff],
    [H.EXACT_COUNT, exact.length], [H.EXACT_ENTRIES, exactEntriesOff],
    [H.SUFFIX_BUCKETS, suffixBuckets], [H.SUFFIX_BUCKETS_OFF, suffixBucketsOff],
    [H.SUFFIX_COUNT, suffix.length], [H.SUFFIX_ENTRIES, suffixEntriesOff],
    [H.SUFFIX_MIN_LEN, suffix.length === 0 ? 0 : Math.min(...suffix.map((s) => s.byteLength))],
    [H.SUFFIX_MAX_LEN, suffix.length === 0 ? 0 : Math.max(...suffix.map((s) => s.byteLength))],
    [H.STATE, stateOff], [H.STATE_LEN, length - stateOff], [H.WRR, wrrOff],
    [H.CURSORS, cursorsOff], [H.ENDPOINT_STATE, endpointStateOff],
    [H.REGEX, regexOff], [H.REGEX_LEN, regexes.length], [H.LISTENER_PORT, listenerPort],
  ];
  for (const [off, v] of header) w.u32(off, v);

  vhostRecs.forEach(([first, n], i) => {
    w.u32(vhostsOff + i * VHOST_SIZE, first);
    w.u32(vhostsOff + i * VHOST_SIZE + 4, n);
  });
  routeRecs.forEach((fields, i) => fields.forEach((v, k) => w.u32(routesOff + i * ROUTE_SIZE + k * 4, v)));
  blockRecs.forEach(([first, n], i) => {
    w.u32(blocksOff + i * BLOCK_SIZE, first);
    w.u32(blocksOff + i * BLOCK_SIZE + 4, n);
  });
  condRecs.forEach((c, i) => {
    const o = condsOff + i * COND_SIZE;
    w.u8(o, c.subject);
    w.u8(o + 1, c.op);
    w.u8(o + 2, c.flags);
    w.u32(o + 4, poolOff + c.name[0]);
    w.u32(o + 8, c.name[1]);
    w.u32(o + 12, poolOff + c.value[0]);
    w.u32(o + 16, c.value[1]);
    w.u32(o + 20, c.op === Op.Regex ? regexOff + c.aux : c.aux);
  });
  destRecs.forEach(([cluster, weight], i) => {
    w.u32(destsOff + i * DEST_SIZE, cluster);
    w.u32(destsOff + i * DEST_SIZE + 4, weight);
  });
  clusterRecs.forEach((c, i) => {
    w.u32(clustersOff + i * CLUSTER_SIZE, c.firstEndpoint);
    w.u32(clustersOff + i * CLUSTER_SIZE + 4, c.count);
    w.u32(clustersOff + i * CLUSTER_SIZE + 8, c.lb);
  });
  const writeIndex = (entries: DomainRec[], buckets: number, bucketsOff: number, entriesOff: number): void => {
    entries.forEach((e, i) => {
      const o = entriesOff + i * DOMAIN_SIZE;
      w.u32(o, e.hash);
      w.u32(o + 4, poolOff + e.str[0]);
      w.u32(o + 8, e.str[1]);
      w.u32(o + 12, e.port);
      w.u32(o + 16, e.vhost);
      // Linear probing; the core probes the same way and stops at the first empty bucket.
      let b = e.hash & (buckets - 1);
      while (w.view.getUint32(bucketsOff + b * 4, true) !== 0) b = (b + 1) & (buckets - 1);
      w.u32(bucketsOff + b * 4, i + 1);
    });
  };
  writeIndex(exact, exactBuckets, exactBucketsOff, exactEntriesOff);
  writeIndex(suffix, suffixBuckets, suffixBucketsOff, suffixEntriesOff);
  pool.writeTo(w.bytes, poolOff);
  regexes.writeTo(w.bytes, regexOff);

  w.u32(stateOff, INITIAL_SEED);
  // WRR current weights and round-robin cursors start at 0 (the buffer is zeroed); every
  // endpoint starts healthy with no active requests.
  for (let e = 0; e < endpointCount; e++) w.u8(endpointStateOff + e * ENDPOINT_STATE_SIZE + 4, 1);
  return w.bytes;
}
