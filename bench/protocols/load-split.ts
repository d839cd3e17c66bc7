// One Node load shared by several load processes (or threads) and their figures put back
// together, so that the protocol benchmark's client is not a single event loop that saturates
// before the proxy does (issue 15: grpc-js and ws clients held both proxies to the tool's rate).
// splitLoad deals the connections out (the load's shape — connections × in flight — stays the
// same whatever the number of parts); mergeFigures sums operations, bytes and rates and merges
// the latency histograms, so p50 / p99 are those of every operation of the window, not an
// average of each part's percentiles.
import { LatencyHistogram } from './latency-histogram.js';
import type { LoadFigures, NodeLoad, NodeLoadKind } from './load-client.js';

/**
 * `l` as `parts` loads with the connections dealt out as evenly as they go (the first ones get
 * one more when they do not divide); never more parts than connections (a part without a
 * connection would do nothing).
 */
export function splitLoad(l: NodeLoad, parts: number): NodeLoad[] {
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`splitLoad: ${parts} parts (expected an integer ≥ 1)`);
  const n = Math.min(parts, l.connections);
  const base = Math.floor(l.connections / n);
  const extra = l.connections % n;
  return Array.from({ length: n }, (_, i) => ({ ...l, connections: base + (i < extra ? 1 : 0) }));
}

/**
 * The figures of one load from its parts' (all of the same window). `where` names the parts in
 * the error when one has no histogram (figures that cannot be merged must not pass as merged).
 */
export function mergeFigures(kind: NodeLoadKind, parts: readonly LoadFigures[], where: string): LoadFigures {
  if (parts.length === 0) throw new Error(`${where}: no figures to merge`);
  const histogram = new LatencyHistogram();
  parts.forEach((p, i) => {
    if (p.histogram === undefined) throw new Error(`${where}: part ${i + 1} of ${parts.length} has no latency histogram`);
    histogram.merge(LatencyHistogram.fromJSON(p.histogram, `${where}, part ${i + 1}`));
  });
  const ops = parts.reduce((a, p) => a + p.ops, 0);
  const bytes = parts.reduce((a, p) => a + p.bytes, 0);
  const durationS = Math.max(...parts.map((p) => p.durationS));
  const firstError = parts.find((p) => p.firstError !== undefined)?.firstError;
  return {
    ops,
    bytes,
    durationS,
    rate: kind === 'tcp-bytes' ? bytes / durationS : ops / durationS,
    latencyMs: { p50: histogram.percentile(50), p99: histogram.percentile(99) },
    errors: parts.reduce((a, p) => a + p.errors, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    histogram: histogram.toJSON(),
  };
}
