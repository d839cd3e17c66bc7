// The `wasmesh_stats` filter's plugin configuration (format: filters/stats/stats-config.ts).
// Everything the filter cannot do without a protobuf codec or Istio's label rules is done here
// with wasmesh's own code: this workload's x-envoy-peer-metadata value (protobufjs, as a wasmesh
// proxy encodes it), and the label segments of this workload, of an unknown peer and of every
// peer the control plane knows, rendered with istio-labels.ts' values. A peer is then
// recognised in Envoy by its exact metadata value; one the configuration does not list counts
// as `unknown`, as a value that does not decode does on a wasmesh proxy. A peer's principal goes
// with it when it names that peer alone: the TCP filter, with no metadata exchange to read,
// recognises the peer by its certificate.
import { UNKNOWN, type WorkloadMetadata } from '../model/workload-metadata.js';
import { UNKNOWN_WORKLOAD, workloadLabelsOf, type Reporter, type WorkloadLabels } from '../telemetry/istio-labels.js';
import { encodePeerMetadata } from '../telemetry/peer-metadata.js';
import { encodeExchange, EXCHANGE_HEADER_BYTES } from '../telemetry/tcp-metadata-exchange.js';
import { FiltersConfigError } from './filters-config-error.js';
import type { IstioMetric, MetricsOverrides } from '../model/metrics-overrides.js';
import { ISTIO_TAG_NAMES } from './stats-tags.js';

export interface StatsPluginOptions {
  /** Which side this listener reports (Istio: `destination` on a sidecar's inbound, `source` elsewhere). */
  readonly reporter: Reporter;
  /** This proxy's workload (its node metadata). */
  readonly self: WorkloadMetadata;
  /** The mesh's workloads whose metadata the filter should recognise (callers and callees). */
  readonly peers: readonly WorkloadMetadata[];
  /** The Telemetry API's metrics overrides for this proxy (the reporter's half is applied); absent: none. */
  readonly overrides?: MetricsOverrides;
  /**
   * Whether Envoy's stats_tags extract labels beyond Istio's (the static bootstrap adds one per
   * upserted label: upsertedLabels). Without them an UPSERT of a new label is left out: Envoy
   * would keep it in the stat's name.
   */
  readonly newLabels?: boolean;
  /** The TCP filter's periodic report (Istio's tcp_reporting_duration); default 5000 ms, 0: at close only. */
  readonly tcpReportingMs?: number;
  /**
   * Whether the TCP filter runs Istio's TCP metadata exchange (filters/stats/tcp-exchange.ts):
   * this workload's exchange bytes and every peer's, encoded by the code wasmesh proxies use
   * (host/telemetry/tcp-metadata-exchange.ts), go into the configuration. Only for chains whose
   * peer agreed on `istio-peer-exchange` (host/envoy/tcp-peer-exchange.ts).
   */
  readonly tcpExchange?: boolean;
}

/** Istio's stats-name encoding: `name=.=value;.;`, undone by the bootstrap's stats_tags (stats-tags.ts). */
export const TAG_VALUE_SEPARATOR = '=.=';
export const TAG_SEPARATOR = ';.;';

/** One side's labels in Istio's order (istio-labels.ts renders the same order for wasmesh). */
export function sideLabelPairs(prefix: 'source' | 'destination', w: WorkloadLabels, principal: string): Array<[string, string]> {
  return [
    [`${prefix}_workload`, w.workload], [`${prefix}_canonical_service`, w.canonicalService],
    [`${prefix}_canonical_revision`, w.canonicalRevision], [`${prefix}_workload_namespace`, w.namespace],
    [`${prefix}_principal`, principal], [`${prefix}_app`, w.app], [`${prefix}_version`, w.version], [`${prefix}_cluster`, w.cluster],
  ];
}

/**
 * A peer's side without its principal: that is the connection's (the peer certificate's SPIFFE
 * ID), which the filter writes per request (Envoy extracts tags by regex, so where a pair sits in
 * the name does not matter).
 */
function peerPairs(prefix: 'source' | 'destination', w: WorkloadLabels): Array<[string, string]> {
  return sideLabelPairs(prefix, w, UNKNOWN).filter(([k]) => k !== `${prefix}_principal`);
}

/** A label value that would break the name encoding, the config lines or Envoy's tag extraction is refused. */
function checkValue(where: string, name: string, value: string): void {
  if (value.includes(TAG_SEPARATOR) || value.includes(TAG_VALUE_SEPARATOR) || /[\t\n\r]/.test(value)) {
    throw new FiltersConfigError('filters_config_stats_label', where, `${name}: the value ${JSON.stringify(value)} contains ${JSON.stringify(TAG_SEPARATOR)}, ${JSON.stringify(TAG_VALUE_SEPARATOR)} or a control character, which Istio's stats-name encoding cannot carry`);
  }
}

function segment(where: string, pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => {
    checkValue(where, k, v);
    return `${k}${TAG_VALUE_SEPARATOR}${v}${TAG_SEPARATOR}`;
  }).join('');
}

/** The plugin configuration text (UTF-8) for one listener. */
export function encodeStatsPluginConfig(o: StatsPluginOptions): string {
  const self = workloadLabelsOf(o.self);
  const selfPrincipal = o.self.principal ?? UNKNOWN;
  const selfId = o.self.nodeId;
  const selfMeta = encodePeerMetadata(o.self);
  checkValue('self', 'x-envoy-peer-metadata-id', selfId);
  checkValue('self', 'namespace', o.self.namespace);
  const lines = [
    'wasmesh_stats 1',
    `reporter\t${o.reporter}`,
    `self\t${selfId}\t${selfMeta}`,
    `namespace\t${o.self.namespace}`,
    `self_source\t${segment('self', sideLabelPairs('source', self, selfPrincipal))}`,
    `self_destination\t${segment('self', sideLabelPairs('destination', self, selfPrincipal))}`,
    `unknown_source\t${segment('unknown', peerPairs('source', UNKNOWN_WORKLOAD))}`,
    `unknown_destination\t${segment('unknown', peerPairs('destination', UNKNOWN_WORKLOAD))}`,
  ];
  if (o.tcpReportingMs !== undefined) {
    if (!Number.isInteger(o.tcpReportingMs) || o.tcpReportingMs < 0 || o.tcpReportingMs > 999_999_999) {
      throw new FiltersConfigError('filters_config_stats_tcp_reporting', 'tcpReportingMs', `${o.tcpReportingMs}: a whole number of milliseconds from 0 to 999999999`);
    }
    lines.push(`tcp_reporting_ms\t${o.tcpReportingMs}`);
  }
  if (o.tcpExchange === true) lines.push(`tcp_exchange\t${encodeExchange(o.self).toString('hex')}`);
  lines.push(...overrideLines(o));
  const seen = new Set<string>();
  const unique = uniquePrincipals(o.peers);
  for (const p of o.peers) {
    const meta = encodePeerMetadata(p);
    if (seen.has(meta)) continue;
    seen.add(meta);
    const labels = workloadLabelsOf(p);
    const where = `peer ${p.namespace}/${p.name}`;
    // The principal names the peer to the TCP filter (no metadata exchange in stock Envoy) only
    // when no other workload has it: two workloads of one service account stay `unknown` there.
    const principal = p.principal !== null && unique.has(p.principal) ? p.principal : undefined;
    if (principal !== undefined) checkValue(where, 'principal', principal);
    lines.push(`peer\t${meta}\t${segment(where, peerPairs('source', labels))}\t${segment(where, peerPairs('destination', labels))}${principal !== undefined ? `\t${principal}` : ''}`);
    // The peer's TCP exchange (the Any after the initial header), recognised by exact bytes.
    if (o.tcpExchange === true) lines.push(`peer_tcp\t${encodeExchange(p).subarray(EXCHANGE_HEADER_BYTES).toString('hex')}`);
  }
  return lines.join('\n') + '\n';
}

/** The principals exactly one of `peers` (told apart by their metadata) has. */
function uniquePrincipals(peers: readonly WorkloadMetadata[]): Set<string> {
  const owners = new Map<string, Set<string>>();
  for (const p of peers) {
    if (p.principal === null) continue;
    const set = owners.get(p.principal) ?? new Set<string>();
    set.add(encodePeerMetadata(p));
    owners.set(p.principal, set);
  }
  return new Set([...owners].filter(([, metas]) => metas.size === 1).map(([principal]) => principal));
}

/** The override lines of this listener's reporter (Istio's CLIENT: source, SERVER: destination). */
function overrideLines(o: StatsPluginOptions): string[] {
  const half = o.overrides === undefined ? undefined : o.reporter === 'source' ? o.overrides.client : o.overrides.server;
  if (half === undefined) return [];
  const lines: string[] = [];
  for (const [metric, m] of Object.entries(half) as Array<[IstioMetric, NonNullable<(typeof half)[IstioMetric]>]>) {
    if (m.disabled) {
      lines.push(`disable\t${metric}`);
      continue;
    }
    for (const tag of m.remove) {
      checkValue(`override ${metric}`, 'label', tag);
      lines.push(`remove\t${metric}\t${tag}`);
    }
    for (const [tag, value] of m.upsert) {
      if (!ISTIO_TAG_NAMES.includes(tag) && o.newLabels !== true) continue;
      checkValue(`override ${metric}`, tag, value);
      checkValue(`override ${metric}`, 'label', tag);
      lines.push(`upsert\t${metric}\t${tag}\t${value}`);
    }
  }
  return lines;
}

/** The labels the overrides upsert beyond Istio's (a bootstrap adds a stats_tag for each). */
export function upsertedLabels(overrides: MetricsOverrides | undefined): string[] {
  if (overrides === undefined) return [];
  const out = new Set<string>();
  for (const half of [overrides.client, overrides.server]) {
    for (const m of Object.values(half)) for (const [tag] of m?.upsert ?? []) if (!ISTIO_TAG_NAMES.includes(tag)) out.add(tag);
  }
  return [...out].sort();
}
