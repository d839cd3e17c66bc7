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
// gRPC: Envoy's grpc_stats filter (emit_filter_state, put before this one by the control plane,
// as Istio's sidecars have it) counts the messages; its filter state, present only on a gRPC
// request, makes the request `request_protocol=grpc` with `grpc_response_status` from
// `response.grpc_status`, and gives istio_request_messages_total / istio_response_messages_total.
//
// On log it encodes the label set into the metric name the way Istio's stats plugin did
// (`reporter=.=source;.;source_workload=.=…;.;istio_requests_total`); the bootstrap's
// stats_tags regexes (host/envoy/stats-tags.ts) turn each `name=.=value;.;` back into a tag, so
// Envoy's /stats/prometheus shows `istio_requests_total{reporter="source",…}` (Envoy strips
// its `wasmcustom.` namespace there).
import { Action, MapType, Status } from '../abi/abi-types';
import { RootContext, HttpContext, registerFilter } from '../abi/context';
import { ContextTable } from '../abi/context-table';
import { getHeaderMapValue, valueBlock, valueBlockSize, replaceHeaderMapValue, removeHeaderMapValue } from '../abi/header-map';
import { incrementMetric, recordMetric } from '../abi/metrics';
import { ascii } from '../common/ascii';
import { Field, REPORTER_DESTINATION, fieldLen, fieldPtr, findPeer, peerSegLen, peerSegPtr, reporterOf } from './stats-config';
import { configureStats, countOverflow, deleteStatsConfig } from './stats-plugin';
import { seriesSlot, wasCreated, idAt } from './series-ids';
import {
  NAME, OUTBOUND, SEP, T_CODE, T_DESTINATION_PRINCIPAL, T_FLAGS, T_GRPC, T_POLICY, T_PROTOCOL, T_REPORTER, UNKNOWN, V_DESTINATION, V_MTLS,
  V_NONE, V_SOURCE, downstreamMtls, intProperty, nameLength, nameOverflowed, nameReset, put, putA, putDecimal, putFlags,
  putServiceOfAuthority, putServiceOfClusterName, putSourcePrincipal, tagStart,
} from './label-writer';
import { HTTP_METRICS, Metric } from './istio-metric-names';
import { NO_ID, defineSeriesMetric } from './metric-overrides';
import { grpcMessageCounts, grpcRequestMessages, grpcResponseMessages } from './grpc-message-counts';

export const STATS_ROOT_ID = 'wasmesh_stats';

const PEER_METADATA = ascii('x-envoy-peer-metadata');
const PEER_METADATA_ID = ascii('x-envoy-peer-metadata-id');
const WASMESH_CLUSTER = ascii('x-wasmesh-cluster');

// Property paths (segments separated by NUL).
const P_CODE = ascii('response\0code');
const P_FLAGS = ascii('response\0flags');
const P_DURATION = ascii('request\0duration');
const P_REQ_SIZE = ascii('request\0total_size');
const P_RESP_SIZE = ascii('response\0total_size');
const P_GRPC_STATUS = ascii('response\0grpc_status');
const V_HTTP = ascii('http');
const V_GRPC = ascii('grpc');

/** A series' message counter id before its first message (then defined, or NO_ID when disabled). */
const LATER: u32 = 0xfffffffe;

/** Root context id → its configuration record (stats-config.ts). */
const configs = new ContextTable();
/** Stream id → the peer's record address | 1 when the stream carried peer metadata (0: nothing). */
const peers = new ContextTable();

class StatsRoot extends RootContext {
  onConfigure(rootId: u32, size: usize): bool {
    return configureStats('wasmesh_stats', configs, rootId, size);
  }

  onDelete(rootId: u32): void {
    deleteStatsConfig(configs, rootId);
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
    // Only a gRPC request has grpc_stats' filter state.
    const grpc = grpcMessageCounts();
    nameReset();
    tagStart(T_REPORTER);
    putA(destination ? V_DESTINATION : V_SOURCE);
    putA(SEP);
    let mtls = false;
    if (destination) {
      if (peer != 0) put(peerSegPtr(peer, false), peerSegLen(peer, false));
      else put(fieldPtr(rec, Field.UnknownSource), fieldLen(rec, Field.UnknownSource));
      mtls = downstreamMtls();
      putSourcePrincipal(mtls);
      put(fieldPtr(rec, Field.SelfDestination), fieldLen(rec, Field.SelfDestination));
      putServiceOfAuthority(fieldPtr(rec, Field.Namespace), fieldLen(rec, Field.Namespace), true);
    } else {
      put(fieldPtr(rec, Field.SelfSource), fieldLen(rec, Field.SelfSource));
      if (peer != 0) put(peerSegPtr(peer, true), peerSegLen(peer, true));
      else put(fieldPtr(rec, Field.UnknownDestination), fieldLen(rec, Field.UnknownDestination));
      // Istio's source reporter and wasmesh's write `unknown` for the callee's principal.
      tagStart(T_DESTINATION_PRINCIPAL); putA(UNKNOWN); putA(SEP);
      if (!putServiceOfClusterName()) putServiceOfAuthority(fieldPtr(rec, Field.Namespace), fieldLen(rec, Field.Namespace), false);
    }
    tagStart(T_PROTOCOL); putA(grpc ? V_GRPC : V_HTTP); putA(SEP);
    tagStart(T_CODE); putDecimal(<u64>intProperty(P_CODE, 0)); putA(SEP);
    tagStart(T_GRPC);
    // A gRPC response's status (trailers, or a trailers-only head); none known: empty, as wasmesh.
    if (grpc) {
      const status = intProperty(P_GRPC_STATUS, -1);
      if (status >= 0) putDecimal(<u64>status);
    }
    putA(SEP);
    tagStart(T_FLAGS); putFlags(<u64>intProperty(P_FLAGS, 0)); putA(SEP);
    tagStart(T_POLICY);
    // connection.mtls (a one-byte bool) was read above on the destination reporter.
    if (!destination) putA(UNKNOWN);
    else putA(mtls ? V_MTLS : V_NONE);
    putA(SEP);
    if (nameOverflowed()) return;
    const labelsLen = nameLength();
    const slot = seriesSlot(NAME, labelsLen);
    if (slot == 0) {
      countOverflow();
      return;
    }
    if (wasCreated()) {
      for (let k: u32 = 0; k < <u32>Metric.GrpcRequestMessages; k++) store<u32>(idAt(slot, k), defineSeriesMetric(rec, k, labelsLen));
      // The message counters: on a gRPC series once it has messages (wasmesh shows none for
      // plain HTTP, nor for a gRPC series without any).
      store<u32>(idAt(slot, Metric.GrpcRequestMessages), LATER);
      store<u32>(idAt(slot, Metric.GrpcResponseMessages), LATER);
    }
    const durationNs = intProperty(P_DURATION, 0);
    const reqBytes = intProperty(P_REQ_SIZE, 0);
    const respBytes = intProperty(P_RESP_SIZE, 0);
    const count = load<u32>(idAt(slot, Metric.RequestCount));
    if (count != NO_ID) incrementMetric(count, 1);
    const duration = load<u32>(idAt(slot, Metric.RequestDuration));
    if (duration != NO_ID) recordMetric(duration, <u64>(durationNs < 0 ? 0 : durationNs / 1000000));
    const reqSize = load<u32>(idAt(slot, Metric.RequestSize));
    if (reqSize != NO_ID) recordMetric(reqSize, <u64>(reqBytes < 0 ? 0 : reqBytes));
    const respSize = load<u32>(idAt(slot, Metric.ResponseSize));
    if (respSize != NO_ID) recordMetric(respSize, <u64>(respBytes < 0 ? 0 : respBytes));
    if (grpc && grpcRequestMessages() + grpcResponseMessages() > 0) {
      if (load<u32>(idAt(slot, Metric.GrpcRequestMessages)) == LATER) {
        for (let k: u32 = Metric.GrpcRequestMessages; k < HTTP_METRICS; k++) store<u32>(idAt(slot, k), defineSeriesMetric(rec, k, labelsLen));
      }
      const reqMsgs = load<u32>(idAt(slot, Metric.GrpcRequestMessages));
      if (reqMsgs != NO_ID && grpcRequestMessages() > 0) incrementMetric(reqMsgs, <i64>grpcRequestMessages());
      const respMsgs = load<u32>(idAt(slot, Metric.GrpcResponseMessages));
      if (respMsgs != NO_ID && grpcResponseMessages() > 0) incrementMetric(respMsgs, <i64>grpcResponseMessages());
    }
  }

  onDelete(streamId: u32, rootId: u32): void {
    peers.delete(streamId);
  }
}

registerFilter(STATS_ROOT_ID, new StatsRoot(), new StatsStream());
