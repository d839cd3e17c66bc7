// The core codec's upstream HTTP/2 connection against a hostile or broken server, written frame by
// frame on a raw loopback socket: Envoy's flood limits (a PING flood answered by more ACKs than
// max_outbound_control_frames, frames queued past max_outbound_frames, empty DATA frames,
// PRIORITY and WINDOW_UPDATE floods) close the connection with GOAWAY ENHANCE_YOUR_CALM and count
// `http2.<reason>` on the cluster; PING keepalive (Envoy's connection_keepalive) closes a
// connection whose server stops answering (`http2.keepalive_timeout`) and keeps one that answers;
// a server that never ACKs our SETTINGS gets GOAWAY SETTINGS_TIMEOUT; an oversized response
// header list resets that stream alone (`http2.header_overflow`); the server's
// SETTINGS_MAX_CONCURRENT_STREAMS holds further streams back; a GOAWAY refuses the streams above
// its last-stream-id (retriable) while the others finish, and the next request opens a new connection.
import { describe, it, expect, vi } from 'vitest';
import type { Socket } from 'node:net';
import { Core } from '../../../../host/core/wasm.js';
import { HpackEncoder } from '../../../../host/core/h2/hpack.js';
import { headerFrames } from '../../../../host/core/h2/h2-frames.js';
import type { UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';
import { resolveLimits } from '../../../../host/common/limits.js';
import { DEFAULT_H2_CONNECTION_SETTINGS, http2ConnectionSettings, type H2ConnectionSettings } from '../../../../host/core/h2/h2-connection-settings.js';
import { ENVOY_FLOOD_LIMITS } from '../../../../host/core/h2/h2-flood-guard.js';
import {
  frame, settings, u32, DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, ACK, END_HEADERS, END_STREAM, PROTOCOL_ERROR,
} from '../../../listener/http2-core/h2-wire.js';
import { acquire, request, run, runWith, signal, until } from './h2-pool-driver.js';
import type { PeerFrame } from '../../../helpers/raw-h2-peer.js';
import { coreH2PoolRig, STATUS_200 } from './core-h2-pool-rig.js';

const core = new Core();
const ENHANCE_YOUR_CALM = 0xb;
const SETTINGS_TIMEOUT = 0x4;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const { rawServer, makePool } = coreH2PoolRig(core);

const goaways = (seen: PeerFrame[]): Array<{ last: number; code: number; debug: string }> =>
  seen.filter((f) => f.type === GOAWAY).map((f) => ({ last: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString('latin1') }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('core upstream HTTP/2: flood limits (Envoy defaults) against a hostile server', () => {
  it('a PING flood: more than 1000 ACKs queued at once is outbound_control_flood, GOAWAY ENHANCE_YOUR_CALM, the stream fails', async () => {
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) sock.write(Buffer.concat(Array.from({ length: 20_000 }, () => ping)));
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('reset_before_head');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: ENHANCE_YOUR_CALM, debug: 'outbound_control_flood' });
    expect(stats.get('http2.outbound_control_flood')).toBe(1);
    expect(s.seen.filter((f) => f.type === PING && (f.flags & ACK) !== 0).length).toBeLessThanOrEqual(1000);
  });

  it('1000 PINGs at once are all answered: the limit is more than 1000', async () => {
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) {
        sock.write(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
        sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
      }
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('ended');
    await until(() => s.seen.filter((f) => f.type === PING).length === 1000);
    expect(goaways(s.seen)).toEqual([]);
    expect(stats.get('http2.outbound_control_flood')).toBe(0);
  });

  it('two empty DATA frames in a row without END_STREAM: inbound_empty_frames_flood; the stream cut after its head fails reset_mid_response', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, f.stream, STATUS_200), frame(DATA, 0, f.stream), frame(DATA, 0, f.stream)]));
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('reset_mid_response');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: ENHANCE_YOUR_CALM, debug: 'inbound_empty_frames_flood' });
    expect(stats.get('http2.inbound_empty_frames_flood')).toBe(1);
  });

  it('one empty DATA frame between bodies is fine', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, f.stream, STATUS_200), frame(DATA, 0, f.stream), frame(DATA, 0, f.stream, Buffer.from('x')), frame(DATA, 0, f.stream), frame(DATA, END_STREAM, f.stream)]));
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('ended');
    expect(stats.get('http2.inbound_empty_frames_flood')).toBe(0);
  });

  it('PRIORITY frames past 100 × (1 + streams opened): inbound_priority_frames_flood; 200 with one stream are fine', async () => {
    const prio = (id: number): Buffer => frame(PRIORITY, 0, id, Buffer.concat([u32(0), Buffer.from([15])]));
    let n = 200;
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      sock.write(Buffer.concat(Array.from({ length: n }, () => prio(f.stream))));
      sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('ended');
    expect(stats.get('http2.inbound_priority_frames_flood')).toBe(0);
    n = 100; // two streams: 300 allowed, 300 received
    expect(await request(pool, s.port)).toBe('ended');
    n = 101; // three streams: 400 allowed, 401 received
    expect(await request(pool, s.port)).toBe('reset_before_head');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: ENHANCE_YOUR_CALM, debug: 'inbound_priority_frames_flood' });
    expect(stats.get('http2.inbound_priority_frames_flood')).toBe(1);
  });

  it('WINDOW_UPDATE frames past 5 + 2 × (streams + 10 × DATA sent): inbound_window_update_frames_flood', async () => {
    let n = 7;
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      sock.write(Buffer.concat(Array.from({ length: n }, () => frame(WINDOW_UPDATE, 0, 0, u32(1)))));
      sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool, stats } = makePool();
    // One stream opened, no DATA sent: 5 + 2 × 1 = 7 allowed.
    expect(await request(pool, s.port)).toBe('ended');
    expect(stats.get('http2.inbound_window_update_frames_flood')).toBe(0);
    n = 3; // 10 in all; the budget with two streams is 9
    expect(await request(pool, s.port)).toBe('reset_before_head');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: ENHANCE_YOUR_CALM, debug: 'inbound_window_update_frames_flood' });
    expect(stats.get('http2.inbound_window_update_frames_flood')).toBe(1);
  });

  it('frames queued past max_outbound_frames (configured to 3 here): outbound_flood, every stream on the connection fails', async () => {
    const s = await rawServer(() => {});
    const { pool, stats } = makePool({ ...DEFAULT_H2_CONNECTION_SETTINGS, flood: { ...ENVOY_FLOOD_LIMITS, maxOutboundFrames: 3 } });
    // Five HEADERS queued in one turn, before the socket takes any: the fourth trips the limit; the
    // fifth finds the connection closed and is refused (retriable elsewhere).
    const streams = await Promise.all(Array.from({ length: 5 }, () => acquire(pool, s.port)));
    const outcomes = await Promise.all(streams.map((st) => run(st as UpstreamStream)));
    expect(outcomes).toEqual(['reset_before_head', 'reset_before_head', 'reset_before_head', 'reset_before_head', 'refused_stream']);
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: ENHANCE_YOUR_CALM, debug: 'outbound_flood' });
    expect(stats.get('http2.outbound_flood')).toBe(1);
  });

  it('the limits come from the proxy limits by name (http2MaxOutboundFrames …), refused when not positive', () => {
    const l = resolveLimits({ http2MaxOutboundFrames: 50, http2MaxInboundPriorityFramesPerStream: 7, upstreamHttp2KeepaliveIntervalMs: 30_000 });
    const h = http2ConnectionSettings(l, 'upstream');
    expect(h.flood).toEqual({ ...ENVOY_FLOOD_LIMITS, maxOutboundFrames: 50, maxInboundPriorityFramesPerStream: 7 });
    expect(h.keepalive).toMatchObject({ intervalMs: 30_000, timeoutMs: 20_000, intervalJitterPercent: 15 });
    expect(http2ConnectionSettings(l, 'downstream').keepalive.intervalMs).toBe(0);
    expect(http2ConnectionSettings(resolveLimits({ downstreamHttp2KeepaliveIntervalMs: 15_000 }), 'downstream').keepalive).toMatchObject({ intervalMs: 15_000, timeoutMs: 20_000 });
    expect(http2ConnectionSettings(resolveLimits({}), 'upstream')).toEqual(DEFAULT_H2_CONNECTION_SETTINGS);
    expect(() => resolveLimits({ http2MaxOutboundControlFrames: 0 })).toThrow(/http2MaxOutboundControlFrames.*LIMIT_INVALID/);
  });
});

describe('core upstream HTTP/2: PING keepalive (Envoy connection_keepalive) and the SETTINGS ACK timeout', () => {
  const keepalive = (intervalMs: number, timeoutMs: number, connectionIdleIntervalMs = 0): H2ConnectionSettings => ({
    ...DEFAULT_H2_CONNECTION_SETTINGS, keepalive: { intervalMs, timeoutMs, intervalJitterPercent: 15, connectionIdleIntervalMs },
  });

  it('no PING by default (Envoy: connection_keepalive unset)', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool } = makePool();
    expect(await request(pool, s.port)).toBe('ended');
    await sleep(200);
    expect(s.seen.some((f) => f.type === PING)).toBe(false);
  });

  it('a server that stops answering PINGs: the connection closes after the timeout, its stream fails, http2.keepalive_timeout', async () => {
    const s = await rawServer(() => {}); // never answers the request, never ACKs a PING
    const { pool, stats } = makePool(keepalive(50, 100));
    const outcome = request(pool, s.port);
    expect(await outcome).toBe('reset_before_head');
    expect(s.seen.some((f) => f.type === PING && (f.flags & ACK) === 0)).toBe(true);
    expect(stats.get('http2.keepalive_timeout')).toBe(1);
    await until(() => s.closed.includes(0));
  });

  it('a server that ACKs each PING keeps the connection: several PINGs, the next request on the same connection', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === PING && (f.flags & ACK) === 0) sock.write(frame(PING, ACK, 0, f.payload));
      if (f.type === HEADERS) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool, stats } = makePool(keepalive(40, 100));
    expect(await request(pool, s.port)).toBe('ended');
    await until(() => s.seen.filter((f) => f.type === PING).length >= 4, 3000);
    expect(await request(pool, s.port)).toBe('ended');
    expect(s.conns.length).toBe(1);
    expect(stats.get('http2.keepalive_timeout')).toBe(0);
  });

  it('an ACK with other opaque data does not count; frames received while waiting extend the wait', async () => {
    // The keepalive's clock (setTimeout, performance.now) is fake and the test moves it; the
    // sockets are real and each step waits for its frame to arrive before the clock moves on.
    // So "a DATA frame every 30 ms against a 120 ms timeout" holds on a loaded machine too (with
    // wall-clock timers, one event-loop stall past 120 ms between two DATA frames timed it out).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      let pings = 0;
      const pinged = signal();
      const headers = signal<{ sock: Socket; stream: number }>();
      const s = await rawServer((f, sock) => {
        // Wrong data in every ACK: alive, not answering the PING properly.
        if (f.type === PING && (f.flags & ACK) === 0) {
          pings++;
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
      /** The server sends one byte of the response; resolves once the client has read it (and every frame before it). */
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
      expect(pings).toBe(1); // the wrong ACK did not answer it: still the same PING outstanding
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

  it('connection_idle_interval: a connection idle that long sends a PING before the next request', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === PING && (f.flags & ACK) === 0) sock.write(frame(PING, ACK, 0, f.payload));
      if (f.type === HEADERS) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool } = makePool(keepalive(0, 500, 100));
    expect(await request(pool, s.port)).toBe('ended');
    expect(s.seen.some((f) => f.type === PING)).toBe(false);
    await sleep(150);
    expect(await request(pool, s.port)).toBe('ended');
    const pingAt = s.seen.findIndex((f) => f.type === PING);
    const secondHeaders = s.seen.findIndex((f) => f.type === HEADERS && f.stream === 3);
    expect(pingAt).toBeGreaterThanOrEqual(0);
    expect(pingAt).toBeLessThan(secondHeaders);
  });

  it('a server that never ACKs our SETTINGS: GOAWAY SETTINGS_TIMEOUT after the timeout, http2.settings_timeout', async () => {
    const s = await rawServer(() => {}, { ackSettings: false });
    const { pool, stats } = makePool({ ...DEFAULT_H2_CONNECTION_SETTINGS, settingsTimeoutMs: 100 });
    expect(await request(pool, s.port)).toBe('reset_before_head');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]).toMatchObject({ code: SETTINGS_TIMEOUT, debug: 'settings_timeout' });
    expect(stats.get('http2.settings_timeout')).toBe(1);
  });

  it('a server that ACKs them is not timed out', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) setTimeout(() => sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200)), 200);
    });
    const { pool, stats } = makePool({ ...DEFAULT_H2_CONNECTION_SETTINGS, settingsTimeoutMs: 100 });
    expect(await request(pool, s.port)).toBe('ended');
    expect(stats.get('http2.settings_timeout')).toBe(0);
  });
});

describe('core upstream HTTP/2: header limits, SETTINGS_MAX_CONCURRENT_STREAMS, GOAWAY', () => {
  it('a response header list over 60 KiB resets that stream alone (PROTOCOL_ERROR, protocol_error → 502 UPE), http2.header_overflow; the connection goes on', async () => {
    const enc = new HpackEncoder(core, { huffman: 'never' });
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      if (f.stream === 1) {
        const block = enc.encode([[':status', '200'], ['x-big', 'v'.repeat(62 * 1024)]]);
        for (const b of headerFrames(f.stream, block, true, 16_384)) sock.write(b);
      } else {
        sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
      }
    });
    const { pool, stats } = makePool();
    expect(await request(pool, s.port)).toBe('protocol_error');
    await until(() => s.seen.some((f) => f.type === RST_STREAM && f.stream === 1));
    expect(s.seen.find((f) => f.type === RST_STREAM && f.stream === 1)!.payload.readUInt32BE(0)).toBe(PROTOCOL_ERROR);
    expect(stats.get('http2.header_overflow')).toBe(1);
    expect(await request(pool, s.port)).toBe('ended');
    expect(goaways(s.seen)).toEqual([]);
    expect(s.conns.length).toBe(1);
    enc.dispose();
  });

  it('a response header block over 64 KiB (HEADERS + CONTINUATION) is a connection error ENHANCE_YOUR_CALM: the stream fails', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      const block = Buffer.concat([STATUS_200, Buffer.alloc(70 * 1024, 0x88)]); // 70 KiB of indexed :status fields
      for (const b of headerFrames(f.stream, block, true, 16_384)) sock.write(b);
    });
    const { pool } = makePool();
    expect(await request(pool, s.port)).toBe('reset_before_head');
    await until(() => goaways(s.seen).length > 0);
    expect(goaways(s.seen)[0]!.code).toBe(ENHANCE_YOUR_CALM);
  });

  it("the server's SETTINGS_MAX_CONCURRENT_STREAMS 1 (one connection allowed): a second stream waits until the first is done", async () => {
    const held: Array<() => void> = [];
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) held.push(() => sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200)));
    }, { serverSettings: settings([[SETTINGS_MAX_CONCURRENT_STREAMS, 1]]) });
    const { pool } = makePool(DEFAULT_H2_CONNECTION_SETTINGS, 1);
    const first = request(pool, s.port);
    await until(() => held.length === 1);
    const second = request(pool, s.port);
    await sleep(100);
    expect(s.seen.filter((f) => f.type === HEADERS).length).toBe(1);
    held[0]!();
    expect(await first).toBe('ended');
    await until(() => held.length === 2);
    held[1]!();
    expect(await second).toBe('ended');
    expect(s.conns.length).toBe(1);
  });

  it('GOAWAY with last-stream-id 1 while streams 1 and 3 are open: 3 is refused (retriable), 1 finishes, the next request opens a new connection', async () => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS && f.stream === 3 && f.conn === 0) {
        sock.write(frame(GOAWAY, 0, 0, Buffer.concat([u32(1), u32(0)])));
        setTimeout(() => sock.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS_200)), 50);
      }
      if (f.type === HEADERS && f.conn === 1) sock.write(frame(HEADERS, END_HEADERS | END_STREAM, f.stream, STATUS_200));
    });
    const { pool, stats } = makePool();
    const [a, b] = await Promise.all([acquire(pool, s.port), acquire(pool, s.port)]);
    const one = run(a as UpstreamStream);
    const three = run(b as UpstreamStream);
    expect(await three).toBe('refused_stream');
    expect(await one).toBe('ended');
    expect(stats.get('upstream_cx_close_notify')).toBe(1);
    expect(await request(pool, s.port)).toBe('ended');
    expect(s.conns.length).toBe(2);
    await until(() => s.closed.includes(0)); // the drained connection closed once its last stream ended
  });
});
