// The service graph out of Prometheus samples: the destination report wins per edge, the source
// report fills in what no destination proxy reported, 5xx share, mTLS from the destination's
// connection_security_policy, p99 from the same reporter, TCP edges, unknown peers.
import { describe, expect, it } from 'vitest';
import { buildServiceGraph } from '../../host/dashboard/service-graph.js';
import type { Sample } from '../../host/dashboard/prometheus-api.js';

const pp = { source_workload: 'productpage-v1', source_workload_namespace: 'default', source_canonical_service: 'productpage', source_canonical_revision: 'v1' };
const reviews = { destination_workload: 'reviews-v1', destination_workload_namespace: 'default', destination_canonical_service: 'reviews', destination_canonical_revision: 'v1', destination_service: 'reviews.default.svc.cluster.local' };
const ratings = { destination_workload: 'ratings-v1', destination_workload_namespace: 'default', destination_canonical_service: 'ratings', destination_canonical_revision: 'v1', destination_service: 'ratings.default.svc.cluster.local' };
const external = { destination_workload: 'unknown', destination_workload_namespace: 'unknown', destination_canonical_service: 'unknown', destination_canonical_revision: 'unknown', destination_service: 'httpbin.org' };

const s = (metric: Record<string, string>, value: number): Sample => ({ metric, value });
const none = { destination: [] as Sample[], source: [] as Sample[] };

describe('buildServiceGraph', () => {
  it('prefers the destination report: rate, 5xx share, mTLS and p99 per edge', () => {
    const g = buildServiceGraph({
      window: '1m', at: 1,
      requests: {
        destination: [
          s({ ...pp, ...reviews, response_code: '200', connection_security_policy: 'mutual_tls' }, 9),
          s({ ...pp, ...reviews, response_code: '503', connection_security_policy: 'mutual_tls' }, 1),
        ],
        // The source saw a little more (extrapolation differs): ignored for this edge.
        source: [s({ ...pp, ...reviews, response_code: '200', connection_security_policy: 'unknown' }, 10.5)],
      },
      p99: { destination: [s({ ...pp, ...reviews }, 48.5)], source: [s({ ...pp, ...reviews }, 60)] },
      tcp: none,
    });
    expect(g.nodes.map((n) => [n.id, n.kind, n.app, n.version, n.inRps])).toEqual([
      ['default/productpage-v1', 'workload', 'productpage', 'v1', 0],
      ['default/reviews-v1', 'workload', 'reviews', 'v1', 10],
    ]);
    expect(g.edges).toEqual([{
      id: 'http:default/productpage-v1 -> default/reviews-v1', source: 'default/productpage-v1', target: 'default/reviews-v1', protocol: 'http',
      reporter: 'destination', destinationService: 'reviews.default.svc.cluster.local', rps: 10, errorRate: 0.1, p99Ms: 48.5, tcpBytesPerS: 0, mtls: 'mutual_tls',
    }]);
  });

  it('takes the source report where no destination proxy reported; its mTLS is unknown', () => {
    const g = buildServiceGraph({
      window: '1m', at: 1,
      requests: { destination: [], source: [s({ ...pp, ...external, response_code: '502', connection_security_policy: 'unknown' }, 2)] },
      p99: { destination: [], source: [] },
      tcp: none,
    });
    expect(g.nodes.map((n) => [n.id, n.kind])).toEqual([['default/productpage-v1', 'workload'], ['service:httpbin.org', 'service']]);
    expect(g.edges[0]).toMatchObject({ source: 'default/productpage-v1', target: 'service:httpbin.org', reporter: 'source', rps: 2, errorRate: 1, p99Ms: null, mtls: 'unknown' });
  });

  it('marks partial and plaintext edges, drops idle series, and draws an unknown caller', () => {
    const unknownSource = { source_workload: 'unknown', source_workload_namespace: 'unknown', source_canonical_service: 'unknown', source_canonical_revision: 'unknown' };
    const g = buildServiceGraph({
      window: '5m', at: 1,
      requests: {
        destination: [
          s({ ...pp, ...reviews, response_code: '200', connection_security_policy: 'mutual_tls' }, 3),
          s({ ...pp, ...reviews, response_code: '200', connection_security_policy: 'none' }, 1),
          s({ ...unknownSource, ...ratings, response_code: '200', connection_security_policy: 'none' }, 2),
          s({ ...pp, ...ratings, response_code: '200', connection_security_policy: 'mutual_tls' }, 0),
          s({ ...pp, ...ratings, response_code: '200', connection_security_policy: 'mutual_tls' }, Number.NaN),
        ],
        source: [],
      },
      p99: { destination: [s({ ...pp, ...reviews }, Number.NaN)], source: [] },
      tcp: none,
    });
    expect(g.edges.map((e) => [e.source, e.target, e.mtls, e.p99Ms])).toEqual([
      ['default/productpage-v1', 'default/reviews-v1', 'partial', null],
      ['unknown', 'default/ratings-v1', 'none', null],
    ]);
    expect(g.nodes.map((n) => n.id)).toEqual(['default/productpage-v1', 'default/ratings-v1', 'default/reviews-v1', 'unknown']);
  });

  it('draws TCP edges with their byte rate', () => {
    const g = buildServiceGraph({
      window: '1m', at: 1, requests: none, p99: none,
      tcp: { destination: [s({ ...pp, ...ratings, connection_security_policy: 'mutual_tls' }, 1200)], source: [s({ ...pp, ...ratings, connection_security_policy: 'unknown' }, 1300)] },
    });
    expect(g.edges).toEqual([expect.objectContaining({ id: 'tcp:default/productpage-v1 -> default/ratings-v1', protocol: 'tcp', tcpBytesPerS: 1200, rps: 0, mtls: 'mutual_tls', reporter: 'destination' })]);
  });
});
