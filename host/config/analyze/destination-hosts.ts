// Istio's virtualservice.DestinationHostAnalyzer: each route and mirror destination of a
// VirtualService must name a known service (a ServiceEntry host or a Kubernetes Service, seen from
// the VirtualService's namespace): IST0101 "host" / "mirror host" when none; when the service
// has several ports and the destination names none, IST0112; when it names a port the service
// does not expose, IST0101 "host:port".
import type { VirtualServiceSpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { mirrorDestinations, routeDestinations, type RouteDestination } from './route-destinations.js';
import { destinationHost, serviceHostMap, type HostPorts } from './service-lookup.js';

export function destinationHostMessages(input: AnalysisInput): AnalysisMessage[] {
  const hosts = serviceHostMap(input.resources, input.invalid);
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'VirtualService')) {
    const vs = r.spec as VirtualServiceSpec;
    const check = (d: RouteDestination, what: string): void => {
      const s = destinationHost(r.namespace, vs.exportTo ?? [], d.destination.host, hosts);
      if (s === null) out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, r.fieldLine(d.path), what, d.destination.host));
      else checkPorts(r, d, s, out);
    };
    for (const d of routeDestinations(vs)) check(d, 'host');
    for (const d of mirrorDestinations(vs)) check(d, 'mirror host');
  }
  return out;
}

function checkPorts(r: AnalysisResource, d: RouteDestination, s: HostPorts, out: AnalysisMessage[]): void {
  const port = d.destination.port?.number;
  if (s.ports === null) return; // a ServiceEntry the schema refused: its ports are not known
  if (port === undefined) {
    if (s.ports.length > 1) out.push(message(MESSAGES.VirtualServiceDestinationPortSelectorRequired, r.origin, r.fieldLine(d.path), d.destination.host, s.ports));
    return;
  }
  if (!s.ports.includes(port)) out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, r.fieldLine(d.path), 'host:port', `${d.destination.host}:${port}`));
}
