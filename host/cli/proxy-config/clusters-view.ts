// `proxy-config clusters`: istioctl's cluster table from a config dump — SERVICE FQDN, PORT,
// SUBSET, DIRECTION, TYPE and DESTINATION RULE, Istio's `direction|port|subset|fqdn` names split
// into their parts — sorted as istioctl sorts them, filtered by --fqdn, --port, --subset and
// --direction (substrings of the name, as istioctl matches them).
import { bySubsetKey, describeManagement, subsetKey } from './config-dump-reader.js';
import { tabWrite } from './tab-writer.js';

type Json = Record<string, any>;

export interface ClusterFilter {
  fqdn?: string;
  port?: number;
  subset?: string;
  direction?: string;
}

export function clusterMatches(f: ClusterFilter, name: string): boolean {
  if (f.fqdn !== undefined && !name.includes(f.fqdn)) return false;
  if (f.direction !== undefined && !name.includes(f.direction)) return false;
  if (f.subset !== undefined && !name.includes(f.subset)) return false;
  if (f.port !== undefined && !name.includes(`|${f.port}|`)) return false;
  return true;
}

export function filteredClusters(clusters: readonly Json[], f: ClusterFilter): Json[] {
  return clusters.filter((c) => clusterMatches(f, String(c.name ?? ''))).sort((a, b) => bySubsetKey(String(a.name ?? ''), String(b.name ?? '')));
}

export function clustersTable(clusters: readonly Json[], f: ClusterFilter): string {
  const rows: string[][] = [['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE']];
  for (const c of filteredClusters(clusters, f)) {
    const name = String(c.name ?? '');
    // An unset type is proto3's default, STATIC.
    const type = String(c.type ?? 'STATIC');
    if (name.split('|').length > 3) {
      const k = subsetKey(name);
      rows.push([k.fqdn, String(k.port), k.subset === '' ? '-' : k.subset, k.direction, type, describeManagement(c.metadata)]);
    } else {
      rows.push([name, '-', '-', '-', type, describeManagement(c.metadata)]);
    }
  }
  return tabWrite(rows, 5);
}
