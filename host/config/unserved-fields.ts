// Lists the fields of a valid resource that the data path does not act on yet. They stay in
// the resource model for the issues that will serve them; until then the operator is told.
import type { DestinationRuleSpec, GatewaySpec, ServiceEntrySpec, VirtualServiceSpec } from './istio-schemas.js';
import { warningAt } from './issue-location.js';
import type { SourcedResource } from './read-resource.js';
import type { PathSegment } from './yaml-source.js';

const NOT_SERVED = 'is not served yet';

/** HTTPRoute fields that change what happens to a request, not which route it takes. */
const HTTP_ROUTE_UNSERVED = ['rewrite', 'retries', 'fault', 'mirror', 'mirrors', 'mirrorPercent', 'mirrorPercentage', 'corsPolicy'] as const;

function push(out: string[], r: SourcedResource, path: PathSegment[], what = NOT_SERVED): void {
  out.push(warningAt(r.ref, path, what));
}

function trafficPolicyWarnings(out: string[], r: SourcedResource, policy: DestinationRuleSpec['trafficPolicy'], base: PathSegment[]): void {
  if (policy === undefined) return;
  for (const [key, value] of Object.entries(policy)) {
    if (value === undefined) continue;
    const lb = key === 'loadBalancer' ? (value as { simple?: string }) : null;
    // Round robin is what clusters do today, so saying it is no news.
    if (lb !== null && Object.keys(lb).length === 1 && (lb.simple === 'ROUND_ROBIN' || lb.simple === 'UNSPECIFIED')) continue;
    push(out, r, [...base, key], key === 'loadBalancer' ? `${NOT_SERVED}: clusters use round robin` : NOT_SERVED);
  }
}

export function unservedFieldWarnings(r: SourcedResource): string[] {
  const out: string[] = [];
  switch (r.resource.kind) {
    case 'VirtualService': {
      const spec = r.resource.spec as VirtualServiceSpec;
      (spec.http ?? []).forEach((rule, i) => {
        for (const field of HTTP_ROUTE_UNSERVED) if (rule[field] !== undefined) push(out, r, ['spec', 'http', i, field]);
      });
      if (spec.tls !== undefined) push(out, r, ['spec', 'tls'], `${NOT_SERVED} (TLS routes)`);
      if (spec.tcp !== undefined) push(out, r, ['spec', 'tcp'], `${NOT_SERVED} (TCP routes)`);
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the VirtualService is visible to every namespace`);
      break;
    }
    case 'DestinationRule': {
      const spec = r.resource.spec as DestinationRuleSpec;
      trafficPolicyWarnings(out, r, spec.trafficPolicy, ['spec', 'trafficPolicy']);
      (spec.subsets ?? []).forEach((s, i) => trafficPolicyWarnings(out, r, s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']));
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the DestinationRule is visible to every namespace`);
      if (spec.workloadSelector !== undefined) push(out, r, ['spec', 'workloadSelector'], `${NOT_SERVED}: the DestinationRule applies to every proxy`);
      break;
    }
    case 'ServiceEntry': {
      const spec = r.resource.spec as ServiceEntrySpec;
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the ServiceEntry is visible to every namespace`);
      if (spec.subjectAltNames !== undefined) push(out, r, ['spec', 'subjectAltNames'], `${NOT_SERVED} (no mTLS yet)`);
      if (spec.addresses !== undefined) push(out, r, ['spec', 'addresses'], `${NOT_SERVED}: services are chosen by Host, not by address`);
      break;
    }
    case 'Gateway': {
      const spec = r.resource.spec as GatewaySpec;
      spec.servers.forEach((s, i) => {
        if (s.tls !== undefined) push(out, r, ['spec', 'servers', i, 'tls'], `${NOT_SERVED} (no TLS termination yet)`);
        if (s.bind !== undefined) push(out, r, ['spec', 'servers', i, 'bind'], `${NOT_SERVED}: the gateway listens on --listen`);
        if (s.defaultEndpoint !== undefined) push(out, r, ['spec', 'servers', i, 'defaultEndpoint'], NOT_SERVED);
      });
      break;
    }
    case 'WorkloadEntry':
      break;
  }
  return out;
}
