// The Wasm matcher through RouteTable: virtual-host selection by authority, then route order,
// OR/AND of match blocks, uri exact/prefix/regex, header exact/prefix/regex/present/invert.
import { describe, test, expect } from 'vitest';
import { load, mesh, vhost, route, match, exact, prefix, header, regex } from '../../helpers/route-table-builder.js';

/** A table whose virtual host i has one catch-all route, so the route index names the vhost. */
function hosts(...domainLists: string[][]) {
  return load(mesh(domainLists.map((d, i) => vhost(`vh${i}`, d, [route(`ns/vh${i}/0`)]))));
}

describe('authority → virtual host', () => {
  test('exact domains, case-insensitive', () => {
    const t = hosts(['a.example.com'], ['b.example.com']);
    expect(t.matchRequest('GET', '/', 'a.example.com')).toBe(0);
    expect(t.matchRequest('GET', '/', 'B.Example.COM')).toBe(1);
    expect(t.matchRequest('GET', '/', 'c.example.com')).toBe(-1);
    expect(t.matchRequest('GET', '/', 'a.example.co')).toBe(-1);
    expect(t.matchRequest('GET', '/', 'xa.example.com')).toBe(-1);
    expect(t.matchRequest('GET', '/', '')).toBe(-1);
  });

  test('pattern case is folded too', () => {
    const t = hosts(['Web.Example.COM']);
    expect(t.matchRequest('GET', '/', 'web.example.com')).toBe(0);
  });

  test('a pattern without a port matches any port or none; with a port only that port', () => {
    const t = hosts(['web'], ['api:8080']);
    expect(t.matchRequest('GET', '/', 'web')).toBe(0);
    expect(t.matchRequest('GET', '/', 'web:80')).toBe(0);
    expect(t.matchRequest('GET', '/', 'web:9999')).toBe(0);
    expect(t.matchRequest('GET', '/', 'api:8080')).toBe(1);
    expect(t.matchRequest('GET', '/', 'api')).toBe(-1);
    expect(t.matchRequest('GET', '/', 'api:8081')).toBe(-1);
    expect(t.matchRequest('GET', '/', 'api:08080')).toBe(1);
  });

  test('host:port beats host for the same host', () => {
    const t = hosts(['web'], ['web:8080']);
    expect(t.matchRequest('GET', '/', 'web:8080')).toBe(1);
    expect(t.matchRequest('GET', '/', 'web:80')).toBe(0);
    expect(t.matchRequest('GET', '/', 'web')).toBe(0);
  });

  test('a malformed port only reaches port-less patterns', () => {
    const t = hosts(['web'], ['api:80']);
    expect(t.matchRequest('GET', '/', 'web:abc')).toBe(0);
    expect(t.matchRequest('GET', '/', 'web:')).toBe(0);
    expect(t.matchRequest('GET', '/', 'api:99999')).toBe(-1);
  });

  test('suffix wildcards: longest first, after exact, before *', () => {
    const t = hosts(['*'], ['*.example.com'], ['*.api.example.com'], ['exact.api.example.com']);
    expect(t.matchRequest('GET', '/', 'exact.api.example.com')).toBe(3);
    expect(t.matchRequest('GET', '/', 'v1.api.example.com')).toBe(2);
    expect(t.matchRequest('GET', '/', 'a.b.api.example.com')).toBe(2);
    expect(t.matchRequest('GET', '/', 'www.example.com')).toBe(1);
    expect(t.matchRequest('GET', '/', 'WWW.EXAMPLE.COM:443')).toBe(1);
    // `*` needs at least one byte: the bare suffix is not matched by its wildcard.
    expect(t.matchRequest('GET', '/', '.example.com')).toBe(0);
    expect(t.matchRequest('GET', '/', 'example.com')).toBe(0);
    expect(t.matchRequest('GET', '/', 'other.org')).toBe(0);
    expect(t.matchRequest('GET', '/', '')).toBe(0);
  });

  test('suffix wildcards with ports', () => {
    const t = hosts(['*.example.com:8080'], ['*.example.com'], ['*:9090']);
    expect(t.matchRequest('GET', '/', 'a.example.com:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', 'a.example.com:80')).toBe(1);
    expect(t.matchRequest('GET', '/', 'a.example.com')).toBe(1);
    expect(t.matchRequest('GET', '/', 'a.other.com:9090')).toBe(2);
    expect(t.matchRequest('GET', '/', 'a.other.com:9091')).toBe(-1);
  });

  test('without * nothing else matches', () => {
    const t = hosts(['*.example.com']);
    expect(t.matchRequest('GET', '/', 'example.org')).toBe(-1);
  });

  test('IPv6 authorities split at the port colon only', () => {
    const t = hosts(['[::1]:8080'], ['[::1]'], ['[fe80::1]:80']);
    expect(t.matchRequest('GET', '/', '[::1]:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', '[::1]')).toBe(1);
    expect(t.matchRequest('GET', '/', '[::1]:9000')).toBe(1);
    expect(t.matchRequest('GET', '/', '[FE80::1]:80')).toBe(2);
    expect(t.matchRequest('GET', '/', '[fe80::1]')).toBe(-1);
    // An unbracketed IPv6 address is a host without a port, not host "::" port 1.
    expect(t.matchRequest('GET', '/', '::1')).toBe(-1);
  });

  test('10,000 exact domains all resolve', () => {
    const n = 10_000;
    const t = hosts(...Array.from({ length: n }, (_, i) => [`svc-${i}.ns.svc.cluster.local`, `svc-${i}:80`]));
    for (let i = 0; i < n; i += 7) {
      expect(t.matchRequest('GET', '/', `svc-${i}.ns.svc.cluster.local`)).toBe(i);
      expect(t.matchRequest('GET', '/', `svc-${i}:80`)).toBe(i);
    }
    expect(t.matchRequest('GET', '/', `svc-${n}.ns.svc.cluster.local`)).toBe(-1);
    expect(t.matchRequest('GET', '/', 'svc-1:81')).toBe(-1);
    t.release();
  });
});

describe('routes within a virtual host', () => {
  test('first matching route wins, in order; route indices are flattened across hosts', () => {
    const t = load(mesh([
      vhost('a', ['a'], [route('a/0', [match(exact('/x'))]), route('a/1')]),
      vhost('b', ['b'], [route('b/0', [match(prefix('/api'))]), route('b/1', [match(prefix('/'))]), route('b/2')]),
    ]));
    expect(t.matchRequest('GET', '/x', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/y', 'a')).toBe(1);
    expect(t.matchRequest('GET', '/api/v1', 'b')).toBe(2);
    expect(t.matchRequest('GET', '/other', 'b')).toBe(3);
    expect(t.matchRequest('GET', '', 'b')).toBe(4);
  });

  test('no route matches → -1', () => {
    const t = load(mesh([vhost('a', ['a'], [route('a/0', [match(exact('/only'))])])]));
    expect(t.matchRequest('GET', '/other', 'a')).toBe(-1);
    const empty = load(mesh([vhost('a', ['a'], [])]));
    expect(empty.matchRequest('GET', '/', 'a')).toBe(-1);
  });

  test('uri exact and prefix apply to the path, not the query', () => {
    const t = load(mesh([vhost('a', ['a'], [route('a/0', [match(exact('/login'))]), route('a/1', [match(prefix('/static/'))])])]));
    expect(t.matchRequest('GET', '/login', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/login?next=/x', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/login/', 'a')).toBe(-1);
    expect(t.matchRequest('GET', '/logi', 'a')).toBe(-1);
    expect(t.matchRequest('GET', '/LOGIN', 'a')).toBe(-1);
    expect(t.matchRequest('GET', '/static/app.js?v=1', 'a')).toBe(1);
    expect(t.matchRequest('GET', '/static', 'a')).toBe(-1);
    expect(t.matchRequest('GET', '/x?/static/', 'a')).toBe(-1);
  });

  test('long paths compare correctly across word boundaries', () => {
    const p = '/a/very/long/path/that/spans/many/eight/byte/words/0123456789';
    const t = load(mesh([vhost('a', ['a'], [route('a/0', [match(exact(p))]), route('a/1', [match(prefix(p.slice(0, 37)))])])]));
    expect(t.matchRequest('GET', p, 'a')).toBe(0);
    expect(t.matchRequest('GET', p.slice(0, -1) + 'X', 'a')).toBe(1);
    expect(t.matchRequest('GET', p.slice(0, 36) + 'X' + p.slice(37), 'a')).toBe(-1);
  });

  test('ignoreUriCase folds ASCII case of the path', () => {
    const t = load(mesh([vhost('a', ['a'], [route('a/0', [match(prefix('/Api/V1'), [], true)])])]));
    expect(t.matchRequest('GET', '/api/v1/users', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/API/V1', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/api/v2', 'a')).toBe(-1);
  });

  test('match blocks are ORed, conditions within one are ANDed', () => {
    const t = load(mesh([vhost('a', ['a'], [
      route('a/0', [
        match(prefix('/api'), [header('x-version', exact('v2'))]),
        match(exact('/v2')),
      ]),
      route('a/1'),
    ])]));
    expect(t.matchRequest('GET', '/api/x', 'a', [['x-version', 'v2']])).toBe(0);
    expect(t.matchRequest('GET', '/api/x', 'a', [['x-version', 'v1']])).toBe(1);
    expect(t.matchRequest('GET', '/api/x', 'a')).toBe(1);
    expect(t.matchRequest('GET', '/v2', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/other', 'a', [['x-version', 'v2']])).toBe(1);
  });
});

describe('header conditions', () => {
  const t = () => load(mesh([vhost('a', ['a'], [
    route('exact', [match(null, [header('end-user', exact('jason'))])]),
    route('prefix', [match(null, [header('x-canary', prefix('yes'))])]),
    route('present', [match(null, [header('x-debug', null)])]),
    route('without', [match(prefix('/w'), [header('x-block', exact('1'), true)])]),
    route('without-present', [match(prefix('/np'), [header('x-trace', null, true)])]),
    route('fallback'),
  ])]));

  test('exact: whole value, case-sensitive', () => {
    const r = t();
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'jason']])).toBe(0);
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'Jason']])).toBe(5);
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'jason2']])).toBe(5);
    expect(r.matchRequest('GET', '/', 'a', [['end-user', '']])).toBe(5);
  });

  test('prefix', () => {
    const r = t();
    expect(r.matchRequest('GET', '/', 'a', [['x-canary', 'yes-please']])).toBe(1);
    expect(r.matchRequest('GET', '/', 'a', [['x-canary', 'ye']])).toBe(5);
  });

  test('present: any value, even empty', () => {
    const r = t();
    expect(r.matchRequest('GET', '/', 'a', [['x-debug', '']])).toBe(2);
    expect(r.matchRequest('GET', '/', 'a', [['x-debugger', '1']])).toBe(5);
  });

  test('invert (withoutHeaders): holds when no occurrence matches, including absence', () => {
    const r = t();
    expect(r.matchRequest('GET', '/w', 'a')).toBe(3);
    expect(r.matchRequest('GET', '/w', 'a', [['x-block', '0']])).toBe(3);
    expect(r.matchRequest('GET', '/w', 'a', [['x-block', '1']])).toBe(5);
    expect(r.matchRequest('GET', '/np', 'a')).toBe(4);
    expect(r.matchRequest('GET', '/np', 'a', [['x-trace', 'abc']])).toBe(5);
  });

  test('several occurrences: each compared on its own, any match counts', () => {
    const r = t();
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'bob'], ['end-user', 'jason']])).toBe(0);
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'jason'], ['end-user', 'bob']])).toBe(0);
    // Not the comma-joined value: "bob,jason" is neither occurrence.
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'bob,jason']])).toBe(5);
    expect(r.matchRequest('GET', '/w', 'a', [['x-block', '0'], ['x-block', '1']])).toBe(5);
  });

  test('names are matched lower-case whatever the config wrote', () => {
    const r = load(mesh([vhost('a', ['a'], [route('r', [match(null, [header('End-User', exact('jason'))])])])]));
    expect(r.matchRequest('GET', '/', 'a', [['end-user', 'jason']])).toBe(0);
  });
});

describe('regex conditions (full match, RE2 syntax)', () => {
  // Seed 002's reviews rule: end-user jason with a Chrome user agent → v2, else v1.
  const t = () => load(mesh([vhost('a', ['a'], [
    route('jason-chrome', [match(null, [header('end-user', exact('jason')), header('user-agent', regex('.*Chrome.*'))])]),
    route('api', [match(regex('^/api/v[0-9]+/.*'))]),
    route('icase-ignored', [match(regex('/Static/.*'), [], true)]),
    route('icase', [match(regex('(?i)/static/.*'))]),
    route('not-bot', [match(prefix('/nb'), [header('user-agent', regex('(?i).*bot.*'), true)])]),
    route('fallback'),
  ])]));
  const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

  test("seed 002: end-user jason AND a Chrome user-agent", () => {
    const r = t();
    expect(r.matchRequest('GET', '/reviews/0', 'a', [['end-user', 'jason'], ['user-agent', chrome]])).toBe(0);
    expect(r.matchRequest('GET', '/reviews/0', 'a', [['end-user', 'jason'], ['user-agent', 'curl/8.0']])).toBe(5);
    expect(r.matchRequest('GET', '/reviews/0', 'a', [['end-user', 'bob'], ['user-agent', chrome]])).toBe(5);
    expect(r.matchRequest('GET', '/reviews/0', 'a', [['end-user', 'jason']])).toBe(5);
  });

  test('uri regex: the whole path, without the query', () => {
    const r = t();
    expect(r.matchRequest('GET', '/api/v2/users', 'a')).toBe(1);
    expect(r.matchRequest('GET', '/api/v2/users?x=/api/v', 'a')).toBe(1);
    expect(r.matchRequest('GET', '/api/vX/users', 'a')).toBe(5);
    expect(r.matchRequest('GET', '/x/api/v2/users', 'a')).toBe(5);
  });

  test('ignoreUriCase does not fold a regex (as Envoy); (?i) does', () => {
    const r = t();
    expect(r.matchRequest('GET', '/Static/a.css', 'a')).toBe(2);
    expect(r.matchRequest('GET', '/STATIC/a.css', 'a')).toBe(3);
    expect(r.matchRequest('GET', '/static/a.css', 'a')).toBe(3);
  });

  test('withoutHeaders regex: holds when absent or no occurrence matches', () => {
    const r = t();
    expect(r.matchRequest('GET', '/nb', 'a')).toBe(4);
    expect(r.matchRequest('GET', '/nb', 'a', [['user-agent', chrome]])).toBe(4);
    expect(r.matchRequest('GET', '/nb', 'a', [['user-agent', 'GoogleBot/2.1']])).toBe(5);
  });

  test('non-ASCII header bytes: `.` takes whole UTF-8 sequences', () => {
    const r = load(mesh([vhost('a', ['a'], [route('r', [match(null, [header('x-name', regex('J.s.'))])])])]));
    // Field values reach the view as the listener reads them: one character per byte (latin1).
    const wire = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
    expect(r.matchRequest('GET', '/', 'a', [['x-name', wire('Jösé')]])).toBe(0);
    expect(r.matchRequest('GET', '/', 'a', [['x-name', wire('Jös😀')]])).toBe(0);
    expect(r.matchRequest('GET', '/', 'a', [['x-name', wire('Jös')]])).toBe(-1);
  });
});
