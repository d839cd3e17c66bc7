// This workload's peer metadata on requests to mesh services (Istio's metadata exchange, the
// source side): a route whose destinations are all mesh clusters (`outbound|…`) sets
// `x-envoy-peer-metadata-id` and `x-envoy-peer-metadata`, so the callee's proxy can name the
// caller in its metrics; a route to anything else (passthrough, an external host) sends nothing
// of this workload.
import { FilterStatus, sharedFactory, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { Route } from '../../model/mesh.js';
import { PEER_METADATA, PEER_METADATA_ID } from '../../telemetry/peer-metadata.js';

export interface PeerMetadataHeaders {
  readonly id: string;
  readonly metadata: string;
}

/** The filter for `route`, or null when it does not go to mesh services only (or nothing is to be sent). */
export function peerMetadataFilter(route: Route, own: PeerMetadataHeaders | undefined): HttpFilterFactory | null {
  if (own === undefined || route.destinations.length === 0) return null;
  if (!route.destinations.every((d) => d.cluster.startsWith('outbound|'))) return null;
  return sharedFactory({
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      stream.setRequestHeader(PEER_METADATA_ID, own.id);
      stream.setRequestHeader(PEER_METADATA, own.metadata);
      return FilterStatus.Continue;
    },
  });
}
