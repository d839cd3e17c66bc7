// The `wasmesh_stats` plugin configuration: text lines written by the control plane
// (host/envoy/stats-plugin-config.ts), read in place. Everything that needs a protobuf codec or
// Istio's label rules is done there, in TypeScript, with the same code wasmesh's own metrics use:
// the label segments of this workload and of every known peer arrive pre-rendered, and a peer's
// `x-envoy-peer-metadata` value is recognised by exact match against the values the control
// plane encoded for the mesh's workloads (the filter never parses a Struct). Format:
//
//   wasmesh_stats 1
//   reporter<TAB>source|destination
//   self<TAB><x-envoy-peer-metadata-id><TAB><x-envoy-peer-metadata>
//   namespace<TAB><this workload's namespace>
//   self_source<TAB><segment>        this workload as source_* (principal included)
//   self_destination<TAB><segment>
//   unknown_source<TAB><segment>     a peer nothing is known of
//   unknown_destination<TAB><segment>
//   peer<TAB><x-envoy-peer-metadata><TAB><source segment><TAB><destination segment>[<TAB><principal>]   (0..MAX_PEERS)
//                                    the principal (a SPIFFE ID) when it names this peer alone: the
//                                    TCP filter recognises a peer by its certificate (tcp-stats-filter.ts)
//   peer_tcp<TAB><hex>               optional, right after a peer line: that peer's TCP metadata exchange
//                                    (the google.protobuf.Any after the 8-byte header, host/telemetry/
//                                    tcp-metadata-exchange.ts), which the TCP filter recognises by exact match
//   tcp_reporting_ms<TAB><ms>        optional: the TCP filter's periodic report (default 5000, Istio's)
//   tcp_exchange<TAB><hex>           optional: this workload's whole TCP metadata exchange (header and Any);
//                                    the TCP filter then runs Istio's exchange on its connections (tcp-exchange.ts)
//   disable<TAB><METRIC> | remove<TAB><METRIC><TAB><label> | upsert<TAB><METRIC><TAB><label><TAB><value>
//                                    optional, 0..MAX_OVERRIDES: Telemetry API overrides (metric-overrides.ts)
//
// Peer segments (known or unknown) leave out the peer's `*_principal`: the filter writes it per
// request from the connection (stats-filter.ts).
//
// A segment is `name=.=value;.;` repeated (Istio's stats-name encoding, undone by the
// bootstrap's stats_tags). Each line ends with `\n`.

import { API_NAMES } from './istio-metric-names';

/** Spans (ptr u32, len u32) in a configuration record, by field. */
export const enum Field {
  SelfId = 0,
  SelfMeta = 1,
  Namespace = 2,
  SelfSource = 3,
  SelfDestination = 4,
  UnknownSource = 5,
  UnknownDestination = 6,
  Count = 7,
}

/**
 * Record layout: block pointer, reporter, peer count, TCP reporting period, override count, this
 * workload's TCP exchange span, then the fields' spans, then 5 spans per peer (metadata, source
 * segment, destination segment, principal, TCP exchange: empty when not given), then the
 * override entries.
 */
const R_BLOCK: usize = 0;
const R_REPORTER: usize = 4;
const R_PEERS: usize = 8;
const R_TCP_MS: usize = 12;
const R_OVERRIDES: usize = 16;
const R_TCP_EXCHANGE: usize = 20;
const R_FIELDS: usize = 28;
const R_PEER0: usize = R_FIELDS + <usize>Field.Count * 8;
const PEER_SIZE: usize = 40;
/** Per override: op, metric, label span, value span. */
const OVERRIDE_SIZE: usize = 24;

export const MAX_PEERS: u32 = 4096;
export const MAX_OVERRIDES: u32 = 1024;
/** Istio's tcp_reporting_duration default. */
export const DEFAULT_TCP_REPORTING_MS: u32 = 5000;

export const enum OverrideOp {
  Disable = 0,
  Remove = 1,
  Upsert = 2,
}

export const REPORTER_SOURCE: u32 = 0;
export const REPORTER_DESTINATION: u32 = 1;

let errorText: string = '';

/** Why the last parse failed (a constant string, for the log line). */
export function statsConfigError(): string {
  return errorText;
}

function keyIs(p: usize, n: usize, key: string): bool {
  if (<usize>key.length != n) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>key.charCodeAt(<i32>i)) return false;
  return true;
}

function indexOf(p: usize, end: usize, c: u8): usize {
  for (let q = p; q < end; q++) if (load<u8>(q) == c) return q;
  return end;
}

function fail(why: string): usize {
  errorText = why;
  return 0;
}

/** Decodes the `n` hex digits at `p` in place (the bytes land at `p`); their count, or -1. */
function hexInPlace(p: usize, n: usize): isize {
  if (n == 0 || (n & 1) != 0) return -1;
  for (let i: usize = 0; i < n; i += 2) {
    const hi = hexDigit(load<u8>(p + i));
    const lo = hexDigit(load<u8>(p + i + 1));
    if (hi < 0 || lo < 0) return -1;
    store<u8>(p + (i >> 1), <u8>((hi << 4) | lo));
  }
  return <isize>(n >> 1);
}

function hexDigit(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  return -1;
}

function setSpan(at: usize, p: usize, n: usize): void {
  store<u32>(at, <u32>p);
  store<u32>(at + 4, <u32>n);
}

/**
 * Parses `size` bytes at `block` (which the record then owns). Returns the record (heap.free it
 * with freeStatsConfig) or 0 with statsConfigError() set; nothing is kept on failure but the block.
 */
export function parseStatsConfig(block: usize, size: usize): usize {
  const end = block + size;
  // Count peer lines first: the record is sized once.
  let peers: u32 = 0;
  let overrides: u32 = 0;
  for (let q = block; q < end; q = indexOf(q, end, 0x0a) + 1) {
    if (end - q > 5 && keyIs(q, 5, 'peer\t')) peers++;
    else if (end - q > 7 && (keyIs(q, 7, 'remove\t') || keyIs(q, 7, 'upsert\t')) || end - q > 8 && keyIs(q, 8, 'disable\t')) overrides++;
  }
  if (peers > MAX_PEERS) return fail('too many peers');
  if (overrides > MAX_OVERRIDES) return fail('too many overrides');
  const size0 = R_PEER0 + <usize>peers * PEER_SIZE + <usize>overrides * OVERRIDE_SIZE;
  const rec = heap.alloc(size0);
  memory.fill(rec, 0, size0);
  store<u32>(rec + R_BLOCK, <u32>block);
  store<u32>(rec + R_REPORTER, 0xffffffff);
  store<u32>(rec + R_TCP_MS, DEFAULT_TCP_REPORTING_MS);
  const ovr0 = rec + R_PEER0 + <usize>peers * PEER_SIZE;
  let seen: u32 = 0;
  let peer: u32 = 0;
  let ovr: u32 = 0;
  let line = block;
  let first = true;
  while (line < end) {
    const eol = indexOf(line, end, 0x0a);
    if (eol == end) { heap.free(rec); return fail('a line without its newline'); }
    if (first) {
      first = false;
      if (!keyIs(line, eol - line, 'wasmesh_stats 1')) { heap.free(rec); return fail('not a wasmesh_stats 1 configuration'); }
      line = eol + 1;
      continue;
    }
    const tab = indexOf(line, eol, 0x09);
    if (tab == eol) { heap.free(rec); return fail('a line without a value'); }
    const k = line;
    const kn = tab - line;
    const v = tab + 1;
    const vn = eol - v;
    if (keyIs(k, kn, 'reporter')) {
      if (keyIs(v, vn, 'source')) store<u32>(rec + R_REPORTER, REPORTER_SOURCE);
      else if (keyIs(v, vn, 'destination')) store<u32>(rec + R_REPORTER, REPORTER_DESTINATION);
      else { heap.free(rec); return fail('reporter is neither source nor destination'); }
    } else if (keyIs(k, kn, 'self')) {
      const t = indexOf(v, eol, 0x09);
      if (t == eol) { heap.free(rec); return fail('self needs an id and a metadata value'); }
      setSpan(rec + R_FIELDS + <usize>Field.SelfId * 8, v, t - v);
      setSpan(rec + R_FIELDS + <usize>Field.SelfMeta * 8, t + 1, eol - t - 1);
      seen |= (1 << Field.SelfId) | (1 << Field.SelfMeta);
    } else if (keyIs(k, kn, 'peer')) {
      const t1 = indexOf(v, eol, 0x09);
      const t2 = indexOf(t1 + 1, eol, 0x09);
      if (t1 == eol || t2 >= eol || vn == 0) { heap.free(rec); return fail('peer needs a metadata value and two segments'); }
      const t3 = indexOf(t2 + 1, eol, 0x09);
      if (t3 + 1 == eol) { heap.free(rec); return fail('peer has an empty principal'); }
      const at = rec + R_PEER0 + <usize>peer * PEER_SIZE;
      setSpan(at, v, t1 - v);
      setSpan(at + 8, t1 + 1, t2 - t1 - 1);
      setSpan(at + 16, t2 + 1, t3 - t2 - 1);
      if (t3 < eol) setSpan(at + 24, t3 + 1, eol - t3 - 1);
      peer++;
    } else if (keyIs(k, kn, 'peer_tcp')) {
      if (peer == 0) { heap.free(rec); return fail('peer_tcp before any peer line'); }
      const at = rec + R_PEER0 + <usize>(peer - 1) * PEER_SIZE;
      if (load<u32>(at + 36) != 0) { heap.free(rec); return fail('two peer_tcp lines for one peer'); }
      const n = hexInPlace(v, vn);
      if (n < 0) { heap.free(rec); return fail('peer_tcp is not lowercase hex'); }
      setSpan(at + 32, v, <usize>n);
    } else if (keyIs(k, kn, 'tcp_exchange')) {
      const n = hexInPlace(v, vn);
      if (n < 8) { heap.free(rec); return fail('tcp_exchange is not the hex of an exchange'); }
      setSpan(rec + R_TCP_EXCHANGE, v, <usize>n);
    } else if (keyIs(k, kn, 'tcp_reporting_ms')) {
      let ms: u64 = 0;
      if (vn == 0 || vn > 9) { heap.free(rec); return fail('tcp_reporting_ms is not a number of milliseconds'); }
      for (let q = v; q < eol; q++) {
        const c = load<u8>(q);
        if (c < 0x30 || c > 0x39) { heap.free(rec); return fail('tcp_reporting_ms is not a number of milliseconds'); }
        ms = ms * 10 + <u64>(c - 0x30);
      }
      store<u32>(rec + R_TCP_MS, <u32>ms);
    } else if (keyIs(k, kn, 'disable') || keyIs(k, kn, 'remove') || keyIs(k, kn, 'upsert')) {
      const op = keyIs(k, kn, 'disable') ? OverrideOp.Disable : keyIs(k, kn, 'remove') ? OverrideOp.Remove : OverrideOp.Upsert;
      const t1 = indexOf(v, eol, 0x09);
      const metric = metricOf(v, t1 - v);
      if (metric < 0) { heap.free(rec); return fail('an override names an unknown metric'); }
      const at = ovr0 + <usize>ovr * OVERRIDE_SIZE;
      store<u32>(at, <u32>op);
      store<u32>(at + 4, <u32>metric);
      if (op != OverrideOp.Disable) {
        if (t1 == eol || t1 + 1 == eol) { heap.free(rec); return fail('remove and upsert need a label'); }
        const t2 = indexOf(t1 + 1, eol, 0x09);
        if ((op == OverrideOp.Upsert) != (t2 < eol)) { heap.free(rec); return fail('upsert needs a label and a value, remove a label only'); }
        setSpan(at + 8, t1 + 1, t2 - t1 - 1);
        if (op == OverrideOp.Upsert) setSpan(at + 16, t2 + 1, eol - t2 - 1);
      } else if (t1 != eol) { heap.free(rec); return fail('disable takes a metric only'); }
      ovr++;
    } else {
      let f: i32 = -1;
      if (keyIs(k, kn, 'namespace')) f = Field.Namespace;
      else if (keyIs(k, kn, 'self_source')) f = Field.SelfSource;
      else if (keyIs(k, kn, 'self_destination')) f = Field.SelfDestination;
      else if (keyIs(k, kn, 'unknown_source')) f = Field.UnknownSource;
      else if (keyIs(k, kn, 'unknown_destination')) f = Field.UnknownDestination;
      if (f < 0) { heap.free(rec); return fail('unknown key'); }
      setSpan(rec + R_FIELDS + <usize>f * 8, v, vn);
      seen |= 1 << f;
    }
    line = eol + 1;
  }
  if (first) { heap.free(rec); return fail('empty'); }
  if (load<u32>(rec + R_REPORTER) == 0xffffffff) { heap.free(rec); return fail('no reporter'); }
  if (seen != (1 << Field.Count) - 1) { heap.free(rec); return fail('a required line is missing'); }
  store<u32>(rec + R_PEERS, peer);
  store<u32>(rec + R_OVERRIDES, ovr);
  return rec;
}

/** The Metric (istio-metric-names.ts) a Telemetry API metric name at `p` names, or -1. */
function metricOf(p: usize, n: usize): i32 {
  for (let i = 0; i < API_NAMES.length; i++) if (keyIs(p, n, API_NAMES[i])) return i;
  return -1;
}

/** This workload's TCP metadata exchange (header and Any): its bytes, or 0 when the configuration has none. */
export function tcpExchangePtr(rec: usize): usize {
  return <usize>load<u32>(rec + R_TCP_EXCHANGE);
}

export function tcpExchangeLen(rec: usize): usize {
  return <usize>load<u32>(rec + R_TCP_EXCHANGE + 4);
}

/** The peer whose TCP exchange Any is the `n` bytes at `p`, or 0 (a peer the configuration does not list). */
export function findPeerByTcpExchange(rec: usize, p: usize, n: usize): usize {
  return findPeerBySpan(rec, 32, p, n);
}

/** The peer whose span at `offset` of its record holds exactly the `n` bytes at `p` (none for n == 0), or 0. */
function findPeerBySpan(rec: usize, offset: usize, p: usize, n: usize): usize {
  if (n == 0) return 0;
  const count = load<u32>(rec + R_PEERS);
  for (let i: u32 = 0; i < count; i++) {
    const at = rec + R_PEER0 + <usize>i * PEER_SIZE;
    if (<usize>load<u32>(at + offset + 4) == n && memory.compare(<usize>load<u32>(at + offset), p, n) == 0) return at;
  }
  return 0;
}

/** The TCP filter's report period in milliseconds (0: at close only). */
export function tcpReportingMs(rec: usize): u32 {
  return load<u32>(rec + R_TCP_MS);
}

export function overrideCount(rec: usize): u32 {
  return load<u32>(rec + R_OVERRIDES);
}

/** Override entry `i`: op u32, metric u32, label (ptr, len), value (ptr, len). */
export function overrideAt(rec: usize, i: u32): usize {
  return rec + R_PEER0 + <usize>load<u32>(rec + R_PEERS) * PEER_SIZE + <usize>i * OVERRIDE_SIZE;
}

export function freeStatsConfig(rec: usize): void {
  heap.free(<usize>load<u32>(rec + R_BLOCK));
  heap.free(rec);
}

export function reporterOf(rec: usize): u32 {
  return load<u32>(rec + R_REPORTER);
}

export function fieldPtr(rec: usize, f: Field): usize {
  return <usize>load<u32>(rec + R_FIELDS + <usize>f * 8);
}

export function fieldLen(rec: usize, f: Field): usize {
  return <usize>load<u32>(rec + R_FIELDS + <usize>f * 8 + 4);
}

/**
 * The peer whose metadata value is the `n` bytes at `p`: its record address (spans: metadata,
 * source segment, destination segment), or 0 for a value the control plane did not encode.
 */
export function findPeer(rec: usize, p: usize, n: usize): usize {
  return findPeerBySpan(rec, 0, p, n);
}

/**
 * The peer whose principal (the SPIFFE ID the control plane gave it, when no other peer shares
 * it) is the `n` bytes at `p`, or 0. A TCP connection without Istio's metadata exchange names its
 * peer only by its certificate.
 */
export function findPeerByPrincipal(rec: usize, p: usize, n: usize): usize {
  return findPeerBySpan(rec, 24, p, n);
}

/** A peer record's source (0) or destination (1) segment. */
export function peerSegPtr(peer: usize, destination: bool): usize {
  return <usize>load<u32>(peer + (destination ? 16 : 8));
}

export function peerSegLen(peer: usize, destination: bool): usize {
  return <usize>load<u32>(peer + (destination ? 20 : 12));
}
