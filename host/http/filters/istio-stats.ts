// Istio's standard metrics as a listener-level filter (Istio's `istio.stats` HTTP filter with
// its metadata exchange): it takes the peer's metadata out of the request (destination
// reporter: the caller's `x-envoy-peer-metadata`) or out of the upstream response (source
// reporter: the callee's), so that the app never sees it, answers a mesh caller with this
// workload's own metadata, and when the stream ends counts it in the server's IstioMetrics.
// Requests to mesh services carry this workload's metadata in their route's request edits
// (host/server/proxy-server.ts, peerMetadataRequestOps), which only mesh destinations get.
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { formatFlags } from '../response-flags.js';
import { SecurityPolicy, type IstioMetrics } from '../../telemetry/istio-metrics.js';
import { PEER_METADATA, PEER_METADATA_ID, type PeerCache } from '../../telemetry/peer-metadata.js';
import {
  UNKNOWN_SERVICE, UNKNOWN_WORKLOAD, hostOfAuthority, serviceOfCluster, serviceOfHost, type ServiceLabels,
} from '../../telemetry/istio-labels.js';
import { UNKNOWN } from '../../model/workload-metadata.js';
import { GRPC_NO_STATUS, GRPC_NOT } from '../../telemetry/istio-labels.js';
import { httpToGrpcStatus } from '../../common/grpc-status.js';

/**
 * grpc_response_status as Istio's stats filter finds it (Envoy's Grpc::Common::getGrpcStatus):
 * the response's grpc-status (trailers, or the head of a trailers-only response), else the one
 * the HTTP status maps to when a response went out; GRPC_NOT for a request that is not gRPC.
 */
function grpcStatusOf(stream: StreamCallbacks): number {
  if (!stream.grpc) return GRPC_NOT;
  if (stream.grpcStatus >= 0) return stream.grpcStatus;
  const code = stream.downstream.status;
  return code > 0 ? httpToGrpcStatus(code) : GRPC_NO_STATUS;
}

/** What the filter of one server is built with (FilterDeps.istio). */
export interface IstioStatsDeps {
  /** The server's registry; its reporter says which side this server is. */
  readonly metrics: IstioMetrics;
  readonly peers: PeerCache;
  /** This workload's `x-envoy-peer-metadata-id` and `x-envoy-peer-metadata` values. */
  readonly ownId: string;
  readonly ownMetadata: string;
  /** This workload's namespace: an inbound short host (`reviews`) is a service of it. */
  readonly namespace: string;
}

/**
 * The peer metadata fields: removed from a request (the caller's), taken out of an upstream
 * response head (the callee's), where only the first, the metadata, is read: the id just goes
 * (the source reporter's labels come from the metadata).
 */
const PEER_FIELDS: readonly string[] = [PEER_METADATA, PEER_METADATA_ID];

/** Distinct hosts and clusters remembered; past that a new inbound host counts as `unknown` (label values are bounded). */
const MAX_HOSTS = 256;
const MAX_CLUSTERS = 4096;

/**
 * The destination service of an inbound request's host. Istio's destination reporter reads it
 * from the inbound cluster's service metadata; a wasmesh sidecar's inbound side has no list of the
 * services that select it, so the authority tells: a short name (`reviews`) is that service in
 * this workload's namespace, a `<name>.<namespace>.svc.<domain>` name is that service, any other
 * host (a ServiceEntry's, `reviews.default`) is its own name, in this namespace.
 */
function inboundService(host: string, namespace: string): ServiceLabels {
  const h = host.toLowerCase();
  if (h === '') return UNKNOWN_SERVICE;
  // An address is no service name.
  if (/^[\d.]+$/.test(h) || h.startsWith('[')) return { service: h, name: h, namespace };
  const dots = h.split('.').length - 1;
  if (dots === 0) return serviceOfHost(`${h}.${namespace}.svc.cluster.local`);
  return serviceOfHost(h, namespace);
}

/** A header value's bytes (values are latin1 on the wire). */
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** One filter per server: its caches (and the registry's, keyed by their objects) outlive config versions. */
const FILTERS = new WeakMap<IstioStatsDeps, HttpFilter>();

export function istioStatsFilter(deps: IstioStatsDeps): HttpFilter {
  let f = FILTERS.get(deps);
  if (f === undefined) FILTERS.set(deps, (f = makeFilter(deps)));
  return f;
}

function makeFilter(deps: IstioStatsDeps): HttpFilter {
  const { metrics, peers } = deps;
  const byHost = new Map<string, ServiceLabels>();
  const byCluster = new Map<string, ServiceLabels>();
  const destination = metrics.reporter === 'destination';
  // This workload's metadata fields, one array for every response that carries them.
  // The values as their bytes, encoded once: a head writes them with one copy each, where the
  // strings were written character by character into every response (~430 characters).
  const ownFields: ReadonlyArray<string | Uint8Array> = Object.freeze([PEER_METADATA_ID, latin1(deps.ownId), PEER_METADATA, latin1(deps.ownMetadata)]);
  // The request's peer fields as found (PEER_FIELDS' order), refilled by every request: filters run one at a time.
  const taken: Array<string | null> = [null, null];

  const hostService = (authority: string): ServiceLabels => {
    let s = byHost.get(authority);
    if (s !== undefined) return s;
    if (byHost.size >= MAX_HOSTS) return UNKNOWN_SERVICE;
    const host = hostOfAuthority(authority);
    s = destination ? inboundService(host, deps.namespace) : serviceOfHost(host);
    byHost.set(authority, s);
    return s;
  };
  const clusterService = (stream: StreamCallbacks): ServiceLabels => {
    const cluster = stream.upstreamCluster;
    let s = byCluster.get(cluster);
    if (s !== undefined) return s;
    const found = serviceOfCluster(cluster);
    if (found === null) return hostService(stream.downstream.authority);
    if (byCluster.size < MAX_CLUSTERS) byCluster.set(cluster, found);
    return found;
  };

  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      // Read and removed in one pass over the request's fields (never forwarded: the app does not
      // see them, and an outbound app cannot speak for another workload).
      const sent = stream.takeRequestHeaders(PEER_FIELDS, taken);
      if (destination) {
        const value = taken[0]!;
        if (value !== null) stream.downstreamPeer = peers.labelsOf(value);
        // A mesh caller (it sent its metadata) learns who answered it; other clients learn nothing.
        if (sent > 0) stream.addResponseHeaders(ownFields);
      } else {
        stream.takeResponseHeaders?.(PEER_FIELDS, 1);
      }
      return FilterStatus.Continue;
    },

    onLog(stream: StreamCallbacks): void {
      const ds = stream.downstream;
      const flags = stream.flags.length === 0 ? '-' : formatFlags(stream.flags);
      const durationMs = Date.now() - ds.startTime;
      const requestBytes = ds.headBytes + ds.bytesReceived;
      if (destination) {
        const security = ds.security;
        const mtls = security !== null && security.mutualTls;
        metrics.record(stream.downstreamPeer ?? UNKNOWN_WORKLOAD, (mtls ? security.peerSpiffeId : null) ?? UNKNOWN, hostService(ds.authority), ds.status, grpcStatusOf(stream), flags,
          mtls ? SecurityPolicy.MutualTls : SecurityPolicy.None, durationMs, requestBytes, ds.bytesSent, stream.grpcRequestMessages, stream.grpcResponseMessages);
      } else {
        const value = stream.takenResponseHeader?.(PEER_METADATA) ?? null;
        const peer = value === null ? UNKNOWN_WORKLOAD : peers.labelsOf(value) ?? UNKNOWN_WORKLOAD;
        // Istio's source reporter writes `unknown` for the connection's security policy.
        metrics.record(peer, UNKNOWN, clusterService(stream), ds.status, grpcStatusOf(stream), flags, SecurityPolicy.Unknown, durationMs, requestBytes, ds.bytesSent, stream.grpcRequestMessages, stream.grpcResponseMessages);
      }
    },
  };
}
