// The filters' plugin configuration as the host encodes it: the route table copied byte for
// byte at a 16-aligned offset, cluster names, route records (flags, faults per million), and
// located errors for faults the filters cannot apply; and as the filters check it
// (filters/config/plugin-config.ts): sections clear of the table, and random corruption never
// trapping or hanging either filter.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FakeProxyHost } from '../helpers/fake-proxy-host.js';
import { wasmProperty } from '../helpers/wasm-deadline.js';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { C, CONFIG_MAGIC, encodeFiltersPluginConfig, FLAG_DEST_ROUTES, FLAG_ROUTE_HEADER, NAME_SIZE, R, ROUTE_SIZE } from '../../host/envoy/filters-plugin-config.js';
import { FiltersConfigError } from '../../host/envoy/filters-config-error.js';
import { dest, route, seed000Split, webCluster } from '../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';

const u32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

function withFaults(): MeshConfig {
  const v1 = webCluster('v1', 1001);
  const v2 = webCluster('v2', 1002);
  return {
    clusters: [v1, v2],
    virtualHosts: [{
      name: 'gw', domains: ['*', 'web.example.com'], routes: [
        route('default/web/0', [dest(v1.name)], { fault: { delay: { fixedDelayMs: 250, percentage: 12.5 }, abort: null } }),
        route('default/web/1', [dest(v2.name)], { fault: { delay: null, abort: { httpStatus: 503, percentage: 0.0001 } } }),
        route('default/web/2', [dest(v1.name, 50), dest(v2.name, 50)]),
      ],
    }],
  };
}

describe('encodeFiltersPluginConfig', () => {
  it('wraps the route table byte for byte, 16-aligned, with the cluster names in index order', () => {
    const mesh = seed000Split();
    const table = compileRouteTable(mesh, { listenerPort: 8080 });
    const blob = encodeFiltersPluginConfig(mesh, table);
    expect(u32(blob, C.MAGIC)).toBe(CONFIG_MAGIC);
    expect(u32(blob, C.LENGTH)).toBe(blob.length);
    const off = u32(blob, C.TABLE_OFF);
    expect(off % 16).toBe(0);
    expect(u32(blob, C.TABLE_LEN)).toBe(table.length);
    expect(Buffer.from(blob.subarray(off, off + table.length)).equals(Buffer.from(table))).toBe(true);
    expect(u32(blob, C.CLUSTER_COUNT)).toBe(2);
    const names = [0, 1].map((i) => {
      const at = u32(blob, C.NAMES_OFF) + i * NAME_SIZE;
      return Buffer.from(blob.subarray(u32(blob, at), u32(blob, at) + u32(blob, at + 4))).toString();
    });
    expect(names).toEqual(mesh.clusters.map((c) => c.name));
    expect(u32(blob, C.FAULT_SEED)).toBe(0);
  });

  it('writes one record per flattened route: dest-route flag and faults per million', () => {
    const mesh = withFaults();
    const blob = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { destRoutes: [false, false, true], faultSeed: 42 });
    expect(u32(blob, C.ROUTE_COUNT)).toBe(3);
    expect(u32(blob, C.FAULT_SEED)).toBe(42);
    const rec = (i: number, f: number): number => u32(blob, u32(blob, C.ROUTES_OFF) + i * ROUTE_SIZE + f);
    expect([rec(0, R.FLAGS), rec(0, R.DELAY_MS), rec(0, R.DELAY_PER_MILLION), rec(0, R.ABORT_STATUS), rec(0, R.ABORT_PER_MILLION)]).toEqual([FLAG_ROUTE_HEADER, 250, 125_000, 0, 0]);
    expect([rec(1, R.DELAY_MS), rec(1, R.DELAY_PER_MILLION), rec(1, R.ABORT_STATUS), rec(1, R.ABORT_PER_MILLION)]).toEqual([0, 0, 503, 1]);
    expect(rec(2, R.FLAGS)).toBe(FLAG_ROUTE_HEADER | FLAG_DEST_ROUTES);
    expect(rec(2, R.ABORT_PER_MILLION)).toBe(0);
    const shared = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { routeHeader: false });
    expect([0, 1, 2].map((i) => u32(shared, u32(shared, C.ROUTES_OFF) + i * ROUTE_SIZE + R.FLAGS))).toEqual([0, 0, 0]);
  });

  it.each([
    ['abort status 700', { delay: null, abort: { httpStatus: 700, percentage: 10 } }, /fault\.abort\.httpStatus 700/],
    ['abort percentage 150', { delay: null, abort: { httpStatus: 503, percentage: 150 } }, /fault\.abort\.percentage 150/],
    ['delay of 1.5 ms', { delay: { fixedDelayMs: 1.5, percentage: 10 }, abort: null }, /fault\.delay\.fixedDelay 1\.5/],
    ['negative delay percentage', { delay: { fixedDelayMs: 10, percentage: -1 }, abort: null }, /fault\.delay\.percentage -1/],
  ])('refuses a fault the filters cannot apply: %s', (_what, fault, message) => {
    const mesh = withFaults();
    mesh.virtualHosts[0].routes[0].fault = fault;
    let err: unknown;
    try {
      encodeFiltersPluginConfig(mesh, compileRouteTable(mesh));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FiltersConfigError);
    expect((err as FiltersConfigError).code).toBe('filters_config_bad_fault');
    expect((err as FiltersConfigError).where).toBe('route default/web/0');
    expect((err as Error).message).toMatch(message);
  });
});

/** What the router's configure answers for `bytes`, and the log line of a refusal. */
function configureRouter(bytes: Uint8Array): { ok: boolean; error: string | undefined } {
  const host = new FakeProxyHost();
  const [, ok] = host.startRoot('wasmesh_router', bytes);
  return { ok, error: host.logs.find((l) => l.level === 4)?.message };
}

describe('the filters check the configuration (configCheck)', () => {
  const mesh = withFaults();
  const good = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { destRoutes: [false, false, true], faultSeed: 7 });
  const tableOff = u32(good, C.TABLE_OFF);
  const tableEnd = tableOff + u32(good, C.TABLE_LEN);
  const edit = (f: (v: DataView) => void): Uint8Array => {
    const b = good.slice();
    f(new DataView(b.buffer));
    return b;
  };
  /** The first 4-aligned offset inside the table where `count` records of `size` bytes all pass `valid`. */
  const spotInTable = (count: number, size: number, valid: (at: number) => boolean): number => {
    for (let at = tableOff; at + count * size <= tableEnd; at += 4) {
      if (Array.from({ length: count }, (_, i) => at + i * size).every(valid)) return at;
    }
    throw new Error('no spot in the table');
  };

  it('accepts what the host encodes', () => {
    expect(configureRouter(good)).toEqual({ ok: true, error: undefined });
  });

  // The router writes the table's state on every request: a record sharing table bytes could
  // change after the check (a name pointing anywhere). The records placed here all pass the
  // per-record rules; only their place is wrong.
  const nameOk = (at: number) => u32(good, at + 4) > 0 && u32(good, at) >= 48 && u32(good, at) + u32(good, at + 4) <= good.length;
  const routeOk = (at: number) => u32(good, at + R.DELAY_PER_MILLION) <= 1e6 && u32(good, at + R.ABORT_PER_MILLION) === 0;
  it.each<[string, () => Uint8Array]>([
    ['name records inside the table', () => edit((v) => v.setUint32(C.NAMES_OFF, spotInTable(2, NAME_SIZE, nameOk), true))],
    ['route records inside the table', () => edit((v) => v.setUint32(C.ROUTES_OFF, spotInTable(3, ROUTE_SIZE, routeOk), true))],
    ["a name's bytes inside the table", () => edit((v) => v.setUint32(v.getUint32(C.NAMES_OFF, true), tableOff + 200, true))],
  ])('refuses %s', (_what, bytes) => {
    const r = configureRouter(bytes());
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/wasmesh_config_section_out_of_bounds/);
  });
});

/** Requests for both filters: routed by host, path, header; route indices in and out of range. */
const REQUESTS: Array<Array<[string, string]>> = [
  [[':method', 'GET'], [':path', '/'], [':authority', 'web.example.com'], ['x-wasmesh-route', '0']],
  [[':method', 'POST'], [':path', '/x?y'], [':authority', 'other:8080'], ['x-wasmesh-route', '1']],
  [[':method', 'GET'], [':path', '/'], [':authority', 'web.example.com'], ['x-wasmesh-route', '2']],
  [[':method', 'GET'], [':path', '/'], [':authority', ''], ['x-wasmesh-route', '9']],
];

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts): a configuration
// the filters accept but loop on fails the test instead of hanging the run.
const configCorruption = wasmProperty(import.meta.url, 'random corruption of a WMFP configuration', () => {
  const mesh = withFaults();
  const good = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { destRoutes: [false, false, true], faultSeed: 7 });
  const value = fc.oneof(fc.nat(255), fc.constantFrom(0, 1, 2, 0xff));
  return [fc.array(fc.tuple(fc.nat(good.length - 1), value), { minLength: 1, maxLength: 8 }), (edits: Array<[number, number]>) => {
    const b = good.slice();
    for (const [at, v] of edits) b[at] = v;
    // No call may throw: a refused configuration answers 500, a trap would throw a RuntimeError.
    const host = new FakeProxyHost();
    for (const id of ['wasmesh_router', 'wasmesh_fault']) {
      const [root] = host.startRoot(id, b);
      for (let round = 0; round < 2; round++) {
        for (const headers of REQUESTS) host.end(host.request(root, headers).stream);
      }
      const delayed = host.request(root, REQUESTS[0]!);
      host.nowMs += 60_000;
      host.tick(root);
      host.end(delayed.stream);
      host.endRoot(root);
    }
  }];
}, { numRuns: 400 });

describe('random corruption', () => {
  it('property: a corrupted configuration never traps or hangs the router or the fault filter', () => configCorruption.check(), 60_000);
});
