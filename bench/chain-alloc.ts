// What the HTTP filter chain allocates per request, measured with V8's sampling heap profiler
// (objects a scavenge collected included): requests run through the real HttpStream, the core's
// route table and request view, and the listener's forwarded-headers filter, with a fake
// downstream and a terminal that answers at once, for a route whose chain is all off (router
// only) and for one with a CORS filter that a request without Origin passes through. Bytes are
// attributed to the function that allocated them; the chain's own code is everything under
// host/http/. Usage: npm run bench:alloc [-- --requests N]; WITH_FORWARDED=1 for a client that
// sends x-forwarded-for, x-forwarded-proto and x-request-id; WITH_AUTHZ=1 adds the authorization
// filter (a DENY on /admin paths and an ALLOW on 10.0.0.0/8, which every request passes), its
// binding's code (host/core/authz/) counted too.
import { Session } from 'node:inspector/promises';
import { Core } from '../host/core/wasm.js';
import { RouteTable } from '../host/core/route/route-table.js';
import { requestViewOf } from '../host/core/request-view.js';
import { compileRouteTable } from '../host/compile/route-table.js';
import { Stats } from '../host/telemetry/stats.js';
import { resolveLimits } from '../host/common/limits.js';
import { InflightList } from '../host/http/inflight.js';
import { HttpStream, type StreamContext } from '../host/http/http-stream.js';
import { RouteConfig, filterChain, type RouteEntry } from '../host/http/route-config.js';
import { FilterStatus, type HttpFilterFactory } from '../host/http/filter.js';
import { forwardedHeaders } from '../host/http/filters/forwarded-headers.js';
import { corsFilter } from '../host/http/filters/cors.js';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSource, type HeadSink } from '../host/listener/downstream.js';
import { noHeaderOps, type MeshConfig } from '../host/model/mesh.js';
import { AuthzTable } from '../host/core/authz/authz-table.js';
import { compileAuthorization } from '../host/compile/authorization.js';
import { authorizationFilter } from '../host/http/filters/authorization.js';
import type { AuthzPolicy } from '../host/model/authorization.js';

const SINK: HeadSink = { status() {}, header() {} };

/** A downstream that answers into nothing (one object per request, as a listener makes one). */
class NullDownstream implements Downstream {
  readonly method = 'GET';
  readonly authority = 'web';
  readonly remoteAddress = '10.0.0.9';
  readonly security = null;
  readonly headBytes = 100;
  readonly startTime = 0;
  readonly bytesSent = 0;
  readonly bytesReceived = 0;
  status = 0;
  open = true;
  headSent = false;
  readonly protocolError = null;
  readonly bodyFraming = 'none' as const;
  readonly bodyLength = 0;
  readonly path: string;
  readonly headers: string[];
  handler: DownstreamHandler | null = null;
  constructor(path: string, headers: string[]) {
    this.path = path;
    this.headers = headers;
  }
  attach(h: DownstreamHandler): void {
    this.handler = h;
  }
  pauseBody(): void {}
  resumeBody(): void {}
  reply(): void {
    this.handler!.onResponseComplete();
  }
  writeHead(status: number, source: HeadSource): void {
    this.status = status;
    source.emitHead(SINK);
    this.handler!.onResponseComplete();
  }
  write(): boolean {
    return true;
  }
  end(): void {}
  abort(): void {}
}

const UPSTREAM_HEAD: HeadSource = { emitHead() {} };
/** A terminal without per-stream state that answers 200 at once (the router's place, not its work). */
const ANSWER: HttpFilterFactory = {
  shared: null,
  create: () => TERMINAL,
};
const TERMINAL = {
  onRequestHeaders(s: Parameters<NonNullable<import('../host/http/filter.js').HttpFilter['onRequestHeaders']>>[0]): FilterStatus {
    s.encodeHeaders(200, UPSTREAM_HEAD, BodyMode.None, 0);
    return FilterStatus.StopIteration;
  },
};

const cluster = 'outbound|80||web.default.svc.cluster.local';
const MESH: MeshConfig = {
  clusters: [{ name: cluster, host: 'web.default.svc.cluster.local', port: 80, subset: null, endpoints: [{ address: '127.0.0.1', port: 1, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' }],
  virtualHosts: [{
    name: 'web', domains: ['*'],
    routes: ['/off', '/cors'].map((p) => ({
      name: p, matches: [{ uri: { kind: 'prefix' as const, value: p }, ignoreUriCase: false, headers: [] }],
      destinations: [{ cluster, weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
      requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null,
    })),
  }],
};

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

function bySite(root: SampleNode, out: Map<string, number>): void {
  const f = root.callFrame;
  if (root.selfSize > 0 && (f.url.includes('/host/http/') || f.url.includes('/host/core/authz/'))) {
    const key = `${f.functionName || '(anonymous)'} ${f.url.slice(f.url.indexOf('/host/') + 1)}:${f.lineNumber + 1}`;
    out.set(key, (out.get(key) ?? 0) + root.selfSize);
  }
  for (const c of root.children) bySite(c, out);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--requests');
  const n = at >= 0 ? Number(argv[at + 1]) : 200_000;
  const core = new Core();
  const stats = new Stats();
  const ctx: StreamContext = { stats, limits: resolveLimits(), requestView: requestViewOf(core), inflight: new InflightList() };
  const table = RouteTable.load(core, compileRouteTable(MESH, { listenerPort: 80 }), 1);
  const cors = corsFilter({ allowOrigins: [{ kind: 'exact', value: 'https://a.example' }], allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: null, allowCredentials: null, unmatchedPreflights: 'FORWARD' }, '/cors', stats.downstream);
  const routes: RouteEntry[] = [
    { name: '/off', index: 0, stats: stats.route('/off'), chain: filterChain([], ANSWER) },
    { name: '/cors', index: 1, stats: stats.route('/cors'), chain: filterChain([cors], ANSWER) },
  ];
  const listener = [forwardedHeaders];
  if (process.env.WITH_AUTHZ) {
    const policies: AuthzPolicy[] = [
      { name: 'bench/deny-admin', action: 'DENY', dryRun: false, provider: null, rules: [{ from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'prefix', value: '/admin' }], notValues: [] }]], when: [] }] },
      { name: 'bench/allow-10', action: 'ALLOW', dryRun: false, provider: null, rules: [{ from: [[{ attribute: 'source.ip', values: [{ kind: 'cidr', address: '10.0.0.0', prefixLength: 8 }], notValues: [] }]], to: [], when: [] }] },
    ];
    const compiled = compileAuthorization(policies);
    listener.push(authorizationFilter(AuthzTable.load(core, compiled, 1), compiled, { stats: stats.downstream, extAuthz: () => null, log: undefined, destinationPort: () => 80 }));
  }
  const config = new RouteConfig(1, MESH, table, routes, [], listener, []);
  // Fields as a listener hands them over (pushed one by one into a new array, as the uWS
  // downstream collects them): a client without forwarded fields (as wrk), or with them
  // (WITH_FORWARDED=1: the forwarded-headers filter then edits values rather than adding).
  const given = process.env.WITH_FORWARDED
    ? ['host', 'web', 'user-agent', 'bench', 'accept', '*/*', 'x-forwarded-for', '10.1.1.1', 'x-forwarded-proto', 'http', 'x-request-id', 'abc']
    : ['host', 'web', 'user-agent', 'bench', 'accept', '*/*'];
  const fields = (): string[] => {
    const out: string[] = [];
    for (const f of given) out.push(f);
    return out;
  };
  const run = (path: string, count: number): void => {
    for (let i = 0; i < count; i++) new HttpStream(ctx, new NullDownstream(path, fields())).run(config);
  };
  run('/off', 20_000);
  run('/cors', 20_000);
  if (process.env.WITH_AUTHZ && stats.downstream.get('rbac.allowed') !== 40_000) throw new Error(`bench: the authorization filter allowed ${stats.downstream.get('rbac.allowed')} of 40,000 requests`);
  const session = new Session();
  session.connect();
  console.log(`HTTP filter chain, bytes allocated per request by host/http/ code (sampling heap profiler, ${n.toLocaleString('en')} requests per route)`);
  for (const path of ['/off', '/cors']) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    run(path, n);
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
    const sites = new Map<string, number>();
    bySite(profile.head, sites);
    const total = [...sites.values()].reduce((a, b) => a + b, 0);
    console.log(`\nroute ${path}: ${(total / n).toFixed(1)} B/request in host/http/`);
    for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1])) console.log(`  ${(bytes / n).toFixed(1).padStart(7)} B  ${site}`);
  }
  session.disconnect();
}

void main();
