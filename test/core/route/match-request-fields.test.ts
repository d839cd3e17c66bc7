// The Wasm matcher on the request fields format 3 added or the compiler now emits: method,
// authority, query parameters, port (authority's, else the listener's) and scheme (decided at
// compile time), plus HostPicks clusters whose endpoint the host chooses.
import { describe, test, expect } from 'vitest';
import { load, mesh, vhost, route, match, exact, prefix, regex, cluster, core } from '../../helpers/route-table-builder.js';
import type { RouteMatch } from '../../../host/model/mesh.js';
import { PICK_BY_HOST } from '../../../host/compile/route-table.js';

/** One virtual host `*` whose route 0 holds `blocks` and route 1 catches the rest. */
function table(blocks: RouteMatch[], listenerPort?: number) {
  return load(mesh([vhost('v', ['*'], [route('ns/v/0', blocks), route('ns/v/rest')])]), core(), listenerPort === undefined ? {} : { listenerPort });
}
const only = (more: Partial<RouteMatch>) => match(null, [], false, more);

describe('method and authority', () => {
  test('method exact/prefix/regex, case-sensitive as sent', () => {
    const t = table([only({ method: exact('POST') }), only({ method: prefix('PA') }), only({ method: regex('DELETE|PUT') })]);
    expect(['POST', 'post', 'PATCH', 'PUT', 'DELETE', 'GET'].map((m) => t.matchRequest(m, '/', 'a'))).toEqual([0, 1, 0, 0, 0, 1]);
  });

  test('authority as sent, port included', () => {
    const t = table([only({ authority: exact('api.example:8080') }), only({ authority: regex('(?i)www\\.example(:[0-9]+)?') })]);
    expect(t.matchRequest('GET', '/', 'api.example:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', 'api.example')).toBe(1);
    expect(t.matchRequest('GET', '/', 'WWW.example:81')).toBe(0);
    expect(t.matchRequest('GET', '/', 'www.example:')).toBe(1);
  });
});

describe('query parameters', () => {
  const t = table([
    only({ queryParams: [{ name: 'v', match: exact('2') }] }),
    only({ queryParams: [{ name: 'flag', match: null }, { name: 'q', match: prefix('ab') }] }),
    only({ queryParams: [{ name: 'id', match: regex('[0-9]+') }] }),
    only({ queryParams: [{ name: 'empty', match: exact('') }] }),
  ]);
  test.each([
    ['/p?v=2', 0],
    ['/p?a=1&v=2', 0],
    ['/p?v=2#frag', 0],
    ['/p?v=22', 1],
    ['/p?v=3&v=2', 1], // only the first `v` is compared (Envoy)
    ['/p?V=2', 1], // names are case-sensitive
    ['/p?v%3D2', 1], // not decoded
    ['/p#?v=2', 1], // after the fragment mark: no query
    ['/p?flag&q=abc', 0],
    ['/p?flag=&q=ab', 0],
    ['/p?q=abc', 1],
    ['/p?flag', 1],
    ['/p?id=123', 0],
    ['/p?id=12a', 1],
    ['/p?id=', 1],
    ['/p?empty', 0], // `name` alone is present with the empty value
    ['/p?empty=', 0],
    ['/p?empty=x', 1],
    ['/p?&&v=2&', 0],
    ['/p', 1],
  ])('%s → route %i', (path, want) => {
    expect(t.matchRequest('GET', path, 'a')).toBe(want);
  });
});

describe('port', () => {
  test("the authority's port, else the listener port", () => {
    const t = table([only({ port: 8080 })], 8080);
    expect(t.matchRequest('GET', '/', 'a:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', 'a')).toBe(0); // no port: the listener's
    expect(t.matchRequest('GET', '/', 'a:80')).toBe(1);
    expect(t.matchRequest('GET', '/', '[::1]:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', 'a:x')).toBe(0); // not a port: the listener's
  });

  test('listener port unknown (0): only an authority port can match', () => {
    const t = table([only({ port: 8080 })]);
    expect(t.matchRequest('GET', '/', 'a:8080')).toBe(0);
    expect(t.matchRequest('GET', '/', 'a')).toBe(1);
  });
});

describe('scheme, decided at compile time (the listener serves http)', () => {
  test('a block requiring https is dropped; http blocks hold without a condition', () => {
    const t = table([only({ scheme: exact('https'), uri: prefix('/') }), only({ scheme: regex('https?'), uri: exact('/x') })]);
    expect(t.matchRequest('GET', '/x', 'a')).toBe(0);
    expect(t.matchRequest('GET', '/y', 'a')).toBe(1);
  });

  test('a route whose every block requires https matches nothing (not everything)', () => {
    const t = table([only({ scheme: exact('https') }), only({ scheme: prefix('HTTP') })]);
    expect(t.matchRequest('GET', '/', 'a')).toBe(1);
  });
});

describe('HostPicks clusters', () => {
  test('CONSISTENT_HASH and PASSTHROUGH: pick_endpoint answers PICK_BY_HOST, -1 without endpoints', () => {
    const t = load(mesh([vhost('v', ['v'], [route('ns/v/0', [], [['h', 100]])])], [cluster('h', 3, 'CONSISTENT_HASH'), cluster('p', 1, 'PASSTHROUGH'), cluster('e', 0, 'CONSISTENT_HASH')]));
    expect(PICK_BY_HOST).toBe(-7);
    expect([t.pickEndpoint(0), t.pickEndpoint(1), t.pickEndpoint(2)]).toEqual([PICK_BY_HOST, PICK_BY_HOST, -1]);
    // Health and active counts are kept for them like for any cluster.
    t.setHealth(0, 1, false);
    expect(t.active(0, 2, 1)).toBe(1);
    t.release();
  });
});
