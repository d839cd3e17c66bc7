// PING keepalive on the node:http2 upstream pool (WASMESH_HTTP2_UPSTREAM_CODEC=nghttp2;
// node-h2-keepalive.ts), against a raw loopback server written frame by frame, as the core
// pool's keepalive is tested (core-h2-upstream-hostile.test.ts): no PING by default; a server that
// never ACKs is closed after the timeout (its stream fails, `http2.keepalive_timeout`); one that
// ACKs keeps its connection; response DATA while waiting extends the wait; connection_idle_interval
// PINGs before a stream on a quiet connection; and the proxy's --limits reach the pool.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Socket } from 'node:net';
import { Core } from '../../../../host/core/wasm.js';
import { CoreHttp1Codec } from '../../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import { RAW_TRANSPORT } from '../../../../host/upstream/transport/raw.js';
import { LocalBreaker } from '../../../../host/upstream/connection-breaker.js';
import type { UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';
import { Stats, type ClusterStats } from '../../../../host/telemetry/stats.js';
import { resolveLimits } from '../../../../host/common/limits.js';
import { DEFAULT_H2_CONNECTION_SETTINGS, http2ConnectionSettings, type H2ConnectionSettings } from '../../../../host/core/h2/h2-connection-settings.js';
import { frame, DATA, HEADERS, PING, ACK, END_HEADERS, END_STREAM } from '../../../listener/http2-core/h2-wire.js';
import { acquire, request, runWith, signal, until } from './h2-pool-driver.js';
import { rawH2Peer, type PeerFrame, type RawH2Peer } from '../../../helpers/raw-h2-peer.js';

const codec = new CoreHttp1Codec(new Core());
/** `:status: 200` (HPACK static table index 8). */
const STATUS_200 = Buffer.from([0x88]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A raw HTTP/2 server peer: its SETTINGS at once, the client's ACKed, then `onFrame` for every frame the client sends. */
async function rawServer(onFrame: (f: PeerFrame, sock: Socket) => void): Promise<RawH2Peer> {
  const p = await rawH2Peer(onFrame, { sendSettings: 'connect' });
  cleanup.push(() => p.close());
  return p;
}

/** A node:http2 pool (no core handed to the cluster: WASMESH_HTTP2_UPSTREAM_CODEC=nghttp2). */
function makePool(http2: H2ConnectionSettings): { pool: ClusterPool; stats: ClusterStats } {
  const stats = new Stats().cluster('c');
  const pool = new ClusterPool('c', stats, resolveLimits({}), codec, RAW_TRANSPORT, true, null);
  pool.configure({ connectTimeoutMs: 2000, idleTimeoutMs: 60_000, tcpKeepalive: null, http2 }, new LocalBreaker({ maxConnections: 16, maxPending: 16, maxRequestsPerConnection: 0 }));
  cleanup.push(() => pool.destroyAll());
  return { pool, stats };
}

const keepalive = (intervalMs: number, timeoutMs: number, connectionIdleIntervalMs = 0): H2ConnectionSettings => ({
  ...DEFAULT_H2_CONNECTION_SETTINGS, keepalive: { intervalMs, timeoutMs, intervalJitterPercent: 15, connectionIdleIntervalMs },
});
const pings = (s: RawH2Peer): PeerFrame[] => s.seen.filter((f) => f.type === PING && (f.flags & ACK) === 0);
const answer = (f: PeerFrame, sock: Socket): void => {
  if (f.type === PING && (f.flags & ACK) === 0) sock.write(frame(PING, ACK, 0, f.payload));
  if (f.type === HEADERS) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
};

describe('node:http2 upstream pool: PING keepalive (Envoy connection_keepalive)', () => {
  it('no PING by default (connection_keepalive unset)', async () => {
    const s = await rawServer(answer);
    const { pool } = makePool(DEFAULT_H2_CONNECTION_SETTINGS);
    expect(await request(pool, s.port)).toBe('ended');
    await sleep(200);
    expect(pings(s)).toHaveLength(0);
  });

  it('a server that never ACKs: the connection closes after the timeout, its stream fails, http2.keepalive_timeout', async () => {
    const s = await rawServer(() => {}); // answers neither the request nor a PING
    const { pool, stats } = makePool(keepalive(50, 100));
    expect(await request(pool, s.port)).toBe('reset_before_head');
    expect(pings(s).length).toBeGreaterThanOrEqual(1);
    expect(stats.get('http2.keepalive_timeout')).toBe(1);
    await until(() => s.closed.length === 1);
  });

  it('a server that ACKs each PING keeps the connection: several PINGs with fresh data, the next request on the same connection', async () => {
    const s = await rawServer(answer);
    const { pool, stats } = makePool(keepalive(40, 100));
    expect(await request(pool, s.port)).toBe('ended');
    await until(() => pings(s).length >= 4, 3000);
    expect(new Set(pings(s).map((p) => p.payload.toString('hex'))).size).toBe(pings(s).length);
    expect(await request(pool, s.port)).toBe('ended');
    expect(s.conns).toHaveLength(1);
    expect(stats.get('http2.keepalive_timeout')).toBe(0);
  });

  it('an ACK with other data does not count; response DATA while waiting extends the wait, silence then closes', async () => {
    // The keepalive's clock (setTimeout, performance.now) is fake and the test moves it; the
    // sockets are real and each step waits for its frame to reach the stream before the clock
    // moves on, so a loaded machine's late timers cannot look like silence (as in the core pool's
    // case, core-h2-upstream-hostile.test.ts).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const pinged = signal();
      const headers = signal<{ sock: Socket; stream: number }>();
      const s = await rawServer((f, sock) => {
        // Wrong data in every ACK: alive, not answering the PING properly.
        if (f.type === PING && (f.flags & ACK) === 0) {
          sock.write(frame(PING, ACK, 0, Buffer.alloc(8, 1)));
          pinged.resolve();
        }
        if (f.type === HEADERS) {
          sock.write(frame(HEADERS, END_HEADERS, f.stream, STATUS_200));
          headers.resolve({ sock, stream: f.stream });
        }
      });
      const { pool, stats } = makePool(keepalive(50, 120));
      const st = (await acquire(pool, s.port)) as UpstreamStream;
      let arrived = signal();
      const outcome = runWith(st, () => arrived.resolve());
      const { sock, stream } = await headers.promise;
      /** The server sends one byte of the response; resolves once the stream has it. */
      const dataFrame = async (): Promise<void> => {
        arrived = signal();
        sock.write(frame(DATA, 0, stream, Buffer.from('x')));
        await Promise.race([arrived.promise, outcome.then((o) => { throw new Error(`the stream ended (${o}) while the server was still sending`); })]);
      };
      await dataFrame();
      await vi.advanceTimersByTimeAsync(50); // the interval (50 ms less up to 15 %): the PING goes out
      await pinged.promise;
      await dataFrame(); // behind the wrong ACK on the socket: the ACK has been read too
      // 20 DATA frames 30 ms apart: 600 ms, five times the timeout, kept alive by the frames alone.
      for (let i = 0; i < 20; i++) {
        await vi.advanceTimersByTimeAsync(30);
        await dataFrame();
      }
      expect(stats.get('http2.keepalive_timeout')).toBe(0);
      expect(pings(s)).toHaveLength(1); // the wrong ACK did not answer it: still the same PING outstanding
      // The server goes quiet: the timeout runs out 120 ms after the last frame, not before.
      await vi.advanceTimersByTimeAsync(119);
      expect(stats.get('http2.keepalive_timeout')).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(stats.get('http2.keepalive_timeout')).toBe(1);
      expect(await outcome).toBe('reset_mid_response');
    } finally {
      vi.useRealTimers();
    }
  });

  it('connection_idle_interval: a connection quiet that long sends a PING before the next request\'s HEADERS', async () => {
    const s = await rawServer(answer);
    const { pool } = makePool(keepalive(0, 500, 100));
    expect(await request(pool, s.port)).toBe('ended');
    expect(pings(s)).toHaveLength(0);
    await sleep(150);
    expect(await request(pool, s.port)).toBe('ended');
    const pingAt = s.seen.findIndex((f) => f.type === PING);
    const second = s.seen.findIndex((f) => f.type === HEADERS && f.stream === 3);
    expect(pingAt).toBeGreaterThanOrEqual(0);
    expect(pingAt).toBeLessThan(second);
  });

  it('the proxy\'s limits (upstreamHttp2KeepaliveIntervalMs / TimeoutMs) reach this pool as they reach the core one', async () => {
    const s = await rawServer(() => {});
    const { pool, stats } = makePool(http2ConnectionSettings(resolveLimits({ upstreamHttp2KeepaliveIntervalMs: 60, upstreamHttp2KeepaliveTimeoutMs: 80 }), 'upstream'));
    expect(await request(pool, s.port)).toBe('reset_before_head');
    expect(stats.get('http2.keepalive_timeout')).toBe(1);
  });
});
