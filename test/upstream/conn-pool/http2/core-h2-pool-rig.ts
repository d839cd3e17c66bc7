// The core codec's HTTP/2 upstream pool against raw server peers, for the tests that script a
// server frame by frame (core-h2-upstream-stream, core-h2-upstream-hostile): peers and pools made
// through the rig are closed after each test.
import { afterEach } from 'vitest';
import type { Socket } from 'node:net';
import { Core } from '../../../../host/core/wasm.js';
import { CoreHttp1Codec } from '../../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import { RAW_TRANSPORT } from '../../../../host/upstream/transport/raw.js';
import { LocalBreaker } from '../../../../host/upstream/connection-breaker.js';
import { Stats, type ClusterStats } from '../../../../host/telemetry/stats.js';
import { resolveLimits } from '../../../../host/common/limits.js';
import { DEFAULT_H2_CONNECTION_SETTINGS, type H2ConnectionSettings } from '../../../../host/core/h2/h2-connection-settings.js';
import { rawH2Peer, type PeerFrame, type RawH2Peer, type RawH2PeerOptions } from '../../../helpers/raw-h2-peer.js';

/** `:status: 200` (HPACK static table index 8). */
export const STATUS_200 = Buffer.from([0x88]);

export interface CoreH2PoolRig {
  /** A raw server peer (its SETTINGS on the client's, ACKed, unless `opts` says otherwise). */
  rawServer(onFrame: (f: PeerFrame, sock: Socket) => void, opts?: RawH2PeerOptions): Promise<RawH2Peer>;
  /** An HTTP/2 pool of cluster `c` on the core codec: at most `maxConnections`, 16 pending, 2 s connect timeout. */
  makePool(http2?: H2ConnectionSettings, maxConnections?: number): { pool: ClusterPool; stats: ClusterStats };
}

/** Call at a test file's top level: registers the afterEach that closes what the rig made. */
export function coreH2PoolRig(core: Core = new Core()): CoreH2PoolRig {
  const codec = new CoreHttp1Codec(core);
  let peers: RawH2Peer[] = [];
  let pools: ClusterPool[] = [];
  afterEach(async () => {
    for (const p of pools) p.destroyAll();
    for (const p of peers) await p.close();
    peers = [];
    pools = [];
  });
  return {
    async rawServer(onFrame, opts = {}) {
      const p = await rawH2Peer(onFrame, opts);
      peers.push(p);
      return p;
    },
    makePool(http2 = DEFAULT_H2_CONNECTION_SETTINGS, maxConnections = 16) {
      const stats = new Stats().cluster('c');
      const pool = new ClusterPool('c', stats, resolveLimits({}), codec, RAW_TRANSPORT, true, core);
      pool.configure({ connectTimeoutMs: 2000, idleTimeoutMs: 60_000, tcpKeepalive: null, http2 }, new LocalBreaker({ maxConnections, maxPending: 16, maxRequestsPerConnection: 0 }));
      pools.push(pool);
      return { pool, stats };
    },
  };
}
