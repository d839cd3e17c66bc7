// Lists the fields of a valid resource that the data path does not act on yet. They stay in
// the resource model for the issues that will serve them; until then the operator is told.
// (DestinationRule traffic policies are checked field by field in traffic-policy.ts; TLS and
// the security kinds, which must not be merely warned about, in security-checks.ts.)
import type { DestinationRuleSpec, GatewaySpec, ServiceEntrySpec, VirtualServiceSpec } from './istio-schemas.js';
import { warningAt } from './issue-location.js';
import type { SourcedResource } from './read-resource.js';
import type { PathSegment } from './yaml-source.js';

const NOT_SERVED = 'is not served yet';

function push(out: string[], r: SourcedResource, path: PathSegment[], what = NOT_SERVED): void {
  out.push(warningAt(r.ref, path, what));
}

export function unservedFieldWarnings(r: SourcedResource): string[] {
  const out: string[] = [];
  switch (r.resource.kind) {
    case 'VirtualService': {
      const spec = r.resource.spec as VirtualServiceSpec;
      // Served on gateways (Gateway TCP servers, PASSTHROUGH servers) and, for tcp: and tls:, by sidecars that
      // see original destinations (TPROXY interception, docs/original-destination.md); REDIRECT capture routes by Host only.
      const boundToMesh = (spec.gateways ?? []).length === 0 || (spec.gateways ?? []).includes('mesh');
      if (spec.tls !== undefined && boundToMesh) push(out, r, ['spec', 'tls'], `served on sidecars only with TPROXY interception (original destinations); under REDIRECT capture TLS connections are not routed by SNI`);
      if (spec.tcp !== undefined && boundToMesh) push(out, r, ['spec', 'tcp'], `served on sidecars only with TPROXY interception (original destinations); under REDIRECT capture connections are routed by Host`);
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the VirtualService is visible to every namespace`);
      break;
    }
    case 'DestinationRule': {
      const spec = r.resource.spec as DestinationRuleSpec;
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the DestinationRule is visible to every namespace`);
      if (spec.workloadSelector !== undefined) push(out, r, ['spec', 'workloadSelector'], `${NOT_SERVED}: the DestinationRule applies to every proxy`);
      break;
    }
    case 'ServiceEntry': {
      const spec = r.resource.spec as ServiceEntrySpec;
      if (spec.exportTo !== undefined) push(out, r, ['spec', 'exportTo'], `${NOT_SERVED}: the ServiceEntry is visible to every namespace`);
      if (spec.subjectAltNames !== undefined) push(out, r, ['spec', 'subjectAltNames'], `${NOT_SERVED} (no mTLS yet)`);
      break;
    }
    case 'Gateway': {
      const spec = r.resource.spec as GatewaySpec;
      spec.servers.forEach((s, i) => {
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
