// Istio's TCP metadata exchange (ALPN `istio-peer-exchange`; istio/proxy's metadata_exchange
// network filter; host/telemetry/tcp-metadata-exchange.ts for the bytes) inside stock Envoy, as
// far as a proxy-wasm 0.2.1 network filter can: it cannot write to a connection, only edit the
// data of the callback it is in (proxy_set_buffer_bytes on the downstream or upstream data). So:
//
// - this workload's exchange (header and Any, encoded by the control plane with the code wasmesh
//   proxies use: `tcp_exchange`) is put in front of the first bytes that flow toward the peer;
// - the peer's is taken off the first bytes that come from it, however the reads split it (held
//   in a block of its own until whole, the buffer drained meanwhile), and recognised by exact
//   match against the Anys the control plane encoded for the workloads it knows (`peer_tcp`
//   lines): no protobuf codec in the filter; a well-framed Any it does not list names no one.
//
// The mesh peer is the downstream on the destination reporter (a sidecar's inbound: the chain the
// control plane gives this configuration is the one whose TLS agreed on `istio-peer-exchange`) and
// the upstream on the source reporter (only when the upstream showed a mesh certificate: a
// plaintext upstream gets no header). A stream that does not start with the magic is application
// data, given back whole (Istio's `initial_header_not_found`); a header announcing more than
// MAX_PEER_EXCHANGE_BYTES closes the connection (logged, counted).
//
// A client-first protocol (Redis) works both ways: the client's first bytes carry its header.
// A server-first one (MySQL, PostgreSQL) does too when the server side is a wasmesh proxy or this
// filter as destination: a wasmesh peer writes its header at once, and this filter's destination
// side answers in front of the server's greeting; this filter as the client side writes its
// header in front of the client's first reply to the greeting, never holding the greeting.
import { BufferType, LogLevel, MetricType, Status, StreamType } from '../abi/abi-types';
import { bufferData, bufferSize, getBufferBytes, replaceBufferHead } from '../abi/buffer';
import { defineMetric, definedMetricId, incrementMetric } from '../abi/metrics';
import { getProperty, propertyData, propertySize } from '../abi/properties';
import { closeStream } from '../abi/stream';
import { LogLine } from '../abi/log';
import { ascii } from '../common/ascii';
import { REPORTER_DESTINATION, findPeerByTcpExchange, reporterOf, tcpExchangeLen, tcpExchangePtr } from './stats-config';
import { setXBuf, setXFlags, setXPeer, xBuf, xFlags, xLen, xPeer } from './tcp-connections';

/** Istio's MetadataExchangeInitialHeader magic, big-endian on the wire. */
const MAGIC: u32 = 0x3d230467;
const HEADER_BYTES: usize = 8;
/** The largest peer Any taken: wasmesh's maxPeerMetadataBytes default (60 KiB, the HTTP exchange's bound). */
export const MAX_PEER_EXCHANGE_BYTES: usize = 61440;

const X_SENT: u32 = 1;
const X_SETTLED: u32 = 2;
const X_DECIDED: u32 = 4;
const X_ACTIVE: u32 = 8;

const P_UPSTREAM_URI = ascii('upstream\0uri_san_peer_certificate');

const enum XMetric {
  /** A peer's exchange read and recognised. */
  Found = 0,
  /** A peer's exchange read that the configuration does not list (the peer stays unknown). */
  Unrecognised = 1,
  /** A peer whose first bytes are no exchange (Istio's initial_header_not_found). */
  NotFound = 2,
  /** A header over MAX_PEER_EXCHANGE_BYTES: the connection closed. */
  TooLarge = 3,
  Count = 4,
}

const NAMES: string[] = [
  'wasmesh_tcp_metadata_exchange_found',
  'wasmesh_tcp_metadata_exchange_unrecognised',
  'wasmesh_tcp_metadata_exchange_initial_header_not_found',
  'wasmesh_tcp_metadata_exchange_too_large',
];
const ids = memory.data(<i32>XMetric.Count * 4);
let defined = false;

function countX(m: XMetric): void {
  if (!defined) {
    defined = true;
    for (let i = 0; i < <i32>XMetric.Count; i++) {
      const a = ascii(NAMES[i]);
      store<u32>(ids + <usize>i * 4, defineMetric(MetricType.Counter, a.ptr, a.len) == Status.Ok ? definedMetricId() : 0xffffffff);
    }
  }
  const id = load<u32>(ids + <usize>m * 4);
  if (id != 0xffffffff) incrementMetric(id, 1);
}

/** Whether the connection runs the exchange (decided once, in its context). */
function active(c: usize, rec: usize): bool {
  let f = xFlags(c);
  if ((f & X_DECIDED) == 0) {
    f |= X_DECIDED;
    let on = tcpExchangeLen(rec) > 0;
    if (on && reporterOf(rec) != REPORTER_DESTINATION) {
      // The source side speaks it only to an upstream that showed a mesh certificate.
      on = false;
      if (getProperty(P_UPSTREAM_URI.ptr, P_UPSTREAM_URI.len) == Status.Ok) {
        const p = propertyData();
        on = propertySize() > 0;
        if (p != 0) heap.free(p);
      }
    }
    if (on) f |= X_ACTIVE;
    else f |= X_SETTLED;
    setXFlags(c, f);
  }
  return (f & X_ACTIVE) != 0;
}

/** Whether the peer's exchange is settled (read, absent, or none runs): the series can be resolved. Decides in the connection's context. */
export function exchangeSettled(c: usize, rec: usize): bool {
  if (tcpExchangeLen(rec) == 0) return true;
  active(c, rec);
  return (xFlags(c) & X_SETTLED) != 0;
}

/** The peer record the exchange named, or 0. */
export function exchangedPeer(c: usize): usize {
  return xPeer(c);
}

/** The side toward the peer: the data of `buffer` (`size` bytes) gets this workload's exchange in front, once. */
export function exchangeOnOwnData(c: usize, rec: usize, buffer: BufferType): void {
  if ((xFlags(c) & X_SENT) != 0 || !active(c, rec)) return;
  setXFlags(c, xFlags(c) | X_SENT);
  replaceBufferHead(buffer, 0, tcpExchangePtr(rec), tcpExchangeLen(rec));
}

function settle(c: usize, held: usize): void {
  if (held != 0) heap.free(held);
  setXBuf(c, 0, 0);
  setXFlags(c, xFlags(c) | X_SETTLED);
}

/**
 * The side from the peer: takes its exchange off the head of the data (`size` bytes of `buffer`).
 * Returns how many application bytes the buffer holds after it (for the byte counts).
 */
export function exchangeOnPeerData(c: usize, rec: usize, buffer: BufferType, size: usize): usize {
  if ((xFlags(c) & X_SETTLED) != 0 || !active(c, rec) || size == 0) return size;
  if (getBufferBytes(buffer, 0, size) != Status.Ok) return size;
  const d = bufferData();
  const n = bufferSize();
  const had = xLen(c);
  const old = xBuf(c);
  const t = had + n;
  const all = heap.alloc(t);
  if (had > 0) memory.copy(all, old, had);
  if (n > 0) memory.copy(all + had, d, n);
  if (d != 0) heap.free(d);
  if (old != 0) heap.free(old);
  // The magic's bytes, checked as they come: the first one that differs makes it application data.
  for (let i: usize = had < 4 ? had : 4; i < 4 && i < t; i++) {
    if (<u32>load<u8>(all + i) != ((MAGIC >> (24 - 8 * <u32>i)) & 0xff)) {
      countX(XMetric.NotFound);
      replaceBufferHead(buffer, n, all, t);
      settle(c, all);
      return t;
    }
  }
  replaceBufferHead(buffer, n, 0, 0);
  if (t < HEADER_BYTES) {
    setXBuf(c, all, t);
    return 0;
  }
  const len = <usize>bswap<u32>(load<u32>(all + 4));
  if (len > MAX_PEER_EXCHANGE_BYTES) {
    countX(XMetric.TooLarge);
    LogLine.start();
    LogLine.text('wasmesh_tcp_stats: TCP metadata exchange of ');
    LogLine.num(<i64>len);
    LogLine.text(' bytes, over the limit of ');
    LogLine.num(<i64>MAX_PEER_EXCHANGE_BYTES);
    LogLine.text(': connection closed');
    LogLine.emit(LogLevel.Warn);
    settle(c, all);
    closeStream(StreamType.Downstream);
    return 0;
  }
  if (t < HEADER_BYTES + len) {
    setXBuf(c, all, t);
    return 0;
  }
  const peer = findPeerByTcpExchange(rec, all + HEADER_BYTES, len);
  countX(peer != 0 ? XMetric.Found : XMetric.Unrecognised);
  setXPeer(c, peer);
  const rest = t - HEADER_BYTES - len;
  if (rest > 0) replaceBufferHead(buffer, 0, all + HEADER_BYTES + len, rest);
  settle(c, all);
  return rest;
}
