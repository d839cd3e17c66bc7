// The route-match benchmark: the core's matcher on synthetic meshes of 10, 100, 1,000 and
// 10,000 routes, for requests that hit the first route, fall through to a late one, hit a
// wildcard host, or miss every host.
import { compileRouteTable } from '../host/compile/route-table.js';
import { RouteTable } from '../host/core/route/route-table.js';
import { requestViewOf } from '../host/core/request-view.js';
import { Core } from '../host/core/wasm.js';
import { generateMesh, type BenchRequest } from './mesh-generator.js';
import { sink, type BenchCase, type BenchGroup, type BenchSuite } from './runner.js';

export const ROUTE_COUNTS = [10, 100, 1_000, 10_000] as const;

/** Request kinds in table order; `late` is also timed with the request view fill included. */
const KINDS = ['early', 'late', 'wildcard', 'miss'] as const;

/** Writes `req` into the core's request view, as the listener does for each request. */
function fillView(core: Core, req: BenchRequest): void {
  const view = requestViewOf(core);
  let err = view.begin(req.method, req.path, req.authority);
  for (let i = 0; err === null && i < req.headers.length; i++) err = view.header(req.headers[i][0], req.headers[i][1]);
  if (err !== null) throw new Error(`bench: request does not fit the request view (${err})`);
}

export function routeSuite(): BenchSuite {
  const core = new Core();
  // The cases share one request view; each match-only case refills it only when another
  // case's request is in it, so its loop times match() alone.
  let inView: BenchRequest | null = null;
  const groups: BenchGroup[] = ROUTE_COUNTS.map((count) => {
    const gen = generateMesh(count);
    const bytes = compileRouteTable(gen.mesh);
    const table = RouteTable.load(core, bytes, count);
    const cases: BenchCase[] = [];
    for (const kind of KINDS) {
      const req = gen.requests[kind];
      const got = table.matchRequest(req.method, req.path, req.authority, req.headers);
      if (got !== req.expect) throw new Error(`bench: ${count} routes, ${kind} request matched route ${got}, expected ${req.expect}`);
      cases.push({
        name: `match() ${kind}${req.expect < 0 ? ' (no route)' : ` → route ${req.expect}`}`,
        fn: () => {
          if (inView !== req) {
            fillView(core, req);
            inView = req;
          }
          sink.value += table.match() + 2;
        },
      });
    }
    const late = gen.requests.late;
    cases.push({
      name: 'fill view + match() late',
      fn: () => {
        inView = null;
        sink.value += table.matchRequest(late.method, late.path, late.authority, late.headers) + 2;
      },
    });
    return { title: `match · ${count.toLocaleString('en-US')} routes (${gen.mesh.virtualHosts.length.toLocaleString('en-US')} virtual hosts, table ${(bytes.length / 1024).toFixed(0)} KiB)`, cases };
  });
  return {
    title: 'Route match',
    about: [
      'One op = RouteTable.match() on a request already in the request view: authority lookup (exact',
      'domains, then *.suffix wildcards), then the host\'s ordered rules (uri exact/prefix, header exact/prefix).',
      'Each virtual host: 4 domains (fqdn, fqdn:80, short name, short name:80) or one *.suffix (1 in 25),',
      '5 rules (header+prefix, exact, prefix, two ORed prefix blocks, catch-all). "fill view + match()"',
      'adds writing method, path, authority and 3-4 headers into the view, as the listener does per request.',
    ].join('\n'),
    groups,
  };
}
