// The `wasmesh_stats` filter: Istio's standard HTTP metrics from inside stock Envoy, with the
// label values wasmesh's own istio-stats filter writes (host/http/filters/istio-stats.ts), so a
// mesh of Envoy and wasmesh proxies shows one set of istio_* series.
//
// Metadata exchange as wasmesh does it: the destination reporter takes the caller's
// x-envoy-peer-metadata(-id) out of the request and, for a mesh caller, answers with this
// workload's; the source reporter sends this workload's to mesh clusters (`outbound|…`, as the
// router filter chose them in x-wasmesh-cluster) and takes the callee's out of the response.
// The peer is recognised by its exact metadata value (stats-config.ts).
//
// On log it encodes the label set into the metric name the way Istio's stats plugin did
// (`reporter=.=source;.;source_workload=.=…;.;istio_requests_total`); the bootstrap's
// stats_tags regexes (host/envoy/stats-tags.ts) turn each `name=.=value;.;` back into a tag, so
// Envoy's /stats/prometheus shows `istio_requests_total{reporter="source",…}` (Envoy strips
// its `wasmcustom.` namespace there).
import { Action, LogLevel, MapType, MetricType, Status } from '../abi/abi-types';
import { RootContext, HttpContext, registerFilter } from '../abi/context';
import { ContextTable } from '../abi/context-table';
import { getHeaderMapValue, valueBlock, valueBlockSize, replaceHeaderMapValue, removeHeaderMapValue } from '../abi/header-map';
import { getProperty, propertyData, propertySize } from '../abi/properties';
import { defineMetric, definedMetricId, incrementMetric, recordMetric } from '../abi/metrics';
import { getBufferBytes, bufferData } from '../abi/buffer';
import { BufferType } from '../abi/abi-types';
import { LogLine } from '../abi/log';
import { ascii, Ascii } from '../common/ascii';
import {
  Field, REPORTER_DESTINATION, fieldLen, fieldPtr, findPeer, freeStatsConfig, parseStatsConfig, peerSegLen, peerSegPtr,
  reporterOf, statsConfigError,
} from './stats-config';
import { seriesSlot, wasCreated, idAt } from './series-ids';

export const STATS_ROOT_ID = 'wasmesh_stats';

const PEER_METADATA = ascii('x-envoy-peer-metadata');
const PEER_METADATA_ID = ascii('x-envoy-peer-metadata-id');
const WASMESH_CLUSTER = ascii('x-wasmesh-cluster');
const OUTBOUND = ascii('outbound|');

// Property paths (segments separated by NUL).
const P_CODE = ascii('response\0code');
const P_FLAGS = ascii('response\0flags');
const P_DURATION = ascii('request\0duration');
const P_REQ_SIZE = ascii('request\0total_size');
const P_RESP_SIZE = ascii('response\0total_size');
const P_CLUSTER = ascii('xds\0cluster_name');
const P_HOST = ascii('request\0host');
const P_MTLS = ascii('connection\0mtls');
const P_PEER_URI = ascii('connection\0uri_san_peer_certificate');
const T_SOURCE_PRINCIPAL = ascii('source_principal');
const T_DESTINATION_PRINCIPAL = ascii('destination_principal');

const NAMES: Ascii[] = [
  ascii('istio_requests_total'),
  ascii('istio_request_duration_milliseconds'),
  ascii('istio_request_bytes'),
  ascii('istio_response_bytes'),
];
const TYPES: MetricType[] = [MetricType.Counter, MetricType.Histogram, MetricType.Histogram, MetricType.Histogram];

/** Envoy's response flags in bit order (StreamInfo's legacy bitmask, as `response.flags` gives it). */
const FLAG_NAMES: Ascii[] = [
  ascii('LH'), ascii('UH'), ascii('UT'), ascii('LR'), ascii('UR'), ascii('UF'), ascii('UC'), ascii('UO'), ascii('NR'),
  ascii('DI'), ascii('FI'), ascii('RL'), ascii('UAEX'), ascii('RLSE'), ascii('DC'), ascii('URX'), ascii('SI'), ascii('IH'),
  ascii('DPE'), ascii('UMSDR'), ascii('RFCF'), ascii('NFCF'), ascii('DT'), ascii('UPE'), ascii('NC'), ascii('OM'), ascii('DF'),
  ascii('DO'), ascii('DR'), ascii('UDO'),
];

/** Root context id → its configuration record (stats-config.ts). */
const configs = new ContextTable();
/** Stream id → the peer's record address | 1 when the stream carried peer metadata (0: nothing). */
const peers = new ContextTable();

/** Requests not counted because the series table is full, and refused configurations. */
let overflowId: u32 = 0;
let rejectedId: u32 = 0;
/** Ids are the host's (0 is a valid one): whether they were defined, and whether defining worked. */
let ownMetricsDefined = false;
let overflowOk = false;
let rejectedOk = false;

/** Defines this filter's own counters once per VM. */
function defineOwnMetrics(): void {
  if (ownMetricsDefined) return;
  ownMetricsDefined = true;
  const r = ascii('wasmesh_stats_config_rejected');
  rejectedOk = defineMetric(MetricType.Counter, r.ptr, r.len) == Status.Ok;
  rejectedId = definedMetricId();
  const o = ascii('wasmesh_stats_series_overflow');
  overflowOk = defineMetric(MetricType.Counter, o.ptr, o.len) == Status.Ok;
  overflowId = definedMetricId();
}

// ---- the name buffer: one per VM (single-threaded), reused by every request ----
const NAME_CAP: usize = 16384;
const NAME = memory.data(16384);
let nameLen: usize = 0;
let nameOverflow = false;

function put(p: usize, n: usize): void {
  if (nameLen + n > NAME_CAP) {
    nameOverflow = true;
    return;
  }
  memory.copy(NAME + nameLen, p, n);
  nameLen += n;
}

function putA(a: Ascii): void {
  put(a.ptr, a.len);
}

function putByte(c: u8): void {
  if (nameLen >= NAME_CAP) {
    nameOverflow = true;
    return;
  }
  store<u8>(NAME + nameLen, c);
  nameLen++;
}

/** Appends a lower-cased copy (hosts are case-insensitive; Istio's labels are lower case). */
function putLower(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) {
    let c = load<u8>(p + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    putByte(c);
  }
}

function putDecimal(v: u64): void {
  let n: usize = 1;
  for (let t = v; t >= 10; t /= 10) n++;
  if (nameLen + n > NAME_CAP) {
    nameOverflow = true;
    return;
  }
  let at = nameLen + n;
  let t = v;
  do {
    store<u8>(NAME + --at, <u8>(0x30 + <u32>(t % 10)));
    t /= 10;
  } while (t > 0);
  nameLen += n;
}

const SEP = ascii(';.;');
const EQ = ascii('=.=');
const UNKNOWN = ascii('unknown');

function tagStart(name: Ascii): void {
  putA(name);
  putA(EQ);
}

const T_REPORTER = ascii('reporter');
const T_SERVICE = ascii('destination_service');
const T_SERVICE_NAME = ascii('destination_service_name');
const T_SERVICE_NS = ascii('destination_service_namespace');
const T_PROTOCOL = ascii('request_protocol');
const T_CODE = ascii('response_code');
const T_GRPC = ascii('grpc_response_status');
const T_FLAGS = ascii('response_flags');
const T_POLICY = ascii('connection_security_policy');
const V_SOURCE = ascii('source');
const V_DESTINATION = ascii('destination');
const V_HTTP = ascii('http');
const V_MTLS = ascii('mutual_tls');
const V_NONE = ascii('none');
const V_SVC_SUFFIX = ascii('.svc.cluster.local');
const V_PASSTHROUGH = ascii('PassthroughCluster');
const V_BLACKHOLE = ascii('BlackHoleCluster');

/** Whether `n` bytes at `p` hold `;.;`, `=.=` or a control character (they would break the name's encoding). */
function containsSeparator(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(p + i);
    if (c < 0x20) return true;
    if (i + 2 < n && load<u8>(p + i + 1) == 0x2e && (c == 0x3b && load<u8>(p + i + 2) == 0x3b || c == 0x3d && load<u8>(p + i + 2) == 0x3d)) return true;
  }
  return false;
}

function bytesEqual(p: usize, n: usize, a: Ascii): bool {
  return n == a.len && memory.compare(p, a.ptr, n) == 0;
}

/** An i64 property (8 bytes little-endian), or `fallback`. */
function intProperty(path: Ascii, fallback: i64): i64 {
  if (getProperty(path.ptr, path.len) != Status.Ok) return fallback;
  const p = propertyData();
  const v = propertySize() == 8 ? load<i64>(p) : fallback;
  if (p != 0) heap.free(p);
  return v;
}

/** The three destination_service labels of host `h` (lower-cased, no port) — istio-labels.ts serviceOfHost. */
function putServiceOfHost(h: usize, n: usize, ns: usize, nsLen: usize, inbound: bool): void {
  // Where the first two dots are.
  let d1: usize = n;
  let d2: usize = n;
  let dots: u32 = 0;
  let allDigits = true;
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(h + i);
    if (c == 0x2e) {
      dots++;
      if (d1 == n) d1 = i;
      else if (d2 == n) d2 = i;
    } else if (c < 0x30 || c > 0x39) allDigits = false;
  }
  if (n == 0) {
    tagStart(T_SERVICE); putA(UNKNOWN); putA(SEP);
    tagStart(T_SERVICE_NAME); putA(UNKNOWN); putA(SEP);
    tagStart(T_SERVICE_NS); putA(UNKNOWN); putA(SEP);
    return;
  }
  // Inbound short name `reviews`: that service in this namespace (istio-stats.ts inboundService).
  if (inbound && dots == 0 && !allDigits && load<u8>(h) != 0x5b) {
    tagStart(T_SERVICE); putLower(h, n); putByte(0x2e); put(ns, nsLen); putA(V_SVC_SUFFIX); putA(SEP);
    tagStart(T_SERVICE_NAME); putLower(h, n); putA(SEP);
    tagStart(T_SERVICE_NS); put(ns, nsLen); putA(SEP);
    return;
  }
  const svc = dots >= 2 && !(inbound && allDigits) && segmentIsSvc(h, n, d2);
  tagStart(T_SERVICE); putLower(h, n); putA(SEP);
  tagStart(T_SERVICE_NAME);
  if (svc) putLower(h, d1); else putLower(h, n);
  putA(SEP);
  tagStart(T_SERVICE_NS);
  if (svc) putLower(h + d1 + 1, d2 - d1 - 1);
  else if (inbound) put(ns, nsLen);
  else putA(UNKNOWN);
  putA(SEP);
}

/** Whether the segment after the second dot (at `d2`) is `svc` (case-insensitive). */
function segmentIsSvc(h: usize, n: usize, d2: usize): bool {
  if (d2 + 4 > n) return false;
  const end = d2 + 4 == n || load<u8>(h + d2 + 4) == 0x2e;
  return end && (load<u8>(h + d2 + 1) | 0x20) == 0x73 && (load<u8>(h + d2 + 2) | 0x20) == 0x76 && (load<u8>(h + d2 + 3) | 0x20) == 0x63;
}

/** destination_service* from the authority (`request.host`), without its port. */
function putServiceOfAuthority(rec: usize, inbound: bool): void {
  let p: usize = 0;
  let n: usize = 0;
  if (getProperty(P_HOST.ptr, P_HOST.len) == Status.Ok) {
    p = propertyData();
    n = propertySize();
  }
  // Strip the port (not inside IPv6 brackets).
  let hn = n;
  if (n > 0 && load<u8>(p) == 0x5b) {
    for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) == 0x5d) { hn = i + 1; break; }
  } else {
    for (let i = n; i > 0; i--) if (load<u8>(p + i - 1) == 0x3a) { hn = i - 1; break; }
  }
  // The authority is the client's: one holding the name encoding's separators (`;` and `=` are
  // legal in a host) would inject labels, so it counts as no authority (`unknown`).
  if (containsSeparator(p, hn)) hn = 0;
  putServiceOfHost(p, hn, fieldPtr(rec, Field.Namespace), fieldLen(rec, Field.Namespace), inbound);
  if (p != 0) heap.free(p);
}

/** destination_service* on the source reporter: the cluster's host, else the authority (istio-labels.ts serviceOfCluster). */
function putServiceOfCluster(rec: usize): void {
  if (getProperty(P_CLUSTER.ptr, P_CLUSTER.len) == Status.Ok) {
    const p = propertyData();
    const n = propertySize();
    if (n >= OUTBOUND.len && memory.compare(p, OUTBOUND.ptr, OUTBOUND.len) == 0 && !containsSeparator(p, n)) {
      let bar = n;
      while (bar > 0 && load<u8>(p + bar - 1) != 0x7c) bar--;
      putServiceOfHost(p + bar, n - bar, 0, 0, false);
      heap.free(p);
      return;
    }
    if (bytesEqual(p, n, V_PASSTHROUGH) || bytesEqual(p, n, V_BLACKHOLE)) {
      tagStart(T_SERVICE); put(p, n); putA(SEP);
      tagStart(T_SERVICE_NAME); put(p, n); putA(SEP);
      tagStart(T_SERVICE_NS); putA(UNKNOWN); putA(SEP);
      heap.free(p);
      return;
    }
    if (p != 0) heap.free(p);
  }
  putServiceOfAuthority(rec, false);
}

function putFlags(flags: u64): void {
  if (flags == 0) {
    putByte(0x2d); // "-"
    return;
  }
  let first = true;
  for (let i = 0; i < FLAG_NAMES.length; i++) {
    if ((flags & (<u64>1 << <u64>i)) == 0) continue;
    if (!first) putByte(0x2c);
    first = false;
    putA(FLAG_NAMES[i]);
  }
  // Bits past the known list still mark the request as flagged.
  if (first) putByte(0x2d);
}

class StatsRoot extends RootContext {
  onConfigure(rootId: u32, size: usize): bool {
    defineOwnMetrics();
    if (size > 0xffffffff || getBufferBytes(BufferType.PluginConfiguration, 0, size) != Status.Ok) {
      return this.reject('wasmesh_stats_config_unreadable', 'proxy_get_buffer_bytes failed', size);
    }
    const block = bufferData();
    const rec: usize = block == 0 ? <usize>0 : parseStatsConfig(block, size);
    if (rec == 0) {
      if (block != 0) heap.free(block);
      return this.reject('wasmesh_stats_config_invalid', block == 0 ? 'empty' : statsConfigError(), size);
    }
    const old = <usize>configs.get(rootId, 0);
    if (old != 0) freeStatsConfig(old);
    configs.set(rootId, <u32>rec);
    return true;
  }

  reject(code: string, why: string, size: usize): bool {
    LogLine.start();
    LogLine.text('wasmesh_stats: plugin configuration rejected (');
    LogLine.text(code);
    LogLine.text(', ');
    LogLine.num(<i64>size);
    LogLine.text(' bytes): ');
    LogLine.text(why);
    LogLine.text('; the plugin fails closed');
    LogLine.emit(LogLevel.Error);
    if (rejectedOk) incrementMetric(rejectedId, 1);
    return false;
  }

  onDelete(rootId: u32): void {
    const old = <usize>configs.get(rootId, 0);
    if (old != 0) freeStatsConfig(old);
    configs.delete(rootId);
  }
}

/** Takes x-envoy-peer-metadata(-id) out of `map`; returns the peer's state word (0: no metadata). */
function takePeer(rec: usize, map: MapType): u32 {
  let state: u32 = 0;
  if (getHeaderMapValue(map, PEER_METADATA.ptr, PEER_METADATA.len) == Status.Ok) {
    const p = valueBlock();
    state = <u32>findPeer(rec, p, valueBlockSize()) | 1;
    if (p != 0) heap.free(p);
    removeHeaderMapValue(map, PEER_METADATA.ptr, PEER_METADATA.len);
  }
  if (getHeaderMapValue(map, PEER_METADATA_ID.ptr, PEER_METADATA_ID.len) == Status.Ok) {
    const p = valueBlock();
    if (p != 0) heap.free(p);
    state |= 1;
    removeHeaderMapValue(map, PEER_METADATA_ID.ptr, PEER_METADATA_ID.len);
  }
  return state;
}

function putOwnMetadata(rec: usize, map: MapType): void {
  replaceHeaderMapValue(map, PEER_METADATA_ID.ptr, PEER_METADATA_ID.len, fieldPtr(rec, Field.SelfId), fieldLen(rec, Field.SelfId));
  replaceHeaderMapValue(map, PEER_METADATA.ptr, PEER_METADATA.len, fieldPtr(rec, Field.SelfMeta), fieldLen(rec, Field.SelfMeta));
}

class StatsStream extends HttpContext {
  onRequestHeaders(streamId: u32, rootId: u32, headerCount: u32, endOfStream: bool): Action {
    const rec = <usize>configs.get(rootId, 0);
    if (rec == 0) return Action.Continue;
    // Never forwarded: an app does not see them, and an outbound app cannot speak for another workload.
    const state = takePeer(rec, MapType.HttpRequestHeaders);
    if (reporterOf(rec) == REPORTER_DESTINATION) {
      if (state != 0) peers.set(streamId, state);
      return Action.Continue;
    }
    // Source reporter: only mesh destinations learn who calls (wasmesh's peerMetadataRequestOps).
    if (getHeaderMapValue(MapType.HttpRequestHeaders, WASMESH_CLUSTER.ptr, WASMESH_CLUSTER.len) == Status.Ok) {
      const p = valueBlock();
      const n = valueBlockSize();
      const mesh = n >= OUTBOUND.len && memory.compare(p, OUTBOUND.ptr, OUTBOUND.len) == 0;
      if (p != 0) heap.free(p);
      if (mesh) putOwnMetadata(rec, MapType.HttpRequestHeaders);
    }
    return Action.Continue;
  }

  onResponseHeaders(streamId: u32, rootId: u32, headerCount: u32, endOfStream: bool): Action {
    const rec = <usize>configs.get(rootId, 0);
    if (rec == 0) return Action.Continue;
    if (reporterOf(rec) == REPORTER_DESTINATION) {
      // A mesh caller (it sent its metadata) learns who answered it; other clients learn nothing.
      if (peers.get(streamId, 0) != 0) putOwnMetadata(rec, MapType.HttpResponseHeaders);
      return Action.Continue;
    }
    const state = takePeer(rec, MapType.HttpResponseHeaders);
    if (state != 0) peers.set(streamId, state);
    return Action.Continue;
  }

  onLog(streamId: u32, rootId: u32): void {
    const rec = <usize>configs.get(rootId, 0);
    if (rec == 0) return;
    const destination = reporterOf(rec) == REPORTER_DESTINATION;
    const peer = <usize>(peers.get(streamId, 0) & ~1);
    nameLen = 0;
    nameOverflow = false;
    tagStart(T_REPORTER);
    putA(destination ? V_DESTINATION : V_SOURCE);
    putA(SEP);
    let mtls = false;
    if (destination) {
      if (peer != 0) put(peerSegPtr(peer, false), peerSegLen(peer, false));
      else put(fieldPtr(rec, Field.UnknownSource), fieldLen(rec, Field.UnknownSource));
      // The caller's principal is its certificate's SPIFFE ID over mTLS, else `unknown` (as wasmesh).
      if (getProperty(P_MTLS.ptr, P_MTLS.len) == Status.Ok) {
        const p = propertyData();
        mtls = propertySize() >= 1 && load<u8>(p) != 0;
        if (p != 0) heap.free(p);
      }
      tagStart(T_SOURCE_PRINCIPAL);
      let named = false;
      if (mtls && getProperty(P_PEER_URI.ptr, P_PEER_URI.len) == Status.Ok) {
        const p = propertyData();
        const n = propertySize();
        // A value the name encoding cannot carry is not written (unknown instead).
        if (n > 0 && !containsSeparator(p, n)) {
          put(p, n);
          named = true;
        }
        if (p != 0) heap.free(p);
      }
      if (!named) putA(UNKNOWN);
      putA(SEP);
      put(fieldPtr(rec, Field.SelfDestination), fieldLen(rec, Field.SelfDestination));
      putServiceOfAuthority(rec, true);
    } else {
      put(fieldPtr(rec, Field.SelfSource), fieldLen(rec, Field.SelfSource));
      if (peer != 0) put(peerSegPtr(peer, true), peerSegLen(peer, true));
      else put(fieldPtr(rec, Field.UnknownDestination), fieldLen(rec, Field.UnknownDestination));
      // Istio's source reporter and wasmesh's write `unknown` for the callee's principal.
      tagStart(T_DESTINATION_PRINCIPAL); putA(UNKNOWN); putA(SEP);
      putServiceOfCluster(rec);
    }
    tagStart(T_PROTOCOL); putA(V_HTTP); putA(SEP);
    tagStart(T_CODE); putDecimal(<u64>intProperty(P_CODE, 0)); putA(SEP);
    tagStart(T_GRPC); putA(SEP);
    tagStart(T_FLAGS); putFlags(<u64>intProperty(P_FLAGS, 0)); putA(SEP);
    tagStart(T_POLICY);
    // connection.mtls (a one-byte bool) was read above on the destination reporter.
    if (!destination) putA(UNKNOWN);
    else putA(mtls ? V_MTLS : V_NONE);
    putA(SEP);
    if (nameOverflow) return;
    const labelsLen = nameLen;
    const slot = seriesSlot(NAME, labelsLen);
    if (slot == 0) {
      if (overflowOk) incrementMetric(overflowId, 1);
      return;
    }
    if (wasCreated()) {
      for (let k = 0; k < NAMES.length; k++) {
        nameLen = labelsLen;
        putA(NAMES[k]);
        if (defineMetric(TYPES[k], NAME, nameLen) == Status.Ok) store<u32>(idAt(slot, <u32>k), definedMetricId());
      }
    }
    const durationNs = intProperty(P_DURATION, 0);
    incrementMetric(load<u32>(idAt(slot, 0)), 1);
    recordMetric(load<u32>(idAt(slot, 1)), <u64>(durationNs < 0 ? 0 : durationNs / 1000000));
    const reqBytes = intProperty(P_REQ_SIZE, 0);
    const respBytes = intProperty(P_RESP_SIZE, 0);
    recordMetric(load<u32>(idAt(slot, 2)), <u64>(reqBytes < 0 ? 0 : reqBytes));
    recordMetric(load<u32>(idAt(slot, 3)), <u64>(respBytes < 0 ? 0 : respBytes));
  }

  onDelete(streamId: u32, rootId: u32): void {
    peers.delete(streamId);
  }
}

registerFilter(STATS_ROOT_ID, new StatsRoot(), new StatsStream());
