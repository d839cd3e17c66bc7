// Encodes the wasmesh filters' plugin configuration ("WMFP", format documented once atop
// filters/config/plugin-config.ts; the constants below mirror it): the route table exactly as
// compileRouteTable emits it, the clusters' names, and one record per route (Envoy route flags
// and the route's fault). Pure: bytes out, no Wasm, no files.
import type { FaultPolicy, MeshConfig } from '../model/mesh.js';
import { FiltersConfigError } from './filters-config-error.js';

// ── Format mirror (filters/config/plugin-config.ts) ─────────────────────────────────────
export const CONFIG_MAGIC = 0x50464d57;
export const CONFIG_VERSION = 1;
export const HEADER_SIZE = 48;
export const C = {
  MAGIC: 0, VERSION: 4, LENGTH: 8, TABLE_OFF: 12, TABLE_LEN: 16, CLUSTER_COUNT: 20, NAMES_OFF: 24,
  ROUTE_COUNT: 28, ROUTES_OFF: 32, FAULT_SEED: 36,
} as const;
export const NAME_SIZE = 8;
export const ROUTE_SIZE = 20;
export const R = { FLAGS: 0, DELAY_MS: 4, DELAY_PER_MILLION: 8, ABORT_STATUS: 12, ABORT_PER_MILLION: 16 } as const;
/** Envoy's routes (or the fault filter) tell this route apart: the router sends x-wasmesh-route. */
export const FLAG_ROUTE_HEADER = 1;
/** The route has one Envoy route per destination: the router sends x-wasmesh-dest. */
export const FLAG_DEST_ROUTES = 2;
export const PER_MILLION = 1_000_000;

export interface FiltersPluginConfigOptions {
  /** Send x-wasmesh-route (default true): false when one Envoy route serves every route alike. */
  routeHeader?: boolean;
  /** Per flattened route: does Envoy hold one route per destination (header operations per destination)? */
  destRoutes?: readonly boolean[];
  /** Seeds the fault filter's draws (tests); 0 or absent: seeded from the clock. */
  faultSeed?: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;
const encoder = new TextEncoder();

/** Istio's percentage (0..100, fractions allowed) as parts per million, as Istio gives Envoy. */
export function perMillion(percentage: number, where: string, field: string): number {
  if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
    throw new FiltersConfigError('filters_config_bad_fault', where, `${field} ${percentage} is not a percentage from 0 to 100`);
  }
  return Math.round(percentage * 10_000);
}

/** The four numbers of a route record's fault; all 0 for no fault. */
export function faultNumbers(fault: FaultPolicy | null | undefined, where: string): [number, number, number, number] {
  let delayMs = 0;
  let delayPm = 0;
  let abortStatus = 0;
  let abortPm = 0;
  if (fault?.delay) {
    const ms = fault.delay.fixedDelayMs;
    if (!Number.isInteger(ms) || ms < 0 || ms > 0xffffffff) {
      throw new FiltersConfigError('filters_config_bad_fault', where, `fault.delay.fixedDelay ${ms} ms is not a whole number of milliseconds the filter can wait`);
    }
    delayMs = ms;
    delayPm = ms === 0 ? 0 : perMillion(fault.delay.percentage, where, 'fault.delay.percentage');
  }
  if (fault?.abort) {
    const status = fault.abort.httpStatus;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new FiltersConfigError('filters_config_bad_fault', where, `fault.abort.httpStatus ${status} is not an HTTP status from 200 to 599`);
    }
    abortStatus = status;
    abortPm = perMillion(fault.abort.percentage, where, 'fault.abort.percentage');
  }
  return [delayMs, delayPm, abortStatus, abortPm];
}

/**
 * The plugin configuration for `mesh`, given `table` = compileRouteTable(mesh, …) (its bytes
 * are copied unchanged). Route and cluster order are mesh.ts's index contract.
 * @throws FiltersConfigError for a fault the filters cannot apply.
 */
export function encodeFiltersPluginConfig(mesh: MeshConfig, table: Uint8Array, options: FiltersPluginConfigOptions = {}): Uint8Array {
  const routes = mesh.virtualHosts.flatMap((vh) => vh.routes);
  const names = mesh.clusters.map((c) => encoder.encode(c.name));
  const seed = options.faultSeed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new FiltersConfigError('filters_config_bad_fault', 'options', `faultSeed ${seed} is not a u32`);
  }

  const tableOff = align(HEADER_SIZE, 16);
  const namesOff = align(tableOff + table.length, 8);
  const routesOff = align(namesOff + names.length * NAME_SIZE, 8);
  let stringsOff = routesOff + routes.length * ROUTE_SIZE;
  const length = stringsOff + names.reduce((n, b) => n + b.length, 0);

  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  const u32 = (off: number, value: number): void => v.setUint32(off, value >>> 0, true);
  u32(C.MAGIC, CONFIG_MAGIC);
  u32(C.VERSION, CONFIG_VERSION);
  u32(C.LENGTH, length);
  u32(C.TABLE_OFF, tableOff);
  u32(C.TABLE_LEN, table.length);
  u32(C.CLUSTER_COUNT, names.length);
  u32(C.NAMES_OFF, namesOff);
  u32(C.ROUTE_COUNT, routes.length);
  u32(C.ROUTES_OFF, routesOff);
  u32(C.FAULT_SEED, seed);
  out.set(table, tableOff);
  names.forEach((bytes, i) => {
    u32(namesOff + i * NAME_SIZE, stringsOff);
    u32(namesOff + i * NAME_SIZE + 4, bytes.length);
    out.set(bytes, stringsOff);
    stringsOff += bytes.length;
  });
  routes.forEach((route, i) => {
    const at = routesOff + i * ROUTE_SIZE;
    const [delayMs, delayPm, abortStatus, abortPm] = faultNumbers(route.fault, `route ${route.name}`);
    u32(at + R.FLAGS, (options.routeHeader === false ? 0 : FLAG_ROUTE_HEADER) | (options.destRoutes?.[i] ? FLAG_DEST_ROUTES : 0));
    u32(at + R.DELAY_MS, delayMs);
    u32(at + R.DELAY_PER_MILLION, delayPm);
    u32(at + R.ABORT_STATUS, abortStatus);
    u32(at + R.ABORT_PER_MILLION, abortPm);
  });
  return out;
}
