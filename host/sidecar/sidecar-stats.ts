// The sidecar's /stats: the outbound and inbound listeners each keep their own Stats, and the
// admin API shows them as one list. Cluster and route stats already differ by name (`outbound|…`
// vs `inbound|…`); the listener-wide ones would collide, so the inbound listener's are given
// Envoy's HTTP connection manager prefix (`http.inbound_0.0.0.0_15006.downstream_rq_total`).
import type { Stats } from '../telemetry/stats.js';

/** Envoy/Istio's stat prefix of an inbound HTTP listener at host:port. */
export function inboundStatPrefix(host: string, port: number): string {
  return `http.inbound_${host}_${port}.`;
}

/**
 * Both listeners' stats, sorted by name. The outbound listener's are as `wasmesh proxy` shows
 * them (so dashboards for the proxy read the sidecar's outbound side unchanged); the inbound
 * listener's `server.*` are left out, since config reloads are counted once, by the outbound side.
 */
export function sidecarStats(outbound: Stats, inbound: Stats, inboundPrefix: string): Array<[string, number]> {
  const out = outbound.list();
  for (const [name, value] of inbound.list()) {
    if (name.startsWith('cluster.') || name.startsWith('route.')) out.push([name, value]);
    else if (!name.startsWith('server.')) out.push([inboundPrefix + name, value]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

/** Envoy's `/stats` text of a list. */
export function renderStats(list: ReadonlyArray<[string, number]>): string {
  let s = '';
  for (const [name, value] of list) s += `${name}: ${value}\n`;
  return s;
}
