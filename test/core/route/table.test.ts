// The route table check (assembly/route/table.ts): each invariant that bounds a loop of the
// matcher or keeps a later write off validated bytes refuses the table that breaks it, and
// random corruption of a table using every record kind never traps or hangs the core.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { RouteTable } from '../../../host/core/route/route-table.js';
import { compileRouteTable, domainHash, H, ROUTE_SIZE, CLUSTER_SIZE, COND_SIZE, BLOCK_SIZE } from '../../../host/compile/route-table.js';
import { mesh, vhost, route, cluster, match, prefix, exact, regex, header } from '../../helpers/route-table-builder.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

const split = compileRouteTable(mesh(
  [vhost('v', ['v', '*.v'], [route('ns/v/0', [match(prefix('/'))], [['c0', 80], ['c1', 20]])])],
  [cluster('c0', 3), cluster('c1', 2)],
));

/** Two vhosts, four routes, two regexes, headers, ignore-case, port and query conditions, three lb kinds. */
function richMesh() {
  return mesh([
    vhost('a', ['a.example', 'a.example:8080', '*.a.example'], [
      route('ns/a/0', [match(regex('/api/v[0-9]+/.*'), [header('x-user', exact('jason'))])], [['c0', 70], ['c1', 30]]),
      route('ns/a/1', [
        match(prefix('/Docs'), [], true),
        match(null, [header('x-debug', null, true)], false, { port: 8080, queryParams: [{ name: 'q', match: regex('[0-9]+') }] }),
      ], [['c1', 100]]),
    ]),
    vhost('b', ['*', 'b', 'w'], [
      route('ns/b/0', [match(exact('/b')), match(null, [], false, { method: exact('GET') })], [['c2', 1], ['c0', 0]]),
      route('ns/b/1', []),
    ]),
  ], [cluster('c0', 3), cluster('c1', 2, 'LEAST_REQUEST'), cluster('c2', 2, 'RANDOM')]);
}
const rich = compileRouteTable(richMesh(), { listenerPort: 8080 });

let version = 0;
const shared = new Core();
/** The core's verdict on `bytes`: 'accepted' or the RouteTableError code. */
function verdict(bytes: Uint8Array): string {
  try {
    RouteTable.load(shared, bytes, ++version).release();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'accepted';
}

/** `base` edited by `f`, then judged. */
function edited(base: Uint8Array, f: (v: DataView, b: Uint8Array) => void): string {
  const b = base.slice();
  f(new DataView(b.buffer), b);
  return verdict(b);
}

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

describe('the check accepts what the compiler writes', () => {
  test('both fixtures load', () => {
    expect(verdict(split)).toBe('accepted');
    expect(verdict(rich)).toBe('accepted');
  });
});

describe('D1–D3: domain indexes', () => {
  test('D1: no empty bucket (a probe for an unknown host would never end) is refused', () => {
    const buckets = u32(split, H.EXACT_BUCKETS_OFF);
    expect([u32(split, buckets), u32(split, buckets + 4)]).toEqual([0, 1]);
    expect(edited(split, (v) => v.setUint32(buckets, 1, true))).toBe('corrupt');
    const suffix = u32(split, H.SUFFIX_BUCKETS_OFF);
    const empty = u32(split, suffix) === 0 ? suffix : suffix + 4;
    expect(edited(split, (v) => v.setUint32(empty, 1, true))).toBe('corrupt');
  });

  test('D1: an entry in two buckets, or in none, is refused', () => {
    // Four exact domains (a.example twice, b, w) in 8 buckets.
    const buckets = u32(rich, H.EXACT_BUCKETS_OFF);
    const n = u32(rich, H.EXACT_BUCKETS);
    const values = Array.from({ length: n }, (_, i) => u32(rich, buckets + i * 4));
    const full = values.findIndex((x) => x !== 0);
    const free = values.findIndex((x) => x === 0);
    expect(edited(rich, (v) => v.setUint32(buckets + free * 4, values[full]!, true))).toBe('corrupt');
    expect(edited(rich, (v) => v.setUint32(buckets + full * 4, 0, true))).toBe('corrupt');
  });

  test('D2: an entry its own probe cannot reach, or whose hash is not its string\'s, is refused', () => {
    const buckets = u32(split, H.EXACT_BUCKETS_OFF);
    // Entry 0 (`v`, home bucket 1) moved to bucket 0, behind an empty bucket 1.
    expect(edited(split, (v) => { v.setUint32(buckets, 1, true); v.setUint32(buckets + 4, 0, true); })).toBe('corrupt');
    const entry = u32(split, H.EXACT_ENTRIES);
    expect(edited(split, (v) => v.setUint32(entry, v.getUint32(entry, true) ^ 2, true))).toBe('corrupt');
    // An upper-case domain with its hash recomputed: the matcher lower-cases the authority, so it never matches.
    const str = u32(split, entry + 4);
    expect(edited(split, (v, b) => { b[str] = 0x56; v.setUint32(entry, domainHash(new Uint8Array([0x56])), true); })).toBe('corrupt');
    expect(edited(split, (v) => v.setUint32(entry + 12, 70000, true))).toBe('corrupt'); // not a port
  });

  test('D3: a suffix entry of a length the walk never probes is refused', () => {
    expect(edited(split, (v) => { v.setUint32(H.SUFFIX_MIN_LEN, 3, true); v.setUint32(H.SUFFIX_MAX_LEN, 3, true); })).toBe('corrupt');
  });
});

describe('M1–M2: mutable state', () => {
  test('M1: a mutable region outside the state section or overlapping another is refused', () => {
    expect(edited(split, (v) => v.setUint32(H.WRR, v.getUint32(H.EXACT_BUCKETS_OFF, true), true))).toBe('corrupt'); // WRR over the buckets
    expect(edited(split, (v) => v.setUint32(H.CURSORS, v.getUint32(H.WRR, true), true))).toBe('corrupt');
    expect(edited(split, (v) => v.setUint32(H.ENDPOINT_STATE, v.getUint32(H.STATE, true), true))).toBe('corrupt'); // over the random word
  });

  test('M1: a state section starting inside a read-only section is refused (route_table_seed would write the pool)', () => {
    const pool = u32(split, H.POOL);
    expect(edited(split, (v) => {
      v.setUint32(H.STATE_LEN, v.getUint32(H.STATE_LEN, true) + (v.getUint32(H.STATE, true) - pool), true);
      v.setUint32(H.STATE, pool, true);
    })).toBe('corrupt');
  });

  test('M2: state that is not fresh is refused', () => {
    expect(edited(split, (v) => v.setInt32(v.getUint32(H.WRR, true) + 4, -3, true))).toBe('corrupt');
    expect(edited(split, (v) => v.setUint32(v.getUint32(H.CURSORS, true), 1, true))).toBe('corrupt');
    const es = u32(split, H.ENDPOINT_STATE);
    expect(edited(split, (v) => v.setUint32(es + 8, 5, true))).toBe('corrupt'); // active requests
    expect(edited(split, (_, b) => { b[es + 4] = 2; })).toBe('corrupt'); // healthy 0/1
    expect(edited(split, (_, b) => { b[es + 7] = 1; })).toBe('corrupt'); // padding
    expect(edited(split, (_, b) => { b[es + 4] = 0; })).toBe('accepted'); // unhealthy is a state
  });
});

describe('P1: partitions', () => {
  test('records shared between owners, skipped, or owned by the wrong vhost are refused', () => {
    const routes = u32(rich, H.ROUTES);
    expect(u32(rich, routes + ROUTE_SIZE)).toBe(1); // route 1's first block
    expect(edited(rich, (v) => v.setUint32(routes + ROUTE_SIZE, 0, true))).toBe('corrupt'); // shares route 0's block
    expect(edited(rich, (v) => v.setUint32(routes + ROUTE_SIZE + 20, 1, true))).toBe('corrupt'); // vhost field
    const blocks = u32(rich, H.BLOCKS);
    expect(edited(rich, (v) => v.setUint32(blocks + BLOCK_SIZE, v.getUint32(blocks + BLOCK_SIZE, true) + 1, true))).toBe('corrupt'); // skips a condition
    const clusters = u32(rich, H.CLUSTERS);
    expect(edited(rich, (v) => v.setUint32(clusters + CLUSTER_SIZE, 0, true))).toBe('corrupt'); // overlapping endpoints
    const vhosts = u32(rich, H.VHOSTS);
    expect(edited(rich, (v) => v.setUint32(vhosts + 12, 1, true))).toBe('corrupt'); // vhost b loses its last route
  });
});

describe('R1, C1: regex programs and conditions', () => {
  test('R1: a program no condition references must pass regex_check too', () => {
    const conds = u32(rich, H.CONDS);
    const auxes = Array.from({ length: u32(rich, H.COND_COUNT) }, (_, i) => [rich[conds + i * COND_SIZE + 1], u32(rich, conds + i * COND_SIZE + 20)] as const)
      .filter(([op]) => op === 2).map(([, aux]) => aux);
    const [first, second] = [...new Set(auxes)].sort((a, b) => a - b) as [number, number];
    expect(second).toBeGreaterThan(first);
    // Every condition on the first program; the second, now unreferenced, damaged.
    expect(edited(rich, (v, b) => {
      for (let i = 0; i < v.getUint32(H.COND_COUNT, true); i++) if (b[conds + i * COND_SIZE + 1] === 2) v.setUint32(conds + i * COND_SIZE + 20, first, true);
      b[second] ^= 0xff;
    })).toBe('corrupt');
    expect(edited(rich, (v, b) => {
      for (let i = 0; i < v.getUint32(H.COND_COUNT, true); i++) if (b[conds + i * COND_SIZE + 1] === 2) v.setUint32(conds + i * COND_SIZE + 20, first, true);
    })).toBe('accepted');
  });

  test('C1: unknown flags, reserved bytes, stray aux and upper-case names or ignore-case values are refused', () => {
    const c = u32(split, H.CONDS); // uri prefix "/"
    expect(edited(split, (_, b) => { b[c + 2] = 4; })).toBe('unsupported');
    expect(edited(split, (_, b) => { b[c + 3] = 1; })).toBe('corrupt');
    expect(edited(split, (v) => v.setUint32(c + 20, 8, true))).toBe('corrupt');
    const conds = u32(rich, H.CONDS);
    const at = (subject: number, flags: number) => Array.from({ length: u32(rich, H.COND_COUNT) }, (_, i) => conds + i * COND_SIZE)
      .find((o) => rich[o] === subject && (rich[o + 2]! & flags) === flags)!;
    const hdr = at(1, 0);
    expect(edited(rich, (_, b) => { b[u32(rich, hdr + 4)] = 0x58; })).toBe('corrupt'); // "X-user"
    const folded = at(0, 2); // uri prefix "/docs", ignore case
    expect(edited(rich, (_, b) => { b[u32(rich, folded + 12) + 1] = 0x44; })).toBe('corrupt'); // "/Docs"
    expect(edited(split, (v) => v.setUint32(u32(split, H.CLUSTERS) + 12, 1, true))).toBe('corrupt'); // cluster reserved word
  });
});

/** Requests touching every kind of record of `rich`. */
const REQUESTS: Array<[string, string, string, Array<[string, string]>]> = [
  ['GET', '/api/v2/x', 'a.example', [['x-user', 'jason']]],
  ['GET', '/docs/a?q=1', 'x.a.example:8080', []],
  ['POST', '/z?q=12&r', 'a.example:8080', []],
  ['GET', '/b', 'b', []],
  ['PUT', '/b', 'w:81', [['x-debug', '1']]],
  ['GET', '/', 'nowhere.example', []],
  ['GET', '/', 'q.v:80', []],
];

/** Loads `bytes`; when accepted, every call must answer (a RouteTableError is an answer), never trap. */
function exercise(c: Core, bytes: Uint8Array): void {
  let t: RouteTable;
  try {
    t = RouteTable.load(c, bytes, 1);
  } catch (e) {
    expect((e as Error).name).toBe('RouteTableError');
    return;
  }
  const answer = (call: () => unknown) => {
    try {
      call();
    } catch (e) {
      expect((e as Error).name).toBe('RouteTableError');
    }
  };
  for (const [m, p, a, h] of REQUESTS) answer(() => t.matchRequest(m, p, a, h));
  for (let r = 0; r < 4; r++) for (let k = 0; k < 3; k++) answer(() => t.pickCluster(r));
  for (let cl = 0; cl < 3; cl++) {
    answer(() => t.setHealth(cl, 0, false));
    for (let k = 0; k < 3; k++) answer(() => t.pickEndpoint(cl));
    answer(() => t.active(cl, 1, 1));
  }
  t.release();
}

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const richCorruption = wasmProperty(import.meta.url, 'random corruption of a table with every record kind', () => {
  const c = new Core();
  const table = compileRouteTable(richMesh(), { listenerPort: 8080 });
  const edit = fc.tuple(fc.nat(table.length - 1), fc.nat(255));
  // Small values and bucket/index-shaped bytes corrupt into plausible tables more often.
  const value = fc.oneof(fc.nat(255), fc.constantFrom(0, 1, 2, 3, 4, 0xff));
  return [fc.array(fc.tuple(edit.map(([at]) => at), value), { minLength: 1, maxLength: 8 }), (edits: Array<[number, number]>) => {
    const b = table.slice();
    for (const [at, v] of edits) b[at] = v;
    exercise(c, b);
  }];
}, { numRuns: 1000 });

// Each 4-byte word of the table set to values that are counts, indices or offsets elsewhere:
// one case per word (all of them, as examples), each under the worker's deadline.
const WORDS = rich.length / 4;
const wordCorruption = wasmProperty(import.meta.url, 'every word of the rich table set to index-like values', () => {
  const c = new Core();
  const table = compileRouteTable(richMesh(), { listenerPort: 8080 });
  return [fc.nat(table.length / 4 - 1), (word: number) => {
    const at = word * 4;
    const was = u32(table, at);
    for (const x of [0, 1, 2, 3, 8, 0xffffffff, was + 1, was - 1, was + 8, was - 8]) {
      const b = table.slice();
      new DataView(b.buffer).setUint32(at, x >>> 0, true);
      exercise(c, b);
    }
  }];
});

describe('random corruption', () => {
  test('property: a table with every record kind, randomly corrupted, never traps or hangs the core', () => richCorruption.check(), 60_000);
  test('every word set to index-like values never traps or hangs the core', () =>
    wordCorruption.check({ examples: Array.from({ length: WORDS }, (_, i) => [i]), numRuns: WORDS }), 60_000);
});
