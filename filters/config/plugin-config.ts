// The filters' plugin configuration ("WMFP"): the route table exactly as host/compile emits it
// for the uWebSockets.js host, wrapped with what Envoy needs besides it: the clusters' names
// (the table holds cluster indices; Envoy's cluster_header wants names) and per-route records
// (Envoy route flags and the route's fault). Written by host/envoy/filters-plugin-config.ts;
// both filters receive the same bytes and each reads the sections it needs.
//
// ── Format, version 1 ───────────────────────────────────────────────────────────────────
// All integers are little-endian u32; every *Off is a byte offset from the start of the blob.
// Header (HEADER_SIZE = 48 bytes):
//    0 magic 0x50464D57 ("WMFP")   4 version (1)        8 byteLength of the blob
//   12 tableOff (a multiple of 16)                      16 tableLen (the route table's byteLength)
//   20 clusterCount                24 namesOff          (clusterCount × 8: nameOff, nameLen)
//   28 routeCount                  32 routesOff         (routeCount × ROUTE_SIZE)
//   36 faultSeed (0: seed the fault draws from the clock)
//   40 0 (reserved)                44 0 (reserved)
// Route record (ROUTE_SIZE = 20 bytes), one per flattened route of the table, same order:
//    0 flags: FLAG_ROUTE_HEADER (1): send x-wasmesh-route (Envoy's routes or the fault filter
//      tell routes apart by it); FLAG_DEST_ROUTES (2): Envoy has a route per destination, send
//      x-wasmesh-dest
//    4 delayMs   8 delayPerMillion (0 = no delay)   12 abortStatus   16 abortPerMillion (0 = no abort)
// Percentages are per million, as Envoy's FractionalPercent for Istio faults (MILLION).
// The names section, the routes section and every name's bytes lie outside the table (the
// router writes the table's state; see clearOfTable). The table itself is checked by the
// core's checkTable, whose invariants (atop assembly/route/table.ts) bound every loop.
// The blob is read in place: the host copies it into a block from proxy_on_memory_allocate
// (16-byte aligned), so the table at tableOff is aligned as the core expects.
import { checkTable, H_CLUSTER_COUNT, H_ROUTE_COUNT, RouteStatus, u32At } from '../../assembly/route/table';

export const CONFIG_MAGIC: u32 = 0x50464d57;
export const CONFIG_VERSION: u32 = 1;
export const HEADER_SIZE: u32 = 48;
export const C_MAGIC: u32 = 0;
export const C_VERSION: u32 = 4;
export const C_LENGTH: u32 = 8;
export const C_TABLE_OFF: u32 = 12;
export const C_TABLE_LEN: u32 = 16;
export const C_CLUSTER_COUNT: u32 = 20;
export const C_NAMES_OFF: u32 = 24;
export const C_ROUTE_COUNT: u32 = 28;
export const C_ROUTES_OFF: u32 = 32;
export const C_FAULT_SEED: u32 = 36;

export const NAME_SIZE: u32 = 8;
export const ROUTE_SIZE: u32 = 20;
export const R_FLAGS: u32 = 0;
export const R_DELAY_MS: u32 = 4;
export const R_DELAY_PER_MILLION: u32 = 8;
export const R_ABORT_STATUS: u32 = 12;
export const R_ABORT_PER_MILLION: u32 = 16;
export const FLAG_ROUTE_HEADER: u32 = 1;
export const FLAG_DEST_ROUTES: u32 = 2;
export const PER_MILLION: u32 = 1000000;

/** Why a configuration was refused. Values are stable; `configErrorCode` names them. */
export const enum ConfigError {
  Ok = 0,
  TooShort = 1,
  BadMagic = 2,
  BadVersion = 3,
  BadLength = 4,
  SectionOutOfBounds = 5,
  CountMismatch = 6,
  BadRouteRecord = 7,
  /** The route table itself was refused by the core's check (status in configTableStatus()). */
  BadRouteTable = 8,
}

let tableStatus: i32 = 0;

/** The core's RouteStatus when configCheck returned BadRouteTable. */
export function configTableStatus(): i32 {
  return tableStatus;
}

/** The stable code of a ConfigError, for logs. */
export function configErrorCode(e: ConfigError): string {
  switch (e) {
    case ConfigError.TooShort: return 'wasmesh_config_too_short';
    case ConfigError.BadMagic: return 'wasmesh_config_bad_magic';
    case ConfigError.BadVersion: return 'wasmesh_config_bad_version';
    case ConfigError.BadLength: return 'wasmesh_config_bad_length';
    case ConfigError.SectionOutOfBounds: return 'wasmesh_config_section_out_of_bounds';
    case ConfigError.CountMismatch: return 'wasmesh_config_count_mismatch';
    case ConfigError.BadRouteRecord: return 'wasmesh_config_bad_route_record';
    case ConfigError.BadRouteTable: return 'wasmesh_config_bad_route_table';
    default: return 'wasmesh_config_ok';
  }
}

/** What is wrong, in words, for logs. */
export function configErrorReason(e: ConfigError): string {
  switch (e) {
    case ConfigError.TooShort: return 'shorter than the 48-byte header (is the plugin configuration a wasmesh filters configuration?)';
    case ConfigError.BadMagic: return 'does not start with "WMFP" (expected the BytesValue `wasmesh envoy-config --filters` writes)';
    case ConfigError.BadVersion: return 'is of a format version these filters do not read (rebuild the filters or the bootstrap)';
    case ConfigError.BadLength: return 'byteLength in the header differs from the configuration size Envoy passed';
    case ConfigError.SectionOutOfBounds: return 'a section (table, names, routes) lies outside the blob, is misaligned, or names or routes overlap the table';
    case ConfigError.CountMismatch: return 'cluster or route count differs from the route table';
    case ConfigError.BadRouteRecord: return 'a route record has an abort status outside 200..599 or a percentage above 100%';
    case ConfigError.BadRouteTable: return 'the route table was refused by the core (route_table_check)';
    default: return 'ok';
  }
}

function sectionOk(len: u64, off: u32, count: u64, size: u64): bool {
  return (off & 3) == 0 && <u64>off >= <u64>HEADER_SIZE && <u64>off + count * size <= len;
}

// Does [off, off+n) stay clear of the route table [tableOff, tableEnd)? The router writes the
// table's state (smooth-WRR weights) on every request, so a name record or route record
// sharing its bytes could change after this check: a name pointing outside the blob.
function clearOfTable(off: u64, n: u64, tableOff: u64, tableEnd: u64): bool {
  return n == 0 || off + n <= tableOff || off >= tableEnd;
}

/**
 * Checks a configuration of `len` bytes at `c` (never traps for any bytes inside it): header,
 * sections, cluster names, route records, then the route table with the core's own check.
 * `needTable`: the router checks the table (and seeds its state); the fault filter does not
 * use it and checks only the rest.
 */
export function configCheck(c: usize, len: u32, needTable: bool): ConfigError {
  if (len < HEADER_SIZE) return ConfigError.TooShort;
  if (u32At(c, C_MAGIC) != CONFIG_MAGIC) return ConfigError.BadMagic;
  if (u32At(c, C_VERSION) != CONFIG_VERSION) return ConfigError.BadVersion;
  if (u32At(c, C_LENGTH) != len) return ConfigError.BadLength;
  const tableOff = u32At(c, C_TABLE_OFF);
  const tableLen = u32At(c, C_TABLE_LEN);
  if ((tableOff & 15) != 0 || tableOff < HEADER_SIZE || <u64>tableOff + <u64>tableLen > <u64>len) return ConfigError.SectionOutOfBounds;
  const clusters = u32At(c, C_CLUSTER_COUNT);
  const routes = u32At(c, C_ROUTE_COUNT);
  if (!sectionOk(<u64>len, u32At(c, C_NAMES_OFF), <u64>clusters, <u64>NAME_SIZE)) return ConfigError.SectionOutOfBounds;
  if (!sectionOk(<u64>len, u32At(c, C_ROUTES_OFF), <u64>routes, <u64>ROUTE_SIZE)) return ConfigError.SectionOutOfBounds;
  const tableStart = <u64>tableOff;
  const tableEnd = tableStart + <u64>tableLen;
  if (!clearOfTable(<u64>u32At(c, C_NAMES_OFF), <u64>clusters * <u64>NAME_SIZE, tableStart, tableEnd)) return ConfigError.SectionOutOfBounds;
  if (!clearOfTable(<u64>u32At(c, C_ROUTES_OFF), <u64>routes * <u64>ROUTE_SIZE, tableStart, tableEnd)) return ConfigError.SectionOutOfBounds;
  for (let i: u32 = 0; i < clusters; i++) {
    const n = c + <usize>u32At(c, C_NAMES_OFF) + <usize>i * NAME_SIZE;
    const off = <u64>load<u32>(n);
    const nlen = <u64>load<u32>(n + 4);
    // An empty name could never be a cluster_header value Envoy routes by.
    if (nlen == 0 || off < <u64>HEADER_SIZE || off + nlen > <u64>len) return ConfigError.SectionOutOfBounds;
    if (!clearOfTable(off, nlen, tableStart, tableEnd)) return ConfigError.SectionOutOfBounds;
  }
  for (let i: u32 = 0; i < routes; i++) {
    const r = c + <usize>u32At(c, C_ROUTES_OFF) + <usize>i * ROUTE_SIZE;
    const abort = load<u32>(r + R_ABORT_STATUS);
    if (load<u32>(r + R_DELAY_PER_MILLION) > PER_MILLION || load<u32>(r + R_ABORT_PER_MILLION) > PER_MILLION) return ConfigError.BadRouteRecord;
    if (load<u32>(r + R_ABORT_PER_MILLION) > 0 && (abort < 200 || abort > 599)) return ConfigError.BadRouteRecord;
  }
  if (!needTable) return ConfigError.Ok;
  const t = c + <usize>tableOff;
  tableStatus = checkTable(t, tableLen);
  if (tableStatus != RouteStatus.Ok) return ConfigError.BadRouteTable;
  if (u32At(t, H_CLUSTER_COUNT) != clusters || u32At(t, H_ROUTE_COUNT) != routes) return ConfigError.CountMismatch;
  return ConfigError.Ok;
}

/** The route table inside configuration `c` (checked by configCheck). */
@inline export function configTable(c: usize): usize {
  return c + <usize>u32At(c, C_TABLE_OFF);
}

/** Address of cluster `i`'s name bytes and their length. */
@inline export function clusterNamePtr(c: usize, i: u32): usize {
  return c + <usize>load<u32>(c + <usize>u32At(c, C_NAMES_OFF) + <usize>i * NAME_SIZE);
}

@inline export function clusterNameLen(c: usize, i: u32): usize {
  return <usize>load<u32>(c + <usize>u32At(c, C_NAMES_OFF) + <usize>i * NAME_SIZE + 4);
}

/** Address of route `i`'s record. */
@inline export function routeRecord(c: usize, i: u32): usize {
  return c + <usize>u32At(c, C_ROUTES_OFF) + <usize>i * ROUTE_SIZE;
}
