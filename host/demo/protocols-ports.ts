// Where `wasmesh demo protocols` listens by default, apart from its heavier module
// (host/demo/protocols-demo.ts loads @grpc/grpc-js and ws), so that `wasmesh demo --help` and the
// other demos do not load them.

/** Where the gateway's Redis port (Gateway port 6379) listens by default: 6379 itself is often a local Redis's. */
export const DEFAULT_REDIS_LISTEN_PORT = 16379;
