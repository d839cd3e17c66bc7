// Route actions over real sockets: uri/regex/authority rewrites (x-envoy-original-path),
// redirects and their Location, direct responses, CORS preflight and simple requests; plus
// the pure pieces (Location building, rewrite compilation, shadow host, PRNG) on their own.
import { describe, it, expect } from 'vitest';
import { request } from '../helpers/http-client.js';
import { redirectLocation } from '../../host/http/filters/redirect-location.js';
import { RouteRewrite } from '../../host/router/rewrite.js';
import { re2Substitution } from '../../host/compile/regex/re2-to-js.js';
import { shadowHost, withHeaderLines } from '../../host/router/upstream-head-edits.js';
import { Random } from '../../host/common/random.js';
import { formatFlags } from '../../host/http/response-flags.js';
import { noHeaderOps, type CorsPolicy, type Route, type RouteMatch } from '../../host/model/mesh.js';
import { proxy, upstream, meshWith, waitFor, useCleanup } from './traffic-helpers.js';

useCleanup();

const prefixMatch = (value: string): RouteMatch => ({ uri: { kind: 'prefix', value }, ignoreUriCase: false, headers: [] });

describe('rewrite', () => {
  it('uri replaces the matched prefix (query kept); x-envoy-original-path carries the original', async () => {
    const up = await upstream((req, res) => res.end(req.url));
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { rewrite: { uri: '/v2' } }, '/api'));
    const r = await request(p.port, { path: '/api/users?x=1', headers: { 'x-envoy-original-path': '/spoofed' } });
    expect(r.body.toString()).toBe('/v2/users?x=1');
    expect(up.requests[0]!.headers['x-envoy-original-path']).toBe('/api/users?x=1');
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.path).toBe('/api/users?x=1');
  });

  it('exact and regex uri matches swap the whole path; uriRegex substitutes groups; authority replaces Host', async () => {
    const up = await upstream((req, res) => res.end(`${req.headers.host} ${req.url}`));
    const exact = meshWith([{ name: 'backend', ports: [up.port] }], {
      matches: [{ uri: { kind: 'exact', value: '/old' }, ignoreUriCase: false, headers: [] }],
      rewrite: { uri: '/new', authority: 'new.example' },
    });
    const { p } = await proxy(exact);
    expect((await request(p.port, { path: '/old?q=2' })).body.toString()).toBe('new.example /new?q=2');
    // Without a path rewrite, a client's x-envoy-original-path passes through untouched.
    expect(up.requests[0]!.headers['x-envoy-original-path']).toBe('/old?q=2');

    const regex = meshWith([{ name: 'backend', ports: [up.port] }], { rewrite: { uriRegex: { match: '^/svc/([a-z]+)/(.*)$', rewrite: '/\\2/\\1' } } });
    const { p: p2 } = await proxy(regex);
    expect((await request(p2.port, { path: '/svc/books/42/reviews?all' })).body.toString()).toBe('svc.test /42/reviews/books?all');
    const authorityOnly = meshWith([{ name: 'backend', ports: [up.port] }], { rewrite: { authority: 'other:8080' } });
    const { p: p3 } = await proxy(authorityOnly);
    expect((await request(p3.port, { path: '/same' })).body.toString()).toBe('other:8080 /same');
    expect(up.requests[up.requests.length - 1]!.headers['x-envoy-original-path']).toBeUndefined();
  });

  it('compiles per match block: prefix blocks replace their own prefix, a block without uri is prefix "/"', () => {
    const route = (matches: RouteMatch[], rewrite: Route['rewrite']): Route => ({
      name: 'r', matches, destinations: [], requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null, rewrite,
    });
    const rw = RouteRewrite.compile(route([prefixMatch('/a/'), prefixMatch('/bb/')], { uri: '/x/' }))!;
    expect(rw.path('/a/1')).toBe('/x/1');
    expect(rw.path('/bb/2?k')).toBe('/x/2?k');
    expect(RouteRewrite.compile(route([], { uri: '/v1' }))!.path('/foo')).toBe('/v1foo');
    expect(RouteRewrite.compile(route([{ uri: { kind: 'prefix', value: '/API' }, ignoreUriCase: true, headers: [] }], { uri: '/v' }))!.path('/api/z')).toBe('/v/z');
    expect(RouteRewrite.compile(route([], {}))).toBeNull();
    expect(re2Substitution('/\\1/$x/\\0')).toBe('/$1/$$x/$&');
  });
});

describe('redirect and direct response', () => {
  it('answers 301 by default with the Location built from the request; redirectCode, scheme and port as set', async () => {
    const up = await upstream((_req, res) => res.end('upstream'));
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { destinations: [], redirect: { uri: '/new', redirectCode: 301 } }));
    const r = await request(p.port, { path: '/old?q=1' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('http://svc.test/new?q=1');
    expect(r.body.length).toBe(0);
    const { p: p2 } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], {
      destinations: [], redirect: { scheme: 'https', authority: 'secure.example', port: 8443, redirectCode: 308 },
    }));
    const r2 = await request(p2.port, { path: '/a' });
    expect(r2.status).toBe(308);
    expect(r2.headers.location).toBe('https://secure.example:8443/a');
    expect(up.requests.length).toBe(0);
  });

  it('builds Location with Envoy\'s port rules', () => {
    const req = { path: '/p?x', authority: 'h.test:80', scheme: 'http', listenerPort: 15001 };
    expect(redirectLocation({ redirectCode: 301, scheme: 'https' }, req)).toBe('https://h.test/p?x');
    expect(redirectLocation({ redirectCode: 301, port: 9000 }, req)).toBe('http://h.test:9000/p?x');
    expect(redirectLocation({ redirectCode: 301, port: 80 }, { ...req, authority: 'h.test:8080' })).toBe('http://h.test/p?x');
    expect(redirectLocation({ redirectCode: 301 }, { ...req, authority: 'h.test:8080' })).toBe('http://h.test:8080/p?x');
    expect(redirectLocation({ redirectCode: 301, derivePort: 'FROM_PROTOCOL_DEFAULT', scheme: 'https' }, { ...req, authority: 'h.test:8080' })).toBe('https://h.test/p?x');
    expect(redirectLocation({ redirectCode: 301, derivePort: 'FROM_REQUEST_PORT' }, { ...req, authority: 'h.test' })).toBe('http://h.test:15001/p?x');
    expect(redirectLocation({ redirectCode: 301, uri: '/n?y=1' }, req)).toBe('http://h.test:80/n?y=1');
    expect(redirectLocation({ redirectCode: 301, authority: 'o.test' }, req)).toBe('http://o.test/p?x');
  });

  it('direct response: status and body from the route, route response headers added, no upstream', async () => {
    const up = await upstream((_req, res) => res.end('upstream'));
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], {
      destinations: [],
      directResponse: { status: 503, body: 'maintenance' },
      responseHeaders: { set: [['x-why', 'planned']], add: [], remove: [] },
    }));
    const r = await request(p.port);
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe('maintenance');
    expect(r.headers['x-why']).toBe('planned');
    const { p: p2 } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { destinations: [], directResponse: { status: 204, body: null } }));
    expect((await request(p2.port)).status).toBe(204);
    expect(up.requests.length).toBe(0);
    await waitFor(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ code: 503, flags: '-', upstreamCluster: '-' });
  });
});

describe('CORS', () => {
  const cors = (over: Partial<CorsPolicy> = {}): CorsPolicy => ({
    allowOrigins: [{ kind: 'exact', value: 'https://app.example' }, { kind: 'regex', value: 'https://.*\\.trusted\\.example' }],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['x-token'],
    exposeHeaders: ['x-trace'],
    maxAgeSeconds: 600,
    allowCredentials: true,
    unmatchedPreflights: 'FORWARD',
    ...over,
  });
  const preflight = (origin: string) => ({ method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });

  it('answers an allowed preflight with the allow-* headers, without the upstream', async () => {
    const up = await upstream((_req, res) => res.end('upstream'));
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { cors: cors() }));
    const r = await request(p.port, preflight('https://a.trusted.example'));
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      'access-control-allow-origin': 'https://a.trusted.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'x-token',
      'access-control-max-age': '600',
    });
    expect(up.requests.length).toBe(0);
  });

  it('forwards an unmatched preflight (FORWARD), answers it without CORS headers (IGNORE)', async () => {
    const up = await upstream((req, res) => res.end(req.method));
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { cors: cors() }));
    const r = await request(p.port, preflight('https://evil.example'));
    expect(r.body.toString()).toBe('OPTIONS');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const { p: p2 } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { cors: cors({ unmatchedPreflights: 'IGNORE' }) }));
    const r2 = await request(p2.port, preflight('https://evil.example'));
    expect(r2.status).toBe(200);
    expect(r2.headers['access-control-allow-origin']).toBeUndefined();
    expect(up.requests.length).toBe(1);
  });

  it('adds allow-origin, credentials and expose headers to a simple request from an allowed origin only', async () => {
    const up = await upstream((_req, res) => res.end('data'));
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { cors: cors() }));
    const ok = await request(p.port, { headers: { origin: 'https://app.example' } });
    expect(ok.body.toString()).toBe('data');
    expect(ok.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-trace' });
    const no = await request(p.port, { headers: { origin: 'https://other.example' } });
    expect(no.headers['access-control-allow-origin']).toBeUndefined();
    const star = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], { cors: cors({ allowOrigins: [{ kind: 'exact', value: '*' }] }) }));
    expect((await request(star.p.port, { headers: { origin: 'https://any.example' } })).headers['access-control-allow-origin']).toBe('https://any.example');
  });
});

describe('small pieces', () => {
  it('shadow host, header lines, flags order, seeded PRNG', () => {
    expect(shadowHost('svc.test')).toBe('svc.test-shadow');
    expect(shadowHost('svc.test:8080')).toBe('svc.test-shadow:8080');
    expect(shadowHost('[::1]:80')).toBe('[::1]-shadow:80');
    const head = new TextEncoder().encode('GET / HTTP/1.1\r\nhost: a\r\n\r\n');
    expect(new TextDecoder().decode(withHeaderLines(head, 'x-a: 1\r\n'))).toBe('GET / HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n\r\n');
    expect(formatFlags(['URX', 'UF'])).toBe('UF,URX');
    expect(formatFlags([])).toBe('-');
    const a = new Random(5);
    const b = new Random(5);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Random(1).chance(0)).toBe(false);
    expect(new Random(1).chance(100)).toBe(true);
  });

  it('an empty content-length: 0 upstream response completes', async () => {
    const up = await upstream((_req, res) => {
      res.statusCode = 202;
      res.end();
    });
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }]));
    const r = await request(p.port);
    expect(r.status).toBe(202);
    expect(r.headers['content-length']).toBe('0');
  });
});
