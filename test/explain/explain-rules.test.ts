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

// ── A naive reference for one condition, to check the position the core names ──────────────
// Every regex of the generators below means the same in JS as in RE2.
const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
function refString(m: StringMatch, v: string, ignoreCase = false): boolean {
  if (m.kind === 'regex') return new RegExp(`^(?:${m.value})$`).test(v);
  const [a, b] = ignoreCase ? [lower(v), lower(m.value)] : [v, m.value];
  return m.kind === 'exact' ? a === b : a.startsWith(b);
}
interface Req { method: string; path: string; authority: string; headers: Array<[string, string]> }
/** The block's conditions as (field, holds) in the compiler's order: uri, method, authority, port, headers, query. */
function refConditions(b: RouteMatch, r: Req, listenerPort: number): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  const pathOnly = r.path.split(/[?#]/)[0]!;
  if (b.uri) out.push(['uri', refString(b.uri, pathOnly, b.ignoreUriCase && b.uri.kind !== 'regex')]);
  if (b.method) out.push(['method', refString(b.method, r.method)]);
  if (b.authority) out.push(['authority', refString(b.authority, r.authority)]);
  if (b.port != null) out.push(['port', Number(/:(\d+)$/.exec(r.authority)?.[1] ?? listenerPort) === b.port]);
  for (const h of b.headers) {
    const vs = r.headers.filter(([n]) => n === h.name).map(([, v]) => v);
    const any = h.match === null ? vs.length > 0 : vs.some((v) => refString(h.match!, v));
    out.push([`${h.invert ? 'withoutHeaders' : 'headers'}.${h.name}`, h.invert ? !any : any]);
  }
  for (const q of b.queryParams ?? []) {
    const cut = r.path.search(/[?#]/);
    let v: string | null = null;
    if (cut >= 0 && r.path[cut] === '?') {
      for (const el of r.path.slice(cut + 1).split('#')[0]!.split('&')) {
        const eq = el.indexOf('=');
        if ((eq < 0 ? el : el.slice(0, eq)) === q.name) {
          v = eq < 0 ? '' : el.slice(eq + 1);
          break;
        }
      }
    }
    out.push([`queryParams.${q.name}`, v !== null && (q.match === null || refString(q.match, v))]);
  }
  return out;
}

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
  let checked = 0;
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
        // Each block's verdict: the named condition is the reference's first failing one.
        const base = rules[0]?.index ?? 0;
        for (const rule of rules) {
          const model = m.virtualHosts[vh]!.routes[rule.index - base]!;
          for (const b of rule.blocks) {
            if (b.match < 0) continue;
            const conds = refConditions(model.matches[b.match]!, r, listenerPort);
            const firstFalse = conds.findIndex(([, holds]) => !holds);
            expect(b.holds).toBe(firstFalse < 0);
            if (firstFalse >= 0) expect(b.failed!.field).toBe(conds[firstFalse]![0]);
            checked++;
          }
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
  expect(checked).toBeGreaterThan(500);
});
