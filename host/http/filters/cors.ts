// Istio's CorsPolicy with Envoy's cors filter semantics: a preflight (OPTIONS with Origin and
// Access-Control-Request-Method) from an allowed origin is answered by the proxy with the
// allow-* headers; an unmatched preflight is forwarded (unmatchedPreflights FORWARD) or
// answered without CORS headers (IGNORE); a simple request from an allowed origin gets
// Access-Control-Allow-Origin (+ credentials, expose headers) on its response.
import type { CorsPolicy, StringMatch } from '../../model/mesh.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { re2ToJs } from '../../compile/regex/re2-to-js.js';
import { FilterStatus, sharedFactory, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';

type Header = readonly [string, string];

export class CorsError extends Error {
  readonly code = 'CORS_INVALID';
  constructor(route: string, detail: string) {
    super(`route ${route}: corsPolicy ${detail} (CORS_INVALID)`);
    this.name = 'CorsError';
  }
}

type OriginMatcher = (origin: string) => boolean;

function matcher(m: StringMatch, route: string): OriginMatcher {
  if (m.kind === 'exact') return (o) => o === m.value;
  if (m.kind === 'prefix') return (o) => o.startsWith(m.value);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${re2ToJs(m.value)})$`);
  } catch (err) {
    throw new CorsError(route, `allowOrigins regex ${JSON.stringify(m.value)} does not compile: ${(err as Error).message}`);
  }
  return (o) => re.test(o);
}

/** What the CORS policy makes of one request. */
export type CorsVerdict =
  /** Not a CORS request, or an unmatched preflight to forward: proxy as usual. */
  | { kind: 'none' }
  /** Answer the preflight now with these headers (none for an ignored unmatched preflight). */
  | { kind: 'preflight'; headers: Header[] }
  /** Proxy, adding these headers to the response. */
  | { kind: 'simple'; headers: Header[] };

export const NOT_CORS: CorsVerdict = Object.freeze({ kind: 'none' });

export class RouteCors {
  readonly #origins: OriginMatcher[];
  readonly #policy: CorsPolicy;

  constructor(policy: CorsPolicy, route: string) {
    this.#policy = policy;
    this.#origins = policy.allowOrigins.map((m) => matcher(m, route));
  }

  /** Envoy's isOriginAllowed: a matcher that matches "*" allows every origin. */
  allows(origin: string): boolean {
    for (const m of this.#origins) if (m('*') || m(origin)) return true;
    return false;
  }

  /** The verdict for a request with `method`, `origin` (null: none) and Access-Control-Request-Method. */
  verdict(method: string, origin: string | null, requestMethod: string | null): CorsVerdict {
    if (origin === null || origin === '') return NOT_CORS;
    const p = this.#policy;
    const allowed = this.allows(origin);
    if (method === 'OPTIONS' && requestMethod !== null && requestMethod !== '') {
      if (!allowed) return p.unmatchedPreflights === 'IGNORE' ? { kind: 'preflight', headers: [] } : NOT_CORS;
      const h: Header[] = [['access-control-allow-origin', origin]];
      if (p.allowCredentials === true) h.push(['access-control-allow-credentials', 'true']);
      if (p.allowMethods.length) h.push(['access-control-allow-methods', p.allowMethods.join(',')]);
      if (p.allowHeaders.length) h.push(['access-control-allow-headers', p.allowHeaders.join(',')]);
      if (p.maxAgeSeconds !== null) h.push(['access-control-max-age', String(p.maxAgeSeconds)]);
      return { kind: 'preflight', headers: h };
    }
    if (!allowed) return NOT_CORS;
    const h: Header[] = [['access-control-allow-origin', origin]];
    if (p.allowCredentials === true) h.push(['access-control-allow-credentials', 'true']);
    if (p.exposeHeaders.length) h.push(['access-control-expose-headers', p.exposeHeaders.join(',')]);
    return { kind: 'simple', headers: h };
  }
}

/**
 * The CORS filter of a route with a corsPolicy (Istio runs it first in the chain): answers an
 * allowed preflight itself, and gives a simple request from an allowed origin its
 * Access-Control-* response headers. Stateless: one filter per route.
 */
export function corsFilter(policy: CorsPolicy, route: string, stats: StatScope<DownstreamStat>): HttpFilterFactory {
  const cors = new RouteCors(policy, route);
  return sharedFactory({
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const v = cors.verdict(stream.downstream.method, stream.requestHeader('origin'), stream.requestHeader('access-control-request-method'));
      if (v.kind === 'preflight') {
        stats.inc('rq_cors_preflight');
        stream.sendLocalReply('200 OK', v.headers, '');
        return FilterStatus.StopIteration;
      }
      if (v.kind === 'simple') for (const [n, value] of v.headers) stream.addResponseHeader(n, value);
      return FilterStatus.Continue;
    },
  });
}
