// The `wasmesh_tcp_stats` network filter: Istio's TCP metrics from inside stock Envoy, for the
// tcp_proxy chains the control plane gives it (Gateway TCP and TLS passthrough ports, a sidecar's
// TCP listeners), with the labels wasmesh's TCP proxy writes (host/server/tcp-proxy-server.ts,
// host/telemetry/istio-tcp-metrics.ts), so a mixed mesh shows one set of istio_tcp_* series.
// Same module and VM as wasmesh_stats (its configuration format, name encoding and series table).
//
// Per connection: bytes from the downstream are istio_tcp_received_bytes_total (the request
// direction, source → destination), bytes from the upstream istio_tcp_sent_bytes_total; they are
// added to the connection's series on the root's tick (every tcp_reporting_ms, Istio's
// tcp_reporting_duration, 5 s) while it is open and the rest when it ends, as wasmesh does. The
// series is resolved at the first report after the upstream is connected (`upstream.address`),
// which also counts istio_tcp_connections_opened_total, or when the connection ends without
// having been reported (then with its response flags: UF, UH, UO… as wasmesh's failures), and
// istio_tcp_connections_closed_total on the same series at the end.
//
// Labels: with `tcp_exchange` configured, the peer's workload is the one its Istio TCP metadata
// exchange names (tcp-exchange.ts: stripped off its first bytes, recognised by exact match), and
// the series waits for it (resolved at the first report after the exchange settled and the
// upstream connected, or at the end). Without an exchange from the peer, it is named by its
// certificate, as Istio's stats do when the exchange is missing: the peer certificate's SPIFFE ID
// is source_principal (destination reporter, over mTLS) or destination_principal (source
// reporter, the upstream's certificate), and the peer's workload labels are those of the peer the
// control plane gave that principal (a `peer` line's principal, written only when one workload
// has it); any other peer is `unknown`. destination_service from the tcp_proxy's cluster
// (`xds.cluster_name`: outbound|port||host), request_protocol `tcp`, no response_code or
// grpc_response_status; connection_security_policy `unknown` on the source reporter,
// `mutual_tls`/`none` on the destination reporter.
import { Action, Status } from '../abi/abi-types';
import { RootContext, registerNetworkFilter } from '../abi/context';
import { NetworkContext } from '../abi/network-context';
import { ContextTable } from '../abi/context-table';
import { getProperty, propertyData, propertySize } from '../abi/properties';
import { incrementMetric } from '../abi/metrics';
import { setEffectiveContext } from '../abi/stream';
import { setTickPeriodMilliseconds } from '../abi/timer';
import { Ascii, ascii } from '../common/ascii';
import { Field, REPORTER_DESTINATION, fieldLen, fieldPtr, findPeerByPrincipal, peerSegLen, peerSegPtr, reporterOf, tcpReportingMs } from './stats-config';
import { seriesSlot, wasCreated, idAt } from './series-ids';
import {
  NAME, SEP, T_DESTINATION_PRINCIPAL, T_FLAGS, containsSeparator, T_POLICY, T_PROTOCOL, T_REPORTER, UNKNOWN, V_DESTINATION, V_MTLS, V_NONE, V_SOURCE,
  downstreamMtls, intProperty, nameLength, nameOverflowed, nameReset, put, putA, putFlags, putServiceOfClusterName, putSourcePrincipal,
  putUnknownService, tagStart,
} from './label-writer';
import { Metric, TCP_FIRST, TCP_METRICS } from './istio-metric-names';
import { exchangedPeer, exchangeOnOwnData, exchangeOnPeerData, exchangeSettled } from './tcp-exchange';
import { BufferType } from '../abi/abi-types';
import { NO_ID, defineSeriesMetric } from './metric-overrides';
import { configureStats, countOverflow, deleteStatsConfig } from './stats-plugin';
import {
  addReceived, addSent, closeConnection, connOpened, connRoot, connSlot, connectionOf, connId, firstConnection, nextConnection,
  openConnection, setConnOpened, setConnSlot, takeReceived, takeSent,
} from './tcp-connections';

export const TCP_STATS_ROOT_ID = 'wasmesh_tcp_stats';

const P_FLAGS = ascii('response\0flags');
const P_UPSTREAM = ascii('upstream\0address');
const P_DOWNSTREAM_URI = ascii('connection\0uri_san_peer_certificate');
const P_UPSTREAM_URI = ascii('upstream\0uri_san_peer_certificate');

/**
 * The known peer whose principal is the certificate SAN property `path` (0: none, or no such
 * property); with `tag`, that principal is written as the label (`unknown` when absent or not
 * encodable).
 */
function peerOfCertificate(rec: usize, path: Ascii, tag: Ascii | null): usize {
  let peer: usize = 0;
  let named = false;
  if (tag !== null) tagStart(tag);
  if (getProperty(path.ptr, path.len) == Status.Ok) {
    const p = propertyData();
    const n = propertySize();
    if (n > 0 && !containsSeparator(p, n)) {
      peer = findPeerByPrincipal(rec, p, n);
      if (tag !== null) {
        put(p, n);
        named = true;
      }
    }
    if (p != 0) heap.free(p);
  }
  if (tag !== null) {
    if (!named) putA(UNKNOWN);
    putA(SEP);
  }
  return peer;
}
const V_TCP = ascii('tcp');

/** Root context id → its configuration record. */
const configs = new ContextTable();

/** Writes the connection's label set into NAME and returns its series slot (0: not countable). */
function resolveSeries(c: usize, rec: usize): usize {
  const exchanged = exchangedPeer(c);
  const destination = reporterOf(rec) == REPORTER_DESTINATION;
  nameReset();
  tagStart(T_REPORTER);
  putA(destination ? V_DESTINATION : V_SOURCE);
  putA(SEP);
  let mtls = false;
  if (destination) {
    mtls = downstreamMtls();
    // Envoy extracts tags by regex: where a segment sits in the name does not matter.
    const peer = exchanged != 0 ? exchanged : mtls ? peerOfCertificate(rec, P_DOWNSTREAM_URI, null) : 0;
    if (peer != 0) put(peerSegPtr(peer, false), peerSegLen(peer, false));
    else put(fieldPtr(rec, Field.UnknownSource), fieldLen(rec, Field.UnknownSource));
    putSourcePrincipal(mtls);
    put(fieldPtr(rec, Field.SelfDestination), fieldLen(rec, Field.SelfDestination));
  } else {
    put(fieldPtr(rec, Field.SelfSource), fieldLen(rec, Field.SelfSource));
    const byCertificate = peerOfCertificate(rec, P_UPSTREAM_URI, T_DESTINATION_PRINCIPAL);
    const peer = exchanged != 0 ? exchanged : byCertificate;
    if (peer != 0) put(peerSegPtr(peer, true), peerSegLen(peer, true));
    else put(fieldPtr(rec, Field.UnknownDestination), fieldLen(rec, Field.UnknownDestination));
  }
  if (!putServiceOfClusterName()) putUnknownService();
  tagStart(T_PROTOCOL); putA(V_TCP); putA(SEP);
  tagStart(T_FLAGS); putFlags(<u64>intProperty(P_FLAGS, 0)); putA(SEP);
  tagStart(T_POLICY);
  if (!destination) putA(UNKNOWN);
  else putA(mtls ? V_MTLS : V_NONE);
  putA(SEP);
  if (nameOverflowed()) return 0;
  const labelsLen = nameLength();
  const slot = seriesSlot(NAME, labelsLen);
  if (slot == 0) return 0;
  if (wasCreated()) {
    for (let k: u32 = 0; k < TCP_METRICS; k++) store<u32>(idAt(slot, k), defineSeriesMetric(rec, TCP_FIRST + k, labelsLen));
  }
  return slot;
}

function add(slot: usize, metric: Metric, v: u64): void {
  if (v == 0) return;
  const id = load<u32>(idAt(slot, <u32>metric - TCP_FIRST));
  if (id != NO_ID) incrementMetric(id, <i64>v);
}

/** Counts the opening on the connection's series (resolved now, in the connection's context). */
function countOpened(c: usize, rec: usize): void {
  setConnOpened(c);
  const slot = resolveSeries(c, rec);
  if (slot == 0) {
    countOverflow();
    return;
  }
  setConnSlot(c, slot);
  add(slot, Metric.TcpOpened, 1);
}

/** Adds the bytes not yet reported to the connection's series. */
function reportBytes(c: usize): void {
  const slot = connSlot(c);
  const received = takeReceived(c);
  const sent = takeSent(c);
  if (slot == 0) return;
  add(slot, Metric.TcpReceived, received);
  add(slot, Metric.TcpSent, sent);
}

class TcpStatsRoot extends RootContext {
  onConfigure(rootId: u32, size: usize): bool {
    if (!configureStats(TCP_STATS_ROOT_ID, configs, rootId, size)) return false;
    setTickPeriodMilliseconds(tcpReportingMs(<usize>configs.get(rootId, 0)));
    return true;
  }

  /** The periodic report: every open connection of this root, in its own context (its properties). */
  onTick(rootId: u32): void {
    const rec = <usize>configs.get(rootId, 0);
    if (rec == 0) return;
    for (let c = firstConnection(); c != 0; c = nextConnection(c)) {
      if (connRoot(c) != rootId) continue;
      if (!connOpened(c)) {
        if (setEffectiveContext(connId(c)) != Status.Ok) continue;
        // Opened once the upstream is connected (tcp_proxy has set its host) and the peer's
        // metadata exchange settled; not before.
        if (getProperty(P_UPSTREAM.ptr, P_UPSTREAM.len) != Status.Ok) continue;
        const p = propertyData();
        if (p != 0) heap.free(p);
        if (!exchangeSettled(c, rec)) continue;
        countOpened(c, rec);
      }
      reportBytes(c);
    }
    setEffectiveContext(rootId);
  }

  onDelete(rootId: u32): void {
    deleteStatsConfig(configs, rootId);
  }
}

class TcpStatsConnection extends NetworkContext {
  onNewConnection(id: u32, rootId: u32): Action {
    if (configs.get(rootId, 0) != 0 && connectionOf(id) == 0) openConnection(id, rootId);
    return Action.Continue;
  }

  onDownstreamData(id: u32, rootId: u32, size: usize, endOfStream: bool): Action {
    const c = connectionOf(id);
    if (c == 0) return Action.Continue;
    const rec = <usize>configs.get(rootId, 0);
    let n = size;
    if (rec != 0) {
      // The destination's peer is the downstream; the source's is the upstream.
      if (reporterOf(rec) == REPORTER_DESTINATION) n = exchangeOnPeerData(c, rec, BufferType.DownstreamData, size);
      else exchangeOnOwnData(c, rec, BufferType.DownstreamData);
    }
    addReceived(c, <u64>n);
    return Action.Continue;
  }

  onUpstreamData(id: u32, rootId: u32, size: usize, endOfStream: bool): Action {
    const c = connectionOf(id);
    if (c == 0) return Action.Continue;
    const rec = <usize>configs.get(rootId, 0);
    let n = size;
    if (rec != 0) {
      if (reporterOf(rec) == REPORTER_DESTINATION) exchangeOnOwnData(c, rec, BufferType.UpstreamData);
      else n = exchangeOnPeerData(c, rec, BufferType.UpstreamData, size);
    }
    addSent(c, <u64>n);
    return Action.Continue;
  }

  onLog(id: u32, rootId: u32): void {
    this.end(id, rootId);
  }

  onDelete(id: u32, rootId: u32): void {
    // A connection Envoy deletes without logging it still counts as closed.
    this.end(id, rootId);
  }

  /** The connection's end: opened (if not yet, with its flags), the rest of its bytes, closed. */
  end(id: u32, rootId: u32): void {
    const c = connectionOf(id);
    if (c == 0) return;
    const rec = <usize>configs.get(rootId, 0);
    if (rec != 0) {
      if (!connOpened(c)) countOpened(c, rec);
      reportBytes(c);
      const slot = connSlot(c);
      if (slot != 0) add(slot, Metric.TcpClosed, 1);
    }
    closeConnection(c);
  }
}

registerNetworkFilter(TCP_STATS_ROOT_ID, new TcpStatsRoot(), new TcpStatsConnection());
