// The worker's routers reused from request to request (host/router/router-pool.ts): the pool's
// bound, and the reuse rules that keep an earlier request's late calls off the router once it
// serves another: a router whose upstream exchange is still finishing is not given back before
// the exchange's last callback; code that runs on after a call that ended the request (a failed
// start, with the router taken by a pipelined request inside it) stops there; a route deadline
// never outlives its request. Driven through the real Router with a fake stream, cluster level
// and pool: each test fails when its rule is taken out of router-filter.ts.
import { describe, it, expect } from 'vitest';
import { RouterPool, ROUTER_POOL_MAX } from '../../host/router/router-pool.js';
import { routerFilter, type RouterContext, type RouterRoute } from '../../host/router/router-filter.js';
import { DeadlineQueue } from '../../host/common/deadline-queue.js';
import { resolveLimits } from '../../host/common/limits.js';
import { Random } from '../../host/common/random.js';
import { Stats } from '../../host/telemetry/stats.js';
import type { HttpFilter } from '../../host/http/filter.js';
import type { StreamCallbacks } from '../../host/http/stream-callbacks.js';
import type { ConnPool, ExchangeHandler, PoolCallbacks, UpstreamStream } from '../../host/upstream/conn-pool/conn-pool.js';
import type { ResponseHead } from '../../host/upstream/upstream-head.js';
import { cluster, loadRetryPolicy } from '../helpers/upstream-core.js';

describe('RouterPool', () => {
  it('keeps at most its bound (default ROUTER_POOL_MAX = 128), hands back the last given first', () => {
    const p = new RouterPool<object>();
    expect(p.max).toBe(ROUTER_POOL_MAX);
    expect(ROUTER_POOL_MAX).toBe(128);
    const items = Array.from({ length: 130 }, () => ({}));
    const kept = items.map((o) => p.give(o));
    expect(kept.filter(Boolean).length).toBe(128);
    expect(kept[128]).toBe(false);
    expect(p.size).toBe(128);
    expect(p.take()).toBe(items[127]);
    expect(p.size).toBe(127);
  });

  it('a given bound, 0 keeping nothing; a bad bound refused', () => {
    const two = new RouterPool<object>(2);
    expect([two.give({}), two.give({}), two.give({})]).toEqual([true, true, false]);
    const none = new RouterPool<object>(0);
    expect(none.give({})).toBe(false);
    expect(none.take()).toBeUndefined();
    expect(() => new RouterPool(-1)).toThrow(/whole number ≥ 0, got -1/);
    expect(() => new RouterPool(1.5)).toThrow(/got 1.5/);
  });
});

// ── A rig: one cluster, one endpoint whose pool is driven by the test ─────────────────────────
const { cs } = cluster(1, 'router-pool');
const policy = loadRetryPolicy({ retries: 0, retryOn: [], retriableStatusCodes: [], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250 }).policy;
const stats = new Stats();
const clusterStats = stats.cluster('backend');

/** An upstream stream that records what the router does with it. */
class FakeUpstream implements UpstreamStream {
  handler: ExchangeHandler | null = null;
  starts = 0;
  endRequests = 0;
  aborts = 0;
  /** Called inside start (a start that fails at once). */
  onStart: ((h: ExchangeHandler) => void) | null = null;
  start(_head: Uint8Array, handler: ExchangeHandler): void {
    this.handler = handler;
    this.starts++;
    this.onStart?.(handler);
  }
  writeBody(): boolean { return true; }
  endRequest(): void { this.endRequests++; }
  pauseResponse(): void {}
  resumeResponse(): void {}
  abort(): void { this.aborts++; }
}

/** The endpoint's pool: ready at once with the next queued upstream, or left pending. */
class FakePool {
  readonly key = '10.0.0.1:80';
  activeRequests = 0;
  ready: FakeUpstream[] = [];
  pending: PoolCallbacks[] = [];
  newStream(cb: PoolCallbacks): { cancel(): void } {
    const up = this.ready.shift();
    if (up !== undefined) cb.onPoolReady(up);
    else this.pending.push(cb);
    return { cancel: () => { this.pending = this.pending.filter((p) => p !== cb); } };
  }
  release(): void {}
}

function rig() {
  const pool = new FakePool();
  const deadlines = new DeadlineQueue();
  const routers = new RouterPool<never>() as unknown as RouterContext['routers'];
  const unit = { release() {} };
  const ctx: RouterContext = {
    clusters: {
      admitRequest: () => unit,
      pickEndpoint: () => ({ index: 0, endpoint: pool as unknown as ConnPool, setCookie: undefined, released: false, report() {}, release() { this.released = true; } }),
    } as unknown as RouterContext['clusters'],
    limits: resolveLimits(),
    rng: new Random(1),
    deadlines,
    routers,
    writeHead: () => new Uint8Array(4),
  };
  const route = (timeoutMs: number): RouterRoute => ({
    name: 'r', index: 0, timeoutMs, destClusters: [0], requestEdits: [0 as never], responseEdits: [0 as never],
    retry: policy, rewrite: null, mirrors: [],
  });
  const config = { version: 1, table: { pickDestination: () => 0 }, clusters: [{ name: 'backend', stats: clusterStats, endpoints: [], state: cs }] };
  /** A downstream request as the HttpStream gives it to its terminal; its end runs the terminal's onDestroy as #finish does. */
  const stream = (name: string, onEnd?: () => void) => {
    const s = {
      name,
      terminal: null as HttpFilter | null,
      replies: [] as string[],
      heads: [] as number[],
      completed: false,
      done: false,
      downstream: { headers: [], method: 'GET', path: '/', authority: 'svc', remoteAddress: '10.1.1.1', upgrade: '', startTime: 0, headSent: false },
      config, route: { name: 'r', index: 0, stats: stats.route('r') },
      hasBody: false, chunked: false, contentLength: 0, trace: null,
      upstreamCluster: '-', upstreamHost: '-', upstreamServiceTimeMs: -1, attempts: 0, grpcStatus: -1,
      get responseStarted() { return s.heads.length > 0; },
      requestView: () => ({}),
      setFlag() {},
      pauseRequestBody() {},
      resumeRequestBody() {},
      encodeHeaders(code: number) { s.heads.push(code); },
      encodeData: () => true,
      encodeEnd() { s.completed = true; s.end(); },
      sendLocalReply(status: string) { s.replies.push(status); s.end(); },
      resetStream() { s.end(); },
      end() {
        if (s.done) return;
        s.done = true;
        s.terminal!.onDestroy!(s as unknown as StreamCallbacks);
        onEnd?.();
      },
    };
    return s;
  };
  const run = (s: ReturnType<typeof stream>, timeoutMs = 10_000): HttpFilter => {
    const r = routerFilter(ctx, route(timeoutMs)).create();
    s.terminal = r;
    r.onRequestHeaders!(s as unknown as StreamCallbacks);
    return r;
  };
  return { pool, deadlines, routers, stream, run };
}

const HEAD_200: ResponseHead = { code: 200, framing: 'length', contentLength: 2, fields: null as never };

describe('Router reuse rules', () => {
  it('a router whose completed response is still finishing upstream goes back only at the exchange\'s last callback', () => {
    const { pool, routers, stream, run } = rig();
    const up1 = new FakeUpstream();
    pool.ready.push(up1);
    const s1 = stream('s1');
    const r1 = run(s1);
    up1.handler!.onResponseHead(HEAD_200);
    expect(s1.heads).toEqual([200]);
    // The downstream completed (the response's bytes handed over whole) before the upstream's end.
    s1.completed = true;
    s1.end();
    expect(up1.aborts).toBe(0); // the exchange completes and its connection is reused
    expect(routers.size).toBe(0); // still the exchange's handler: not reusable yet
    // A request meanwhile gets a router of its own.
    pool.ready.push(new FakeUpstream());
    const s2 = stream('s2');
    const r2 = run(s2);
    expect(r2).not.toBe(r1);
    // The exchange's last callback: r1 goes back now.
    const completedBefore = clusterStats.get('upstream_rq_completed');
    up1.handler!.onResponseEnd();
    expect(clusterStats.get('upstream_rq_completed')).toBe(completedBefore + 1);
    expect(routers.size).toBe(1);
    pool.ready.push(new FakeUpstream());
    expect(run(stream('s3'))).toBe(r1);
  });

  it('a start that fails at once and ends the request, with the router taken by the next (pipelined) request inside it: the first request\'s code stops there', () => {
    const { pool, routers, stream, run } = rig();
    const up1 = new FakeUpstream();
    const up2 = new FakeUpstream();
    let r2: HttpFilter | null = null;
    const s2 = stream('s2');
    // Request 1's local reply ends it; the connection's next request starts inside that reply.
    const s1 = stream('s1', () => {
      pool.ready.push(up2);
      r2 = run(s2);
    });
    up1.onStart = (h) => h.onUpstreamFailure('protocol_error', false);
    pool.ready.push(up1);
    const r1 = run(s1);
    expect(s1.replies).toEqual(['502 Bad Gateway']); // UPE
    expect(r2).toBe(r1); // the same object, serving request 2 now
    expect(up2.starts).toBe(1);
    // Request 2 (no body) ended its request once; request 1's onPoolReady did not end it again.
    expect(up2.endRequests).toBe(1);
    expect(up1.endRequests).toBe(0);
    expect(s2.done).toBe(false);
    expect(routers.size).toBe(0);
  });

  it('a request\'s route deadline never fires on the router\'s next request', async () => {
    const { pool, deadlines, stream, run } = rig();
    const up1 = new FakeUpstream();
    pool.ready.push(up1);
    const s1 = stream('s1');
    const r1 = run(s1, 40);
    expect(deadlines.size).toBe(1);
    up1.handler!.onResponseHead(HEAD_200);
    up1.handler!.onResponseEnd();
    s1.end();
    expect(deadlines.size).toBe(0);
    // Request 2 on the same router, pending on its pool, with a long route timeout.
    const s2 = stream('s2');
    const r2 = run(s2, 10_000);
    expect(r2).toBe(r1);
    expect(deadlines.size).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(s2.replies).toEqual([]);
    expect(s2.done).toBe(false);
    s2.end();
    expect(deadlines.size).toBe(0);
    expect(pool.pending.length).toBe(0); // its pending stream request cancelled
  });

  it('a router with its route deadline still queued is not given back', () => {
    const { pool, routers, deadlines, stream, run } = rig();
    pool.ready.push(new FakeUpstream());
    const s1 = stream('s1');
    const r1 = run(s1);
    // A stream that ends without its terminal's onDestroy never gives the router back.
    expect(deadlines.size).toBe(1);
    expect(routers.size).toBe(0);
    r1.onDestroy!(s1 as unknown as StreamCallbacks);
    expect(deadlines.size).toBe(0);
    expect(routers.size).toBe(1);
  });
});
