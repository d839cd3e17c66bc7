// The destinations of a VirtualService as Istio's analyzers walk them
// (analyzers/virtualservice/util.go): tcp, tls, then http route destinations, and the http
// mirrors, each with the field path its line is reported at (util/find_errorline_utils.go).
import type { DestinationSpec, VirtualServiceSpec } from '../istio-schemas.js';
import type { PathSegment } from '../yaml-source.js';

export interface RouteDestination {
  /** `http`, `tcp`, `tls`, `http.mirror` or `http.mirrors`. */
  rule: string;
  destination: DestinationSpec;
  /** Where Istio looks the line up: `spec.<rule>[i].route[j].destination.host`, `spec.http[i].mirror.host`, … */
  path: PathSegment[];
}

export function routeDestinations(vs: VirtualServiceSpec): RouteDestination[] {
  const out: RouteDestination[] = [];
  const add = (rule: 'tcp' | 'tls' | 'http', routes: readonly { route?: readonly { destination: DestinationSpec }[] }[] | undefined): void => {
    (routes ?? []).forEach((r, i) =>
      (r.route ?? []).forEach((rd, j) => out.push({ rule, destination: rd.destination, path: ['spec', rule, i, 'route', j, 'destination', 'host'] })));
  };
  add('tcp', vs.tcp);
  add('tls', vs.tls);
  add('http', vs.http);
  return out;
}

export function mirrorDestinations(vs: VirtualServiceSpec): RouteDestination[] {
  const out: RouteDestination[] = [];
  (vs.http ?? []).forEach((r, i) => {
    if (r.mirror !== undefined) out.push({ rule: 'http.mirror', destination: r.mirror, path: ['spec', 'http', i, 'mirror', 'host'] });
    // Istio's key for these is `{.spec.http[i].mirrors[j].host}`, a path no document has (the
    // host is under `destination`): such a message carries the document's line, as in Istio.
    (r.mirrors ?? []).forEach((m, j) => out.push({ rule: 'http.mirrors', destination: m.destination, path: ['spec', 'http', i, 'mirrors', j, 'host'] }));
  });
  return out;
}
