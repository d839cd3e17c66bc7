// The endpoint a proxy would pick, asked of the proxy's own cluster manager (host/upstream):
// the core's balancers for ROUND_ROBIN / LEAST_REQUEST / RANDOM, the consistent-hash table with
// the request's hash key for CONSISTENT_HASH, the authority for PASSTHROUGH. The manager gets a
// copy of the mesh without TLS settings: which endpoint is picked does not depend on them, and
// explain holds no workload certificate (no connection is ever opened).
import type { MeshConfig } from '../model/mesh.js';
import type { Core } from '../core/wasm.js';
import type { RouteTable } from '../core/route/route-table.js';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { CoreHttp1Codec } from '../upstream/conn-pool/http1/core-http1-codec.js';
import { resolveLimits } from '../common/limits.js';
import { Stats } from '../telemetry/stats.js';

export interface ProxyPick {
  /** Index in the cluster's endpoints; -1 for a PASSTHROUGH destination (not an endpoint of the cluster). */
  readonly index: number;
  readonly address: string;
  readonly port: number;
  /** A consistent-hash cookie the proxy would set on the response. */
  readonly setCookie: string | null;
}

export interface PickInput {
  /** Lower-case names. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly path: string;
  readonly authority: string;
  /** The downstream address sourceIp hashing reads. */
  readonly clientIp: string;
}

/** The pick, or null when the proxy would find no healthy endpoint (503 UH). */
export function pickLikeProxy(core: Core, mesh: MeshConfig, table: RouteTable, clusterIndex: number, req: PickInput): ProxyPick | null {
  const plain: MeshConfig = { ...mesh, clusters: mesh.clusters.map((c) => ({ ...c, tls: undefined })) };
  const cm = new ClusterManager(core, new Stats(), resolveLimits({}), new CoreHttp1Codec(core), { manualTicks: true });
  try {
    cm.apply(plain, table);
    const lease = cm.pickEndpoint({ table }, clusterIndex, {
      headers: req.headers.flatMap(([k, v]) => [k, v]), clientIp: req.clientIp, path: req.path, authority: req.authority,
    });
    if (lease === null) return null;
    const pick = { index: lease.index, address: lease.endpoint.address, port: lease.endpoint.port, setCookie: lease.setCookie ?? null };
    lease.release();
    return pick;
  } finally {
    cm.close();
  }
}
