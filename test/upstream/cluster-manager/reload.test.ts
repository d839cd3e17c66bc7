// Reloads at the cluster level: a cluster removed while a request on the old version is in
// flight keeps its core state until that version is freed (the request ends cleanly, no
// breaker unit leaks when the cluster comes back); hash tables are shared by versions with
// the same endpoints and released with the last one.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstream-servers.js';
import { harness, meshOf, attempt, req, CLUSTER, type Harness } from './cluster-harness.js';
import { consistentHashFromIstio } from '../../../host/config/translate/consistent-hash.js';
import type { MeshConfig } from '../../../host/model/mesh.js';

let servers: HttpUpstream[] = [];
let harnesses: Harness[] = [];

afterEach(async () => {
  for (const h of harnesses) h.close();
  for (const s of servers) await s.close();
  servers = [];
  harnesses = [];
});

function renamed(m: MeshConfig, name: string): MeshConfig {
  m.clusters[0]!.name = name;
  m.virtualHosts[0]!.routes[0]!.destinations[0]!.cluster = name;
  return m;
}

const waitFor = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('reloads', () => {
  it('a cluster removed mid-request keeps its state until the old version is freed; nothing leaks when it returns', async () => {
    const held: http.ServerResponse[] = [];
    const up = await startHttpUpstream((_q, res) => held.push(res));
    servers.push(up);
    const h = harness();
    harnesses.push(h);
    const v1 = h.load(meshOf([up.port], { limits: { maxRequests: 1 } }));
    v1.table.retain(); // the in-flight request's reference, as ProxyVersion holds it
    const inflight = attempt(h, v1);
    await waitFor(() => held.length === 1);
    // v2 drops the cluster (another takes its place).
    h.load(renamed(meshOf([up.port]), 'outbound|9080||other.default.svc.cluster.local'));
    expect(h.cm.clusters().map((c) => c.name)).toEqual(['outbound|9080||other.default.svc.cluster.local']);
    held[0]!.end('late');
    expect((await inflight).body).toBe('late');
    v1.table.release();
    h.cm.tick(); // sweeps freed versions: the removed cluster's state goes now
    // The cluster comes back with maxRequests 1: its single unit is free again.
    const v3 = h.load(meshOf([up.port], { limits: { maxRequests: 1 } }));
    const again = attempt(h, v3);
    await waitFor(() => held.length === 2);
    expect((await attempt(h, v3)).result).toBe('overflow');
    held[1]!.end('ok');
    expect((await again).result).toBe(200);
    expect(h.stats.cluster(CLUSTER).get('circuit_breakers.default.remaining_rq')).toBe(1);
  });

  it('versions with the same endpoints share one hash table; keys keep their endpoint across reloads', () => {
    const h = harness();
    harnesses.push(h);
    const hash = consistentHashFromIstio({ httpHeaderName: 'x-k' }, 'dr');
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const owners = (v: ReturnType<Harness['load']>): number[] => keys.map((k) => {
      const l = h.cm.pickEndpoint(v, 0, req({ headers: [['x-k', k]] }))!;
      l.release();
      return l.index;
    });
    const v1 = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash }));
    const a = owners(v1);
    const v2 = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash }));
    expect(owners(v2)).toEqual(a);
    // Same endpoints in another order: indices change, endpoints (ports) do not.
    const v3 = h.load(meshOf([1003, 1001, 1002], { lb: 'CONSISTENT_HASH', hash }));
    const ports1 = a.map((i) => [1001, 1002, 1003][i]);
    const ports3 = owners(v3).map((i) => [1003, 1001, 1002][i]);
    expect(ports3).toEqual(ports1);
    // Switching the cluster to round robin drops the hash table.
    const v4 = h.load(meshOf([1001, 1002, 1003], { lb: 'ROUND_ROBIN' }));
    expect(h.cm.pickEndpoint(v4, 0, req())!.index).toBeGreaterThanOrEqual(0);
  });
});
