// The sidecar's /stats: the outbound and inbound listeners each keep their own Stats, and the
// admin API shows them as one list. Cluster and route stats already differ by name (`outbound|…`
// vs `inbound|…`); the listener-wide ones would collide, so the inbound listener's are given
// Envoy's HTTP connection manager prefix (`http.inbound_0.0.0.0_15006.downstream_rq_total`).
import type { StatRecord, Stats } from '../telemetry/stats.js';
import { sortRecords } from '../telemetry/stats.js';

/** Envoy/Istio's stat prefix of an inbound HTTP listener at host:port. */
export function inboundStatPrefix(host: string, port: number): string {
  return `http.${inboundStatPrefixName(host, port)}.`;
}

/** The prefix's own name (Envoy's tag `envoy.http_conn_manager_prefix`): `inbound_0.0.0.0_15006`. */
function inboundStatPrefixName(host: string, port: number): string {
  return `inbound_${host}_${port}`;
}

/**
 * Both listeners' stats, sorted by name. The outbound listener's are as `wasmesh proxy` shows
 * them (so dashboards for the proxy read the sidecar's outbound side unchanged); the inbound
 * listener's `server.*` are left out, since config reloads are counted once, by the outbound side.
 */
export function sidecarStats(outbound: Stats, inbound: Stats, inboundAt: { host: string; port: number }): StatRecord[] {
  const out = outbound.records();
  const prefix = inboundStatPrefix(inboundAt.host, inboundAt.port);
  for (const r of inbound.records()) {
    if (r.name.startsWith('cluster.') || r.name.startsWith('route.')) out.push(r);
    else if (!r.name.startsWith('server.')) {
      // As Envoy tags `http.<prefix>.<stat>`: the prefix becomes a label, not part of the metric name.
      out.push({ ...r, name: prefix + r.name, tagName: `http.${r.tagName}`, tags: [['envoy.http_conn_manager_prefix', inboundStatPrefixName(inboundAt.host, inboundAt.port)], ...r.tags] });
    }
  }
  return sortRecords(out);
}
