// The xDS bootstrap a proxyless gRPC client reads (GRPC_XDS_BOOTSTRAP names the file,
// GRPC_XDS_BOOTSTRAP_CONFIG holds it inline), as Istio's agent writes one: the control plane's
// address over plaintext, the node as Istio names it, and GENERATOR=grpc in its metadata so the
// control plane serves it the gRPC view (xds-node.ts).

export interface GrpcBootstrapOptions {
  /** The control plane's xDS address (Istio's 15010, plaintext gRPC). */
  xds: { host: string; port: number };
  /** Istio's node id, `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  nodeId: string;
  /** Istio's node metadata (NAMESPACE, LABELS …); GENERATOR is set to grpc. */
  metadata?: Record<string, unknown>;
}

export function grpcXdsBootstrap(o: GrpcBootstrapOptions): Record<string, unknown> {
  const host = o.xds.host.includes(':') ? `[${o.xds.host}]` : o.xds.host;
  return {
    xds_servers: [{ server_uri: `${host}:${o.xds.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: o.nodeId, metadata: { ...(o.metadata ?? {}), GENERATOR: 'grpc' }, locality: {} },
  };
}
