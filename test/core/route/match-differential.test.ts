// Differential property test: the Wasm matcher agrees with a small, deliberately naive TS
// reference matcher (below) on random tables and random requests — uri, headers, method,
// authority, query parameters, port (with a random listener port) and scheme.
import { test, expect } from 'vitest';
import fc from 'fast-check';
import type { MeshConfig, RouteMatch, StringMatch } from '../../../host/model/mesh.js';
import { RouteCompileError } from '../../../host/compile/route-compile-error.js';
import { load, mesh, vhost, route, match, header, cluster, core } from '../../helpers/route-table-builder.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

// ── Reference matcher: string operations only, no hashing, no cleverness ──────────────────
const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function splitHostPort(s: string): { host: string; port: number | null } {
  const portOf = (p: string) => (/^[0-9]{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : null);
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close >= 0 && s[close + 1] === ':') return { host: s.slice(0, close + 1), port: portOf(s.slice(close + 2)) };
    return { host: s, port: null };
  }
  const parts = s.split(':');
  if (parts.length === 2) return { host: parts[0]!, port: portOf(parts[1]!) };
  return { host: s, port: null };
}

/** Which virtual host serves `authority`: best-scoring domain pattern over all hosts. */
function refVirtualHost(m: MeshConfig, authority: string): number {
  const a = splitHostPort(lower(authority));
  let best = -1;
  let bestScore = -1;
  m.virtualHosts.forEach((vh, v) => {
    for (const d of vh.domains) {
      const p = splitHostPort(lower(d));
      if (p.port !== null && p.port !== a.port) continue;
      let score: number;
      if (!p.host.startsWith('*')) {
        if (p.host !== a.host) continue;
        score = 1_000_000;
      } else {
        const suffix = p.host.slice(1);
        if (!a.host.endsWith(suffix)) continue;
        if (suffix !== '' && a.host.length === suffix.length) continue; // `*` takes ≥ 1 byte
        score = suffix.length * 2;
      }
      score += p.port !== null ? 1 : 0;
      if (score > bestScore) {
        bestScore = score;
        best = v;
      }
    }
  });
  return best;
}

// Regexes of the generators below, each with the JS pattern meaning the same (RE2 and JS agree
// on these spellings); the reference runs them as ^(?:…)$ full matches with the u flag.
const REGEXES: Record<string, string> = {
  '/a.*': '/a.*', '.*b': '.*b', '/[ab]*': '/[ab]*', '(?i)/a|/b/?': '/a|/b/?', 'A?/?a+': 'A?/?a+',
  'a.*': 'a.*', '[ab]+': '[ab]+', 'a,b|b': 'a,b|b', '': '', '.?': '.?',
  'GET|PUT': 'GET|PUT', '[A-Z]+': '[A-Z]+', 'https?': 'https?', 'h.*p': 'h.*p', '[0-9]*': '[0-9]*',
};

function refString(m: StringMatch, value: string, ignoreCase: boolean): boolean {
  if (m.kind === 'regex') {
    // ignoreUriCase does not apply to regexes (Envoy); (?i) does.
    const js = REGEXES[m.value];
    if (js === undefined) throw new Error(`no JS spelling for ${m.value}`);
    return new RegExp(`^(?:${js})$`, m.value.startsWith('(?i)') ? 'iu' : 'u').test(value);
  }
  const v = ignoreCase ? lower(value) : value;
  const want = ignoreCase ? lower(m.value) : m.value;
  return m.kind === 'exact' ? v === want : v.startsWith(want);
}

/** The first `name` element of the query (raw, `name` alone = empty value), or null. */
function refQueryParam(path: string, name: string): string | null {
  const cut = path.search(/[?#]/);
  if (cut < 0 || path[cut] !== '?') return null;
  const query = path.slice(cut + 1).split('#')[0]!;
  for (const element of query.split('&')) {
    const eq = element.indexOf('=');
    if ((eq < 0 ? element : element.slice(0, eq)) === name) return eq < 0 ? '' : element.slice(eq + 1);
  }
  return null;
}

interface Req { method: string; path: string; authority: string; headers: Array<[string, string]> }

function refBlock(b: RouteMatch, r: Req, pathOnly: string, listenerPort: number): boolean {
  if (b.scheme != null && !refString(b.scheme, 'http', false)) return false;
  if (b.uri !== null && !refString(b.uri, pathOnly, b.ignoreUriCase)) return false;
  if (b.method != null && !refString(b.method, r.method, false)) return false;
  if (b.authority != null && !refString(b.authority, r.authority, false)) return false;
  if (b.port != null && (splitHostPort(r.authority).port ?? listenerPort) !== b.port) return false;
  for (const q of b.queryParams ?? []) {
    const v = refQueryParam(r.path, q.name);
    if (v === null || (q.match !== null && !refString(q.match, v, false))) return false;
  }
  return b.headers.every((h) => {
    const values = r.headers.filter(([n]) => n === lower(h.name)).map(([, val]) => val);
    const any = h.match === null ? values.length > 0 : values.some((val) => refString(h.match!, val, false));
    return h.invert ? !any : any;
  });
}

function refMatch(m: MeshConfig, r: Req, listenerPort: number): number {
  const { path, authority } = r;
  const v = refVirtualHost(m, authority);
  if (v < 0) return -1;
  let base = 0;
  for (let i = 0; i < v; i++) base += m.virtualHosts[i]!.routes.length;
  const pathOnly = path.split(/[?#]/)[0]!;
  const routes = m.virtualHosts[v]!.routes;
  for (let i = 0; i < routes.length; i++) {
    const blocks = routes[i]!.matches;
    const holds = blocks.length === 0 || blocks.some((b) => refBlock(b, r, pathOnly, listenerPort));
    if (holds) return base + i;
  }
  return -1;
}

// ── Generators: small alphabets so that patterns and requests collide often ───────────────
const hostPart = fc.constantFrom('a', 'b', 'ab', 'a.b', 'x.a.b', 'A.B', '[::1]', '[fe80::a]', '');
const portPart = fc.constantFrom('', ':80', ':8080');
const domain = fc.tuple(fc.constantFrom('', '*', '*.', '*a'), hostPart, portPart)
  .map(([w, h, p]) => (w === '*' && h !== '' ? `*.${h}` : w === '' ? h : `${w}${h}`) + p)
  .filter((d) => d !== '' && !d.startsWith(':') && !(d.includes('[') && d.startsWith('*')));
const authority = fc.tuple(fc.constantFrom('', 'q.', 'Q.', 'zz'), hostPart, fc.constantFrom('', ':80', ':8080', ':', ':x', ':080', ':99999'))
  .map(([pre, h, p]) => pre + h + p);
const text = (chars: string[], max: number) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(''));
const pathValue = text(['/', 'a', 'b', 'A'], 4);
const stringMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: pathValue }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('/a.*', '.*b', '/[ab]*', '(?i)/a|/b/?', 'A?/?a+') }),
);
const headerName = fc.constantFrom('x', 'y', 'X');
const headerValue = fc.constantFrom('', 'a', 'ab', 'b', 'A', 'a,b');
const headerStringMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: headerValue }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('a.*', '[ab]+', 'a,b|b', '', '.?') }),
);
const headerMatch = fc.tuple(headerName, fc.option(headerStringMatch, { nil: null }), fc.boolean())
  .map(([n, m, inv]) => header(n, m, inv));
const methodMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: fc.constantFrom('GET', 'G', 'P', 'PUT', '') }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('GET|PUT', '[A-Z]+') }),
);
const authorityMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: fc.constantFrom('a', 'a:80', 'ab', 'A', 'x') }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('a.*', '[ab]+') }),
);
const schemeMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: fc.constantFrom('http', 'https', 'h', 'HTTP') }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('https?', 'h.*p', '[A-Z]+') }),
);
const queryMatch = fc.oneof(
  fc.record({ kind: fc.constantFrom('exact' as const, 'prefix' as const), value: fc.constantFrom('', '', '1', '12', 'x') }),
  fc.record({ kind: fc.constant('regex' as const), value: fc.constantFrom('[0-9]*', '[0-9]*', '.?') }),
);
const queryParam = fc.record({ name: fc.constantFrom('a', 'b', 'A'), match: fc.option(queryMatch, { nil: null }) });
/** Extra conditions, each present a third of the time so blocks still match often. */
const extras = fc.record({
  method: fc.option(methodMatch, { nil: null, freq: 2 }),
  authority: fc.option(authorityMatch, { nil: null, freq: 3 }),
  scheme: fc.option(schemeMatch, { nil: null, freq: 3 }),
  port: fc.option(fc.constantFrom(80, 8080), { nil: null, freq: 2 }),
  queryParams: fc.array(queryParam, { maxLength: 2 }),
});
const block = fc.tuple(fc.option(stringMatch, { nil: null, freq: 1 }), fc.array(headerMatch, { maxLength: 2 }), fc.boolean(), extras)
  .map(([uri, hs, ic, more]) => match(uri, hs, ic, more));
const routes = fc.array(fc.array(block, { maxLength: 3 }), { maxLength: 4 });
const table = fc.array(fc.tuple(fc.array(domain, { minLength: 1, maxLength: 3 }), routes), { minLength: 1, maxLength: 5 })
  .map((vhs) => mesh(vhs.map(([ds, rs], v) => vhost(`vh${v}`, ds, rs.map((blocks, r) => route(`ns/vh${v}/${r}`, blocks)))), [cluster('c0')]));
/** Requests for `m`: half the authorities are made from the table's own domains. */
const requestsFor = (m: MeshConfig) => {
  const domains = m.virtualHosts.flatMap((vh) => vh.domains);
  const fromDomain = fc.tuple(fc.constantFrom(...domains), fc.constantFrom('q', 'Q.', ''), fc.constantFrom('', ':80', ':8080', ':81'), fc.boolean())
    .map(([d, star, port, upper]) => {
      const withHost = d.replace('*', star).replace(/:[0-9]+$/, '');
      const a = withHost + (d.match(/:[0-9]+$/) && port === '' ? d.match(/:[0-9]+$/)![0] : port);
      return upper ? a.toUpperCase() : a;
    });
  const query = fc.array(fc.constantFrom('a=1', 'a', 'a', 'a=', 'b=12', 'A=1', 'a=12', 'b', '', 'a=x', 'b=1=2'), { maxLength: 3 })
    .map((es) => es.join('&'));
  return fc.array(fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'get'),
    path: fc.tuple(pathValue, fc.constantFrom('', '?', '#b', '?/a', '#?a=1'), query, fc.constantFrom('', '#a=1'))
      .map(([p, sep, q, frag]) => (sep === '?' ? `${p}?${q}${frag}` : p + sep)),
    authority: fc.oneof(authority, fromDomain),
    headers: fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), headerValue), { maxLength: 4 }),
  }), { minLength: 1, maxLength: 20 });
};

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const differential = wasmProperty(import.meta.url, 'Wasm matcher ≡ reference matcher', () => {
  let compared = 0;
  return {
    args: [table.chain((m) => fc.tuple(fc.constant(m), requestsFor(m), fc.constantFrom(0, 80, 8080))), ([m, reqs, listenerPort]: [MeshConfig, Req[], number]) => {
      let t;
      try {
        t = load(m, core(), { listenerPort });
      } catch (e) {
        // Random domain lists repeat themselves; the compiler refuses those (tested elsewhere).
        if (e instanceof RouteCompileError && e.code === 'duplicate_domain') return;
        throw e;
      }
      try {
        for (const r of reqs) {
          expect(t.matchRequest(r.method, r.path, r.authority, r.headers), JSON.stringify(r)).toBe(refMatch(m, r, listenerPort));
          compared++;
        }
      } finally {
        t.release();
      }
    }],
    // Guard against a generator that only produces refused tables.
    after: () => expect(compared).toBeGreaterThan(5000),
  };
}, { numRuns: 1500 });

test('Wasm matcher ≡ reference matcher on random tables and requests', () => differential.check(), 120_000);
