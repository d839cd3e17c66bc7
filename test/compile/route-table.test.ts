// compileRouteTable without Wasm: the layout it writes, and the clear errors it throws for
// configurations the table cannot express yet.
import { describe, test, expect } from 'vitest';
import { compileRouteTable, parseDomainPattern, domainHash, H, TABLE_MAGIC, TABLE_FORMAT, PORT_ANY } from '../../host/compile/route-table.js';
import { RouteCompileError } from '../../host/compile/route-compile-error.js';
import { mesh, vhost, route, match, exact, prefix, regex, header, cluster } from '../helpers/route-table-builder.js';

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

function compileError(f: () => unknown): RouteCompileError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RouteCompileError);
    return e as RouteCompileError;
  }
  throw new Error('expected a RouteCompileError');
}

describe('layout', () => {
  test('header counts, magic and length', () => {
    const m = mesh(
      [
        vhost('a', ['a', '*.a'], [route('ns/a/0', [match(prefix('/x'), [header('h', exact('1'))]), match(exact('/y'))]), route('ns/a/1')]),
        vhost('b', ['b:80'], [route('ns/b/0', [], [['c0', 80], ['c1', 20]])]),
      ],
      [cluster('c0', 2), cluster('c1', 3)],
    );
    const b = compileRouteTable(m);
    expect(u32(b, H.MAGIC)).toBe(TABLE_MAGIC);
    expect(u32(b, H.FORMAT)).toBe(TABLE_FORMAT);
    expect(u32(b, H.LENGTH)).toBe(b.length);
    expect(u32(b, H.VHOST_COUNT)).toBe(2);
    expect(u32(b, H.ROUTE_COUNT)).toBe(3);
    expect(u32(b, H.BLOCK_COUNT)).toBe(2);
    expect(u32(b, H.COND_COUNT)).toBe(3);
    expect(u32(b, H.DEST_COUNT)).toBe(4);
    expect(u32(b, H.CLUSTER_COUNT)).toBe(2);
    expect(u32(b, H.ENDPOINT_COUNT)).toBe(5);
    expect(u32(b, H.EXACT_COUNT)).toBe(2);
    expect(u32(b, H.SUFFIX_COUNT)).toBe(1);
    expect(u32(b, H.SUFFIX_MIN_LEN)).toBe(2);
    expect(u32(b, H.SUFFIX_MAX_LEN)).toBe(2);
    // Every endpoint starts healthy with no active requests.
    const es = u32(b, H.ENDPOINT_STATE);
    for (let e = 0; e < 5; e++) expect([u32(b, es + e * 8), b[es + e * 8 + 4]]).toEqual([0, 1]);
  });

  test('pure and deterministic: the same mesh gives the same bytes', () => {
    const m = () => mesh([vhost('a', ['a'], [route('ns/a/0', [match(prefix('/'))])])]);
    expect(compileRouteTable(m())).toEqual(compileRouteTable(m()));
  });

  test('strings are pooled once', () => {
    const rs = Array.from({ length: 50 }, (_, i) => route(`ns/a/${i}`, [match(prefix('/same/prefix/for/all'), [header('x-same', exact('value'))])]));
    const b = compileRouteTable(mesh([vhost('a', ['a'], rs)]));
    expect(u32(b, H.POOL_LEN)).toBe('/same/prefix/for/all'.length + 'x-same'.length + 'value'.length + 'a'.length);
  });

  test('an empty mesh compiles', () => {
    const b = compileRouteTable({ virtualHosts: [], clusters: [] });
    expect(u32(b, H.VHOST_COUNT)).toBe(0);
    expect(u32(b, H.LENGTH)).toBe(b.length);
  });
});

describe('domain patterns', () => {
  test('split like an authority, lower-cased', () => {
    expect(parseDomainPattern('Web.Example.com', 'v', 'd')).toEqual({ wildcard: false, host: 'web.example.com', port: PORT_ANY });
    expect(parseDomainPattern('web:8080', 'v', 'd')).toEqual({ wildcard: false, host: 'web', port: 8080 });
    expect(parseDomainPattern('*.example.com:443', 'v', 'd')).toEqual({ wildcard: true, host: '.example.com', port: 443 });
    expect(parseDomainPattern('*', 'v', 'd')).toEqual({ wildcard: true, host: '', port: PORT_ANY });
    expect(parseDomainPattern('[::1]:80', 'v', 'd')).toEqual({ wildcard: false, host: '[::1]', port: 80 });
    expect(parseDomainPattern('[::1]', 'v', 'd')).toEqual({ wildcard: false, host: '[::1]', port: PORT_ANY });
  });

  test.each([
    ['', 'is empty'],
    ['foo.*', 'prefix wildcards'],
    ['a.*.com', 'only in front'],
    ['**.com', 'only once'],
    ['::1', 'more than one colon'],
    ['web:http', 'port'],
    ['web:70000', 'port'],
    ['web:', 'port'],
    [':80', 'no host'],
    ['[::1', 'IPv6 bracket'],
    ['[::1]x', 'not a port'],
    ['we b', 'printable ASCII'],
    ['wéb', 'punycode'],
  ])('%j is refused: %s', (pattern, why) => {
    const e = compileError(() => compileRouteTable(mesh([vhost('ns/vs', [pattern], [])])));
    expect(e.code).toBe('invalid_domain');
    expect(e.where).toBe('ns/vs');
    expect(e.field).toBe('domains[0]');
    expect(e.message).toContain(why);
  });

  test('hash is the backwards FNV-1a the core computes', () => {
    // FNV-1a of "ba" forwards = hash of "ab" backwards.
    let h = 0x811c9dc5;
    for (const c of 'ba') h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    expect(domainHash(new TextEncoder().encode('ab'))).toBe(h);
  });
});

describe('regex conditions', () => {
  test('op regex, the pattern in the pool, aux at an aligned program in the regex section, one program per pattern', () => {
    const m = mesh([vhost('v', ['v'], [
      route('ns/v/0', [match({ kind: 'regex', value: '/api/v[0-9]+/.*' }, [header('user-agent', { kind: 'regex', value: '.*Chrome.*' })])]),
      route('ns/v/1', [match({ kind: 'regex', value: '/api/v[0-9]+/.*' }, [], true)]),
    ])]);
    const b = compileRouteTable(m);
    const conds = u32(b, H.CONDS);
    const regexOff = u32(b, H.REGEX);
    const regexLen = u32(b, H.REGEX_LEN);
    expect(regexOff % 8).toBe(0);
    expect(regexOff + regexLen).toBeLessThanOrEqual(u32(b, H.STATE));
    const rec = (i: number) => ({ op: b[conds + i * 24 + 1], flags: b[conds + i * 24 + 2], valueOff: u32(b, conds + i * 24 + 12), valueLen: u32(b, conds + i * 24 + 16), aux: u32(b, conds + i * 24 + 20) });
    const [uri, ua, uri2] = [rec(0), rec(1), rec(2)];
    expect([uri.op, ua.op, uri2.op]).toEqual([2, 2, 2]);
    expect(new TextDecoder().decode(b.subarray(uri.valueOff, uri.valueOff + uri.valueLen))).toBe('/api/v[0-9]+/.*');
    // ignoreUriCase does not apply to a regex: no flag, same program.
    expect(uri2.flags).toBe(0);
    expect(uri2.aux).toBe(uri.aux);
    expect(uri.aux).toBe(regexOff);
    for (const c of [uri, ua]) {
      expect(c.aux % 8).toBe(0);
      expect(u32(b, c.aux)).toBe(0x58524d57); // "WMRX"
      expect(c.aux + u32(b, c.aux + 8)).toBeLessThanOrEqual(regexOff + regexLen);
    }
    expect(ua.aux).toBeGreaterThan(uri.aux);
  });

  test('a table without regexes has an empty regex section', () => {
    const b = compileRouteTable(mesh([vhost('v', ['v'], [route('ns/v/0', [match(prefix('/'))])])]));
    expect(u32(b, H.REGEX_LEN)).toBe(0);
  });
});

describe('errors', () => {
  test('a regex that does not compile → its regex code, naming the route, field and position', () => {
    const e = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/0', [match({ kind: 'regex', value: '/(a)\\1' })])])])));
    expect(e.code).toBe('unsupported_regex');
    expect(e.where).toBe('ns/vs/0');
    expect(e.field).toBe('uri.regex');
    expect(e.message).toBe('route ns/vs/0: uri.regex: regex "/(a)\\\\1" at offset 4: backreference `\\1` is not supported (RE2 rejects it too) (unsupported_regex)');
    expect((e.cause as { code: string }).code).toBe('unsupported_regex');
  });

  test('header regex and withoutHeaders regex errors name their field', () => {
    const h = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/1', [match(null, [header('x-user', { kind: 'regex', value: '(ab' })])])])])));
    expect([h.code, h.field]).toEqual(['invalid_regex', 'headers.x-user.regex']);
    const w = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/2', [match(null, [header('x-user', { kind: 'regex', value: '(a|b)*a(a|b){12}' }, true)])])])])));
    expect([w.code, w.field]).toEqual(['regex_too_large', 'withoutHeaders.x-user.regex']);
    expect(w.message).toMatch(/^route ns\/vs\/2: withoutHeaders\.x-user\.regex: regex .* 4096 DFA states/);
  });

  test('duplicate domains across virtual hosts, including case and port spelling', () => {
    const e = compileError(() => compileRouteTable(mesh([vhost('one', ['web', 'web:80'], []), vhost('two', ['WEB:80'], [])])));
    expect(e.code).toBe('duplicate_domain');
    expect(e.message).toBe('virtual host two: domains[0] "WEB:80" is already a domain of virtual host one');
    // The same host with and without a port is not a duplicate; nor are exact and wildcard.
    expect(() => compileRouteTable(mesh([vhost('one', ['web', '*web'], []), vhost('two', ['web:80'], [])]))).not.toThrow();
  });

  test('unknown cluster, bad weights, duplicate clusters, unknown lb', () => {
    const unknown = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/0', [], [['nope', 100]])])])));
    expect([unknown.code, unknown.field]).toEqual(['unknown_cluster', 'destinations[0].cluster']);
    const neg = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/0', [], [['c0', -1]])])])));
    expect([neg.code, neg.field]).toEqual(['invalid_weight', 'destinations[0].weight']);
    const frac = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/0', [], [['c0', 0.5]])])])));
    expect(frac.code).toBe('invalid_weight');
    const zero = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/vs/0', [], [['c0', 0], ['c0', 0]])])])));
    expect([zero.code, zero.field]).toEqual(['invalid_weight', 'destinations']);
    const dup = compileError(() => compileRouteTable(mesh([], [cluster('c'), cluster('c')])));
    expect(dup.code).toBe('duplicate_cluster');
    const lb = compileError(() => compileRouteTable(mesh([], [{ ...cluster('c'), lb: 'MAGLEV' as never }])));
    expect(lb.code).toBe('unsupported_lb');
  });
});

describe('format 3: method, authority, query, port, scheme; listener port; lb kinds', () => {
  const condsOf = (b: Uint8Array) => {
    const n = u32(b, H.COND_COUNT);
    const off = u32(b, H.CONDS);
    const text = (o: number, l: number) => new TextDecoder().decode(b.subarray(o, o + l));
    return Array.from({ length: n }, (_, i) => {
      const c = off + i * 24;
      return { subject: b[c]!, op: b[c + 1]!, flags: b[c + 2]!, name: text(u32(b, c + 4), u32(b, c + 8)), value: text(u32(b, c + 12), u32(b, c + 16)), aux: u32(b, c + 20) };
    });
  };
  const one = (m: ReturnType<typeof match>[], options = {}) => compileRouteTable(mesh([vhost('v', ['v'], [route('ns/v/0', m)])]), options);

  test('conditions in block order: uri, method, authority, port, headers, query parameters', () => {
    const b = one([match(prefix('/a'), [header('X', exact('1'))], false, {
      method: exact('GET'), authority: prefix('api'), port: 8080, scheme: exact('http'),
      queryParams: [{ name: 'Q', match: null }, { name: 'v', match: exact('2') }],
    })], { listenerPort: 15001 });
    expect(u32(b, H.FORMAT)).toBe(3);
    expect(u32(b, H.LISTENER_PORT)).toBe(15001);
    expect(condsOf(b)).toEqual([
      { subject: 0, op: 1, flags: 0, name: '', value: '/a', aux: 0 },
      { subject: 2, op: 0, flags: 0, name: '', value: 'GET', aux: 0 },
      { subject: 3, op: 1, flags: 0, name: '', value: 'api', aux: 0 },
      { subject: 6, op: 0, flags: 0, name: '', value: '', aux: 8080 },
      { subject: 1, op: 0, flags: 0, name: 'x', value: '1', aux: 0 },
      { subject: 5, op: 3, flags: 0, name: 'Q', value: '', aux: 0 }, // query names keep their case
      { subject: 5, op: 0, flags: 0, name: 'v', value: '2', aux: 0 },
    ]);
    // The scheme condition holds on the http listener: no record for it.
    expect(u32(b, H.BLOCK_COUNT)).toBe(1);
  });

  test('blocks ruled out by scheme are left out; with none left the route gets one Never block', () => {
    const some = one([match(exact('/a'), [], false, { scheme: exact('https') }), match(exact('/b'))]);
    expect(u32(some, H.BLOCK_COUNT)).toBe(1);
    expect(condsOf(some).map((c) => c.value)).toEqual(['/b']);
    const none = one([match(exact('/a'), [], false, { scheme: exact('https') })]);
    expect(u32(none, H.BLOCK_COUNT)).toBe(1);
    expect(condsOf(none)).toEqual([{ subject: 0, op: 5, flags: 0, name: '', value: '', aux: 0 }]);
    const routesOff = u32(none, H.ROUTES);
    expect(u32(none, routesOff + 4)).toBe(1); // blockCount 1, not 0 (which would match all)
  });

  test('lb kinds: CONSISTENT_HASH and PASSTHROUGH are HostPicks (3)', () => {
    const b = compileRouteTable(mesh([], [cluster('a', 1, 'ROUND_ROBIN'), cluster('b', 1, 'LEAST_REQUEST'), cluster('c', 1, 'RANDOM'), cluster('d', 1, 'CONSISTENT_HASH'), cluster('e', 1, 'PASSTHROUGH')]));
    const off = u32(b, H.CLUSTERS);
    expect([0, 1, 2, 3, 4].map((i) => u32(b, off + i * 16 + 8))).toEqual([0, 1, 2, 3, 3]);
  });

  test('errors: bad ports, bad listener port, bad scheme regex, mirrors to unknown clusters', () => {
    const port = compileError(() => one([match(null, [], false, { port: 0 })]));
    expect([port.code, port.where, port.field]).toEqual(['invalid_port', 'ns/v/0', 'port']);
    expect(compileError(() => one([match(null, [], false, { port: 65536 })])).code).toBe('invalid_port');
    expect(compileError(() => one([], { listenerPort: 70000 })).code).toBe('invalid_port');
    const scheme = compileError(() => one([match(null, [], false, { scheme: regex('(') })]));
    expect([scheme.code, scheme.field]).toEqual(['invalid_regex', 'scheme.regex']);
    const q = compileError(() => one([match(null, [], false, { queryParams: [{ name: 'a', match: regex('a\\b') }] })]));
    expect([q.code, q.field]).toEqual(['unsupported_regex', 'queryParams.a.regex']);
    const mirror = compileError(() => compileRouteTable(mesh([vhost('v', ['v'], [{ ...route('ns/v/0'), mirrors: [{ cluster: 'nope', percentage: 100 }] }])])));
    expect([mirror.code, mirror.field]).toEqual(['unknown_cluster', 'mirrors[0].cluster']);
  });
});
