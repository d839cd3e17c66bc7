// The series name buffer and Istio's label rules shared by the HTTP (stats-filter.ts) and TCP
// (tcp-stats-filter.ts) stats filters: a label set is written into one static buffer in Istio's
// stats-name encoding (`name=.=value;.;` per label, undone by the bootstrap's stats_tags), then
// the metric's name; the destination_service labels follow istio-labels.ts (serviceOfHost,
// serviceOfCluster) and response_flags Envoy's short names. One buffer per VM (single-threaded).
import { Status } from '../abi/abi-types';
import { getProperty, propertyData, propertySize } from '../abi/properties';
import { ascii, Ascii } from '../common/ascii';

export const NAME_CAP: usize = 16384;
/** The name being written: a label set, then (when defining) the metric's name. */
export const NAME = memory.data(16384);
let nameLen: usize = 0;
let nameOverflow = false;

/** Starts a new name. */
export function nameReset(): void {
  nameLen = 0;
  nameOverflow = false;
}

export function nameLength(): usize {
  return nameLen;
}

/** Cuts the name back to `n` bytes (to append another metric's name to the same label set). */
export function nameTruncate(n: usize): void {
  nameLen = n;
}

/** Whether something did not fit since nameReset (the name must not be used). */
export function nameOverflowed(): bool {
  return nameOverflow;
}

export function put(p: usize, n: usize): void {
  if (nameLen + n > NAME_CAP) {
    nameOverflow = true;
    return;
  }
  memory.copy(NAME + nameLen, p, n);
  nameLen += n;
}

export function putA(a: Ascii): void {
  put(a.ptr, a.len);
}

export function putByte(c: u8): void {
  if (nameLen >= NAME_CAP) {
    nameOverflow = true;
    return;
  }
  store<u8>(NAME + nameLen, c);
  nameLen++;
}

/** Appends a lower-cased copy (hosts are case-insensitive; Istio's labels are lower case). */
export function putLower(p: usize, n: usize): void {
  for (let i: usize = 0; i < n; i++) {
    let c = load<u8>(p + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    putByte(c);
  }
}

export function putDecimal(v: u64): void {
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

export const SEP = ascii(';.;');
export const EQ = ascii('=.=');
export const UNKNOWN = ascii('unknown');

export function tagStart(name: Ascii): void {
  putA(name);
  putA(EQ);
}

export const T_REPORTER = ascii('reporter');
export const T_SOURCE_PRINCIPAL = ascii('source_principal');
export const T_DESTINATION_PRINCIPAL = ascii('destination_principal');
const T_SERVICE = ascii('destination_service');
const T_SERVICE_NAME = ascii('destination_service_name');
const T_SERVICE_NS = ascii('destination_service_namespace');
export const T_PROTOCOL = ascii('request_protocol');
export const T_CODE = ascii('response_code');
export const T_GRPC = ascii('grpc_response_status');
export const T_FLAGS = ascii('response_flags');
export const T_POLICY = ascii('connection_security_policy');
export const V_SOURCE = ascii('source');
export const V_DESTINATION = ascii('destination');
export const V_MTLS = ascii('mutual_tls');
export const V_NONE = ascii('none');
const V_SVC_SUFFIX = ascii('.svc.cluster.local');
const V_PASSTHROUGH = ascii('PassthroughCluster');
const V_BLACKHOLE = ascii('BlackHoleCluster');
export const OUTBOUND = ascii('outbound|');

// Property paths (segments separated by NUL).
const P_CLUSTER = ascii('xds\0cluster_name');
const P_HOST = ascii('request\0host');
const P_MTLS = ascii('connection\0mtls');
const P_PEER_URI = ascii('connection\0uri_san_peer_certificate');

/** Envoy's response flags in bit order (StreamInfo's legacy bitmask, as `response.flags` gives it). */
const FLAG_NAMES: Ascii[] = [
  ascii('LH'), ascii('UH'), ascii('UT'), ascii('LR'), ascii('UR'), ascii('UF'), ascii('UC'), ascii('UO'), ascii('NR'),
  ascii('DI'), ascii('FI'), ascii('RL'), ascii('UAEX'), ascii('RLSE'), ascii('DC'), ascii('URX'), ascii('SI'), ascii('IH'),
  ascii('DPE'), ascii('UMSDR'), ascii('RFCF'), ascii('NFCF'), ascii('DT'), ascii('UPE'), ascii('NC'), ascii('OM'), ascii('DF'),
  ascii('DO'), ascii('DR'), ascii('UDO'),
];

/** Whether `n` bytes at `p` hold `;.;`, `=.=` or a control character (they would break the name's encoding). */
export function containsSeparator(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(p + i);
    if (c < 0x20) return true;
    if (i + 2 < n && load<u8>(p + i + 1) == 0x2e && (c == 0x3b && load<u8>(p + i + 2) == 0x3b || c == 0x3d && load<u8>(p + i + 2) == 0x3d)) return true;
  }
  return false;
}

export function bytesEqual(p: usize, n: usize, a: Ascii): bool {
  return n == a.len && memory.compare(p, a.ptr, n) == 0;
}

/** An i64 property (8 bytes little-endian), or `fallback`. */
export function intProperty(path: Ascii, fallback: i64): i64 {
  if (getProperty(path.ptr, path.len) != Status.Ok) return fallback;
  const p = propertyData();
  const v = propertySize() == 8 ? load<i64>(p) : fallback;
  if (p != 0) heap.free(p);
  return v;
}

/** Whether the downstream connection is mutual TLS (`connection.mtls`). */
export function downstreamMtls(): bool {
  let mtls = false;
  if (getProperty(P_MTLS.ptr, P_MTLS.len) == Status.Ok) {
    const p = propertyData();
    mtls = propertySize() >= 1 && load<u8>(p) != 0;
    if (p != 0) heap.free(p);
  }
  return mtls;
}

/** `source_principal=.=…;.;` on the destination reporter: the peer certificate's SPIFFE ID over mTLS, else `unknown` (as wasmesh). */
export function putSourcePrincipal(mtls: bool): void {
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
}

/** The three destination_service labels of host `h` (lower-cased, no port) — istio-labels.ts serviceOfHost. */
export function putServiceOfHost(h: usize, n: usize, ns: usize, nsLen: usize, inbound: bool): void {
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

/** destination_service* from the authority (`request.host`), without its port; `ns` is this workload's namespace. */
export function putServiceOfAuthority(ns: usize, nsLen: usize, inbound: bool): void {
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
  putServiceOfHost(p, hn, ns, nsLen, inbound);
  if (p != 0) heap.free(p);
}

/**
 * destination_service* from the upstream cluster (`xds.cluster_name`, istio-labels.ts
 * serviceOfCluster): an `outbound|port|subset|host` cluster's host, PassthroughCluster and
 * BlackHoleCluster by name. Returns false (nothing written) for any other cluster or none.
 */
export function putServiceOfClusterName(): bool {
  if (getProperty(P_CLUSTER.ptr, P_CLUSTER.len) != Status.Ok) return false;
  const p = propertyData();
  const n = propertySize();
  let done = false;
  if (n >= OUTBOUND.len && memory.compare(p, OUTBOUND.ptr, OUTBOUND.len) == 0 && !containsSeparator(p, n)) {
    let bar = n;
    while (bar > 0 && load<u8>(p + bar - 1) != 0x7c) bar--;
    putServiceOfHost(p + bar, n - bar, 0, 0, false);
    done = true;
  } else if (bytesEqual(p, n, V_PASSTHROUGH) || bytesEqual(p, n, V_BLACKHOLE)) {
    tagStart(T_SERVICE); put(p, n); putA(SEP);
    tagStart(T_SERVICE_NAME); put(p, n); putA(SEP);
    tagStart(T_SERVICE_NS); putA(UNKNOWN); putA(SEP);
    done = true;
  }
  if (p != 0) heap.free(p);
  return done;
}

/** The three destination_service labels as `unknown` (a connection with no mesh cluster). */
export function putUnknownService(): void {
  putServiceOfHost(0, 0, 0, 0, false);
}

/** response_flags' value: Envoy's short names, comma-separated, `-` for none. */
export function putFlags(flags: u64): void {
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
