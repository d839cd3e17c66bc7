// RouteTable versions in one core: independent state, reference counting, memory freed and
// reused, and the core refusing bad tables with an error instead of trapping.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { RouteTable } from '../../../host/core/route/route-table.js';
import { compileRouteTable, H, TABLE_FORMAT } from '../../../host/compile/route-table.js';
import { load, mesh, vhost, route, cluster, match, prefix, regex, header } from '../../helpers/route-table-builder.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

const split = (a: number, b: number) =>
  mesh([vhost('v', ['v', '*.v'], [route('ns/v/0', [match(prefix('/'))], [['c0', a], ['c1', b]])])], [cluster('c0', 3), cluster('c1', 2)]);

/**
 * Loads `bytes`; when the core accepts them, every call must answer (a RouteTableError such as
 * bad_index after a count was corrupted is an answer) without trapping, which would surface
 * as a WebAssembly RuntimeError. A call that never returns is caught by the worker deadline.
 */
function loadAndExercise(c: Core, bytes: Uint8Array): void {
  let t: RouteTable | undefined;
  try {
    t = RouteTable.load(c, bytes, 1);
  } catch (e) {
    expect((e as Error).name).toBe('RouteTableError');
    return;
  }
  const calls = [
    () => t.matchRequest('GET', '/x', 'v'),
    () => t.matchRequest('GET', '/x', 'q.v:80'),
    () => t.pickCluster(0),
    () => t.pickEndpoint(0),
    () => t.pickEndpoint(1),
  ];
  for (const call of calls) {
    try {
      call();
    } catch (e) {
      expect((e as Error).name).toBe('RouteTableError');
    }
  }
  t.release();
}

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts): a table the core
// accepts but loops on fails the test instead of hanging the run. Seeds 110 and 117 found the
// bucket loop (every exact-host bucket full) that the check now refuses.
const corruption = wasmProperty(import.meta.url, 'random corruption of the 80/20 table', () => {
  const good = compileRouteTable(split(80, 20));
  const c = new Core();
  return [fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), (edits: Array<[number, number]>) => {
    const b = good.slice();
    for (const [at, v] of edits) b[at] = v;
    loadAndExercise(c, b);
  }];
}, { numRuns: 500 });

describe('versions', () => {
  test('two loaded versions keep independent state', () => {
    const c = new Core();
    const v1 = RouteTable.load(c, compileRouteTable(split(80, 20)), 1);
    const v2 = RouteTable.load(c, compileRouteTable(split(5, 95)), 2);
    const a = Array.from({ length: 100 }, () => v1.pickCluster(0));
    const b = Array.from({ length: 100 }, () => v2.pickCluster(0));
    expect(a.filter((x) => x === 0).length).toBe(80);
    expect(b.filter((x) => x === 0).length).toBe(5);
    v1.setHealth(0, 0, false);
    expect([v2.pickEndpoint(0), v2.pickEndpoint(0)]).toEqual([0, 1]);
    expect([v1.pickEndpoint(0), v1.pickEndpoint(0)]).toEqual([1, 2]);
    expect(v1.address).not.toBe(v2.address);
    v1.release();
    v2.release();
  });

  test('retain keeps a replaced version alive until the last release frees it', () => {
    const c = new Core();
    const v1 = RouteTable.load(c, compileRouteTable(split(80, 20)), 1);
    v1.retain(); // an in-flight request
    v1.release(); // replaced by a newer version
    expect(v1.released).toBe(false);
    expect(v1.matchRequest('GET', '/', 'v')).toBe(0);
    v1.release(); // the request finished
    expect(v1.released).toBe(true);
    expect(() => v1.match()).toThrow(expect.objectContaining({ code: 'released' }));
    expect(() => v1.release()).toThrow(expect.objectContaining({ code: 'released' }));
  });

  test('compile/load/release 1000 times: memory is reused, not grown', () => {
    const c = new Core();
    // Warm up: the request view and the first tables take their memory once.
    for (let i = 0; i < 10; i++) RouteTable.load(c, compileRouteTable(split(i, 100 - i)), i).release();
    const before = c.exports.memory.buffer.byteLength;
    let prev: RouteTable | undefined;
    for (let i = 0; i < 1000; i++) {
      const next = RouteTable.load(c, compileRouteTable(split(i % 101, 100 - (i % 101))), 100 + i);
      expect(next.matchRequest('GET', '/x', 'a.v')).toBe(0);
      next.pickCluster(0);
      prev?.release();
      prev = next;
    }
    prev?.release();
    expect(c.exports.memory.buffer.byteLength).toBeLessThanOrEqual(before + 64 * 1024);
  });
});

describe('the core refuses bad tables', () => {
  const good = compileRouteTable(split(80, 20));
  const refused = (bytes: Uint8Array) => {
    try {
      RouteTable.load(new Core(), bytes, 1);
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'accepted';
  };
  const patched = (off: number, v: number) => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(off, v, true);
    return b;
  };

  test('magic, format, length', () => {
    expect(refused(good)).toBe('accepted');
    expect(refused(patched(H.MAGIC, 0x12345678))).toBe('bad_magic');
    expect(refused(patched(H.FORMAT, TABLE_FORMAT - 1))).toBe('bad_format');
    expect(refused(patched(H.FORMAT, TABLE_FORMAT + 1))).toBe('bad_format');
    expect(refused(good.slice(0, 100))).toBe('bad_length');
    expect(refused(patched(H.LENGTH, good.length + 1))).toBe('bad_length');
    expect(refused(new Uint8Array(0))).toBe('bad_length');
  });

  test('out-of-range sections and indices', () => {
    expect(refused(patched(H.ROUTE_COUNT, 1_000_000))).toBe('corrupt');
    expect(refused(patched(H.VHOSTS, 0xfffffff0))).toBe('corrupt');
    const destsOff = new DataView(good.buffer).getUint32(H.DESTS, true);
    expect(refused(patched(destsOff, 7))).toBe('corrupt'); // cluster index 7 of 2
    const condsOff = new DataView(good.buffer).getUint32(H.CONDS, true);
    const b = good.slice();
    b[condsOff + 1] = 9; // an op this core does not know
    expect(refused(b)).toBe('unsupported');
    b[condsOff + 1] = 2; // op = regex, but aux (0) is no program in the regex section
    expect(refused(b)).toBe('corrupt');
  });

  test('format 3 records: port conditions, listener port, lb kinds', () => {
    const t = compileRouteTable(mesh([vhost('v', ['v'], [route('ns/v/0', [match(null, [], false, { port: 8080, queryParams: [{ name: 'q', match: null }] })])])]), { listenerPort: 80 });
    expect(refused(t)).toBe('accepted');
    const view = new DataView(t.buffer);
    const condsOff = view.getUint32(H.CONDS, true);
    const edit = (f: (v: DataView, b: Uint8Array) => void) => {
      const b = t.slice();
      f(new DataView(b.buffer), b);
      return refused(b);
    };
    expect(view.getUint8(condsOff)).toBe(6); // Subject.Port first
    expect(edit((v) => v.setUint32(condsOff + 20, 65536, true))).toBe('corrupt'); // not a port
    expect(edit((_, b) => { b[condsOff + 1] = 1; })).toBe('corrupt'); // a port compared by prefix
    expect(edit((_, b) => { b[condsOff] = 4; })).toBe('unsupported'); // Subject.Scheme never reaches a table
    expect(edit((_, b) => { b[condsOff] = 7; })).toBe('unsupported'); // SourceLabel: decided by host/config
    expect(edit((v) => v.setUint32(H.LISTENER_PORT, 65536, true))).toBe('corrupt');
    const clustersOff = view.getUint32(H.CLUSTERS, true);
    expect(edit((v) => v.setUint32(clustersOff + 8, 3, true))).toBe('accepted'); // HostPicks
    expect(edit((v) => v.setUint32(clustersOff + 8, 4, true))).toBe('unsupported');
  });

  test('regex programs: misplaced, damaged, or overlapping the mutable state', () => {
    const rx = compileRouteTable(mesh([vhost('v', ['v'], [route('ns/v/0', [match(regex('/a.*'), [header('x', regex('[0-9]+'))])])])]));
    expect(refused(rx)).toBe('accepted');
    const view = new DataView(rx.buffer);
    const condsOff = view.getUint32(H.CONDS, true);
    const regexOff = view.getUint32(H.REGEX, true);
    const aux = view.getUint32(condsOff + 20, true);
    expect(aux).toBe(regexOff);
    const edit = (f: (v: DataView, b: Uint8Array) => void) => {
      const b = rx.slice();
      f(new DataView(b.buffer), b);
      return refused(b);
    };
    expect(edit((v) => v.setUint32(condsOff + 20, aux + 2, true))).toBe('corrupt'); // unaligned
    expect(edit((v) => v.setUint32(condsOff + 20, view.getUint32(H.POOL, true), true))).toBe('corrupt'); // outside the section
    expect(edit((_, b) => { b[aux] ^= 0xff; })).toBe('corrupt'); // program magic
    expect(edit((v) => v.setUint32(v.getUint32(H.STATE, true), 12345, true))).toBe('accepted'); // state bytes are not program bytes
    expect(edit((v) => v.setUint32(H.REGEX_LEN, v.getUint32(H.STATE, true) - regexOff + 8, true))).toBe('corrupt'); // reaches into state
    // A transition of the first program pointing past its states.
    expect(edit((v) => v.setUint16(aux + v.getUint32(aux + 28, true) + 2 * v.getUint32(aux + 16, true), 0xffff, true))).toBe('corrupt');
  });

  test('property: random corruption never traps the core and never loads unchecked garbage', () => corruption.check());

  // The hang the property found (1 run in 3): byte 256 is the first exact-host bucket, empty
  // in this table; 1 names the one entry, already in bucket 1, so no bucket was left empty and
  // the probe for any host other than `v` wrapped around forever. Now refused (invariant D1).
  test('the minimal case: every exact-host bucket full (byte 256 = 1) is refused', () => {
    expect(new DataView(good.buffer).getUint32(H.EXACT_BUCKETS_OFF, true)).toBe(256);
    const b = good.slice();
    b[256] = 1;
    expect(refused(b)).toBe('corrupt');
  });

  // Seeds of the property that generate a hanging case with fast-check 4.10.2 on this table
  // (a scan of seeds 0..2999 found 21): 460 sets byte 256 to 1 (case 246), 323 does the same
  // to the suffix index's empty bucket, byte 288 (case 96). Run as the property runs them.
  test('seed 460 (exact-host buckets all full at case 246)', () => corruption.check({ seed: 460 }));
  test('seed 323 (suffix buckets all full at case 96)', () => corruption.check({ seed: 323 }));
});
