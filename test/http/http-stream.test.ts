// The HTTP stream and its filter chain, with a fake downstream and recording filters over the
// real core (route table, request view): filter order (listener filters, routing, route
// filters, terminal), pause and resume with the body held meanwhile, local replies that stop
// the chain, response headers last to first, the request view refilled for a stream that
// paused, and one shared filter array for a route whose filters keep no per-stream state.
import { describe, expect, it } from 'vitest';
import { Core } from '../../host/core/wasm.js';
import { RouteTable } from '../../host/core/route/route-table.js';
import { requestViewOf, RV_BYTES_USED, RV_HEADERS, RV_HEADER_COUNT, RV_HEADER_ENTRY, type RequestView } from '../../host/core/request-view.js';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { Stats } from '../../host/telemetry/stats.js';
import { resolveLimits } from '../../host/common/limits.js';
import { InflightList } from '../../host/http/inflight.js';
import { HttpStream, type StreamContext } from '../../host/http/http-stream.js';
import { takenPoolSize, takenValues } from '../../host/http/taken-values.js';
import { RouteConfig, filterChain, type RouteEntry } from '../../host/http/route-config.js';
import { FilterStatus, sharedFactory, type HttpFilter, type HttpFilterFactory } from '../../host/http/filter.js';
import type { StreamCallbacks } from '../../host/http/stream-callbacks.js';
import { BodyMode, type Downstream, type DownstreamHandler, type HeadSink, type HeadSource } from '../../host/listener/downstream.js';
import { dest, match, route, webCluster } from '../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';

class FakeDownstream implements Downstream {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: string[];
  readonly remoteAddress = '10.0.0.9';
  readonly security = null;
  readonly headBytes = 64;
  readonly startTime = Date.now();
  bytesSent = 0;
  bytesReceived = 0;
  status = 0;
  open = true;
  headSent = false;
  readonly protocolError = null;
  readonly bodyFraming: 'none' | 'length';
  readonly bodyLength: number;
  handler: DownstreamHandler | null = null;
  paused = false;
  replies: Array<{ status: string; headers: Array<readonly [string, string]>; body: string }> = [];
  head: { code: number; fields: Array<[string, string]> } | null = null;

  constructor(path: string, headers: string[] = [], method = 'GET') {
    this.method = method;
    this.path = path;
    this.authority = 'web';
    this.headers = ['host', 'web', ...headers];
    const cl = headers.indexOf('content-length');
    this.bodyLength = cl >= 0 ? Number(headers[cl + 1]) : 0;
    this.bodyFraming = this.bodyLength > 0 ? 'length' : 'none';
  }
  attach(handler: DownstreamHandler): void {
    this.handler = handler;
  }
  pauseBody(): void {
    this.paused = true;
  }
  resumeBody(): void {
    this.paused = false;
  }
  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void {
    this.status = parseInt(status, 10);
    this.open = false;
    this.replies.push({ status, headers: [...headers], body });
    this.handler?.onResponseComplete();
  }
  writeHead(status: number, source: HeadSource, _mode: BodyMode): void {
    this.status = status;
    this.headSent = true;
    const fields: Array<[string, string]> = [];
    const text = (x: string | Uint8Array): string => (typeof x === 'string' ? x : `bytes:${Buffer.from(x).toString('latin1')}`);
    const sink: HeadSink = { status() {}, header: (n, v) => fields.push([text(n), text(v)]) };
    source.emitHead(sink);
    this.head = { code: status, fields };
  }
  write(chunk: Uint8Array): boolean {
    this.bytesSent += chunk.length;
    return true;
  }
  end(): void {
    this.open = false;
    this.handler?.onResponseComplete();
  }
  abort(): void {
    this.open = false;
  }
}

/** One route per path prefix: /a and /b. */
const MESH: MeshConfig = {
  clusters: [webCluster('v1', 1001)],
  virtualHosts: [{
    name: 'web', domains: ['*'],
    routes: [
      route('r/a', [dest(webCluster('v1', 1001).name)], { matches: [match({ uri: { kind: 'prefix', value: '/a' } })] }),
      route('r/b', [dest(webCluster('v1', 1001).name)], { matches: [match({ uri: { kind: 'prefix', value: '/b' } })] }),
    ],
  }],
};

interface Harness {
  core: Core;
  ctx: StreamContext;
  config: RouteConfig;
  events: string[];
  run(ds: FakeDownstream): HttpStream;
}

/**
 * A stream context over a real core and route table; route i gets `chains[i]` ending in a
 * terminal that records what it saw and answers 200 (or pauses when `hold` is set).
 */
function harness(chains: Array<{ filters: HttpFilterFactory[] }>, listener: HttpFilter[] = []): Harness {
  const core = new Core();
  const stats = new Stats();
  const events: string[] = [];
  const ctx: StreamContext = { stats, limits: resolveLimits({ requestBufferBytes: 8 }), requestView: requestViewOf(core), inflight: new InflightList() };
  const table = RouteTable.load(core, compileRouteTable(MESH, { listenerPort: 80 }), 1);
  const routes: RouteEntry[] = MESH.virtualHosts[0]!.routes.map((r, i) => ({
    name: r.name,
    index: i,
    stats: stats.route(r.name),
    chain: filterChain(chains[i]?.filters ?? [], terminal(events)),
  }));
  const config = new RouteConfig(1, MESH, table, routes, [], listener, []);
  return { core, ctx, config, events, run: (ds) => { const s = new HttpStream(ctx, ds); s.run(config); return s; } };
}

/** The terminal: records the route, the request view's path as the core sees it, and the body. */
function terminal(events: string[]): HttpFilterFactory {
  return {
    shared: null,
    create: () => ({
      onRequestHeaders(s: StreamCallbacks): FilterStatus {
        const view = s.requestView()!;
        // The core's view holds this stream's request (match() reads it): routing agrees.
        const viewIndex = s.config.table.match();
        events.push(`terminal ${s.route!.name} view-route=${viewIndex === s.route!.index ? s.route!.name : `#${viewIndex}`} body=${s.hasBody}`);
        void view;
        if (!s.hasBody) answer(s);
        return FilterStatus.StopIteration;
      },
      onRequestBody(s: StreamCallbacks, chunk: Uint8Array, end: boolean): void {
        events.push(`body ${Buffer.from(chunk).toString()}${end ? ' end' : ''}`);
        if (end) answer(s);
      },
      onLog(): void {
        events.push('log terminal');
      },
      onDestroy(): void {
        events.push('destroy terminal');
      },
    }),
  };
}

/** The view's header fields as the core reads them (name, value, …). */
function viewFields(core: Core, view: RequestView): string[] {
  const u8 = core.u8;
  const u32 = core.u32;
  const text = (ptr: number, len: number): string => Buffer.from(u8.subarray(ptr, ptr + len)).toString('latin1');
  const out: string[] = [];
  for (let i = 0, n = u32[(view.base + RV_HEADER_COUNT) >>> 2]!; i < n; i++) {
    const e = (view.base + RV_HEADERS + i * RV_HEADER_ENTRY) >>> 2;
    out.push(text(u32[e]!, u32[e + 1]!), text(u32[e + 2]!, u32[e + 3]!));
  }
  return out;
}

function answer(s: StreamCallbacks): void {
  s.encodeHeaders(200, { emitHead: (sink) => sink.header('from', 'upstream') }, BodyMode.None, 0);
  s.encodeEnd();
}

function recorder(name: string, events: string[], extra: Partial<HttpFilter> = {}): HttpFilter {
  return {
    onRequestHeaders: () => {
      events.push(`headers ${name}`);
      return FilterStatus.Continue;
    },
    onResponseHeaders: (s, code) => {
      events.push(`response ${name} ${code}`);
      s.addResponseHeader('x-by', name);
    },
    onLog: () => {
      events.push(`log ${name}`);
    },
    ...extra,
  };
}

describe('HttpStream', () => {
  it('runs listener filters, routes, then the route\'s filters in order and the terminal last; responses go back last to first', () => {
    const events: string[] = [];
    const h = harness(
      [{ filters: [sharedFactory(recorder('one', events)), sharedFactory(recorder('two', events))] }],
      [recorder('listener', events)],
    );
    const ds = new FakeDownstream('/a/x');
    h.run(ds);
    events.push(...h.events);
    expect(events).toEqual([
      'headers listener', 'headers one', 'headers two',
      'response two 200', 'response one 200', 'response listener 200',
      'log listener', 'log one', 'log two',
      'terminal r/a view-route=r/a body=false', 'destroy terminal', 'log terminal',
    ]);
    expect(ds.head).toEqual({ code: 200, fields: [['from', 'upstream'], ['x-by', 'two'], ['x-by', 'one'], ['x-by', 'listener']] });
    expect(h.ctx.inflight.size).toBe(0);
    expect(h.config.inflight).toBe(0);
  });

  it('writes a shared array of added response headers as given (a value as its bytes too), and copies it (never changes it) when more are added', () => {
    const meta = new Uint8Array(Buffer.from('meta', 'latin1'));
    const shared = Object.freeze(['x-peer-id', 'one', 'x-peer', meta]);
    const add = (more: boolean): HttpFilter => ({
      onResponseHeaders: (s) => {
        s.addResponseHeaders(shared);
        if (more) {
          s.addResponseHeader('x-more', '1');
          s.addResponseHeaders(['x-pair', '2']);
        }
      },
    });
    for (const more of [false, true]) {
      const h = harness([{ filters: [] }], [add(more)]);
      const ds = new FakeDownstream('/a/x');
      h.run(ds);
      // The bytes reach the head's sink as they are: no string made of them per response.
      expect(ds.head!.fields).toEqual([['from', 'upstream'], ['x-peer-id', 'one'], ['x-peer', 'bytes:meta'], ...(more ? [['x-more', '1'], ['x-pair', '2']] : [])]);
    }
    expect(shared).toEqual(['x-peer-id', 'one', 'x-peer', meta]);
  });

  it('a route whose filters keep no per-stream state shares one filter array; a stateful one gets a new filter per stream', () => {
    const events: string[] = [];
    let created = 0;
    const stateful: HttpFilterFactory = { shared: null, create: () => (created++, recorder('stateful', events)) };
    const h = harness([{ filters: [sharedFactory(recorder('shared', events))] }, { filters: [stateful] }]);
    const chainA = h.config.routes[0]!.chain;
    const chainB = h.config.routes[1]!.chain;
    expect(chainA.shared).not.toBeNull();
    expect(chainB.shared).toBeNull();
    h.run(new FakeDownstream('/a'));
    h.run(new FakeDownstream('/a'));
    expect(created).toBe(0);
    h.run(new FakeDownstream('/b'));
    h.run(new FakeDownstream('/b'));
    expect(created).toBe(2);
  });

  it('a filter that pauses holds the request; the body that arrives meanwhile is held (reading paused over the buffer) and delivered in order on resume', () => {
    let resume: (() => void) | null = null;
    const pausing: HttpFilter = {
      onRequestHeaders(s) {
        resume = () => s.continueDecoding();
        return FilterStatus.StopIteration;
      },
    };
    const h = harness([{ filters: [{ shared: null, create: () => pausing }] }]);
    const ds = new FakeDownstream('/a', ['content-length', '12'], 'POST');
    h.run(ds);
    expect(h.events).toEqual([]);
    ds.handler!.onBodyData(Buffer.from('hello'), false);
    expect(ds.paused).toBe(false);
    ds.handler!.onBodyData(Buffer.from(' world!'), true);
    // 12 bytes held ≥ requestBufferBytes (8): the client is paused.
    expect(ds.paused).toBe(true);
    // Another request uses the shared request view meanwhile.
    h.run(new FakeDownstream('/b'));
    h.events.length = 0;
    resume!();
    expect(h.events).toEqual(['terminal r/a view-route=r/a body=true', 'body hello', 'body  world! end', 'destroy terminal', 'log terminal']);
    expect(ds.paused).toBe(false);
    expect(ds.status).toBe(200);
  });

  it('a local reply from a filter stops the chain: later filters and the terminal never run; created filters are destroyed and logged', () => {
    const events: string[] = [];
    const answering: HttpFilter = {
      onRequestHeaders(s) {
        events.push('answering');
        s.sendLocalReply('403 Forbidden', [['x-why', 'test']], 'no', 'UAEX' as never);
        return FilterStatus.StopIteration;
      },
      onDestroy: () => void events.push('destroy answering'),
      onLog: (s) => void events.push(`log answering ${s.flags.join(',')}`),
    };
    const h = harness([{ filters: [{ shared: null, create: () => answering }, sharedFactory(recorder('after', events))] }]);
    const ds = new FakeDownstream('/a');
    h.run(ds);
    expect([...events, ...h.events]).toEqual(['answering', 'destroy answering', 'log answering UAEX', 'log after', 'destroy terminal', 'log terminal']);
    expect(ds.replies).toEqual([{ status: '403 Forbidden', headers: [['x-why', 'test']], body: 'no' }]);
    expect(h.ctx.stats.downstream.get('downstream_rq_4xx')).toBe(1);
  });

  it('no route: 404 NR, route filters never created', () => {
    let created = 0;
    const h = harness([{ filters: [{ shared: null, create: () => (created++, {}) }] }]);
    const ds = new FakeDownstream('/zzz');
    h.run(ds);
    expect(ds.replies[0]!.status).toBe('404 Not Found');
    expect(created).toBe(0);
    expect(h.ctx.stats.downstream.get('no_route')).toBe(1);
  });

  it('request fields edited by a listener filter are what routing and the request view see', () => {
    const rewriting: HttpFilter = {
      onRequestHeaders(s) {
        s.setRequestHeader('x-added', 'yes');
        s.setRequestHeader('host', 'changed');
        return FilterStatus.Continue;
      },
    };
    let seen: string | null = null;
    const h = harness([{ filters: [sharedFactory({ onRequestHeaders: (s) => ((seen = s.requestHeader('x-added')), FilterStatus.Continue) })] }], [rewriting]);
    const ds = new FakeDownstream('/a');
    h.run(ds);
    expect(seen).toBe('yes');
    expect(ds.headers).toEqual(['host', 'changed', 'x-added', 'yes']);
  });
  it('removeRequestHeader drops every field of the name in one pass, keeps the others in order, and the view follows', () => {
    let before = -1;
    const removing: HttpFilter = {
      onRequestHeaders(s) {
        // The view is filled first, so the removal must mark it stale.
        before = s.requestView()!.headerCount;
        s.removeRequestHeader('x-b3-spanid');
        s.removeRequestHeader('absent');
        return FilterStatus.Continue;
      },
    };
    let after = -1;
    const h = harness([{ filters: [sharedFactory({ onRequestHeaders: (s) => ((after = s.requestView()!.headerCount), FilterStatus.Continue) })] }], [removing]);
    const ds = new FakeDownstream('/a', ['x-b3-spanid', '1', 'x-a', 'a', 'x-b3-spanid', '2', 'x-b', 'b', 'x-b3-spanid', '3']);
    h.run(ds);
    expect(ds.headers).toEqual(['host', 'web', 'x-a', 'a', 'x-b', 'b']);
    expect(before - after).toBe(3);
  });

  it('removeRequestHeaders drops the fields of every listed name in one pass, keeps the others in order, and the view follows', () => {
    let before = -1;
    const removing: HttpFilter = {
      onRequestHeaders(s) {
        before = s.requestView()!.headerCount;
        s.removeRequestHeaders(['x-b3-spanid', 'traceparent', 'absent']);
        return FilterStatus.Continue;
      },
    };
    let after = -1;
    const h = harness([{ filters: [sharedFactory({ onRequestHeaders: (s) => ((after = s.requestView()!.headerCount), FilterStatus.Continue) })] }], [removing]);
    const ds = new FakeDownstream('/a', ['x-b3-spanid', '1', 'x-a', 'a', 'traceparent', 't', 'x-b', 'b', 'x-b3-spanid', '3']);
    h.run(ds);
    expect(ds.headers).toEqual(['host', 'web', 'x-a', 'a', 'x-b', 'b']);
    expect(before - after).toBe(3);
  });

  it('takeRequestHeaders removes the listed fields in one pass, gives the first value of each name, and the view follows', () => {
    let before = -1;
    let removed = -1;
    const values: Array<string | null> = ['stale', 'stale', 'stale'];
    const taking: HttpFilter = {
      onRequestHeaders(s) {
        before = s.requestView()!.headerCount;
        removed = s.takeRequestHeaders(['x-envoy-peer-metadata', 'x-envoy-peer-metadata-id', 'absent'], values);
        return FilterStatus.Continue;
      },
    };
    let after = -1;
    const h = harness([{ filters: [sharedFactory({ onRequestHeaders: (s) => ((after = s.requestView()!.headerCount), FilterStatus.Continue) })] }], [taking]);
    const ds = new FakeDownstream('/a', ['x-envoy-peer-metadata-id', 'id-1', 'x-a', 'a', 'x-envoy-peer-metadata', 'm', 'x-b', 'b', 'x-envoy-peer-metadata-id', 'id-2']);
    h.run(ds);
    expect(ds.headers).toEqual(['host', 'web', 'x-a', 'a', 'x-b', 'b']);
    expect(values).toEqual(['m', 'id-1', null]);
    expect(removed).toBe(3);
    expect(before - after).toBe(3);
  });

  it('takeResponseHeaders keeps the values of the first `read` names, drops the others undecoded, and merges several filters\' takes', () => {
    const seen: Array<string | null> = [];
    const taking: HttpFilter = {
      onRequestHeaders(s) {
        s.takeResponseHeaders!(['x-keep', 'x-drop'], 1);
        s.takeResponseHeaders!(['content-type']);
        return FilterStatus.Continue;
      },
      // The values are the filters' to read up to their onLog.
      onLog(s) {
        seen.push(s.takenResponseHeader!('x-keep'), s.takenResponseHeader!('x-drop'), s.takenResponseHeader!('content-type'));
      },
    };
    // The upstream head: two fields as bytes (one name in upper case), two as strings.
    const mem = Buffer.from('x-keepKEPTX-DropDROPPED', 'latin1');
    const answering = sharedFactory({
      onRequestHeaders(s) {
        s.encodeHeaders(200, {
          emitHead(sink) {
            sink.headerBytes!(mem, 0, 6, 6, 10);
            sink.headerBytes!(mem, 10, 16, 16, 23);
            sink.header('content-type', 'application/grpc');
            sink.header('x-other', 'o');
          },
        }, BodyMode.None, 0);
        s.encodeEnd();
        return FilterStatus.StopIteration;
      },
    });
    const h = harness([{ filters: [answering] }], [taking]);
    const ds = new FakeDownstream('/a');
    h.run(ds);
    expect(ds.head!.fields).toEqual([['x-other', 'o']]);
    expect(seen).toEqual(['KEPT', null, 'application/grpc']);
  });

  it('the taken values\' array serves the next stream once a stream has ended, emptied: no stream reads another\'s value', () => {
    // Stream a's head carries the field, stream b's (ending after a, its head written before a ended) and c's do not.
    const logged: string[] = [];
    const taking: HttpFilter = {
      onRequestHeaders(s) {
        s.takeResponseHeaders!(['x-peer']);
        return FilterStatus.Continue;
      },
      onLog(s) {
        logged.push(`${s.downstream.path}=${s.takenResponseHeader!('x-peer')}`);
      },
    };
    const pending: StreamCallbacks[] = [];
    const answering = sharedFactory({
      onRequestHeaders(s) {
        const withPeer = s.downstream.path === '/a1';
        s.encodeHeaders(200, { emitHead(sink) { if (withPeer) sink.header('x-peer', 'A'); sink.header('x-other', 'o'); } }, BodyMode.None, 0);
        pending.push(s);
        return FilterStatus.StopIteration;
      },
    });
    const h = harness([{ filters: [answering] }], [taking]);
    // An empty pool to start with (earlier streams of this thread left arrays in it).
    while (takenPoolSize() > 0) takenValues(1);
    h.run(new FakeDownstream('/a1'));
    h.run(new FakeDownstream('/a2'));
    // Two streams between head and end: each holds its own array.
    pending[0]!.encodeEnd();
    expect(takenPoolSize()).toBe(1);
    pending[1]!.encodeEnd();
    h.run(new FakeDownstream('/a3'));
    pending[2]!.encodeEnd();
    expect(logged).toEqual(['/a1=A', '/a2=null', '/a3=null']);
    // After its end a stream has no taken values left to read (its array went back, emptied).
    expect(pending[0]!.takenResponseHeader!('x-peer')).toBeNull();
    expect(takenPoolSize()).toBe(2);
  });

  it('takeResponseHeaders refuses more than 31 fields in all, naming the count', () => {
    let error: unknown = null;
    const h = harness([{ filters: [] }], [{
      onRequestHeaders(s) {
        s.takeResponseHeaders!(Array.from({ length: 20 }, (_, i) => `x-a${i}`));
        try {
          s.takeResponseHeaders!(Array.from({ length: 12 }, (_, i) => `x-b${i}`), 10);
        } catch (err) {
          error = err;
        }
        return FilterStatus.Continue;
      },
    }]);
    h.run(new FakeDownstream('/a'));
    expect(String(error)).toContain('32 response fields taken (at most 31)');
  });

  it('takeRequestHeaders with none of the names present removes nothing and gives nulls', () => {
    const values: Array<string | null> = ['stale', 'stale'];
    let removed = -1;
    const h = harness([{ filters: [] }], [{ onRequestHeaders: (s) => ((removed = s.takeRequestHeaders(['x-envoy-peer-metadata', 'x-envoy-peer-metadata-id'], values)), FilterStatus.Continue) }]);
    const ds = new FakeDownstream('/a', ['x-a', 'a']);
    h.run(ds);
    expect(ds.headers).toEqual(['host', 'web', 'x-a', 'a']);
    expect(values).toEqual([null, null]);
    expect(removed).toBe(0);
  });

  it('fields a route filter edits after the match reach the filled view in place, as a refill would write them', () => {
    let seen: string[] = [];
    let core: Core | null = null;
    const editing: HttpFilter = {
      onRequestHeaders(s) {
        s.setRequestHeader('x-one', 'replaced'); // an existing field
        s.setRequestHeader('x-new', 'added'); // a new one, appended
        s.setRequestHeader('x-new', 'added-twice'); // the appended one replaced
        s.setRequestHeader('x-wide', 'caf\u00e9 \u2713'); // beyond latin1: UTF-8 bytes
        const view = s.requestView()!;
        seen = viewFields(core!, view);
        const used = (): number => core!.u32[(view.base + RV_BYTES_USED) >>> 2]!;
        const inPlace = used();
        // What a refill from the fields writes: the same fields in the same order, in fewer
        // bytes (edited in place, the replaced values' bytes stay behind).
        view.owner = null;
        expect(viewFields(core!, s.requestView()!)).toEqual(seen);
        expect(used()).toBeLessThan(inPlace);
        return FilterStatus.Continue;
      },
    };
    const h = harness([{ filters: [sharedFactory(editing)] }]);
    core = h.core;
    const ds = new FakeDownstream('/a', ['x-one', 'first', 'x-two', '2']);
    h.run(ds);
    const utf8 = Buffer.from('caf\u00e9 \u2713').toString('latin1');
    expect(seen).toEqual(['host', 'web', 'x-one', 'replaced', 'x-two', '2', 'x-new', 'added-twice', 'x-wide', utf8]);
  });

  it('addRequestHeader appends a field even when one of the name is there (a repeat as received), in the filled view too', () => {
    let seen: string[] = [];
    let core: Core | null = null;
    const adding: HttpFilter = {
      onRequestHeaders(s) {
        s.requestView();
        s.addRequestHeader('x-one', 'again');
        s.addRequestHeader('x-new', 'n');
        seen = viewFields(core!, s.requestView()!);
        return FilterStatus.Continue;
      },
    };
    const h = harness([{ filters: [sharedFactory(adding)] }]);
    core = h.core;
    const ds = new FakeDownstream('/a', ['x-one', 'first']);
    h.run(ds);
    expect(ds.headers).toEqual(['host', 'web', 'x-one', 'first', 'x-one', 'again', 'x-new', 'n']);
    expect(seen).toEqual(ds.headers);
  });

  it('a field named with @ (never forwarded) makes the view refilled, not edited in place', () => {
    let seen: string[] = [];
    let core: Core | null = null;
    const editing: HttpFilter = {
      onRequestHeaders(s) {
        s.setRequestHeader('@claim', 'x');
        s.setRequestHeader('x-after', 'y');
        s.setRequestHeader('@claim', 'z');
        s.setRequestHeader('x-after', 'w');
        seen = viewFields(core!, s.requestView()!);
        return FilterStatus.Continue;
      },
    };
    const h = harness([{ filters: [sharedFactory(editing)] }]);
    core = h.core;
    h.run(new FakeDownstream('/a', ['x-one', '1']));
    expect(seen).toEqual(['host', 'web', 'x-one', '1', 'x-after', 'w']);
  });
});
