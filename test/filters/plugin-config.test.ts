// The filters' plugin configuration as the host encodes it: the route table copied byte for
// byte at a 16-aligned offset, cluster names, route records (flags, faults per million), and
// located errors for faults the filters cannot apply.
import { describe, expect, it } from 'vitest';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { C, CONFIG_MAGIC, encodeFiltersPluginConfig, FLAG_DEST_ROUTES, FLAG_ROUTE_HEADER, NAME_SIZE, R, ROUTE_SIZE } from '../../host/envoy/filters-plugin-config.js';
import { FiltersConfigError } from '../../host/envoy/filters-config-error.js';
import { dest, route, seed000Split, webCluster } from '../envoy/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';

const u32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

function withFaults(): MeshConfig {
  const v1 = webCluster('v1', 1001);
  const v2 = webCluster('v2', 1002);
  return {
    clusters: [v1, v2],
    virtualHosts: [{
      name: 'gw', domains: ['*'], routes: [
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
