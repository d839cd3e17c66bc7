// Differential property test: the Wasm matcher agrees with a small, deliberately naive TS
// reference matcher (below) on random tables and random requests.
import { test, expect } from 'vitest';
import fc from 'fast-check';
import type { MeshConfig, StringMatch } from '../../host/model/mesh.js';
import { RouteCompileError } from '../../host/compile/route-compile-error.js';
import { load, mesh, vhost, route, match, header, cluster } from './mesh-builder.js';

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

function refMatch(m: MeshConfig, path: string, authority: string, headers: Array<[string, string]>): number {
  const v = refVirtualHost(m, authority);
  if (v < 0) return -1;
  let base = 0;
  for (let i = 0; i < v; i++) base += m.virtualHosts[i]!.routes.length;
  const pathOnly = path.split(/[?#]/)[0]!;
  const routes = m.virtualHosts[v]!.routes;
  for (let r = 0; r < routes.length; r++) {
    const blocks = routes[r]!.matches;
    const holds = blocks.length === 0 || blocks.some((b) =>
      (b.uri === null || refString(b.uri, pathOnly, b.ignoreUriCase)) &&
      b.headers.every((h) => {
        const values = headers.filter(([n]) => n === lower(h.name)).map(([, val]) => val);
        const any = h.match === null ? values.length > 0 : values.some((val) => refString(h.match!, val, false));
        return h.invert ? !any : any;
      }));
    if (holds) return base + r;
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
const block = fc.tuple(fc.option(stringMatch, { nil: null }), fc.array(headerMatch, { maxLength: 2 }), fc.boolean())
  .map(([uri, hs, ic]) => match(uri, hs, ic));
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
  return fc.array(fc.record({
    path: fc.tuple(pathValue, fc.constantFrom('', '?a', '#b', '?/a')).map(([p, q]) => p + q),
    authority: fc.oneof(authority, fromDomain),
    headers: fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), headerValue), { maxLength: 4 }),
  }), { minLength: 1, maxLength: 20 });
};

test('Wasm matcher ≡ reference matcher on random tables and requests', () => {
  let compared = 0;
  fc.assert(
    fc.property(table.chain((m) => fc.tuple(fc.constant(m), requestsFor(m))), ([m, reqs]) => {
      let t;
      try {
        t = load(m);
      } catch (e) {
        // Random domain lists repeat themselves; the compiler refuses those (tested elsewhere).
        if (e instanceof RouteCompileError && e.code === 'duplicate_domain') return;
        throw e;
      }
      try {
        for (const r of reqs) {
          expect(t.matchRequest('GET', r.path, r.authority, r.headers), JSON.stringify(r)).toBe(refMatch(m, r.path, r.authority, r.headers));
          compared++;
        }
      } finally {
        t.release();
      }
    }),
    { numRuns: 1500 },
  );
  // Guard against a generator that only produces refused tables.
  expect(compared).toBeGreaterThan(5000);
});
