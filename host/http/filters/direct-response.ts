// The terminal filter of a route that answers from the proxy instead of an upstream (Envoy's
// DirectResponseEntry): Istio's HTTPRedirect (Location built from the request, Envoy's rules)
// and HTTPDirectResponse (status and body), each with the route's response header operations.
import type { DirectResponse, Redirect } from '../../model/mesh.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { FilterStatus, sharedFactory, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { statusLine } from '../local-reply.js';
import { redirectLocation } from './redirect-location.js';

type Header = readonly [string, string];

/** The redirect answer of a route; `headers` are the route's response set/add operations. */
export function redirectFilter(redirect: Redirect, headers: readonly Header[], listenerPort: () => number, stats: StatScope<DownstreamStat>): HttpFilterFactory {
  const line = statusLine(redirect.redirectCode);
  return sharedFactory({
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      stats.inc('rq_redirect');
      const ds = stream.downstream;
      const location = redirectLocation(redirect, {
        path: ds.path,
        authority: ds.authority,
        scheme: stream.requestHeader('x-forwarded-proto') ?? 'http',
        listenerPort: listenerPort(),
      });
      stream.sendLocalReply(line, [['location', location], ...headers], '');
      return FilterStatus.StopIteration;
    },
  });
}

/** The direct response of a route; `headers` are the route's response set/add operations. */
export function directResponseFilter(response: DirectResponse, headers: readonly Header[], stats: StatScope<DownstreamStat>): HttpFilterFactory {
  const line = statusLine(response.status);
  const body = response.body ?? '';
  return sharedFactory({
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      stats.inc('rq_direct_response');
      stream.sendLocalReply(line, headers, body);
      return FilterStatus.StopIteration;
    },
  });
}
