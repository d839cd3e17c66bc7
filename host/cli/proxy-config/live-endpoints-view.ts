// `proxy-config endpoints` against a live proxy: istioctl's table from the admin API's
// `/clusters?format=json` (envoy.admin.v3.Clusters, from a stock Envoy or a wasmesh proxy) —
// ENDPOINT, STATUS (the host's EDS health), OUTLIER CHECK (FAILED while outlier detection ejects
// it, else OK) and CLUSTER per host, sorted by address, port, cluster — filtered as istioctl
// filters: --address (the IP alone), --port, --cluster and --status, case-insensitively.
// (`--file` reads a config dump instead: endpoints-view.ts, istioctl's other writer.)
import type { EndpointFilter } from './endpoints-view.js';
import { tabWrite } from './tab-writer.js';
import { formatHostPort } from '../../common/host-port.js';

type Json = Record<string, any>;

export interface ClustersJson {
  cluster_statuses?: Json[];
}

const address = (h: Json): string => (h.address?.socket_address ? String(h.address.socket_address.address ?? '') : `unix://${h.address?.pipe?.path ?? ''}`);
const port = (h: Json): number => Number(h.address?.socket_address?.port_value ?? 0);
// proto3 JSON leaves out an enum at 0: UNKNOWN.
const status = (h: Json): string => String(h.health_status?.eds_health_status ?? 'UNKNOWN');
const failed = (h: Json): boolean => h.health_status?.failed_outlier_check === true;

function keep(f: EndpointFilter, h: Json, cluster: string): boolean {
  if (f.address !== undefined && address(h).toLowerCase() !== f.address.toLowerCase()) return false;
  if (f.port !== undefined && port(h) !== f.port) return false;
  if (f.cluster !== undefined && cluster.toLowerCase() !== f.cluster.toLowerCase()) return false;
  if (f.status !== undefined && status(h).toLowerCase() !== f.status.toLowerCase()) return false;
  return true;
}

/** The cluster statuses with at least one host the filter keeps, whole (istioctl's -o json). */
export function filteredClusterStatuses(clusters: ClustersJson, f: EndpointFilter): Json[] {
  return (clusters.cluster_statuses ?? []).filter((c) => ((c.host_statuses as Json[] | undefined) ?? []).some((h) => keep(f, h, String(c.name ?? ''))));
}

export function liveEndpointsTable(clusters: ClustersJson, f: EndpointFilter): string {
  const rows: Array<{ address: string; port: number; cluster: string; status: string; failed: boolean }> = [];
  for (const c of clusters.cluster_statuses ?? []) {
    const name = String(c.name ?? '');
    for (const h of (c.host_statuses as Json[] | undefined) ?? []) {
      if (keep(f, h, name)) rows.push({ address: address(h), port: port(h), cluster: name, status: status(h), failed: failed(h) });
    }
  }
  rows.sort((a, b) => (a.address !== b.address ? (a.address < b.address ? -1 : 1) : a.port !== b.port ? a.port - b.port : a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  return tabWrite([['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], ...rows.map((r) => [r.port !== 0 ? formatHostPort(r.address, r.port) : r.address, r.status, r.failed ? 'FAILED' : 'OK', r.cluster])], 5);
}

/** admin.v3 JSON with protojson's names (no Struct or Any in it: every key is a field name). */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), camelKeys(x)]));
}
