// The wasmesh_fault filter in a JavaScript proxy-wasm host: delay (pause, tick armed for the
// deadline, resume), abort (Envoy's body and details), both drawn independently with the
// route's percentages, a client gone while delayed, and the tick stopped when nothing waits.
import { describe, expect, it } from 'vitest';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { encodeFiltersPluginConfig } from '../../host/envoy/filters-plugin-config.js';
import { FakeProxyHost } from '../helpers/fake-proxy-host.js';
import { dest, route, webCluster } from '../helpers/mesh-fixtures.js';
import type { FaultPolicy, MeshConfig } from '../../host/model/mesh.js';

/** Route i of the mesh carries faults[i]. */
function meshWith(faults: Array<FaultPolicy | null>): MeshConfig {
  const v1 = webCluster('v1', 1001);
  return { clusters: [v1], virtualHosts: [{ name: 'gw', domains: ['*'], routes: faults.map((f, i) => route(`default/web/${i}`, [dest(v1.name)], { fault: f })) }] };
}

function start(faults: Array<FaultPolicy | null>, seed = 1234): { host: FakeProxyHost; root: number } {
  const host = new FakeProxyHost();
  const mesh = meshWith(faults);
  const [root, ok] = host.startRoot('wasmesh_fault', encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { faultSeed: seed }));
  expect(ok).toBe(true);
  return { host, root };
}

/** Request headers as they leave wasmesh_router for route `index`. */
const routed = (index: number): Array<[string, string]> => [[':method', 'GET'], [':path', '/'], [':authority', 'x'], ['x-wasmesh-route', String(index)]];

describe('wasmesh_fault', () => {
  it('lets requests of a route without fault through, and requests no route was chosen for', () => {
    const { host, root } = start([null]);
    expect(host.request(root, routed(0)).action).toBe(0);
    expect(host.request(root, [[':path', '/']]).action).toBe(0);
    expect(host.localResponses).toEqual([]);
  });

  it('aborts 100% with the status, Envoy\'s body and details', () => {
    const { host, root } = start([{ delay: null, abort: { httpStatus: 418, percentage: 100 } }]);
    const r = host.request(root, routed(0));
    expect(r.action).toBe(1);
    expect(host.localResponses).toEqual([{ stream: r.stream, status: 418, details: 'fault_filter_abort', body: 'fault filter abort' }]);
    host.tick(root);
    expect(host.metrics.get('wasmesh_fault_aborts')).toBe(1);
  });

  it('delays: pauses, arms the tick for the deadline, resumes only once it has passed, then ticks for metrics only', () => {
    const { host, root } = start([{ delay: { fixedDelayMs: 250, percentage: 100 }, abort: null }]);
    expect(host.tickPeriods.get(root)).toBe(1000);
    const a = host.request(root, routed(0));
    expect(a.action).toBe(1);
    expect(host.tickPeriods.get(root)).toBe(250);
    host.nowMs += 100;
    const b = host.request(root, routed(0));
    host.nowMs += 100; // a's deadline is 50 ms away; Envoy's timer may fire early: nothing resumes
    host.tick(root);
    expect([host.resumed(a.stream), host.resumed(b.stream)]).toEqual([false, false]);
    expect(host.tickPeriods.get(root)).toBe(50);
    host.nowMs += 50;
    host.tick(root);
    expect([host.resumed(a.stream), host.resumed(b.stream)]).toEqual([true, false]);
    expect(host.tickPeriods.get(root)).toBe(100);
    host.nowMs += 100;
    host.tick(root);
    expect(host.resumed(b.stream)).toBe(true);
    expect(host.tickPeriods.get(root)).toBe(1000);
    expect(host.metrics.get('wasmesh_fault_delays')).toBe(2);
  });

  it('delay then abort: the abort is answered when the delay ends', () => {
    const { host, root } = start([{ delay: { fixedDelayMs: 10, percentage: 100 }, abort: { httpStatus: 503, percentage: 100 } }]);
    const r = host.request(root, routed(0));
    expect(r.action).toBe(1);
    expect(host.localResponses).toEqual([]);
    host.nowMs += 10;
    host.tick(root);
    expect(host.resumed(r.stream)).toBe(false);
    expect(host.localResponses).toEqual([{ stream: r.stream, status: 503, details: 'fault_filter_abort', body: 'fault filter abort' }]);
  });

  it('forgets a delayed request whose client went away', () => {
    const { host, root } = start([{ delay: { fixedDelayMs: 10, percentage: 100 }, abort: null }]);
    const r = host.request(root, routed(0));
    host.end(r.stream);
    host.nowMs += 10;
    host.tick(root);
    expect(host.resumed(r.stream)).toBe(false);
    expect(host.tickPeriods.get(root)).toBe(1000);
  });

  it('never arms the tick beyond the metrics period, however long the delay', () => {
    const { host, root } = start([{ delay: { fixedDelayMs: 60_000, percentage: 100 }, abort: null }]);
    const r = host.request(root, routed(0));
    expect(host.tickPeriods.get(root)).toBe(1000);
    for (let s = 0; s < 59; s++) {
      host.nowMs += 1000;
      host.tick(root);
    }
    expect(host.resumed(r.stream)).toBe(false);
    host.nowMs += 1000;
    host.tick(root);
    expect(host.resumed(r.stream)).toBe(true);
  });

  it('draws delay and abort independently at the route\'s percentages', () => {
    const { host, root } = start([{ delay: { fixedDelayMs: 5, percentage: 30 }, abort: { httpStatus: 503, percentage: 20 } }]);
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      host.request(root, routed(0));
      host.nowMs += 5;
      host.tick(root);
    }
    host.tick(root);
    const delays = host.metrics.get('wasmesh_fault_delays')! / n;
    const aborts = host.metrics.get('wasmesh_fault_aborts')! / n;
    // Standard deviations: 0.32 and 0.28 points; 1.5 points is about 5 of them.
    expect(Math.abs(delays - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(aborts - 0.2)).toBeLessThan(0.015);
  });

  it('ignores a route index outside its configuration (logged), rather than guessing', () => {
    const { host, root } = start([{ delay: null, abort: { httpStatus: 503, percentage: 100 } }]);
    expect(host.request(root, routed(7)).action).toBe(0);
    expect(host.logs.some((l) => l.level === 3 && /x-wasmesh-route is not a route of this configuration/.test(l.message))).toBe(true);
  });

  it('keeps memory flat as root contexts with delayed requests come and go, and as requests are delayed', () => {
    const host = new FakeProxyHost();
    const mesh = meshWith([{ delay: { fixedDelayMs: 10, percentage: 100 }, abort: null }]);
    const bytes = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh));
    const cycle = (): void => {
      for (let k = 0; k < 500; k++) {
        const [root] = host.startRoot('wasmesh_fault', bytes);
        // Clients that go away while delayed; then the plugin is replaced.
        const streams = Array.from({ length: 20 }, () => host.request(root, routed(0)).stream);
        for (const s of streams) host.end(s);
        host.endRoot(root);
      }
      const [root] = host.startRoot('wasmesh_fault', bytes);
      for (let i = 0; i < 2000; i++) {
        const r = host.request(root, routed(0));
        host.nowMs += 10;
        host.tick(root);
        host.end(r.stream);
      }
      host.endRoot(root);
    };
    cycle();
    const before = host.memoryBytes;
    for (let k = 0; k < 10; k++) cycle();
    expect(host.memoryBytes).toBe(before);
  });

  it('refuses a configuration with an impossible fault record', () => {
    const host = new FakeProxyHost();
    const mesh = meshWith([{ delay: null, abort: { httpStatus: 503, percentage: 50 } }]);
    const bytes = encodeFiltersPluginConfig(mesh, compileRouteTable(mesh));
    const v = new DataView(bytes.buffer);
    v.setUint32(v.getUint32(32, true) + 16, 2_000_000, true);
    const [, ok] = host.startRoot('wasmesh_fault', bytes);
    expect(ok).toBe(false);
    expect(host.logs.find((l) => l.level === 4)?.message).toMatch(/^wasmesh_fault: plugin configuration rejected \(wasmesh_config_bad_route_record/);
  });
});
