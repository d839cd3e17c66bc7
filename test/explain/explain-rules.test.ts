// Differential property test: for random route tables and random requests, the rule explain
// reports as matching is the route a proxy's route table matches (the core's match_route on a
// table loaded on its own), every rule before it reports a failing condition for each block,
// and the described conditions line up with the compiled blocks (walkRules throws otherwise).
import { expect, test } from 'vitest';
import fc from 'fast-check';
import type { MeshConfig, RouteMatch, StringMatch } from '../../host/model/mesh.js';
import { Core } from '../../host/core/wasm.js';
import { RouteExplainer } from '../../host/core/route/route-explain.js';
import { walkRules } from '../../host/explain/explain-rules.js';
import { load, mesh, vhost, route, match, header, cluster } from '../helpers/route-table-builder.js';

const sm = (values: string[], regexes: string[]): fc.Arbitrary<StringMatch> => fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: fc.constantFrom(...values) }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom(...regexes) }),
);
const block: fc.Arbitrary<RouteMatch> = fc.record({
  uri: fc.option(sm(['/', '/a', '/ab', '/b', ''], ['/a.*', '.*b', '/[ab]*']), { nil: null }),
  ignoreUriCase: fc.boolean(),
  headers: fc.array(fc.tuple(fc.constantFrom('x', 'y'), fc.option(sm(['', 'a', 'ab'], ['a.*', '[ab]+']), { nil: null }), fc.boolean()).map(([n, m, inv]) => header(n, m, inv)), { maxLength: 2 }),
  method: fc.option(sm(['GET', 'POST', 'G'], ['GET|PUT']), { nil: null, freq: 2 }),
  authority: fc.option(sm(['a', 'a:80', 'b'], ['a.*']), { nil: null, freq: 3 }),
  scheme: fc.option(sm(['http', 'https'], ['https?', 'h.*s']), { nil: null, freq: 3 }),
  port: fc.option(fc.constantFrom(80, 8080), { nil: null, freq: 3 }),
  queryParams: fc.array(fc.record({ name: fc.constantFrom('q', 'r'), match: fc.option(sm(['', '1'], ['[0-9]+']), { nil: null }) }), { maxLength: 1 }),
}).map((m) => match(m.uri, m.headers, m.ignoreUriCase, { method: m.method, authority: m.authority, scheme: m.scheme, port: m.port, queryParams: m.queryParams }));
const table: fc.Arbitrary<MeshConfig> = fc.array(fc.array(fc.array(block, { maxLength: 3 }), { maxLength: 5 }), { minLength: 1, maxLength: 3 })
  .map((vhs) => mesh(vhs.map((rs, v) => vhost(`vh${v}`, v === 0 ? ['*'] : [`h${v}`, `h${v}:8080`], rs.map((blocks, r) => route(`ns/vh${v}/${r}`, blocks)))), [cluster('c0')]));
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT'),
  path: fc.tuple(fc.constantFrom('/', '/a', '/ab', '/A', '/b/c', ''), fc.constantFrom('', '?q=1', '?q', '?r=x&q=12', '#f')).map(([p, s]) => p + s),
  authority: fc.constantFrom('a', 'a:80', 'b', 'h1', 'h1:8080', 'h2', 'h2:9', 'zz'),
  headers: fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.constantFrom('', 'a', 'ab', 'b')), { maxLength: 3 }),
});

test('explain\'s chosen rule ≡ the route table\'s match, for random tables and requests', () => {
  const proxyCore = new Core();
  const explainCore = new Core();
  let routed = 0;
  fc.assert(fc.property(table, fc.array(request, { minLength: 1, maxLength: 10 }), fc.constantFrom(0, 80, 8080), (m, reqs, listenerPort) => {
    const proxy = load(m, proxyCore, { listenerPort });
    const mine = load(m, explainCore, { listenerPort });
    const x = new RouteExplainer(explainCore, mine);
    try {
      for (const r of reqs) {
        const expected = proxy.matchRequest(r.method, r.path, r.authority, r.headers);
        x.setRequest(r.method, r.path, r.authority, r.headers);
        const vh = x.virtualHost();
        if (vh < 0) {
          expect(expected).toBe(-1);
          continue;
        }
        const port = /:(\d+)$/.exec(r.authority)?.[1];
        const { rules, chosen } = walkRules(x, m, vh, { ...r, port: port ? Number(port) : listenerPort });
        expect(chosen).toBe(expected);
        if (chosen >= 0) routed++;
        for (const rule of rules.slice(0, chosen >= 0 ? -1 : undefined)) {
          expect(rule.matched).toBe(false);
          expect(rule.blocks.length + rule.ruledOut.length).toBeGreaterThan(0);
          for (const b of rule.blocks) expect(b.failed?.why).toEqual(expect.any(String));
        }
        if (chosen >= 0) expect(rules.at(-1)!.matched).toBe(true);
      }
    } finally {
      proxy.release();
      mine.release();
    }
  }), { numRuns: 300 });
  // The generators must route a fair share, or the property says little.
  expect(routed).toBeGreaterThan(100);
});
