// The flood guard's counts against Envoy's ProtocolConstraints formulas, frame by frame, and the
// keepalive / SETTINGS ACK timers on their own (fake peer, real timers of a few ms). The
// connections' behaviour over sockets is tested in test/listener/http2-core/conformance.test.ts
// and test/upstream/conn-pool/http2/core-h2-upstream-hostile.test.ts.
import { afterEach, beforeEach, describe, it, expect, vi } from 'vitest';
import { H2FloodGuard, ENVOY_FLOOD_LIMITS } from '../../../host/core/h2/h2-flood-guard.js';
import { H2Keepalive } from '../../../host/core/h2/h2-keepalive.js';
import { SettingsAckTimer } from '../../../host/core/h2/h2-settings-timeout.js';
import { FRAME_DATA, FRAME_HEADERS, FRAME_CONTINUATION, FRAME_PRIORITY, FRAME_WINDOW_UPDATE, FRAME_PING, FLAG_END_STREAM, FLAG_END_HEADERS } from '../../../host/core/h2/frame-scanner.js';


describe('H2FloodGuard (Envoy defaults)', () => {
  it('outbound: the 10001st frame or the 1001st control frame trips; drained() starts both again', () => {
    const g = new H2FloodGuard();
    for (let i = 0; i < 1000; i++) expect(g.outbound(true)).toBeNull();
    expect(g.outbound(true)).toBe('outbound_control_flood');
    g.drained();
    for (let i = 0; i < 10_000; i++) expect(g.outbound(false)).toBeNull();
    expect(g.outbound(false)).toBe('outbound_flood');
  });

  it('empty DATA/HEADERS/CONTINUATION frames without END_STREAM: the second in a row trips; a non-empty one or END_STREAM resets', () => {
    const g = new H2FloodGuard();
    expect(g.inbound(FRAME_DATA, 0, 0)).toBeNull();
    expect(g.inbound(FRAME_DATA, 0, 5)).toBeNull();
    expect(g.inbound(FRAME_HEADERS, FLAG_END_HEADERS, 0)).toBeNull();
    expect(g.inbound(FRAME_DATA, FLAG_END_STREAM, 0)).toBeNull();
    expect(g.inbound(FRAME_CONTINUATION, 0, 0)).toBeNull();
    expect(g.inbound(FRAME_PING, 0, 8)).toBeNull(); // other types neither count nor reset
    expect(g.inbound(FRAME_DATA, 0, 0)).toBe('inbound_empty_frames_flood');
  });

  it('PRIORITY: 100 × (1 + streams opened)', () => {
    const g = new H2FloodGuard();
    for (let i = 0; i < 100; i++) expect(g.inbound(FRAME_PRIORITY, 0, 5)).toBeNull();
    g.streamOpened();
    for (let i = 0; i < 100; i++) expect(g.inbound(FRAME_PRIORITY, 0, 5)).toBeNull();
    expect(g.inbound(FRAME_PRIORITY, 0, 5)).toBe('inbound_priority_frames_flood');
  });

  it('WINDOW_UPDATE: 5 + 2 × (streams opened + 10 × DATA frames sent); configurable', () => {
    const g = new H2FloodGuard();
    for (let i = 0; i < 5; i++) expect(g.inbound(FRAME_WINDOW_UPDATE, 0, 4)).toBeNull();
    g.streamOpened();
    g.dataSent();
    for (let i = 0; i < 22; i++) expect(g.inbound(FRAME_WINDOW_UPDATE, 0, 4)).toBeNull(); // 27 = 5 + 2 × (1 + 10)
    expect(g.inbound(FRAME_WINDOW_UPDATE, 0, 4)).toBe('inbound_window_update_frames_flood');
    const strict = new H2FloodGuard({ ...ENVOY_FLOOD_LIMITS, maxInboundWindowUpdateFramesPerDataFrameSent: 1 });
    strict.dataSent();
    for (let i = 0; i < 7; i++) expect(strict.inbound(FRAME_WINDOW_UPDATE, 0, 4)).toBeNull(); // 5 + 2 × 1
    expect(strict.inbound(FRAME_WINDOW_UPDATE, 0, 4)).toBe('inbound_window_update_frames_flood');
  });
});

describe('H2Keepalive and SettingsAckTimer', () => {
  // A fake clock (setTimeout and performance.now): the timers' behaviour, not the machine's load.
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('PINGs at the interval less at most the jitter, with fresh 8-byte data; the matching ACK keeps it going', async () => {
    const sent: Array<{ at: number; data: Buffer }> = [];
    let timeouts = 0;
    const start = performance.now();
    const k = new H2Keepalive({ intervalMs: 40, timeoutMs: 200, intervalJitterPercent: 50, connectionIdleIntervalMs: 0 }, {
      sendPing: (d) => {
        sent.push({ at: performance.now(), data: d });
        queueMicrotask(() => k.ack(d));
      },
      keepaliveTimeout: () => void timeouts++,
    });
    await vi.advanceTimersByTimeAsync(250);
    k.stop();
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent[0]!.at - start).toBeGreaterThanOrEqual(19); // 40 ms less up to 50 %
    expect(new Set(sent.map((s) => s.data.toString('hex'))).size).toBe(sent.length);
    expect(sent.every((s) => s.data.length === 8)).toBe(true);
    expect(timeouts).toBe(0);
  });

  it('an ACK with other data is ignored and the timeout fires once; stop() ends it', async () => {
    let timeouts = 0;
    const k = new H2Keepalive({ intervalMs: 10, timeoutMs: 30, intervalJitterPercent: 0, connectionIdleIntervalMs: 0 }, {
      sendPing: () => queueMicrotask(() => expect(k.ack(Buffer.alloc(8, 9))).toBe(false)),
      keepaliveTimeout: () => void timeouts++,
    });
    await vi.advanceTimersByTimeAsync(150);
    k.stop();
    expect(timeouts).toBe(1);
  });

  it('SettingsAckTimer: fires when unacknowledged, not after the ACK, never when 0', async () => {
    let fired = 0;
    const a = new SettingsAckTimer(30, () => void fired++);
    a.sent();
    const b = new SettingsAckTimer(30, () => void (fired += 10));
    b.sent();
    b.acked();
    const off = new SettingsAckTimer(0, () => void (fired += 100));
    off.sent();
    await vi.advanceTimersByTimeAsync(80);
    expect(fired).toBe(1);
  });
});
