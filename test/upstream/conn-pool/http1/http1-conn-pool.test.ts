// The HTTP/1 pool and connection over real loopback sockets: keep-alive reuse, framing,
// split heads, idle timeout, connect failures, the cluster connection limit, resets.
import { describe, it, expect, afterEach } from 'vitest';
import { Core } from '../../../../host/core/wasm.js';
import { EditList } from '../../../../host/core/codec/edit-list.js';
import { noHeaderOps } from '../../../../host/model/mesh.js';
import { CoreHttp1Codec } from '../../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import { RAW_TRANSPORT } from '../../../../host/upstream/transport/raw.js';
import type { TransportSocketFactory, TransportSocketOptions } from '../../../../host/upstream/transport/transport-socket.js';
import { LocalBreaker } from '../../../../host/upstream/connection-breaker.js';
import type { Http1Connection } from '../../../../host/upstream/conn-pool/http1/http1-connection.js';
import type { UpstreamFailure, UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';
import type { ResponseHead } from '../../../../host/upstream/upstream-head.js';
import { Stats } from '../../../../host/telemetry/stats.js';
import { resolveLimits, type Limits } from '../../../../host/common/limits.js';
import { startHttpUpstream, startRawUpstream, readHead, type HttpUpstream, type RawUpstream } from '../../../helpers/upstream-servers.js';
import { closedPort } from '../../../helpers/ports.js';

const core = new Core();
const codec = new CoreHttp1Codec(core);
const noEdits = new EditList(core, noHeaderOps());
let servers: Array<HttpUpstream | RawUpstream> = [];
let pools: ClusterPool[] = [];

afterEach(async () => {
  for (const p of pools) p.destroyAll();
  for (const s of servers) await s.close();
  servers = [];
  pools = [];
});

function makePool(limits: Partial<Limits> = {}, transport: TransportSocketFactory = RAW_TRANSPORT): ClusterPool {
  const l = resolveLimits(limits);
  const stats = new Stats();
  const pool = new ClusterPool('c', stats.cluster('c'), l, codec, transport);
  pools.push(pool);
  return pool;
}

interface Outcome {
  head: ResponseHead | null;
  /** Response fields as the core's filter passes them downstream (read during onResponseHead). */
  fields: Array<[string, string]>;
  body: Buffer;
  ended: boolean;
  failure: UpstreamFailure | null;
  stale: boolean;
}

/** A stream of the endpoint's pool (the HTTP/1 connection itself), or the pool's failure. */
function acquire(pool: ClusterPool, port: number): Promise<Http1Connection | string> {
  return new Promise((resolve) => {
    pool.endpoint('127.0.0.1', port).newStream({ onPoolReady: (s: UpstreamStream) => resolve(s as Http1Connection), onPoolFailure: resolve });
  });
}

function exchange(conn: UpstreamStream, head: string, body?: Buffer[], opts: { isHead?: boolean; chunked?: boolean } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { head: null, fields: [], body: Buffer.alloc(0), ended: false, failure: null, stale: false };
    const chunks: Buffer[] = [];
    conn.start(Buffer.from(head), {
      onResponseHead: (h) => {
        out.head = h;
        // Through the head, as the router reads them.
        h.fields.forEachResponseField(noEdits, false, () => {}, (n, v) => out.fields.push([Buffer.from(n).toString(), Buffer.from(v).toString()]));
      },
      onResponseData: (d) => (chunks.push(Buffer.from(d)), true),
      onResponseEnd: () => {
        out.ended = true;
        out.body = Buffer.concat(chunks);
        resolve(out);
      },
      onUpstreamFailure: (f, stale) => {
        out.failure = f;
        out.stale = stale;
        out.body = Buffer.concat(chunks);
        resolve(out);
      },
      onRequestDrain: () => {},
    }, { isHead: opts.isHead ?? false, chunked: opts.chunked ?? false, hasBody: body !== undefined });
    if (body) {
      for (const b of body) conn.writeBody(b);
      conn.endRequest();
    }
  });
}

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';

describe('Http1ConnPool', () => {
  it('reuses a keep-alive connection for sequential exchanges', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('hello'));
    servers.push(up);
    const pool = makePool();
    for (let i = 0; i < 3; i++) {
      const conn = await acquire(pool, up.port);
      if (typeof conn === 'string') throw new Error(conn);
      const r = await exchange(conn, GET);
      expect(r.head!.code).toBe(200);
      expect(r.body.toString()).toBe('hello');
    }
    expect(up.connections).toBe(1);
    expect(pool.stats.get('upstream_cx_total')).toBe(1);
    expect(pool.endpoint('127.0.0.1', up.port).connections.idle).toBe(1);
  });

  it('does not reuse a connection after connection: close', async () => {
    const up = await startHttpUpstream((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    servers.push(up);
    const pool = makePool();
    for (let i = 0; i < 2; i++) {
      const conn = await acquire(pool, up.port);
      if (typeof conn === 'string') throw new Error(conn);
      expect((await exchange(conn, GET)).body.toString()).toBe('bye');
    }
    expect(up.connections).toBe(2);
  });

  it('decodes chunked bodies and heads split into one-byte reads', async () => {
    const resp = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-a: 1\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n';
    const up = await startRawUpstream(async (s) => {
      for (;;) {
        await readHead(s).catch(() => null);
        for (const ch of resp) {
          s.write(ch);
          await new Promise((r) => setImmediate(r));
        }
      }
    });
    servers.push(up);
    const pool = makePool();
    for (let i = 0; i < 2; i++) {
      const conn = await acquire(pool, up.port);
      if (typeof conn === 'string') throw new Error(conn);
      const r = await exchange(conn, GET);
      expect(r.head!.framing).toBe('chunked');
      expect(r.fields).toContainEqual(['x-a', '1']);
      expect(r.fields.map(([n]) => n.toLowerCase())).not.toContain('transfer-encoding');
      expect(r.body.toString()).toBe('hello world');
    }
    expect(up.connections).toBe(1);
  });

  it('reads a close-delimited body to the end and does not reuse the connection', async () => {
    const up = await startRawUpstream(async (s) => {
      await readHead(s);
      s.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    });
    servers.push(up);
    const pool = makePool();
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    const r = await exchange(conn, GET);
    expect(r.ended).toBe(true);
    expect(r.head!.framing).toBe('close');
    expect(r.body.toString()).toBe('until close');
    expect(pool.endpoint('127.0.0.1', up.port).connections.idle).toBe(0);
  });

  it('HEAD responses have no body even with content-length', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('twelve bytes'));
    servers.push(up);
    const pool = makePool();
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    const r = await exchange(conn, 'HEAD / HTTP/1.1\r\nhost: x\r\n\r\n', undefined, { isHead: true });
    expect(r.head!.framing).toBe('none');
    expect(r.body.length).toBe(0);
    const conn2 = await acquire(pool, up.port);
    expect(conn2).toBe(conn);
  });

  it('streams a chunk-encoded request body and counts bytes', async () => {
    const up = await startHttpUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => res.end(`${req.headers['transfer-encoding']}:${Buffer.concat(chunks).toString()}`));
    });
    servers.push(up);
    const pool = makePool();
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    const r = await exchange(conn, 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n', [Buffer.from('abc'), Buffer.from('defg')], { chunked: true });
    expect(r.body.toString()).toBe('chunked:abcdefg');
  });

  it('closes idle connections after the idle timeout', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('x'));
    servers.push(up);
    const pool = makePool({ upstreamIdleTimeoutMs: 100 });
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    await exchange(conn, GET);
    expect(pool.endpoint('127.0.0.1', up.port).connections.idle).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.endpoint('127.0.0.1', up.port).connections.idle).toBe(0);
    expect(pool.stats.get('upstream_cx_idle_timeout')).toBe(1);
    expect(pool.stats.get('upstream_cx_active')).toBe(0);
    expect(pool.connectionCount).toBe(0);
  });

  it('times each idle connection from its own release: the older closes first, reuse restarts the clock', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('x'));
    servers.push(up);
    // 600 ms idle, the second released 300 ms after the first: room for a loaded machine's late timers.
    const pool = makePool({ upstreamIdleTimeoutMs: 600 });
    const ep = () => pool.endpoint('127.0.0.1', up.port);
    // Two connections: both acquired before either is released.
    const [c1, c2] = await Promise.all([acquire(pool, up.port), acquire(pool, up.port)]);
    if (typeof c1 === 'string' || typeof c2 === 'string') throw new Error(`${c1} ${c2}`);
    await exchange(c1, GET);
    await new Promise((r) => setTimeout(r, 300));
    await exchange(c2, GET);
    const c2ReleasedAt = performance.now();
    expect(ep().connections.idle).toBe(2);
    // Wait (bounded) for the first close: it must be c1's, with c2 left idle while its own
    // 600 ms have not passed.
    while (ep().connections.idle === 2 && performance.now() - c2ReleasedAt < 5_000) await new Promise((r) => setTimeout(r, 10));
    const c2IdleFor = performance.now() - c2ReleasedAt;
    expect(c1.closed).toBe(true);
    if (c2IdleFor < 580) expect(c2.closed).toBe(false);
    expect(pool.stats.get('upstream_cx_idle_timeout')).toBeGreaterThanOrEqual(1);
    // Reused before its timeout, c2 starts a new idle period when released again.
    if (!c2.closed) {
      const again = await acquire(pool, up.port);
      expect(again).toBe(c2);
      await exchange(c2, GET);
    }
    while (ep().connections.idle > 0 && performance.now() - c2ReleasedAt < 5_000) await new Promise((r) => setTimeout(r, 10));
    expect(ep().connections.idle).toBe(0);
    expect(pool.stats.get('upstream_cx_idle_timeout')).toBe(2);
    expect(pool.connectionCount).toBe(0);
  });

  it('drops an idle connection the upstream closed, and opens a new one', async () => {
    // The upstream closes each connection 30 ms after answering (its own idle timeout).
    const up = await startRawUpstream(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx');
      setTimeout(() => s.end(), 30);
    });
    servers.push(up);
    const pool = makePool();
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    await exchange(conn, GET);
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.stats.get('upstream_cx_destroy_remote')).toBe(1);
    const conn2 = await acquire(pool, up.port);
    expect(conn2).not.toBe(conn);
    if (typeof conn2 === 'string') throw new Error(conn2);
    expect((await exchange(conn2, GET)).head!.code).toBe(200);
  });

  it('reports connect_fail for a refused port', async () => {
    const pool = makePool();
    expect(await acquire(pool, await closedPort())).toBe('connect_fail');
    expect(pool.stats.get('upstream_cx_connect_fail')).toBe(1);
    expect(pool.connectionCount).toBe(0);
  });

  it('enforces max connections per cluster (overflow), evicting idle ones of other endpoints first', async () => {
    const hold: Array<() => void> = [];
    const up = await startHttpUpstream((_req, res) => hold.push(() => res.end('x')));
    const up2 = await startHttpUpstream((_req, res) => res.end('y'));
    servers.push(up, up2);
    const pool = makePool({ maxConnectionsPerCluster: 2, maxPendingPerCluster: 0 });
    const c2 = await acquire(pool, up2.port);
    if (typeof c2 === 'string') throw new Error(c2);
    await exchange(c2, GET); // now idle on endpoint 2
    const a = await acquire(pool, up.port);
    expect(typeof a).not.toBe('string');
    const b = await acquire(pool, up.port); // evicts the idle one on endpoint 2
    expect(typeof b).not.toBe('string');
    expect(pool.endpoint('127.0.0.1', up2.port).connections.idle).toBe(0);
    expect(await acquire(pool, up.port)).toBe('overflow');
    expect(pool.stats.get('upstream_cx_overflow')).toBe(1);
  });

  it('reports reset_before_head, reset_mid_response and protocol errors', async () => {
    const up = await startRawUpstream(async (s, i) => {
      await readHead(s);
      if (i === 0) s.destroy();
      else if (i === 1) {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
        setTimeout(() => s.destroy(), 20);
      } else if (i === 2) s.write('HTTP/1.1 2000 OK\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nx-big: ' + 'a'.repeat(70 * 1024) + '\r\n\r\n');
    });
    servers.push(up);
    const pool = makePool();
    const results: Outcome[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = await acquire(pool, up.port);
      if (typeof conn === 'string') throw new Error(conn);
      results.push(await exchange(conn, GET));
    }
    expect(results.map((r) => r.failure)).toEqual(['reset_before_head', 'reset_mid_response', 'protocol_error', 'protocol_error']);
    expect(results[1]!.body.toString()).toBe('partial');
    expect(results[0]!.stale).toBe(false);
  });

  it('marks a reused connection that dies before any response byte as stale', async () => {
    const up = await startRawUpstream(async (s) => {
      await readHead(s);
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx');
      await readHead(s);
      s.destroy();
    });
    servers.push(up);
    const pool = makePool();
    const conn = await acquire(pool, up.port);
    if (typeof conn === 'string') throw new Error(conn);
    expect((await exchange(conn, GET)).ended).toBe(true);
    const again = await acquire(pool, up.port);
    expect(again).toBe(conn);
    const r = await exchange(again as Http1Connection, GET);
    expect(r.failure).toBe('reset_before_head');
    expect(r.stale).toBe(true);
  });
});

/**
 * A transport socket factory that records what the pool asks and connects to `target` (a real
 * upstream) whatever address it is given; with `secureConnectAfterMs` its sockets announce
 * readiness as a TLS socket does, that long after the TCP connect (never, when null).
 */
class FakeTransport implements TransportSocketFactory {
  readonly readyEvent: 'connect' | 'secureConnect';
  readonly calls: Array<{ host: string; port: number; options: TransportSocketOptions }> = [];
  target = 0;
  /** The sockets made, in order (a test finishes a 'manual' handshake on one). */
  readonly sockets: ReturnType<TransportSocketFactory['connect']>[] = [];
  readonly #secureConnect: 'manual' | null;

  /** secureConnect: 'manual' fires it only when the test calls finishHandshake(), null never. */
  constructor(readyEvent: 'connect' | 'secureConnect' = 'connect', secureConnect: 'manual' | null = null) {
    this.readyEvent = readyEvent;
    this.#secureConnect = secureConnect;
  }

  connect(host: string, port: number, options: TransportSocketOptions) {
    this.calls.push({ host, port, options });
    const socket = RAW_TRANSPORT.connect('127.0.0.1', this.target, options);
    this.sockets.push(socket);
    return socket;
  }

  /** The 'manual' handshake of socket `i` completes once its TCP connect has. */
  finishHandshake(i = 0): void {
    if (this.#secureConnect !== 'manual') throw new Error('finishHandshake: this transport has no manual handshake');
    const socket = this.sockets[i]!;
    if (socket.connecting) socket.once('connect', () => socket.emit('secureConnect'));
    else socket.emit('secureConnect');
  }
}

describe('Http1ConnPool over its transport socket factory', () => {
  it('takes every socket from the cluster\'s factory, with the shared read buffer, nodelay and keepalive', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('via factory'));
    servers.push(up);
    const transport = new FakeTransport();
    transport.target = up.port;
    const pool = makePool({}, transport);
    // Nothing listens on this port: only the factory's socket can reach the upstream.
    const port = await closedPort();
    const [a, b] = await Promise.all([acquire(pool, port), acquire(pool, port)]);
    if (typeof a === 'string' || typeof b === 'string') throw new Error(`${a} ${b}`);
    expect((await exchange(a, GET)).body.toString()).toBe('via factory');
    expect((await exchange(b, GET)).body.toString()).toBe('via factory');
    expect(transport.calls.map((c) => [c.host, c.port])).toEqual([['127.0.0.1', port], ['127.0.0.1', port]]);
    const [first, second] = transport.calls.map((c) => c.options);
    expect(first!.noDelay).toBe(true);
    expect(first!.keepAlive).toBeNull();
    // One read buffer for every upstream socket of the thread.
    const [read1, read2] = [first!.onread, second!.onread];
    if (read1 === undefined || read2 === undefined) throw new Error('an HTTP/1 upstream socket without onread');
    expect(read1.buffer.byteLength).toBe(64 * 1024);
    expect(read2.buffer).toBe(read1.buffer);

    const keepalive = { timeMs: 5_000, intervalMs: 75_000, probes: 9 };
    pool.configure({ connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: keepalive }, new LocalBreaker({ maxConnections: 10, maxPending: 0 }));
    const c = await acquire(pool, await closedPort());
    if (typeof c === 'string') throw new Error(c);
    expect(transport.calls[2]!.options.keepAlive).toEqual(keepalive);
  });

  it('hands a connection out only at the factory\'s ready event (a TLS socket\'s secureConnect)', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('after handshake'));
    servers.push(up);
    const transport = new FakeTransport('secureConnect', 'manual');
    transport.target = up.port;
    const pool = makePool({}, transport);
    const ep = pool.endpoint('127.0.0.1', 1);
    let handedOut = false;
    const ready = new Promise<UpstreamStream>((resolve, reject) => {
      ep.newStream({
        onPoolReady: (s) => {
          handedOut = true;
          resolve(s);
        },
        onPoolFailure: reject,
      });
    });
    expect(transport.calls).toHaveLength(1);
    // Wait (bounded) for both ends of the TCP connection.
    const socket = transport.sockets[0]!;
    if (socket.connecting) await new Promise((r) => socket.once('connect', r));
    const deadline = performance.now() + 5_000;
    while (up.connections === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(up.connections).toBe(1);
    // TCP is up, the handshake is not: still connecting, nothing handed out (a few turns later too).
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(handedOut).toBe(false);
    expect(ep.connections.connecting).toBe(1);
    transport.finishHandshake();
    const stream = await ready;
    expect(handedOut).toBe(true);
    expect(ep.connections).toEqual({ active: 1, idle: 0, connecting: 0 });
    expect((await exchange(stream, GET)).body.toString()).toBe('after handshake');
  });

  it('counts a handshake that never completes against the connect timeout', async () => {
    const up = await startHttpUpstream((_req, res) => res.end('x'));
    servers.push(up);
    const transport = new FakeTransport('secureConnect', null);
    transport.target = up.port;
    const pool = makePool({ connectTimeoutMs: 100 }, transport);
    expect(await acquire(pool, 1)).toBe('connect_timeout');
    expect(up.connections).toBe(1);
    expect(pool.stats.get('upstream_cx_connect_timeout')).toBe(1);
    expect(pool.connectionCount).toBe(0);
  });
});
