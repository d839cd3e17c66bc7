// Keeps the upstream seams honest by reading the imports of host/: the router knows connection
// pools and transports only through their interfaces (type imports of conn-pool.ts and
// upstream-head.ts, never http1/ or transport/), the seam files import no implementation, and
// no import cycle runs through host/upstream.
import { describe, it, expect } from 'vitest';
import { cyclesThrough, importGraph } from '../helpers/import-graph.js';

const GRAPH = importGraph('host');
const HOST = [...GRAPH.keys()];

describe('upstream seams', () => {
  it('reads the import graph (the checks below have something to check)', () => {
    expect(GRAPH.get('host/router/router-filter.ts')!.map((i) => i.target)).toContain('host/upstream/conn-pool/conn-pool.ts');
    expect(GRAPH.get('host/upstream/cluster-pool.ts')!.map((i) => i.target)).toContain('host/upstream/conn-pool/http1/http1-conn-pool.ts');
  });

  it('nothing under host/router imports an HTTP/1 pool or a transport socket', () => {
    const leaks = HOST.filter((f) => f.startsWith('host/router/')).flatMap((f) =>
      GRAPH.get(f)!
        .filter((i) => i.target.startsWith('host/upstream/conn-pool/http1/') || i.target.startsWith('host/upstream/transport/'))
        .map((i) => `${f} → ${i.target}`));
    expect(leaks).toEqual([]);
  });

  it('host/router takes only types from host/upstream', () => {
    const values = HOST.filter((f) => f.startsWith('host/router/')).flatMap((f) =>
      GRAPH.get(f)!.filter((i) => i.target.startsWith('host/upstream/') && !i.typeOnly).map((i) => `${f} → ${i.target}`));
    expect(values).toEqual([]);
  });

  it('the seam files import no implementation', () => {
    for (const seam of ['host/upstream/conn-pool/conn-pool.ts', 'host/upstream/transport/transport-socket.ts', 'host/upstream/upstream-head.ts']) {
      const targets = GRAPH.get(seam)!.map((i) => i.target);
      expect(targets.filter((t) => t.includes('/http1/') || t.endsWith('/raw.ts') || t.endsWith('cluster-pool.ts')), seam).toEqual([]);
    }
  });

  it('no import cycle runs through host/upstream (the pool talks to its cluster through Http1PoolCluster)', () => {
    expect(cyclesThrough(GRAPH, ['host/upstream/'])).toEqual([]);
  });
});
