// The core's fault draws (assembly/fault through host/core/fault/fault.ts): Envoy's comparison
// (random % 1,000,000 < numerator) on an xorshift32 stream, the ends exact, and the very same
// decisions as the proxy-wasm fault filter makes in Envoy for the same seed (one implementation).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { FaultDice, FAULT_ABORT, FAULT_DELAY, percentPerMillion } from '../../../host/core/fault/fault.js';
import { compileRouteTable } from '../../../host/compile/route-table.js';
import { encodeFiltersPluginConfig } from '../../../host/envoy/filters-plugin-config.js';
import { FakeProxyHost } from '../../helpers/fake-proxy-host.js';
import { dest, route, webCluster } from '../../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../../host/model/mesh.js';

/** xorshift32 as written in assembly/fault/fault.ts, in JS: the reference. */
function reference(seed: number): (delayPm: number, abortPm: number) => number {
  let x = seed >>> 0 || 0x9e3779b9;
  const draw = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % 1_000_000;
  };
  return (d, a) => (d > 0 && draw() < d ? FAULT_DELAY : 0) | (a > 0 && draw() < a ? FAULT_ABORT : 0);
}

describe('FaultDice (assembly/fault)', () => {
  const core = new Core();

  it('matches the reference draw for draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.array(fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 })), { maxLength: 200 }), (seed, pairs) => {
        const dice = new FaultDice(core, seed);
        const ref = reference(seed);
        for (const [d, a] of pairs) expect(dice.decide(d, a)).toBe(ref(d, a));
      }),
      { numRuns: 200 },
    );
  });

  it('0 never and 100 % always injects, whatever the draws', () => {
    const dice = new FaultDice(core, 7);
    for (let i = 0; i < 1000; i++) expect(dice.decide(percentPerMillion(100), percentPerMillion(0))).toBe(FAULT_DELAY);
    expect(percentPerMillion(0.0001)).toBe(1);
    expect(percentPerMillion(-3)).toBe(0);
    expect(percentPerMillion(150)).toBe(1_000_000);
  });

  it('decides as the proxy-wasm fault filter does in Envoy for the same seed', () => {
    const v1 = webCluster('v1', 1001);
    const fault = { delay: null, abort: { httpStatus: 503, percentage: 37.5 } };
    const mesh: MeshConfig = { clusters: [v1], virtualHosts: [{ name: 'gw', domains: ['*'], routes: [route('r', [dest(v1.name)], { fault })] }] };
    const host = new FakeProxyHost();
    const [root] = host.startRoot('wasmesh_fault', encodeFiltersPluginConfig(mesh, compileRouteTable(mesh), { faultSeed: 4242 }));
    const dice = new FaultDice(core, 4242);
    const envoy: boolean[] = [];
    const native: boolean[] = [];
    for (let i = 0; i < 500; i++) {
      const before = host.localResponses.length;
      host.request(root, [[':method', 'GET'], [':path', '/'], [':authority', 'x'], ['x-wasmesh-route', '0']]);
      envoy.push(host.localResponses.length > before);
      native.push((dice.decide(0, percentPerMillion(37.5)) & FAULT_ABORT) !== 0);
    }
    expect(native).toEqual(envoy);
    const aborted = native.filter(Boolean).length;
    expect(aborted).toBeGreaterThan(150);
    expect(aborted).toBeLessThan(225);
  });
});
