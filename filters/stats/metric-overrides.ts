// The Telemetry API's metrics overrides inside Envoy (the same semantics as wasmesh's
// host/telemetry/istio-metric-overrides.ts, for the reporter this filter is): a disabled metric
// is never defined, so it has no series; a REMOVEd label is left out of the metric's name, so
// label sets that differ only in it name one Envoy stat (Envoy's proxy_define_metric finds the
// stat by name: their counts add up, as wasmesh merges them); an UPSERTed label gets its constant
// (in place when the label exists, else appended). Applied when a series' metrics are defined,
// once per label set: the request path does nothing more than without overrides.
//
// The control plane writes one line per change (stats-config.ts keeps them as entries):
//   disable<TAB><METRIC>    remove<TAB><METRIC><TAB><label>    upsert<TAB><METRIC><TAB><label><TAB><value>
import { defineMetric, definedMetricId } from '../abi/metrics';
import { Status } from '../abi/abi-types';
import { NAME, NAME_CAP } from './label-writer';
import { PROM_NAMES, TYPES } from './istio-metric-names';
import { overrideCount, overrideAt, OverrideOp } from './stats-config';

/** A metric id that names nothing: a disabled metric or one the host refused to define. */
export const NO_ID: u32 = 0xffffffff;

const OUT_CAP: usize = 16384;
const OUT = memory.data(16384);

function bytesIs(p: usize, n: usize, q: usize, m: usize): bool {
  return n == m && memory.compare(p, q, n) == 0;
}

/** Finds `a b c` (3 bytes) from `p` before `end`; returns its offset or `end`. */
function find3(p: usize, end: usize, a: u8, b: u8, c: u8): usize {
  for (let q = p; q + 3 <= end; q++) if (load<u8>(q) == a && load<u8>(q + 1) == b && load<u8>(q + 2) == c) return q;
  return end;
}

/** The override entry of `op` for `metric` and label `k`, or 0. */
function entryFor(rec: usize, op: OverrideOp, metric: u32, k: usize, kn: usize): usize {
  const n = overrideCount(rec);
  let found: usize = 0;
  // The last line wins (the control plane writes each label once per metric).
  for (let i: u32 = 0; i < n; i++) {
    const e = overrideAt(rec, i);
    if (load<u32>(e) == <u32>op && load<u32>(e + 4) == metric && bytesIs(<usize>load<u32>(e + 8), <usize>load<u32>(e + 12), k, kn)) found = e;
  }
  return found;
}

let outLen: usize = 0;
let outOverflow = false;

function out(p: usize, n: usize): void {
  if (outLen + n > OUT_CAP) {
    outOverflow = true;
    return;
  }
  memory.copy(OUT + outLen, p, n);
  outLen += n;
}

const SEP_EQ = memory.data<u8>([0x3d, 0x2e, 0x3d]); // "=.="
const SEP_END = memory.data<u8>([0x3b, 0x2e, 0x3b]); // ";.;"

/**
 * Defines `metric` for the label set of the first `labelsLen` bytes of NAME (label-writer.ts),
 * with the configuration's overrides; returns its id, or NO_ID when it is disabled or refused.
 */
export function defineSeriesMetric(rec: usize, metric: u32, labelsLen: usize): u32 {
  const name = PROM_NAMES[<i32>metric];
  const n = overrideCount(rec);
  let touched = false;
  for (let i: u32 = 0; i < n; i++) {
    const e = overrideAt(rec, i);
    if (load<u32>(e + 4) != metric) continue;
    if (load<u32>(e) == <u32>OverrideOp.Disable) return NO_ID;
    touched = true;
  }
  let p = NAME;
  let len: usize = 0;
  if (!touched) {
    // The common case: the label set with the metric's name after it, in place.
    if (labelsLen + name.len > NAME_CAP) return NO_ID;
    memory.copy(NAME + labelsLen, name.ptr, name.len);
    len = labelsLen + name.len;
  } else {
    outLen = 0;
    outOverflow = false;
    const end = NAME + labelsLen;
    let q = NAME;
    while (q < end) {
      const eq = find3(q, end, 0x3d, 0x2e, 0x3d);
      const sep = find3(eq, end, 0x3b, 0x2e, 0x3b);
      if (eq == end || sep == end) break;
      const up = entryFor(rec, OverrideOp.Upsert, metric, q, eq - q);
      if (up != 0) {
        out(q, eq - q + 3);
        out(<usize>load<u32>(up + 16), <usize>load<u32>(up + 20));
        out(SEP_END, 3);
      } else if (entryFor(rec, OverrideOp.Remove, metric, q, eq - q) == 0) {
        out(q, sep + 3 - q);
      }
      q = sep + 3;
    }
    // Upserted labels the set does not have: appended, in the configuration's order.
    for (let i: u32 = 0; i < n; i++) {
      const e = overrideAt(rec, i);
      if (load<u32>(e) != <u32>OverrideOp.Upsert || load<u32>(e + 4) != metric) continue;
      const k = <usize>load<u32>(e + 8);
      const kn = <usize>load<u32>(e + 12);
      if (hasLabel(NAME, labelsLen, k, kn)) continue;
      out(k, kn);
      out(SEP_EQ, 3);
      out(<usize>load<u32>(e + 16), <usize>load<u32>(e + 20));
      out(SEP_END, 3);
    }
    out(name.ptr, name.len);
    if (outOverflow) return NO_ID;
    p = OUT;
    len = outLen;
  }
  if (defineMetric(TYPES[<i32>metric], p, len) != Status.Ok) return NO_ID;
  return definedMetricId();
}

/** Whether the label set (`n` bytes at `p`) has label `k`. */
function hasLabel(p: usize, n: usize, k: usize, kn: usize): bool {
  const end = p + n;
  let q = p;
  while (q < end) {
    const eq = find3(q, end, 0x3d, 0x2e, 0x3d);
    const sep = find3(eq, end, 0x3b, 0x2e, 0x3b);
    if (eq == end || sep == end) return false;
    if (bytesIs(q, eq - q, k, kn)) return true;
    q = sep + 3;
  }
  return false;
}
