// `proxy-config routes`: istioctl's route table from a config dump — NAME, DOMAINS, MATCH and
// VIRTUAL SERVICE per route (the default, istioctl's --verbose; PassthroughCluster routes left
// out, a virtual host without routes shown as `/*` → 404), or NAME and VIRTUAL HOSTS per route
// configuration; filtered by --name.
import { describeManagement } from './config-dump-reader.js';
import { describeMatch } from './listeners-view.js';
import { tabWrite } from './tab-writer.js';

type Json = Record<string, any>;

/** istioctl's order: numeric names ascending; a name that is not a number keeps its place. */
export function sortRoutes(routes: readonly Json[]): Json[] {
  return [...routes].sort((a, b) => {
    const x = Number.parseInt(String(a.name), 10);
    const y = Number.parseInt(String(b.name), 10);
    return Number.isNaN(x) || Number.isNaN(y) ? 0 : x - y;
  });
}

/** The domains istioctl shows: one as it is; else those without a port, short forms preferred, two at most. */
export function describeRouteDomains(domains: readonly string[]): string {
  if (domains.length === 0) return '';
  if (domains.length === 1) return domains[0]!;
  const withoutPort = domains.filter((d) => !d.includes(':') || ((d.match(/:/g) ?? []).length > 2 && d.endsWith(']')));
  const unique = new Set(withoutPort);
  const expanded = new Set<string>();
  for (const h of withoutPort) {
    const full = h.endsWith('.svc.cluster.local') ? h.slice(0, -'.svc.cluster.local'.length) : h;
    if (full !== h && unique.has(full)) expanded.add(h);
    const partial = h.endsWith('.svc') ? h.slice(0, -'.svc'.length) : h;
    if (partial !== h && unique.has(partial)) expanded.add(h);
  }
  const shown = withoutPort.filter((h) => !expanded.has(h));
  return shown.length > 2 ? `${shown.slice(0, 2).join(', ')} + ${shown.length - 2} more...` : shown.join(', ');
}

const isPassthrough = (r: Json): boolean => r.route?.cluster === 'PassthroughCluster';

export function routesTable(routes: readonly Json[], name: string | undefined, verbose: boolean): string {
  const rows: string[][] = [verbose ? ['NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'] : ['NAME', 'VIRTUAL HOSTS']];
  for (const rc of sortRoutes(routes)) {
    if (name !== undefined && rc.name !== name) continue;
    const vhosts = (rc.virtual_hosts as Json[] | undefined) ?? [];
    if (!verbose) {
      rows.push([String(rc.name ?? ''), String(vhosts.length)]);
      continue;
    }
    for (const vh of vhosts) {
      const list = (vh.routes as Json[] | undefined) ?? [];
      for (const r of list) {
        if (!isPassthrough(r)) rows.push([String(rc.name ?? ''), describeRouteDomains(vh.domains ?? []), describeMatch(r.match), describeManagement(r.metadata)]);
      }
      if (list.length === 0) rows.push([String(rc.name ?? ''), describeRouteDomains(vh.domains ?? []), '/*', '404']);
    }
  }
  return tabWrite(rows, 5);
}

export function filteredRoutes(routes: readonly Json[], name: string | undefined): Json[] {
  return sortRoutes(routes).filter((r) => name === undefined || r.name === name);
}
