// The CORS filter on its own (host/http/filters/cors.ts), on a fake stream: what it does to one
// request — answer an allowed preflight, forward or ignore an unmatched one, add response headers
// for an allowed origin, leave everything else alone — and that its factory is shared (the filter
// keeps no per-stream state) and refuses a bad policy when the config version is built.
// test/integration/route-actions.test.ts drives the same policy through a ProxyServer.
import { describe, expect, it } from 'vitest';
import { corsFilter, CorsError } from '../../../host/http/filters/cors.js';
import { FilterStatus } from '../../../host/http/filter.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { CorsPolicy } from '../../../host/model/mesh.js';
import { fakeStream, type FakeRequest } from '../../helpers/fake-stream.js';

const policy = (over: Partial<CorsPolicy> = {}): CorsPolicy => ({
  allowOrigins: [{ kind: 'exact', value: 'https://app.example' }, { kind: 'regex', value: 'https://.*\\.trusted\\.example' }],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['x-token'],
  exposeHeaders: ['x-trace'],
  maxAgeSeconds: 600,
  allowCredentials: true,
  unmatchedPreflights: 'FORWARD',
  ...over,
});

function filterFor(over: Partial<CorsPolicy> = {}) {
  const stats = new Stats().downstream;
  const factory = corsFilter(policy(over), 'default/web/0', stats);
  return { stats, factory, filter: factory.create() };
}

const preflight = (origin: string) => ({ method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });

describe('the CORS filter', () => {
  it('is one shared object per route: no per-stream state, so the route chain can be a shared array', () => {
    const { factory } = filterFor();
    expect(factory.shared).not.toBeNull();
    expect(factory.create()).toBe(factory.shared);
    expect(factory.create()).toBe(factory.create());
  });

  it('answers an allowed preflight itself and stops the chain', () => {
    const { filter, stats } = filterFor();
    const stream = fakeStream(preflight('https://a.trusted.example'));
    expect(filter.onRequestHeaders!(stream)).toBe(FilterStatus.StopIteration);
    expect(stream.replies).toEqual([{
      status: '200 OK',
      body: '',
      headers: [
        ['access-control-allow-origin', 'https://a.trusted.example'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'GET,POST'],
        ['access-control-allow-headers', 'x-token'],
        ['access-control-max-age', '600'],
      ],
    }]);
    expect(stats.get('rq_cors_preflight')).toBe(1);
  });

  it('forwards an unmatched preflight (FORWARD), answers it without CORS headers (IGNORE)', () => {
    const forward = filterFor();
    const s1 = fakeStream(preflight('https://evil.example'));
    expect(forward.filter.onRequestHeaders!(s1)).toBe(FilterStatus.Continue);
    expect(s1.replies).toEqual([]);
    expect(s1.responseHeaders).toEqual([]);

    const ignore = filterFor({ unmatchedPreflights: 'IGNORE' });
    const s2 = fakeStream(preflight('https://evil.example'));
    expect(ignore.filter.onRequestHeaders!(s2)).toBe(FilterStatus.StopIteration);
    expect(s2.replies).toEqual([{ status: '200 OK', headers: [], body: '' }]);
  });

  it('gives a request from an allowed origin its response headers and lets it through', () => {
    const { filter, stats } = filterFor();
    const stream = fakeStream({ method: 'POST', headers: { origin: 'https://app.example' } });
    expect(filter.onRequestHeaders!(stream)).toBe(FilterStatus.Continue);
    expect(stream.replies).toEqual([]);
    expect(stream.responseHeaders).toEqual([
      ['access-control-allow-origin', 'https://app.example'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-expose-headers', 'x-trace'],
    ]);
    expect(stats.get('rq_cors_preflight')).toBe(0);
  });

  it('leaves requests without Origin, and origins it does not allow, untouched', () => {
    const { filter } = filterFor();
    const requests: FakeRequest[] = [{ method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } }, { headers: { origin: 'https://evil.example' } }];
    for (const req of requests) {
      const stream = fakeStream(req);
      expect(filter.onRequestHeaders!(stream)).toBe(FilterStatus.Continue);
      expect(stream.replies).toEqual([]);
      expect(stream.responseHeaders).toEqual([]);
    }
  });

  it('refuses an origin regex that does not compile when the version is built, naming the route', () => {
    expect(() => filterFor({ allowOrigins: [{ kind: 'regex', value: '(' }] })).toThrow(CorsError);
    expect(() => filterFor({ allowOrigins: [{ kind: 'regex', value: '(' }] })).toThrow(/^route default\/web\/0: corsPolicy allowOrigins regex "\(" does not compile/);
  });
});
