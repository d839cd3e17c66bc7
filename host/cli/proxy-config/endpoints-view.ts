// `proxy-config endpoints`: istioctl's endpoint table from a config dump with its EDS part
// (`/config_dump?include_eds`) — ENDPOINT, STATUS, LOCALITY, CLUSTER per host with the health the
// proxy holds for it — filtered by --address (`ip:port`), --port, --cluster and --status
// (HEALTHY, UNHEALTHY, …; case-insensitive), clusters without a kept endpoint left out.
import { bySubsetKey } from './config-dump-reader.js';
import { tabWrite } from './tab-writer.js';

type Json = Record<string, any>;

export interface EndpointFilter {
  address?: string;
  port?: number;
  cluster?: string;
  status?: string;
}

const endpointAddress = (ep: Json): string => {
  const a = ep.endpoint?.address ?? {};
  if (a.socket_address) return `${a.socket_address.address}:${a.socket_address.port_value ?? 0}`;
  return String(a.pipe?.path ?? '');
};
const status = (ep: Json): string => String(ep.health_status ?? 'UNKNOWN');

/** Istio's LocalityToString: region, region/zone or region/zone/subzone. */
function locality(l: Json | undefined): string {
  if (!l) return '';
  let s = String(l.region ?? '');
  if (!l.zone) return s;
  s += `/${l.zone}`;
  return l.sub_zone ? `${s}/${l.sub_zone}` : s;
}

function keep(f: EndpointFilter, ep: Json, cluster: string): boolean {
  if (f.address !== undefined && endpointAddress(ep).toLowerCase() !== f.address.toLowerCase()) return false;
  if (f.port !== undefined && Number(ep.endpoint?.address?.socket_address?.port_value ?? 0) !== f.port) return false;
  if (f.cluster !== undefined && cluster.toLowerCase() !== f.cluster.toLowerCase()) return false;
  if (f.status !== undefined && status(ep).toLowerCase() !== f.status.toLowerCase()) return false;
  return true;
}

/** The load assignments with only the kept endpoints, those with none dropped, sorted as istioctl sorts them. */
export function filteredEndpoints(assignments: readonly Json[], f: EndpointFilter): Json[] {
  const out: Json[] = [];
  for (const cla of assignments) {
    const cluster = String(cla.cluster_name ?? '');
    let count = 0;
    const endpoints = ((cla.endpoints as Json[] | undefined) ?? []).map((group) => {
      const lb = ((group.lb_endpoints as Json[] | undefined) ?? []).filter((ep) => keep(f, ep, cluster));
      count += lb.length;
      return { ...group, lb_endpoints: lb };
    });
    if (count > 0) out.push({ ...cla, endpoints });
  }
  return out.sort((a, b) => bySubsetKey(String(a.cluster_name ?? ''), String(b.cluster_name ?? '')));
}

export function endpointsTable(assignments: readonly Json[], f: EndpointFilter): string {
  const rows: string[][] = [['ENDPOINT', 'STATUS', 'LOCALITY', 'CLUSTER']];
  for (const cla of filteredEndpoints(assignments, f)) {
    for (const group of (cla.endpoints as Json[]) ?? []) {
      for (const ep of (group.lb_endpoints as Json[]) ?? []) rows.push([endpointAddress(ep), status(ep), locality(group.locality), String(cla.cluster_name ?? '')]);
    }
  }
  return tabWrite(rows, 5);
}
